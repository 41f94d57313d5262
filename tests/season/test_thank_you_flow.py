"""check, draft and send follow the interview log: nothing before the interview, nothing to a
program that asks for none, each with its reason; through the real CLI and a real SMTP server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.season import LOG, THANK_YOU

HELD = {"a.cote@eastbrook.example.edu": "not yet: interview on Dec 3, 09:00 MST",
        "h.weber@harbour.example.de": "no contact: the program's policy says 'No post-interview communication'",
        "j.novak@harbour.example.de": "no contact: the program's policy says 'No post-interview communication'"}




def test_check_shows_each_skipped_row_with_its_reason(invoke, log, workspace):
    result = invoke("check", *log)
    assert result.exit_code == 0, result.output
    assert "interviews.csv, line 4  a.cote@eastbrook.example.edu\n  skipped not yet: interview on Dec 3, 09:00 MST" \
        in result.output
    assert "5 rows: 2 clean, 0 with warnings, 0 with errors, 3 skipped" in result.output
    data = json.loads(invoke("check", *log, "--json").output)
    assert {row["email"]: row["skipped"] for row in data["rows"]} == HELD
    assert data["summary"]["skipped"] == 3
    # the same template without "Kind: thank-you" is not held to the log
    (workspace / "templates" / "thank_you.txt").write_text(THANK_YOU.replace("Kind: thank-you\n", ""))
    assert "5 clean" in invoke("check", *log).output


@pytest.mark.parametrize("now, drafted", [
    ("2026-12-03T15:59:00Z", 2),     # 08:59 in Denver: before the interview
    ("2026-12-03T16:30:00Z", 2),     # 09:30: during it
    ("2026-12-03T17:00:00Z", 3),     # 10:00: over
])
def test_draft_writes_a_note_only_once_the_interview_is_over(invoke, log, workspace, monkeypatch, now, drafted):
    monkeypatch.setenv("OUTREACH_NOW", now)
    result = invoke("draft", *log)
    assert result.exit_code == 0, result.output
    assert f"wrote {drafted} drafts" in result.output
    names = sorted(p.name for p in (workspace / "drafts").rglob("*.eml"))  # drafts/CAMPAIGN/ADDRESS.eml
    assert ("a.cote@eastbrook.example.edu.eml" in names) is (drafted == 3)
    assert not any("harbour" in name and "novak" not in name for name in names)
    assert "j.novak@harbour.example.de.eml" not in names  # the program's policy covers every interviewer
    assert "skipped h.weber@harbour.example.de: no contact" in result.output


def test_a_bad_date_or_zone_is_an_error_naming_line_and_column(invoke, log, workspace):
    (workspace / "interviews.csv").write_text(LOG.replace("11/30/2026", "03/04/2026").replace(",MST,", ",Mars,"))
    result = invoke("draft", *log)
    assert result.exit_code == 2 and "nothing was drafted" in result.output
    assert 'line 3' in result.output and 'column "interview_date": \'03/04/2026\' is ambiguous' in result.output
    assert 'column "time_zone": \'Mars\' is not a time zone' in result.output
    assert not (workspace / "drafts").exists()
    (workspace / ".env").write_text((workspace / ".env").read_text() + "OUTREACH_DATE_ORDER=MDY\n")
    assert "ambiguous" not in invoke("check", *log).output


def test_send_never_sends_to_a_skipped_row(invoke, log, workspace, smtp_server, tls_cert, monkeypatch):
    from tests.conftest import smtp_settings

    settings = smtp_settings(smtp_server, tls_cert[0])
    (workspace / ".env").write_text("".join(f"{k}={v}\n" for k, v in settings.items()))
    result = invoke("send", *log, "--yes")
    assert result.exit_code == 0, result.output
    assert "1 interview not over yet (a later run sends them)" in result.output
    assert "2 the program's policy says no post-interview contact" in result.output
    assert "a.cote@eastbrook.example.edu (line 4): not yet: interview on Dec 3, 09:00 MST" in result.output
    assert sorted(smtp_server.received_by()) == ["i.sorensen@northfield.example.org", "m.lopez@lakeshore.example.edu"]
    again = invoke("send", *log, "--yes", "--limit", "4")
    assert "nothing to send now" in again.output and len(smtp_server.messages) == 2
    # After the interview in Denver, the next run sends the one that waited, and only it.
    monkeypatch.setenv("OUTREACH_NOW", "2026-12-03T20:00:00Z")
    later = invoke("send", *log, "--yes")
    assert later.exit_code == 0 and "Sent 1 of 1" in later.output
    assert sorted(smtp_server.received_by()) == ["a.cote@eastbrook.example.edu", "i.sorensen@northfield.example.org",
                                                 "m.lopez@lakeshore.example.edu"]
    assert not Path("drafts").exists()


def test_thank_you_notes_are_never_due_a_follow_up(invoke, log, workspace, smtp_server, tls_cert, monkeypatch):
    from tests.conftest import smtp_settings

    settings = smtp_settings(smtp_server, tls_cert[0])
    (workspace / ".env").write_text("".join(f"{k}={v}\n" for k, v in settings.items()))
    assert invoke("send", *log, "--yes", "--campaign", "thanks").exit_code == 0
    monkeypatch.setenv("OUTREACH_NOW", "2026-12-20T15:00:00Z")  # long past any follow-up delay
    status = invoke("status")
    assert status.exit_code == 0, status.output
    assert status.output.count("none: a thank-you note is not followed up") == 2
    assert "follow-up due" not in status.output
    (workspace / "templates" / "follow_up.txt").write_text("Kind: follow-up\nSubject: Re: {{ original.subject }}\n\n"
                                                           "Just checking in.\n")
    followup = invoke("followup", "thanks", "-t", "templates/follow_up.txt", "--dry-run", "--no-sync")
    assert "0 due a follow-up" in followup.output and "2 thank-you notes (never followed up)" in followup.output
    report = invoke("report")
    assert "thank-you notes are never followed up" in report.output and "followed up)" not in report.output
    assert json.loads(invoke("report", "--json").output)["campaigns"][0]["thank_you"] is True


def test_a_row_without_its_interview_date_is_a_warning(invoke, log, workspace):
    (workspace / "interviews.csv").write_text(LOG.replace("2026-12-03", ""))
    result = invoke("check", *log)
    assert result.exit_code == 1
    assert 'column "interview_date": empty: the note is not held back until the interview is over' in result.output
    assert invoke("due", "interviews.csv").exit_code == 2


def test_a_no_contact_row_needs_no_address(invoke, log, workspace):
    (workspace / "interviews.csv").write_text(LOG.replace("h.weber@harbour.example.de", ""))
    result = invoke("check", *log)
    assert result.exit_code == 0, result.output
    assert "line 5  Dr. Hans Weber\n  skipped no contact" in result.output
