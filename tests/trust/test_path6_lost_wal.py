"""Issue 15, path 6: a store that lost its last commits must not send again what already left.

"`outreach.db-wal` lost after a crash (a backup or sync tool that copies only the `.db`): the
next `send` re-sends the 20 messages the crashed run had sent."

The store already holds an earlier campaign (`spring`, sent and closed: nothing in a WAL). Then
`send` of `fall` is killed while the server holds the DATA of its 6th message (and drops it), so
exactly five were accepted. Then either its side files vanish, or a copy of the store taken
before the run comes back in its place.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.smtp_server import Hold
from tests.trust.kit import kill, run, sidecars, spawn

FALL = [f"dr{i}@example.edu" for i in range(8)]
ACCEPTED = 5


def earlier_campaign(campaign) -> None:
    """A store with history: `spring` sent to someone else, the process ended (WAL folded in)."""
    campaign.write_contacts(1, start=100)
    code, out, err = run(campaign.ws, *campaign.args("--campaign", "spring", "--yes"))
    assert code == 0, out + err
    campaign.write_contacts(len(FALL))


def crash_after_five(campaign, server) -> None:
    """`send` of `fall` killed after five messages were accepted (the 6th is held, then dropped)."""
    server.hold_data = Hold(nth=server.data_commands + ACCEPTED + 1, keep=False)
    process = spawn(campaign.ws, *campaign.args("--campaign", "fall", "--yes"))
    assert server.hold_data.reached.wait(20)
    kill(process)
    server.hold_data.release()
    assert sum(server.received_by().get(a, 0) for a in FALL) == ACCEPTED


def test_send_after_the_wal_was_lost_sends_nobody_a_second_copy(campaign, smtp_server):
    """Path 6: the WAL and shared-memory files of the crashed run are gone (the lock stays)."""
    earlier_campaign(campaign)
    crash_after_five(campaign, smtp_server)
    store = campaign.ws / "outreach.db"
    for path in sidecars(store):
        path.unlink()
    assert (campaign.ws / "outreach.db.lock").exists()

    _, out, err = run(campaign.ws, *campaign.args("--campaign", "fall", "--yes"))
    received = smtp_server.received_by()
    assert {a: n for a, n in received.items() if n > 1} == {}, out + err
    states = campaign.states()
    assert [a for a in FALL if received.get(a, 0) != 1 and states.get(a) != "uncertain"] == [], out + err


def test_send_over_a_stale_copy_of_the_store_is_refused(campaign, smtp_server, tmp_path):
    """Path 6, a restored backup: the store copied before the run is put back after the crash."""
    earlier_campaign(campaign)
    store = campaign.ws / "outreach.db"
    assert not Path(f"{store}-wal").exists()  # every committed fact is in the file itself
    shutil.copy2(store, tmp_path / "backup.db")
    crash_after_five(campaign, smtp_server)
    for path in sidecars(store):
        path.unlink()
    shutil.copy2(tmp_path / "backup.db", store)
    before = len(smtp_server.messages)

    code, out, err = run(campaign.ws, *campaign.args("--campaign", "fall", "--yes"))
    assert len(smtp_server.messages) == before, out + err
    assert code == 2, out + err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
