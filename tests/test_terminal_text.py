"""The terminal shows what is there (issue 17 item 7): every character of the Unicode
categories Cc, Cf, Zl and Zp but tab and newline (bidi overrides and isolates, zero-width
characters, the BOM, line and paragraph separators, tags...) reaches the terminal as ``\\uXXXX``,
from a contacts sheet, incoming mail, the store, or a server; checked on the bytes a command
prints, and in ``--json`` as the original text read back."""

from __future__ import annotations

import json
import sqlite3
import sys
import unicodedata
from email.header import Header

import pytest

from outreach.output import _plain, shown
from tests import mail_samples as samples
from tests.helpers import contacts_csv, template_file, write_mbox

ESCAPED = "".join(chr(c) for c in range(sys.maxunicode + 1)
                  if unicodedata.category(chr(c)) in ("Cc", "Cf", "Zl", "Zp") and chr(c) not in "\t\n")
IN_A_CELL = ESCAPED.replace("\x00", "").replace('"', "")  # a CSV cell holds no NUL (the csv module refuses it)
RLO_ADDRESS = "\u202emoc.elpmaxe@nehc"  # shown "chen@example.com", reversed


def raw_characters(output: str) -> set[str]:
    return set(output) & set(ESCAPED)


def test_the_escaped_set_is_every_character_of_those_categories():
    assert {"\x1b", "\x9b", "\u202e", "\u2066", "\u200b", "\ufeff", "\u2028", "\u2029", "\u0085", "\U000e0001"} \
        <= set(ESCAPED)
    assert len(ESCAPED) > 200


def test_each_character_is_shown_as_jsons_escape_and_reads_back():
    for char in ESCAPED:
        text = shown(f"a{char}b")
        assert not raw_characters(text), repr(char)
        assert json.loads(f'"{text}"') == f"a{char}b", repr(char)
    assert shown("José 中文 tab\there\nnewline") == "José 中文 tab\there\nnewline"


def test_the_fast_check_passes_no_character_that_needs_escaping():
    """`shown` skips its regular expression for text it finds plain (a whole `status` at once):
    no escaped character, in ASCII text or beside others, is ever found plain."""
    for char in ESCAPED:
        assert not _plain(f"a{char}b") and not _plain(f"é{char}") and not _plain(char), repr(char)
    assert _plain("José 中文 tab\there\nnewline\n" * 3) and _plain("plain ascii\tand\nlines")
    assert not _plain("\ue000 a private-use marker")  # our colour markers take the full path


def test_a_sheet_cell_reaches_preview_and_check_escaped(invoke, workspace):
    template = template_file(workspace, "Subject: Hello\n\nDear {{ first_name }},\n{{ note }}\n{{ institution }}\n{{ nope }}\n")
    contacts = contacts_csv(workspace, rows=[f'a@example.edu,Ann,Lee,"Yale{IN_A_CELL}",MSK,"{IN_A_CELL}"'])
    checked = invoke("check", template, contacts)
    assert checked.exit_code == 2 and not raw_characters(checked.output)
    template.write_text("Subject: Hello\n\nDear {{ first_name }},\n{{ note }}\n{{ institution }}\n")
    previewed = invoke("preview", template, contacts, "--line", "2")
    assert previewed.exit_code == 0, previewed.output
    assert not raw_characters(previewed.output) and "Dear Ann,\n\\u0001\\u0002" in previewed.output
    assert "\\u202e" in previewed.output and "\\u2028" in previewed.output


def hostile_reply(sent: samples.Sent) -> bytes:
    """A reply whose subject (RFC 2047, so any character fits) and display name carry the whole set."""
    subject = Header(f"Re: hello {ESCAPED}", "utf-8").encode(maxlinelen=10000)
    raw = samples.gmail_reply(sent)
    start = raw.index(b"Subject: ")
    end = raw.index(b"\r\n", start)
    return raw[:start] + f"Subject: {subject}".encode() + raw[end:]


def test_incoming_mail_reaches_classify_and_sync_escaped_and_json_reads_back(invoke, workspace, record_sent):
    sent = record_sent(samples.outgoing("chen@example.edu"))
    (workspace / "reply.eml").write_bytes(hostile_reply(sent))
    as_json = invoke("classify", workspace / "reply.eml", "--json")
    assert not raw_characters(as_json.output)
    subject = json.loads(as_json.output)["subject"]  # read back: the characters themselves (white space folded)
    assert {"\x1b", "\u202e", "\u200b", "\ufeff", "\U000e0001"} <= set(subject)
    write_mbox(workspace / "in.mbox", [hostile_reply(sent)])
    synced = invoke("sync", "--mbox", workspace / "in.mbox")
    assert not raw_characters(synced.output)
    assert "\\u202e" in synced.output and "\\udb40\\udc01" in synced.output  # the subject, shown
    for args in (("status",), ("report",), ("report", "--json"), ("classify", workspace / "reply.eml")):
        assert not raw_characters(invoke(*args).output), args


def test_a_reversed_address_from_the_store_is_shown_as_it_is(invoke, workspace, record_sent):
    record_sent(samples.outgoing("chen@example.edu"))
    with sqlite3.connect(workspace / "outreach.db") as db:
        db.execute("UPDATE messages SET address=?, campaign=?", (RLO_ADDRESS, f"fall\u2066\u200b{ESCAPED}"))
    status = invoke("status")
    assert "\u202e" not in status.output and "\\u202emoc.elpmaxe@nehc" in status.output
    assert not raw_characters(status.output)
    as_json = invoke("status", "--json")
    assert not raw_characters(as_json.output)
    rows = json.loads(as_json.output)  # valid JSON that reads back as what the store holds
    assert [(r["address"], r["campaign"]) for r in rows] == [(RLO_ADDRESS, f"fall\u2066\u200b{ESCAPED}")]


def test_the_real_process_writes_no_such_bytes(run_cli, workspace, record_sent):
    """The far end: the bytes a real `outreach sync` writes to its standard output."""
    sent = record_sent(samples.outgoing("chen@example.edu"))
    write_mbox(workspace / "in.mbox", [hostile_reply(sent)])
    done = run_cli("sync", "--mbox", workspace / "in.mbox", cwd=workspace)
    assert done.returncode == 0, done.stderr
    assert not raw_characters(done.stdout) and "\\u202e" in done.stdout


@pytest.mark.parametrize("char", ["\u202e", "\u2067", "\u200b", "\ufeff", "\u2028", "\u00ad", "\U000e0041"])
def test_one_character_in_an_error_sentence_is_escaped(invoke, workspace, char):
    """A refusal (one sentence on stderr) is escaped too: a bad address cell, named in the error."""
    template = template_file(workspace, "Subject: Hello\n\nDear {{ first_name }},\n")
    contacts = contacts_csv(workspace, rows=[f"chen{char}@example.edu,Jia,Chen,S,N,x"])
    result = invoke("draft", template, contacts)
    assert char not in result.output and shown(char) in result.output, result.output


def test_a_servers_reply_reaches_the_terminal_escaped(invoke, workspace):
    """An SMTP server's refusal, in UTF-8, shown in the send result: a reversed address in it is not."""
    from tests.scripted_servers import ScriptedServer, smtp_refusing_recipients

    reply = f"550 5.1.1 <{RLO_ADDRESS}> unknown\u2028\u200b{IN_A_CELL.replace(chr(13), '').replace(chr(10), '')}"
    with ScriptedServer(smtp_refusing_recipients(reply)) as server:
        (workspace / ".env").write_text(
            "OUTREACH_FROM=Asha Rao <asha.rao@example.org>\nOUTREACH_SMTP_HOST=127.0.0.1\n"
            f"OUTREACH_SMTP_PORT={server.port}\nOUTREACH_SMTP_SECURITY=none\nOUTREACH_RATE=unlimited\n")
        template = template_file(workspace, "Subject: Hello\n\nDear {{ first_name }},\n")
        result = invoke("send", template, contacts_csv(workspace, rows=["chen@example.edu,Jia,Chen,S,N,x"]), "--yes")
    assert result.exit_code == 1, result.output
    assert not raw_characters(result.output) and "<\\u202emoc.elpmaxe@nehc> unknown" in result.output
