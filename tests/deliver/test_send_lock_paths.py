"""One send at a time per store, whatever the path: real `outreach send` processes, a real server.

The lock belongs to the store file itself, so a symlink, a relative and an absolute path to one
store meet at one lock; and a brand-new store appears whole, so sends started together never see
a half-made one.
"""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import ROOT
from tests.smtp_server import Hold

BUSY = "another outreach command"


def start(campaign, cwd, db: str | None = None) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if db is not None:
        env["OUTREACH_DB"] = db
    args = [sys.executable, "-m", "outreach", "send", str(campaign.ws / campaign.template),
            str(campaign.ws / campaign.contacts), "--yes"]
    return subprocess.Popen(args, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(process: subprocess.Popen) -> tuple[int, str]:
    out, err = process.communicate(timeout=60)
    return process.returncode, out + err


def test_a_second_send_by_another_path_to_the_same_store_is_refused(campaign, smtp_server, tmp_path):
    campaign.write_contacts(4)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / ".env").write_text((campaign.ws / ".env").read_text())
    (elsewhere / "link.db").symlink_to(campaign.ws / "outreach.db")
    smtp_server.hold_data = Hold(nth=2)
    first = start(campaign, campaign.ws)  # ./outreach.db, relative
    assert smtp_server.hold_data.reached.wait(20)
    by_symlink = finish(start(campaign, elsewhere, db="link.db"))
    by_absolute = finish(start(campaign, elsewhere, db=str(campaign.ws / "outreach.db")))
    by_dots = finish(start(campaign, elsewhere, db="../ws/./outreach.db"))
    smtp_server.hold_data.release()
    code, output = finish(first)
    assert code == 0 and "Sent 4 of 4" in output, output
    for code, output in (by_symlink, by_absolute, by_dots):
        assert code == 2 and BUSY in output and "Traceback" not in output, output
        # one line, after the note that the workspace is the current folder's, not the template's
        assert output.count("\n") == 2 and output.startswith(f"note: using the workspace {elsewhere}, the current "
                                                             "folder's; "), output
    assert smtp_server.received_by() == {f"dr{i}@example.edu": 1 for i in range(4)}
    assert not (elsewhere / "link.db.lock").exists()


def test_sends_started_together_on_a_brand_new_store_never_see_a_half_made_store(campaign, smtp_server):
    # (tests/test_hostile_store.py races eight openings in threads, which hits the window reliably)
    campaign.write_contacts(4)
    runs = [start(campaign, campaign.ws) for _ in range(4)]
    results = [finish(run) for run in runs]
    for code, output in results:
        assert "not an outreach tracking store" not in output and "Traceback" not in output, output
        assert code == 0 or (code == 2 and BUSY in output), output
    assert sum(code == 0 for code, _ in results) >= 1
    assert smtp_server.received_by() == {f"dr{i}@example.edu": 1 for i in range(4)}
    assert not [p.name for p in campaign.ws.iterdir() if p.name.startswith(".outreach.db.new-")]
