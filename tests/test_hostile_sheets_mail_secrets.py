"""Hostile input, issue 9 items 8, 9, 11, 12, 13: contact sheets and mail written by strangers,
templates that try to exhaust the machine, and secrets that must never show. Every case goes
through the real CLI and asserts the exit code, the one-line message, and that nothing was
drafted, sent or lost."""

from __future__ import annotations

import dataclasses
import json
import mailbox
import sqlite3

import pytest

from tests import mail_samples as samples
from tests.helpers import HEADER, ROWS, contacts_csv, template_file, write


def drafted(workspace) -> list[str]:
    """Names of the .eml drafts in the workspace, and the store's rows (none when nothing ran)."""
    files = sorted(p.name for p in workspace.rglob("*.eml"))
    db = workspace / "outreach.db"
    if not db.exists():
        return files
    with sqlite3.connect(db) as conn:
        return files + [row[0] for row in conn.execute("SELECT address FROM messages")]


def one_error_line(result) -> str:
    """The single line of a refusal (CliRunner mixes stderr into output)."""
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    return lines[0]


# -- item 8: CSV mistakes are visible ------------------------------------------------------
UNCLOSED_QUOTE_SHEETS = {
    "never closed": f'{HEADER}\n{ROWS[0]}\nm.okafor@example.edu,Musa,Okafor,JHU,MSK,"I enjoyed\n{ROWS[2]}\n',
    "closed rows later": (f'{HEADER}\n{ROWS[0]}\nm.okafor@example.edu,Musa,Okafor,JHU,MSK,"I enjoyed\n'
                          f'{ROWS[2]}\nq@example.org,Q,R,S,T,"U"\n'),
    "closed cleanly rows later": (f'{HEADER}\n{ROWS[0]}\nm.okafor@example.edu,Musa,Okafor,JHU,MSK,"I enjoyed\n'
                                  f'{ROWS[2]}\nq@example.org,Q,R,S,T,U"\n'),
}


@pytest.mark.parametrize("command", ["check", "draft"])
@pytest.mark.parametrize("sheet", UNCLOSED_QUOTE_SHEETS.values(), ids=UNCLOSED_QUOTE_SHEETS.keys())
def test_an_unclosed_quote_is_an_error_naming_the_line_it_opened_on(invoke, workspace, command, sheet):
    template = template_file(workspace)
    contacts = write(workspace / "contacts.csv", sheet)
    result = invoke(command, template, contacts)
    assert result.exit_code == 2
    line = one_error_line(result)
    assert "contacts.csv, line 3" in line and "a quote opened on line 3" in line
    assert drafted(workspace) == []


def test_a_quoted_multi_line_note_is_still_one_cell(invoke, workspace):
    template = template_file(workspace)
    contacts = write(workspace / "contacts.csv",
                     f'{HEADER}\na@example.edu,Ann,Lee,Yale,MSK,"First line, with a comma.\nSecond line."\n')
    result = invoke("preview", template, contacts, "--row", "1")
    assert result.exit_code == 0, result.output
    assert "First line, with a comma.\nSecond line." in result.output


def test_one_windows_1252_row_does_not_garble_the_utf8_rows(invoke, workspace):
    template = template_file(workspace, "Subject: Hola {{ first_name }}\n\nDear {{ first_name }} {{ last_name }},\n")
    contacts = workspace / "contacts.csv"
    contacts.write_bytes(f"{HEADER}\njose@example.edu,José,García,U,MSK,x\n".encode()
                         + "zoe@example.edu,Zoë,Ibáñez,U,MSK,y\n".encode("cp1252"))
    result = invoke("preview", template, contacts, "--row", "1")
    assert result.exit_code == 0, result.output
    assert "Dear José García," in result.output and "Ã" not in result.output
    assert "line 3 is not valid UTF-8" in result.output  # the note names the row it guessed
    result = invoke("preview", template, contacts, "--row", "2")
    assert "Dear Zoë Ibáñez," in result.output


def test_a_line_neither_utf8_nor_windows_1252_is_named(invoke, workspace):
    template = template_file(workspace)
    contacts = workspace / "contacts.csv"
    contacts.write_bytes(f"{HEADER}\n{ROWS[0]}\n".encode() + b"a@example.edu,\x81\x8d,B,C,D,E\n")
    result = invoke("draft", template, contacts)
    assert result.exit_code == 2
    assert "contacts.csv, line 3: is neither UTF-8 nor Windows-1252" in one_error_line(result)
    assert drafted(workspace) == []


@pytest.mark.parametrize("delimiter", [";", "\t", ","])
def test_excels_sep_line_names_the_delimiter(invoke, workspace, delimiter):
    # The note holds the other delimiters, so guessing from the header line alone would fail.
    header = HEADER.replace(",", delimiter)
    row = delimiter.join(["jchen@example.edu", "Jia", "Chen", "Stanford", "neuro", "Commas, semicolons; tabs\t!"
                          .replace(delimiter, " ")])
    contacts = write(workspace / "contacts.csv", f"sep={delimiter}\r\n{header}\r\n{row}\r\n")
    result = invoke("preview", template_file(workspace), contacts, "--row", "1")
    assert result.exit_code == 0, result.output
    assert "Dear Dr. Chen," in result.output


def test_addresses_that_differ_only_in_a_special_character_get_their_own_drafts(invoke, workspace):
    template = template_file(workspace)
    contacts = contacts_csv(workspace, rows=["o'brien@example.edu,Liam,OBrien,TCD,MSK,Your paper.",
                                             "o_brien@example.edu,Aoife,O Brien,UCD,MSK,Your talk.",
                                             "o%27brien@example.edu,Sean,Brien,UCC,MSK,Your poster."])
    result = invoke("draft", template, contacts, "--campaign", "fall")
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in workspace.rglob("*.eml"))
    assert len(names) == 3, names
    texts = "".join(p.read_text() for p in workspace.rglob("*.eml"))
    assert all(name in texts for name in ("Dr. OBrien", "Dr. O Brien", "Dr. Brien"))


# -- item 9: forged or misdirected reports suppress nobody ---------------------------------
def sync_mbox(invoke, workspace, *messages: bytes) -> tuple[int, dict]:
    box = mailbox.mbox(workspace / "in.mbox", create=True)
    for raw in messages:
        box.add(raw)
    box.close()
    result = invoke("sync", "--mbox", workspace / "in.mbox", "--json")
    return result.exit_code, json.loads(result.stdout)


def suppressed(workspace) -> list[str]:
    with sqlite3.connect(workspace / "outreach.db") as conn:
        return [row[0] for row in conn.execute("SELECT address FROM suppressions")]


def forged_x_failed_recipients(sent) -> bytes:
    """A person (or a forger) writes the Exim header and bounce words; no mail system sent it."""
    return samples._join([
        "From: Helpful Stranger <friend@example.net>", f"To: {samples.SENDER}",
        "Subject: Mail delivery failed: returning message to sender", f"Date: {samples._now()}",
        "Message-ID: <forged-1@example.net>", f"X-Failed-Recipients: {sent.to}", "",
        "This message was created automatically by mail delivery software.", "",
        f"  {sent.to}", "    550 5.1.1 user unknown", "", "------ This is a copy of the message ------", "",
        samples._crlf(sent.headers)])


def stranger(sent):
    return dataclasses.replace(sent, to="stranger@elsewhere.example")


FORGED_REPORTS = {
    "DSN naming a stranger": lambda sent: samples.postfix_bounce(stranger(sent)),
    "complaint naming a stranger": lambda sent: samples.arf_complaint(stranger(sent)),
    "X-Failed-Recipients from a person": forged_x_failed_recipients,
}


@pytest.mark.parametrize("build", FORGED_REPORTS.values(), ids=FORGED_REPORTS.keys())
def test_a_forged_or_misdirected_report_suppresses_nobody(invoke, workspace, record_sent, build):
    sent = record_sent(samples.outgoing("chen@example.edu"))
    code, report = sync_mbox(invoke, workspace, build(sent))
    assert code in (0, 1)
    assert suppressed(workspace) == []
    assert all("suppressed" not in e or e["suppressed"] == [] for e in report["events"])


def test_a_misdirected_dsn_is_named_in_the_sync_summary(invoke, workspace, record_sent):
    sent = record_sent(samples.outgoing("chen@example.edu"))
    code, report = sync_mbox(invoke, workspace, samples.postfix_bounce(stranger(sent)))
    assert code == 1 and [e["kind"] for e in report["events"]] == ["bounce"]  # shown, for a forwarding address
    assert any("names only stranger@elsewhere.example" in w and "nobody was suppressed" in w
               for w in report["warnings"]), report


OOO_BODY = "Thank you for your email. I am out of the office until 15 January with limited access to email."


def test_out_of_office_text_without_headers_is_an_auto_reply(invoke, workspace, record_sent):
    sent = record_sent(samples.outgoing("chen@example.edu"))
    _, report = sync_mbox(invoke, workspace, samples.gmail_reply(sent, body=OOO_BODY))
    [event] = report["events"]
    assert event["kind"] == "auto-reply" and event["until"].endswith("-01-15")
    result = invoke("classify", workspace / "in.mbox")
    assert "auto-reply" in result.output and "out-of-office text in the body" in result.output


def test_a_person_who_mentions_a_trip_still_replied(invoke, workspace, record_sent):
    sent = record_sent(samples.outgoing("chen@example.edu"))
    body = ("Hi Asha, yes, I would be glad to have help with the stroke project. Send me your CV.\n"
            "(I will be out of the office until 15 January, but I read email.)")
    _, report = sync_mbox(invoke, workspace, samples.gmail_reply(sent, body=body))
    assert [e["kind"] for e in report["events"]] == ["reply"]


def test_out_of_office_text_over_imap_is_an_auto_reply(invoke, mail_account, record_sent):
    sent = record_sent(samples.outgoing("chen@example.edu"))
    mail_account.append(samples.gmail_reply(sent, body=OOO_BODY))
    result = invoke("sync", "--json")
    assert [e["kind"] for e in json.loads(result.stdout)["events"]] == ["auto-reply"]
