"""Polish a person notices: zones named one way in a plan, held rows listed once, "in 1 day"
only when it is, sync's columns, plurals, `report --html` alone, and an honest time left."""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys

from outreach.deliver.pacing import TimeLeft
from outreach.store import Store
from tests import mail_samples as samples
from tests.conftest import ROOT
from tests.helpers import write, write_mbox
from tests.season import LOG, THANK_YOU
from tests.seed import add_message


def test_a_plan_names_each_zone_one_way_and_lists_a_held_row_once(campaign, invoke, monkeypatch):
    monkeypatch.setenv("OUTREACH_NOW", "2026-12-01T15:00:00Z")   # 10:00 in New York
    monkeypatch.setenv("OUTREACH_TIME_ZONE", "America/New_York")
    write(campaign.ws / "templates" / "thank_you.txt", THANK_YOU)
    # Chicago written three ways: one zone, one name for it
    write(campaign.ws / "interviews.csv", LOG.replace(",CT,", ",Central,")
          + "Lakeshore,Dr. Kim,APD,kim@lakeshore.example.edu,Nov 12,10:00,America/Chicago,,x\n"
          + "Lakeshore,Dr. Ray,APD,ray@lakeshore.example.edu,Nov 12,11:00,ct,,y\n")
    result = invoke("send", "templates/thank_you.txt", "interviews.csv", "--dry-run", "--window", "12:00-18:00")
    out = result.output
    opens = re.findall(r"opens Tue 2026-12-01 12:00 (\S+) \(13:00 your time\)", out)
    assert opens == ["CST", "CST", "CST"], out
    assert "America/Chicago" not in out and "Central" not in out
    # the held rows: each once, under its reason, with why
    assert out.count("h.weber@harbour.example.de") == 1
    assert "h.weber@harbour.example.de (line 5): no contact: the program's policy says" in out
    assert out.count("a.cote@eastbrook.example.edu") == 1
    assert "a.cote@eastbrook.example.edu (line 4): not yet: interview on Dec 3, 09:00 MST" in out


def test_due_says_in_1_day_only_when_it_is(invoke, workspace, monkeypatch):
    monkeypatch.setenv("OUTREACH_NOW", "2026-12-01T15:00:00Z")
    monkeypatch.setenv("OUTREACH_TIME_ZONE", "America/New_York")
    write(workspace / "interviews.csv", LOG)
    out = invoke("due", "interviews.csv").output
    # Northfield: over at 14:30 EST on Nov 30, due 2 days later; it is 10:00 EST on Dec 1
    assert "thank-you due by Dec 2, 14:30 EST (in 1 day 4 hours)" in out
    assert "interview Dec 3, 09:00 MST (11:00 EST your time), in 2 days 1 hour" in out
    assert "thank-you was due Nov 14, 11:00 EST (16 days 23 hours ago)" in out


def test_sync_aligns_its_columns_and_counts_in_words(workspace, record_sent, invoke):
    addresses = ["chen@example.edu", "a.very.long.name.of.a.program.director@radiology.example.edu",
                 "okafor@example.edu"]
    sent = record_sent(*(samples.outgoing(address) for address in addresses))
    export = write_mbox(workspace / "export.mbox", [samples.gmail_reply(s) for s in sent])
    result = invoke("sync", "--mbox", export)
    assert result.exit_code == 0, result.output
    events = [line for line in result.output.splitlines() if line.startswith("  reply")]
    assert len(events) == 3
    assert len({line.index("fall-mentors") for line in events}) == 1  # the campaign column lines up
    assert "recorded: 3 replies" in result.output


def test_report_html_alone_prints_no_text_report(workspace, invoke):
    store = Store(workspace / "outreach.db")
    add_message(store, "fall", "x@example.edu")
    store.close()
    result = invoke("report", "--html", "report.html")
    assert result.exit_code == 0
    assert result.output == "wrote report.html\n"
    assert (workspace / "report.html").read_text().startswith("<!DOCTYPE html>")
    assert "fall" in invoke("report").output  # without --html, the text report


def test_time_left_is_the_pace_not_the_average_since_the_start():
    now = [0.0]
    left = TimeLeft(6, 15.0, clock=lambda: now[0])   # 4/min: 75 s of pacing after the first message
    assert left.seconds() == 90.0
    now[0] = 0.2
    left.sent()                                      # the first leaves at once
    assert left.seconds() == 75.0                    # click said 5 x 0.2 = 1 s here
    now[0] = 15.3
    left.sent()
    assert round(left.seconds(), 6) == 4 * 15.1      # the messages so far took a little longer
    slow = TimeLeft(3, 0.0, clock=lambda: now[0])    # no pacing: what the server really takes
    now[0] += 2.0
    slow.sent()
    assert slow.seconds() == 2 * 2.0


def test_the_progress_bar_shows_the_time_left_on_a_terminal(campaign, smtp_server):
    import pty

    campaign.write_contacts(4)
    leader, follower = pty.openpty()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.Popen([sys.executable, "-m", "outreach", *campaign.args("--yes", "--rate", "120/min")],
                           cwd=campaign.ws, env=env, stdout=subprocess.PIPE, stderr=follower, text=True)
    os.close(follower)
    out, _ = run.communicate(timeout=30)
    terminal = b""
    while chunk := _read(leader):
        terminal += chunk
    os.close(leader)
    assert run.returncode == 0 and "Sent 4 of 4" in out
    shown = {int(done): int(seconds) for done, seconds in re.findall(rb"  (\d)/4  about (\d+) s left", terminal)}
    # one message every 0.5 s: at least that for each one still to go (click's own average said 0 s)
    assert sorted(shown) == [0, 1, 2, 3], terminal
    assert all(math.ceil((4 - done) * 0.5) <= seconds <= 10 for done, seconds in shown.items()), terminal


def _read(fd: int) -> bytes:
    try:
        return os.read(fd, 4096)
    except OSError:
        return b""
