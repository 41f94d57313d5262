"""A real `outreach send` process killed (SIGKILL) or interrupted (SIGINT) mid-batch, then resumed.

The server holds a chosen command so that the kill lands at an exact point. Whatever
happens, the server must never get a message twice, and every contact must end up either
delivered once and recorded as sent, or reported as uncertain.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from outreach.errors import UserError
from outreach.store import Outgoing, Store
from outreach.store.lock import open_outbox
from tests.conftest import ROOT
from tests.seed import force_state
from tests.smtp_server import Hold


def start(campaign, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "outreach", *campaign.args("--yes", *extra)], cwd=campaign.ws,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(process: subprocess.Popen, timeout: float = 30) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=timeout)
    return process.returncode, out, err


def wait_until(condition, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.005)


def kill(process: subprocess.Popen) -> tuple[int, str, str]:
    process.send_signal(signal.SIGKILL)
    return finish(process)


def test_killed_at_several_points_then_resumed_no_duplicates_nothing_lost(campaign, smtp_server):
    campaign.write_contacts(8)
    server = smtp_server

    # 1. killed while the server holds the 3rd MAIL FROM: before DATA, so nothing was sent.
    server.hold_mail = Hold(nth=3)
    run = start(campaign, "--rate", "300/min")
    assert server.hold_mail.reached.wait(20)
    kill(run)
    server.hold_mail.release()
    assert len(server.messages) == 2
    assert campaign.states()["dr2@example.edu"] == "claimed"  # reserved, but DATA never began

    # 2. killed while the server holds the end of DATA of dr3 (it keeps the message): uncertain.
    server.hold_data = Hold(nth=4, keep=True)
    run = start(campaign, "--rate", "300/min")
    assert server.hold_data.reached.wait(20)
    kill(run)
    server.hold_data.release()
    wait_until(lambda: len(server.messages) == 4)
    assert campaign.states()["dr3@example.edu"] == "sending"

    # 3. killed between two messages, while pacing (one a second here).
    run = start(campaign, "--rate", "60/min")
    wait_until(lambda: len(server.messages) == 5)
    time.sleep(0.3)  # the row is committed within milliseconds; the next message is a second away
    _, _, err = kill(run)
    assert "stopped during 1 message;" in err  # dr3, found by this run

    # 4. resumed to the end.
    code, out, err = finish(start(campaign))
    assert code == 1, out + err  # 1: something is uncertain
    assert "Uncertain: 1" in out and "dr3@example.edu (line 5)" in out
    assert "Sent 3 of 3" in out

    received = server.received_by()
    assert received == {f"dr{i}@example.edu": 1 for i in range(8)}  # zero duplicates, all delivered
    states = campaign.states()
    assert states.pop("dr3@example.edu") == "uncertain"             # the one we cannot know: reported
    assert set(states.values()) == {"sent"}
    ids = [m.message_id for m in server.messages]
    assert len(set(ids)) == 8


def test_killed_during_data_of_a_message_the_server_lost(campaign, smtp_server):
    server = smtp_server
    server.hold_data = Hold(nth=2, keep=False)
    run = start(campaign)
    assert server.hold_data.reached.wait(20)
    kill(run)
    server.hold_data.release()
    code, out, _ = finish(start(campaign))
    assert code == 1 and "Uncertain: 1" in out and "dr1@example.edu" in out
    assert server.received_by() == {"dr0@example.edu": 1, "dr2@example.edu": 1}  # not re-sent on its own
    code, out, _ = finish(start(campaign, "--resend-uncertain"))
    assert code == 0 and "Sent 1 of 1" in out
    assert server.received_by() == {f"dr{i}@example.edu": 1 for i in range(3)}


def test_ctrl_c_while_pacing_stops_at_once_and_says_how_to_resume(campaign, smtp_server):
    campaign.write_contacts(4)
    run = start(campaign, "--rate", "30/min")
    wait_until(lambda: len(smtp_server.messages) == 1)
    time.sleep(0.2)
    started = time.monotonic()
    run.send_signal(signal.SIGINT)
    code, out, err = finish(run)
    assert time.monotonic() - started < 1.5  # it did not wait out the 2-second interval
    assert code == 130
    assert "stopping after the current message" in err
    assert "Interrupted: 3 messages not sent yet." in out
    assert "To send the rest: outreach send templates/outreach.txt contacts.csv" in out
    states = campaign.states()
    assert states["dr0@example.edu"] == "sent" and {states[f"dr{i}@example.edu"] for i in (1, 2, 3)} == {"queued"}
    code, out, _ = finish(start(campaign))
    assert code == 0 and "Sent 3 of 3" in out
    assert smtp_server.received_by() == {f"dr{i}@example.edu": 1 for i in range(4)}


def test_ctrl_c_during_a_message_finishes_it_first(campaign, smtp_server):
    smtp_server.hold_data = Hold(nth=1)
    run = start(campaign)
    assert smtp_server.hold_data.reached.wait(20)
    run.send_signal(signal.SIGINT)
    time.sleep(0.2)
    smtp_server.hold_data.release()
    code, out, _ = finish(run)
    assert code == 130
    assert "Sent 1 of 3" in out and "Interrupted: 2 messages not sent yet." in out
    assert campaign.states()["dr0@example.edu"] == "sent"


def test_ctrl_c_twice_abandons_the_message_as_uncertain(campaign, smtp_server):
    smtp_server.hold_data = Hold(nth=1)
    run = start(campaign)
    assert smtp_server.hold_data.reached.wait(20)
    run.send_signal(signal.SIGINT)
    time.sleep(0.2)
    run.send_signal(signal.SIGINT)
    code, out, err = finish(run)
    smtp_server.hold_data.release()
    assert code == 130 and "Traceback" not in err
    assert campaign.states()["dr0@example.edu"] == "uncertain"
    assert "To send the rest:" in out


def claimed_store(ws) -> Store:
    store = Store(ws / "outreach.db")
    for i, state in enumerate(["claimed", "sending", "queued"]):
        store.record("queue", Outgoing(campaign="c", address=f"r{i}@example.edu", message_id=f"<{i}@x>", template="t",
                                       subject="s", recipients=[f"r{i}@example.edu"], contact={}, contact_line=i + 2,
                                       transport="smtp", account="a"))
        force_state(store, f"<{i}@x>", state)
    return store


def test_recovery_requeues_claims_and_makes_cut_off_messages_uncertain(workspace):
    """Every commit is durable, so a claimed row never began DATA, whatever happened to the machine."""
    store = claimed_store(workspace)
    (workspace / "outreach.db.lock").write_text(json.dumps({"pid": 1, "command": "send", "finished": None}))
    warnings = []
    open_outbox(store, "send", warnings.append).release()
    assert {r.address: r.state for r in store.messages()} == {
        "r0@example.edu": "queued", "r1@example.edu": "uncertain", "r2@example.edu": "queued"}
    assert warnings == ["the last outreach send (process 1, started ?) stopped during 1 message; their outcome is "
                        "now 'uncertain': check your Sent folder"]


def test_a_send_the_store_shows_as_never_begun_becomes_uncertain(workspace):
    """The lock says a dead run began to send <2@x> and <0@x>, but the store shows one queued and one
    claimed: the store file is an older copy. Sending them again could be a second copy, so they
    are uncertain until the user looks; a claim the lock does not say began goes back to the queue."""
    store = claimed_store(workspace)
    (workspace / "outreach.db.lock").write_text(json.dumps({"pid": 7, "command": "send", "finished": None})
                                                + "\nbegan <2@x>\nbegan <0@x>\n")
    warnings = []
    open_outbox(store, "send", warnings.append).release()
    assert {r.address: r.state for r in store.messages()} == {
        "r0@example.edu": "uncertain", "r1@example.edu": "uncertain", "r2@example.edu": "uncertain"}
    assert any("began to send 2 messages that this store shows as never sent" in w for w in warnings)


def test_a_finished_run_leaves_nothing_to_check(workspace):
    store = claimed_store(workspace)
    (workspace / "outreach.db.lock").write_text(json.dumps({"pid": 7, "command": "send", "finished": "2026-12-01"})
                                                + "\nbegan <2@x>\n")
    open_outbox(store, "send", lambda text: None).release()
    assert store.by_message_id("<2@x>").state == "queued"


def test_claims_the_store_has_never_heard_of_stop_everything(workspace):
    store = claimed_store(workspace)
    lock_file = workspace / "outreach.db.lock"
    lock_file.write_text(json.dumps({"pid": 7, "command": "send", "finished": None}) + "\nbegan <unknown@x>\n")
    with pytest.raises(UserError, match="does not know 1 message that the last outreach send"):
        open_outbox(store, "send", lambda text: None)
    assert "began <unknown@x>" in lock_file.read_text()  # the evidence stays until the user acts
    assert store.by_message_id("<1@x>").state == "sending"  # and nothing was settled behind their back
