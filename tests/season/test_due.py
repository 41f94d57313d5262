"""`outreach due`: every interviewer by state at several moments, --json, and an .ics file that a
real iCalendar parser reads back."""

from __future__ import annotations

import json
import sqlite3
from datetime import date, datetime, timezone
from pathlib import Path

import icalendar
import pytest

from tests.season import LOG


def due_json(invoke, *args) -> dict:
    result = invoke("due", "interviews.csv", "--json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def states(data) -> list[tuple[str, str]]:
    return [(e["state"], e["email"].split("@")[0]) for e in data["entries"]]


def test_due_lists_every_interviewer_most_urgent_first(invoke, log):
    result = invoke("due", "interviews.csv")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("overdue   Dr. Maria Lopez (Lakeshore): interviewed Nov 12, 09:00 CST; "
                               "thank-you was due Nov 14, 11:00 EST")
    assert lines[1] == ("due       Dr. Ingrid Sorensen (Northfield): interviewed Nov 30, 13:30 EST; "
                        "thank-you due by Dec 2, 14:30 EST (in 1 day 4 hours)")
    assert lines[2] == ("upcoming  Dr. Amelie Cote (Eastbrook): interview Dec 3, 09:00 MST (11:00 EST your time), "
                        "in 2 days 1 hour")
    assert lines[3].startswith("skipped   Dr. Hans Weber (Harbour): no contact")
    assert lines[-1] == "5 interviewers: 1 overdue, 1 due, 1 upcoming, 2 skipped"


def test_drafted_sent_and_replied_come_from_the_store(invoke, log, workspace):
    assert invoke("draft", "templates/thank_you.txt", "interviews.csv").exit_code == 0
    assert states(due_json(invoke))[:2] == [("drafted", "m.lopez"), ("drafted", "i.sorensen")]
    with sqlite3.connect(workspace / "outreach.db") as db:
        db.execute("UPDATE messages SET state='sent', sent_at='2026-12-01T14:00:00Z' WHERE address LIKE 'm.lopez%'")
    # a sent note is "sent"; an unsent draft stays "drafted" whatever the mailbox says
    invoke("mark", "i.sorensen@northfield.example.org", "replied", "--date", "2026-12-01T14:30:00Z")
    data = due_json(invoke)
    assert ("sent", "m.lopez") in states(data) and ("drafted", "i.sorensen") in states(data)
    invoke("mark", "m.lopez@lakeshore.example.edu", "replied", "--date", "2026-12-01T14:40:00Z")
    lopez = next(e for e in due_json(invoke)["entries"] if e["email"].startswith("m.lopez"))
    assert lopez["state"] == "replied" and lopez["campaign"] == "thank_you"


def test_a_mentor_email_to_the_same_person_is_not_the_thank_you(invoke, log, workspace, record_sent):
    from types import SimpleNamespace

    record_sent(SimpleNamespace(to="i.sorensen@northfield.example.org", message_id="<m@x>", subject="Research"))
    assert ("due", "i.sorensen") in states(due_json(invoke))


@pytest.mark.parametrize("now, state", [
    ("2026-11-01T13:59:00Z", "upcoming"),   # 08:59 EST, the morning clocks fell back
    ("2026-11-01T14:30:00Z", "upcoming"),   # during the interview
    ("2026-11-01T15:00:00Z", "due"),        # over
    ("2026-11-03T15:00:00Z", "overdue"),    # two days later: the deadline (--within 2d) has passed
])
def test_across_the_daylight_saving_change(invoke, log, workspace, monkeypatch, now, state):
    (workspace / "interviews.csv").write_text("program,interviewer,email,interview_date,interview_time,time_zone\n"
                     "Northfield,Dr. Ingrid Sorensen,i.s@northfield.example.org,2026-11-01,9:00 AM,ET\n")
    monkeypatch.setenv("OUTREACH_NOW", now)
    monkeypatch.setenv("OUTREACH_TIME_ZONE", "Asia/Kolkata")
    data = due_json(invoke)
    entry = data["entries"][0]
    assert entry["state"] == state and entry["interview_start"] == "2026-11-01T09:00:00-05:00"
    if state == "upcoming":
        assert "(19:30 IST your time)" in entry["detail"]
        assert entry["detail"].endswith(", now" if now == "2026-11-01T14:30:00Z" else "in 1 minute")
    if state == "due":
        assert entry["deadline"] == "2026-11-03T10:00:00-05:00"


def test_within_moves_the_deadline(invoke, log):
    data = due_json(invoke, "--within", "3w")
    assert [s for s, _ in states(data)][:2] == ["due", "due"]
    assert invoke("due", "interviews.csv", "--within", "soon").exit_code == 2


def test_a_bad_zone_names_line_and_column(invoke, log, workspace):
    (workspace / "interviews.csv").write_text(LOG.replace(",MST,", ",Mountain Standard,"))
    result = invoke("due", "interviews.csv")
    assert result.exit_code == 2
    assert "interviews.csv, line 4  a.cote@eastbrook.example.edu\n  error   column \"time_zone\": " \
           "'Mountain Standard' is not a time zone" in result.output
    (workspace / "interviews.csv").write_text("program,email\nP,a@example.edu\n")
    assert "no interview_date column" in invoke("due", "interviews.csv").output


def test_ics_is_rfc_5545_and_reads_back(invoke, log, workspace):
    (workspace / "interviews.csv").write_text(LOG + "Westward,Dr. Ann Long-Name-Here Zoë Øster-Ångström,Program Director of the Transitional "
                         "Year,a.long@westward.example.edu,2026-12-10,,Asia/Kolkata,,a day without a time\n")
    result = invoke("due", "interviews.csv", "--ics", "season.ics")
    assert result.exit_code == 0, result.output and "wrote season.ics" in result.output
    raw = (workspace / "season.ics").read_bytes()
    assert raw.endswith(b"\r\n") and b"\n" not in raw.replace(b"\r\n", b"")
    assert all(len(line) <= 75 for line in raw.split(b"\r\n"))
    assert b"\r\n " in raw  # long lines are folded
    parsed = icalendar.Calendar.from_ical(raw)
    assert parsed["VERSION"] == "2.0" and parsed["PRODID"]
    events = list(parsed.walk("VEVENT"))
    uids = [str(e["UID"]) for e in events]
    assert len(uids) == len(set(uids)) and all(e.get("DTSTAMP") for e in events)
    by_summary = {str(e["SUMMARY"]): e for e in events}
    cote = by_summary["Interview: Dr. Amelie Cote (Eastbrook)"]
    assert cote.decoded("DTSTART") == datetime(2026, 12, 3, 16, 0, tzinfo=timezone.utc)  # 09:00 MST
    assert "Thank-you due: Dr. Amelie Cote (Eastbrook)" in by_summary
    assert str(cote["DESCRIPTION"]).startswith("Dr. Amelie Cote, Chair\nLocal time: Dec 3, 09:00 MST (America/Denver)")
    assert by_summary["Thank-you due: Dr. Ingrid Sorensen (Northfield)"].decoded("DTEND") == \
        datetime(2026, 12, 2, 19, 30, tzinfo=timezone.utc)
    long = next(e for name, e in by_summary.items() if name.startswith("Interview: Dr. Ann"))
    assert long.decoded("DTSTART") == date(2026, 12, 10)  # all day
    assert "Øster-Ångström" in str(long["SUMMARY"])
    assert "Interview: Dr. Hans Weber (Harbour)" in by_summary          # the interview is still in the calendar
    assert "Thank-you due: Dr. Hans Weber (Harbour)" not in by_summary  # but no note to write
    again = invoke("due", "interviews.csv", "--ics", "season.ics")
    assert again.exit_code == 0
    assert sorted(str(e["UID"]) for e in icalendar.Calendar.from_ical(
        (workspace / "season.ics").read_bytes()).walk("VEVENT")) == sorted(uids)  # a re-import updates


def test_the_shipped_log_exercises_every_column_at_the_readme_date(invoke, tmp_path, monkeypatch):
    """The README's walk-through: the example log has every column, a policy row, a zone abroad
    and interviews still ahead on December 4, 2026 at 09:00 in New York."""
    assert invoke("init", tmp_path / "demo", "--example").exit_code == 0
    monkeypatch.chdir(tmp_path / "demo")
    monkeypatch.setenv("OUTREACH_NOW", "2026-12-04T09:00:00-05:00")
    monkeypatch.setenv("OUTREACH_TIME_ZONE", "America/New_York")
    header = Path("interviews.csv").read_text(encoding="utf-8").splitlines()[0].split(",")
    assert {"program", "interviewer", "role", "email", "interview_date", "interview_time", "time_zone",
            "policy"} <= set(header)
    data = json.loads(invoke("due", "interviews.csv", "--json").output)
    assert data["counts"] == {"overdue": 1, "due": 4, "drafted": 0, "upcoming": 3, "sent": 0, "replied": 0,
                              "skipped": 1}
    assert "Europe/London" in {e["time_zone"] for e in data["entries"]}
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    shown = invoke("due", "interviews.csv").output
    assert shown in readme  # the README shows the real output
    assert invoke("check", "templates/thank_you.txt", "interviews.csv").output in readme
    drafted = invoke("draft", "templates/thank_you.txt", "interviews.csv", "--campaign", "interviews",
                     "--out", "thank-you")
    assert drafted.exit_code == 0 and drafted.output in readme


def test_due_as_a_real_process_honours_the_clock_and_the_zone(run_cli, log, workspace):
    done = run_cli("due", "interviews.csv", "--json", cwd=workspace,
                   env={"OUTREACH_NOW": "2026-12-03T17:00:00Z", "OUTREACH_TIME_ZONE": "Asia/Kolkata"})
    assert done.returncode == 0, done.stderr
    cote = next(e for e in json.loads(done.stdout)["entries"] if e["email"].startswith("a.cote"))
    assert cote["state"] == "due" and "thank-you due by Dec 5, 22:30 IST" in cote["detail"]
