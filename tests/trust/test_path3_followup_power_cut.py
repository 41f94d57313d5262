"""Issue 15, path 3: after a power cut, a follow-up that may have left is never sent again.

"`followup --send` after a power cut: recovery marks the interrupted follow-ups uncertain, but
they were planned before recovery and go out anyway — one person received two."

The power cut is made of its two parts. The machine dies while the server holds the DATA of
dr0's follow-up (SIGKILL; the server keeps the message, so dr0 has it). And the store file is
one from before dr0's send began (copied while the server held dr0's MAIL FROM, put back after
the kill): the worst a disk, a backup or a sync tool can do. The outbox lock's own record, which
says dr0's DATA began, is what remains.
"""

from __future__ import annotations

import json

from tests.smtp_server import Hold
from tests.trust.kit import (
    days_later,
    kill,
    received_by_mailbox,
    restore,
    run,
    snapshot,
    spawn,
    store_rows,
)

FOLLOWUP = ("followup", "fall", "-t", "templates/follow_up.txt", "--send", "--yes")


def test_followup_cut_off_by_a_power_cut_is_not_sent_twice(world, monkeypatch, tmp_path):
    """Path 3: dr0 received the follow-up before the power cut; the next `followup --send` must not
    send it again (status says to check), while dr1 and dr2 get theirs once."""
    server, store = world.server, world.ws / "outreach.db"
    assert run(world.ws, *world.args("--campaign", "fall", "--yes"))[0] == 0
    server.messages.clear()
    monkeypatch.setenv("OUTREACH_NOW", days_later(8))

    server.hold_mail = Hold(nth=server.mail_commands + 1)
    server.hold_data = Hold(nth=server.data_commands + 1, keep=True)
    process = spawn(world.ws, *FOLLOWUP, "--rate", "120/min")  # paced: one claim (with its fsync) per message
    assert server.hold_mail.reached.wait(20)
    snapshot(store, tmp_path / "on-disk")            # dr0 claimed and fsynced; nothing after it yet
    server.hold_mail.release()
    assert server.hold_data.reached.wait(20)
    kill(process)
    server.hold_data.release()                       # the server had dr0's follow-up: it is delivered
    assert received_by_mailbox(server) == {"dr0@example.edu": 1}
    restore(store, tmp_path / "on-disk")

    _, out, err = run(world.ws, *FOLLOWUP)
    assert received_by_mailbox(server) == {f"dr{i}@example.edu": 1 for i in range(3)}, out + err
    status = {row["address"]: row for row in json.loads(run(world.ws, "status", "fall", "--json")[1])}
    assert status["dr0@example.edu"]["action"] == "check"
    followups = {row["address"]: row["state"] for row in store_rows(world.ws, "step = 1")}
    assert (followups["dr1@example.edu"], followups["dr2@example.edu"]) == ("sent", "sent")
