"""Issue 15, path 9: what `status` calls uncertain right after a crash, `resolve` can settle.

"Right after a crash `status` says "check your Sent folder", but `resolve ADDRESS sent` answers
"has no uncertain message" until another `send` runs recovery."

`send` is killed while the server holds the DATA of the 2nd message (dr1); no other `send` runs
before `resolve`.
"""

from __future__ import annotations

import json

from tests.smtp_server import Hold
from tests.trust.kit import kill, run, spawn

DR1 = "dr1@example.edu"


def crash_during_second_data(campaign, server, *, delivered: bool) -> None:
    server.hold_data = Hold(nth=2, keep=delivered)
    process = spawn(campaign.ws, *campaign.args("--yes"))
    assert server.hold_data.reached.wait(20)
    kill(process)
    server.hold_data.release()
    status = {row["address"]: row for row in json.loads(run(campaign.ws, "status", "--json")[1])}
    assert status[DR1]["action"] == "check"                 # what the user is told to do


def test_resolve_sent_right_after_a_crash(campaign, smtp_server):
    """Path 9: the server kept dr1's message; `resolve dr1 sent` records it, and the next send
    sends the rest without dr1."""
    crash_during_second_data(campaign, smtp_server, delivered=True)
    code, out, err = run(campaign.ws, "resolve", DR1, "sent")
    assert code == 0, out + err
    assert campaign.states()[DR1] == "sent"
    code, out, err = run(campaign.ws, *campaign.args("--yes"))
    assert smtp_server.received_by() == {f"dr{i}@example.edu": 1 for i in range(3)}, out + err


def test_resolve_unsent_right_after_a_crash_puts_it_back_to_be_sent(campaign, smtp_server):
    """Path 9: the server dropped dr1's message; `resolve dr1 unsent`, then `send` sends it once."""
    crash_during_second_data(campaign, smtp_server, delivered=False)
    code, out, err = run(campaign.ws, "resolve", DR1, "unsent")
    assert code == 0, out + err
    code, out, err = run(campaign.ws, *campaign.args("--yes"))
    assert code == 0, out + err
    assert smtp_server.received_by() == {f"dr{i}@example.edu": 1 for i in range(3)}
    assert set(campaign.states().values()) == {"sent"}
