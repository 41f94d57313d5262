"""Send windows in the recipient's time: `send --window`, `--weekdays`, `--wait`, at chosen moments.

OUTREACH_NOW fixes the moment a run starts; a `--wait` run's clock then advances with the real
monotonic clock, so a window that opens 2 s after OUTREACH_NOW opens 2 s into the run.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone

import pytest

from outreach.deliver.windows import (
    SendWindow,
    opens_at,
    parse_window,
    resolve_window,
)
from outreach.errors import UserError
from outreach.zones import parse_zone
from tests.conftest import ROOT
from tests.deliver.test_send_crash import finish, kill, wait_until

UTC = timezone.utc
NEW_YORK = parse_zone("America/New_York")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def write_zoned(campaign, zones: list[str], column: str = "time_zone") -> None:
    """One contact per zone: dr0@..., dr1@..., in that order."""
    rows = [f"email,first_name,last_name,topic,note,{column}"]
    rows += [f"dr{i}@example.edu,Name{i},Surname{i},perfusion,Your paper number {i} was a revelation.,{zone}"
             for i, zone in enumerate(zones)]
    (campaign.ws / campaign.contacts).write_text("\n".join(rows) + "\n", encoding="utf-8")


def start(campaign, *extra: str, env: dict[str, str]) -> subprocess.Popen:
    """`outreach send --yes ...` as a real process, on the user's clock in India."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OUTREACH_TIME_ZONE": "Asia/Kolkata", **env}
    return subprocess.Popen([sys.executable, "-m", "outreach", *campaign.args("--yes", *extra)], cwd=campaign.ws,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.fixture
def zoned(campaign, monkeypatch):
    monkeypatch.setenv("OUTREACH_TIME_ZONE", "Asia/Kolkata")   # the user's clock, whatever the machine's
    return campaign


# ------------------------------------------------------------------------------ pure rules
@pytest.mark.parametrize("now, expected", [
    ("2026-11-30T14:00:00Z", "2026-11-30T14:00:00Z"),  # Monday 09:00 in New York: open now
    ("2026-11-30T23:30:00Z", "2026-12-01T13:00:00Z"),  # Monday 18:30: tomorrow 08:00
    ("2026-11-27T23:00:00Z", "2026-11-30T13:00:00Z"),  # Friday 18:00: Monday 08:00, not Saturday
    ("2026-11-28T15:00:00Z", "2026-11-30T13:00:00Z"),  # Saturday 10:00: Monday
    ("2026-11-01T11:30:00Z", "2026-11-02T13:00:00Z"),  # Sunday of the change: Monday 08:00 EST
    ("2026-10-30T11:30:00Z", "2026-10-30T12:00:00Z"),  # Friday 07:30 EDT: 08:00 EDT is 12:00Z
])
def test_weekday_window_opens_on_the_contacts_clock(now, expected):
    window = SendWindow(*parse_window("08:00-18:00"), weekdays=True)
    assert opens_at(window, NEW_YORK, at(now)) == at(expected)


def test_a_window_keeps_its_wall_clock_hours_across_the_daylight_saving_change():
    window = SendWindow(*parse_window("08:00-18:00"))
    # 12:30Z is 08:30 EDT on Saturday October 31, but 07:30 EST on Sunday November 1
    assert opens_at(window, NEW_YORK, at("2026-10-31T12:30:00Z")) == at("2026-10-31T12:30:00Z")
    assert opens_at(window, NEW_YORK, at("2026-11-01T12:30:00Z")) == at("2026-11-01T13:00:00Z")
    assert opens_at(window, NEW_YORK, at("2026-11-01T05:30:00Z")) == at("2026-11-01T13:00:00Z")  # 01:30 EDT


def test_a_window_across_midnight_and_window_syntax():
    night = SendWindow(*parse_window("22:00-06:00"))
    assert opens_at(night, UTC, at("2026-11-30T23:00:00Z")) == at("2026-11-30T23:00:00Z")
    assert opens_at(night, UTC, at("2026-11-30T07:00:00Z")) == at("2026-11-30T22:00:00Z")
    for bad in ("8-18", "08:00-08:00", "25:00-26:00", "08:00", "08:60-09:00"):
        with pytest.raises(UserError, match="--window"):
            parse_window(bad)
    assert resolve_window({}, None, None) is None
    assert resolve_window({"send_window": "09:00-17:00", "send_weekdays": "yes"}, None, None) == \
        SendWindow(*parse_window("09:00-17:00"), weekdays=True)
    with pytest.raises(UserError, match="OUTREACH_SEND_WINDOW"):
        resolve_window({"send_window": "nine to five"}, None, None)


# ------------------------------------------------------------------------- the real command
def test_only_contacts_inside_their_window_are_sent_the_rest_wait_for_a_later_run(zoned, invoke, smtp_server,
                                                                                  monkeypatch):
    write_zoned(zoned, ["America/New_York", "PT", "Europe/London", "Asia/Kolkata"])
    monkeypatch.setenv("OUTREACH_NOW", "2026-12-02T14:00:00Z")  # 09:00 NY, 06:00 LA, 14:00 London, 19:30 India
    result = invoke(*zoned.args("--yes", "--window", "08:00-18:00"))
    out = result.output
    assert result.exit_code == 1, out  # 1: some are left for a later run
    assert "Window:    08:00-18:00 in each contact's time" in out
    assert "Waiting:   2 outside their window" in out
    assert "dr1@example.edu (line 3): opens Wed 2026-12-02 08:00 PST (21:30 your time)" in out
    assert "dr3@example.edu (line 5): opens Thu 2026-12-03 08:00 IST (08:00 your time)" in out
    assert "Sent 2 of 2" in out
    assert sorted(smtp_server.received_by()) == ["dr0@example.edu", "dr2@example.edu"]
    assert "Waiting: 2 outside their window; the next opens Wed 2026-12-02 08:00 PST" in out

    monkeypatch.setenv("OUTREACH_NOW", "2026-12-02T16:30:00Z")  # 08:30 in Los Angeles: the same command
    again = invoke(*zoned.args("--yes", "--window", "08:00-18:00"))
    assert "Sent 1 of 1" in again.output and "Waiting:   1 outside" in again.output
    assert smtp_server.received_by() == {f"dr{i}@example.edu": 1 for i in range(3)}


def test_weekdays_wait_for_monday_and_a_dry_run_answers_what_goes_out_then(zoned, invoke, smtp_server,
                                                                           monkeypatch):
    write_zoned(zoned, ["ET", "Europe/Berlin"])
    zoned.configure(OUTREACH_SEND_WINDOW="08:00-18:00", OUTREACH_SEND_WEEKDAYS="yes")  # the settings
    monkeypatch.setenv("OUTREACH_NOW", "2026-11-28T15:00:00Z")   # Saturday
    saturday = invoke(*zoned.args("--yes"))
    assert "nothing to send now" in saturday.output and smtp_server.messages == []
    assert "opens Mon 2026-11-30 08:00 EST (18:30 your time)" in saturday.output
    assert "opens Mon 2026-11-30 08:00 CET (12:30 your time)" in saturday.output
    assert "weekdays only" in saturday.output

    monkeypatch.setenv("OUTREACH_NOW", "2026-11-30T09:00:00+01:00")   # "Monday at 9 in Berlin?"
    monday = invoke(*zoned.args("--dry-run"))
    assert "Send now:  1 message" in monday.output and "Dear Dr. Surname1," in monday.output
    assert "dr0@example.edu (line 2): opens Mon 2026-11-30 08:00 EST" in monday.output
    assert smtp_server.messages == []
    anyday = invoke(*zoned.args("--dry-run", "--any-day", "--window", "00:00-24:00"))
    assert "Send now:  2 messages" in anyday.output


def test_across_the_daylight_saving_change_the_same_utc_hour_is_in_then_out(zoned, invoke, smtp_server, monkeypatch):
    write_zoned(zoned, ["America/New_York"], column="Timezone")     # read as the zone column too
    monkeypatch.setenv("OUTREACH_NOW", "2026-11-01T12:30:00Z")   # 07:30 EST, the first morning after
    result = invoke(*zoned.args("--yes", "--window", "08:00-18:00"))
    assert "opens Sun 2026-11-01 08:00 EST (18:30 your time)" in result.output
    assert smtp_server.messages == []
    monkeypatch.setenv("OUTREACH_NOW", "2026-10-31T12:30:00Z")   # 08:30 EDT, the day before
    assert "Sent 1 of 1" in invoke(*zoned.args("--yes", "--window", "08:00-18:00")).output


def test_an_unreadable_zone_is_an_error_and_an_empty_one_uses_the_users_clock(zoned, invoke, smtp_server,
                                                                             monkeypatch):
    monkeypatch.setenv("OUTREACH_NOW", "2026-12-02T05:00:00Z")   # 10:30 in India (the user), 00:00 in New York
    write_zoned(zoned, ["", "America/New_York", "Mars/Olympus"])
    bad = invoke(*zoned.args("--yes", "--window", "08:00-18:00"))
    assert bad.exit_code == 2 and smtp_server.messages == []
    assert "contacts.csv, line 4" in bad.output and 'column "time_zone"' in bad.output
    assert "'Mars/Olympus' is not a time zone" in bad.output

    write_zoned(zoned, ["", "America/New_York"])
    ok = invoke(*zoned.args("--yes", "--window", "08:00-18:00"))
    assert "no time_zone on line 2: their window is counted on your clock" in ok.output
    assert list(smtp_server.received_by()) == ["dr0@example.edu"]


# ----------------------------------------------------------------------------- send --wait
def test_wait_sends_each_as_its_window_opens_with_a_line_saying_who_is_next(zoned, smtp_server):
    write_zoned(zoned, ["Europe/London", "America/New_York"])
    started = time.monotonic()
    code, out, err = finish(start(zoned, "--window", "08:00-18:00", "--wait",
                                  env={"OUTREACH_NOW": "2026-11-30T12:59:58Z"}))  # NY opens in 2 s
    assert code == 0, out + err
    assert time.monotonic() - started >= 1.5
    assert "waiting: next dr1@example.edu (line 3) at Mon 2026-11-30 08:00 EST (18:30 your time)" in err
    assert "Sent 2 of 2" in out
    assert smtp_server.received_by() == {"dr0@example.edu": 1, "dr1@example.edu": 1}


def test_wait_killed_mid_wait_then_resumed_sends_no_duplicate(zoned, smtp_server):
    write_zoned(zoned, ["Europe/London", "America/New_York", "America/Chicago"])
    env = {"OUTREACH_NOW": "2026-11-30T12:59:58Z"}   # New York opens in 2 s, Chicago in an hour
    run = start(zoned, "--window", "08:00-18:00", "--wait", env=env)
    wait_until(lambda: len(smtp_server.messages) == 1)
    time.sleep(0.3)
    kill(run)                                        # SIGKILL while waiting for New York
    assert zoned.states() == {"dr0@example.edu": "sent"}   # nothing was claimed for the wait

    run = start(zoned, "--window", "08:00-18:00", "--wait", env=env)   # the same command
    wait_until(lambda: len(smtp_server.messages) == 2, timeout=20)
    time.sleep(0.3)
    run.send_signal(signal.SIGINT)                    # Ctrl-C while waiting for Chicago: stops at once
    code, out, err = finish(run)
    assert code == 130, out + err
    assert "Interrupted: 1 message not sent yet." in out
    assert "waiting: next dr2@example.edu (line 4) at Mon 2026-11-30 08:00 CST" in err
    assert smtp_server.received_by() == {"dr0@example.edu": 1, "dr1@example.edu": 1}
    assert zoned.states() == {"dr0@example.edu": "sent", "dr1@example.edu": "sent"}


def test_wait_keeps_the_daily_cap(zoned, smtp_server):
    write_zoned(zoned, ["Europe/London", "America/New_York"])
    run = start(zoned, "--window", "08:00-18:00", "--wait", "--daily-cap", "1",
                env={"OUTREACH_NOW": "2026-11-30T12:59:58Z"})
    wait_until(lambda: len(smtp_server.messages) == 1)
    time.sleep(3)                                    # New York's window has opened; the cap has no room
    _, _, err = kill(run)
    assert smtp_server.received_by() == {"dr0@example.edu": 1}
    assert "the daily cap has room at" in err


def test_on_a_terminal_the_wait_line_is_rewritten_in_place_with_the_time_left(zoned, smtp_server):
    import pty

    write_zoned(zoned, ["America/New_York"])
    leader, follower = pty.openpty()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OUTREACH_TIME_ZONE": "Asia/Kolkata",
           "OUTREACH_NOW": "2026-11-30T12:59:58Z"}
    run = subprocess.Popen([sys.executable, "-m", "outreach", *zoned.args("--yes", "--window", "08:00-18:00",
                                                                          "--wait")],
                           cwd=zoned.ws, env=env, stdout=subprocess.PIPE, stderr=follower, text=True)
    os.close(follower)
    out, _ = run.communicate(timeout=30)
    terminal = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:
            break
        if not chunk:
            break
        terminal += chunk
    os.close(leader)
    assert run.returncode == 0 and "Sent 1 of 1" in out
    assert b"\r\x1b[Kwaiting: next dr0@example.edu (line 2) at Mon 2026-11-30 08:00 EST" in terminal
    assert re.search(rb"EST \(18:30 your time\), in [12] s", terminal)   # the time left
