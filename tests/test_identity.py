"""Issue 15, path 7: one mailbox typed several ways is one person wherever an address enters.

The sheet (`check`, `draft`, `send`, `preview --to`), `mark`, the mailbox (`sync`: senders, the
failed recipients of reports) and the store (its writes, and a migration of what older versions
stored) all key an address by its identity (outreach/addresses.py): a full-width domain, an
accent composed or combining, the punycode form and any case are the same mailbox.
"""

from __future__ import annotations

import email
import email.policy
import json
import sqlite3
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest

from outreach.addresses import InvalidAddress, address_key, identity
from outreach.store import Outgoing, Store
from outreach.store.schema import MIGRATIONS, statements
from tests import mail_samples as samples
from tests.helpers import write_mbox
from tests.seed import force_state

# identity -> the ways a sheet, a person or a mail server may write it (the first is the sheet's first row)
SPELLINGS = {
    "jane@example.edu": ["jane@example.edu", "jane@ｅｘａｍｐｌｅ.edu", "JANE@Example.EDU", "Jane@example。edu",
                         "jane@ＥＸＡＭＰＬＥ．ＥＤＵ", " jane@example.edu\u00a0"],
    "jose@xn--univ-epa.fr": ["jose@univé.fr", "jose@unive\u0301.fr", "JOSE@XN--UNIV-EPA.FR", "Jose@UNIVÉ.FR",
                             "jose@ｕｎｉｖé.fr"],
    "ana@xn--mnchen-3ya.de": ["Ana@xn--mnchen-3ya.de", "ana@münchen.de", "ana@mu\u0308nchen.de", "ANA@MÜNCHEN.DE"],
}
ALL = [(key, typed) for key, forms in SPELLINGS.items() for typed in forms]
def parse_bytes(raw: bytes):
    return email.message_from_bytes(raw, policy=email.policy.default)


TEMPLATE = "Subject: Research on {{ topic }}\n\nDear Dr. {{ last_name }},\n\n{{ note }}\n\nAsha Rao\n"


@pytest.mark.parametrize("key, typed", ALL)
def test_every_spelling_has_one_identity(key, typed):
    assert identity(typed) == key
    assert address_key(typed) == key
    assert address_key(key) == key  # idempotent: a stored key keys to itself


def test_an_address_that_is_not_valid_still_has_a_stable_key():
    with pytest.raises(InvalidAddress, match="before the @-sign"):
        identity("josé@univé.fr")  # an internationalized mailbox name needs SMTPUTF8: refused for sending
    key = address_key("JOSÉ@univé.fr")
    assert key == address_key("jose\u0301@xn--univ-epa.fr") == "josé@xn--univ-epa.fr" and address_key(key) == key


def sheet_rows() -> tuple[list[str], dict[int, int]]:
    """Rows naming each mailbox in every spelling, and {line of a repeat: line of the first}."""
    rows, repeats = [], {}
    for number, forms in enumerate(SPELLINGS.values()):
        first = len(rows) + 2
        for typed in forms:
            line = len(rows) + 2
            rows.append(f'"{typed}",Name{number},Surname{number},topic{number},note {line}')
            if line != first:
                repeats[line] = first
    return rows, repeats


def write_sheet(ws, rows: list[str]) -> None:
    (ws / "contacts.csv").write_text("email,first_name,last_name,topic,note\n" + "\n".join(rows) + "\n",
                                     encoding="utf-8")
    (ws / "t.txt").write_text(TEMPLATE, encoding="utf-8")


def test_check_names_both_lines_of_every_repeat(workspace, invoke):
    rows, repeats = sheet_rows()
    write_sheet(workspace, rows)
    result = invoke("check", "t.txt", "contacts.csv")
    assert result.exit_code == 1, result.output  # warnings only
    lines = result.output.splitlines()
    for line, first in repeats.items():
        at = next(i for i, text in enumerate(lines) if text.startswith(f"contacts.csv, line {line} "))
        key = lines[at].split()[-1]
        assert key in SPELLINGS
        assert f"is the same mailbox as line {first}; this row is skipped" in lines[at + 1], result.output
    assert f"{len(rows)} rows: {len(SPELLINGS)} clean, {len(repeats)} with warnings" in result.output
    firsts = set(repeats.values())
    assert not [text for text in lines if any(text.startswith(f"contacts.csv, line {n} ") for n in firsts)]


def test_send_delivers_one_message_per_mailbox(campaign, invoke, smtp_server):
    rows, repeats = sheet_rows()
    write_sheet(campaign.ws, rows)
    result = invoke(*campaign.args("--yes", "--campaign", "fall"))
    assert result.exit_code == 1, result.output  # sent, with a warning for each repeat
    assert f"{len(repeats)} a repeated address in the CSV" in result.output
    delivered = [rcpt for message in smtp_server.messages for rcpt in message.rcpt_tos]
    assert sorted(delivered) == sorted(SPELLINGS)
    assert sorted(m.message["To"].addresses[0].addr_spec for m in smtp_server.messages) == sorted(SPELLINGS)
    assert sorted(campaign.states()) == sorted(SPELLINGS)

    # Another day, another spelling of each: already sent.
    write_sheet(campaign.ws, [f'"{forms[-1]}",N,S,t,n' for forms in SPELLINGS.values()])
    again = invoke(*campaign.args("--yes", "--campaign", "fall"))
    assert again.exit_code == 0, again.output
    assert "3 already sent" in again.output and len(smtp_server.messages) == 3


def test_draft_writes_one_draft_per_mailbox(workspace, invoke):
    rows, repeats = sheet_rows()
    write_sheet(workspace, rows)
    result = invoke("draft", "t.txt", "contacts.csv", "--campaign", "fall")
    assert result.exit_code == 1, result.output
    assert "wrote 3 drafts to drafts/fall/" in result.output
    assert sorted(p.name for p in (workspace / "drafts" / "fall").glob("*.eml")) == sorted(
        f"{key}.eml" for key in SPELLINGS)
    with sqlite3.connect(workspace / "outreach.db") as db:
        lines = sorted(line for (line,) in db.execute("SELECT contact_line FROM messages"))
    assert lines == sorted(set(repeats.values()))  # each mailbox's first row


def test_preview_finds_the_row_by_any_spelling(workspace, invoke):
    rows, _ = sheet_rows()
    write_sheet(workspace, rows)
    for key, typed in ALL:
        result = invoke("preview", "t.txt", "contacts.csv", "--to", typed)
        assert result.exit_code == 0, (typed, result.output)
        assert f" <{key}>" in result.output.split("\n\n")[0], (typed, result.output)


def test_mark_finds_the_contact_however_it_is_typed(workspace, invoke):
    store = Store(workspace / "outreach.db")
    with store.transaction():
        for number, forms in enumerate(SPELLINGS.values()):  # written under a spelling that is not the identity
            store.record("queue", Outgoing(campaign="fall", address=forms[-1], message_id=f"<{number}@x>",
                                           template="t.txt", subject="Research", recipients=[forms[-1]],
                                           contact={"email": forms[-1]}, contact_line=number + 2, transport="smtp"))
            force_state(store, f"<{number}@x>", "sent")
    for key, typed in ALL:
        result = invoke("mark", typed, "replied", "--json")
        assert result.exit_code == 0, result.output
        assert json.loads(result.output)["address"] == key
    marks = store.db.execute("SELECT address, message_id FROM events WHERE kind = 'replied'").fetchall()
    assert sorted(a for a, _ in marks) == sorted(SPELLINGS) and all(mid for _, mid in marks)
    status = {s["address"]: s["next_action"] for s in json.loads(invoke("status", "fall", "--json").output)}
    assert set(status) == set(SPELLINGS) and all(text.startswith("none: replied") for text in status.values())
    assert invoke("mark", "jane@ｅｘａｍｐｌｅ.edu", "replied", "--undo").exit_code == 0
    assert "jane@example.edu" not in {a for (a,) in store.db.execute("SELECT address FROM events")}


# -- the mailbox ------------------------------------------------------------------------------
def fresh_message(from_line: str, subject: str = "Your email about research", thread: str = "") -> bytes:
    """A person's message with an RFC 6532 (UTF-8) From line, as an internationalized domain's
    mail system writes it; no thread headers unless ``thread``."""
    lines = [f"From: {from_line}", f"To: {samples.SENDER_NAME} <{samples.SENDER}>", f"Subject: {subject}",
             f"Date: {format_datetime(datetime.now(timezone.utc))}", "Message-ID: <p1.x@mail.univ.example>",
             "MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8", *([thread] if thread else []), "",
             "Happy to talk. Thursday?", ""]
    return "\r\n".join(lines).encode("utf-8")


def sent_by_address(ws, smtp) -> dict[str, samples.Sent]:
    received = {m.message_id: m.data for m in smtp.messages}
    with sqlite3.connect(ws / "outreach.db") as db:
        rows = db.execute("SELECT address, message_id, subject FROM messages").fetchall()
    return {a: samples.Sent(mid, a, subject, received[mid]) for a, mid, subject in rows}


def test_sync_matches_mail_from_any_spelling(campaign, invoke, smtp_server):
    write_sheet(campaign.ws, [f'"{forms[0]}",N,S,t,n' for forms in SPELLINGS.values()])
    assert invoke(*campaign.args("--yes", "--campaign", "fall")).exit_code == 0
    sent = sent_by_address(campaign.ws, smtp_server)
    jose, jane, ana = sent["jose@xn--univ-epa.fr"], sent["jane@example.edu"], sent["ana@xn--mnchen-3ya.de"]
    export = write_mbox(campaign.ws / "export.mbox", [
        # sent to punycode, answered from the Unicode domain, without thread headers
        fresh_message("José Ruiz <Jose@univé.fr>"),
        # a reply by subject from a full-width, upper-case spelling
        fresh_message("Jane <JANE@ＥＸＡＭＰＬＥ.EDU>", subject="Re: " + jane.subject),
        # a delivery report naming the Unicode form of the address we sent to in punycode
        samples.postfix_bounce(samples.Sent(ana.message_id, "ana@MÜNCHEN.de", ana.subject, ana.raw)),
    ])
    result = invoke("sync", "--mbox", export, "--json")
    assert result.exit_code == 0, result.output
    events = {e["address"]: e for e in json.loads(result.stdout)["events"]}
    assert {a: (e["kind"], e["strength"]) for a, e in events.items()} == {
        jose.to: ("reply", "address"), jane.to: ("reply", "subject"), ana.to: ("bounce", "dsn")}
    assert events[ana.to]["suppressed"] == [ana.to]
    assert list(Store(campaign.ws / "outreach.db").suppressed()) == [ana.to]


def test_mail_from_our_own_address_in_another_spelling_is_never_a_reply(campaign, invoke, smtp_server):
    write_sheet(campaign.ws, ['"jane@example.edu",N,S,t,n'])
    assert invoke(*campaign.args("--yes", "--campaign", "fall")).exit_code == 0
    mine = fresh_message("Asha <ASHA.RAO@ｅｘａｍｐｌｅ.org>", thread=f"In-Reply-To: {smtp_server.messages[0].message_id}")
    result = invoke("sync", "--mbox", write_mbox(campaign.ws / "export.mbox", [mine]), "--json")
    assert json.loads(result.stdout)["events"] == []


# -- a store written by an older version -------------------------------------------------------
def old_store(path) -> sqlite3.Connection:
    """A store at schema 5 (before identities), filled as older versions could have filled it."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA foreign_keys=ON")
    for number, script in enumerate(MIGRATIONS[:5], start=1):
        for statement in statements(script):
            db.execute(statement)
        db.execute(f"PRAGMA user_version = {number}")
    return db


def add_old_message(db, address: str, message_id: str, state: str, *, step: int = 0, sent_at: str | None = None,
                    recipients=None, parent_id: str | None = None, created: str = "2026-11-01T10:00:00Z") -> None:
    db.execute("INSERT INTO messages (campaign, address, step, message_id, parent_id, template, subject, recipients, "
               "contact, contact_line, state, transport, created_at, updated_at, sent_at) "
               "VALUES ('fall', ?, ?, ?, ?, 't.txt', 'Research', ?, '{}', 2, ?, 'smtp', ?, ?, ?)",
               (address, step, message_id, parent_id, json.dumps(recipients or [address]), state, created, created,
                sent_at))


def add_old_event(db, message_id: str | None, address: str, kind: str, source: str) -> None:
    db.execute("INSERT INTO events (message_id, address, kind, source, strength, occurred_at, recorded_at) "
               "VALUES (?, ?, ?, ?, 'header', '2026-11-05T10:00:00Z', '2026-11-05T10:00:00Z')",
               (message_id, address, kind, source))


def test_an_old_store_is_migrated_to_identities(workspace, invoke):
    db = old_store(workspace / "outreach.db")
    # One person under two spellings of one campaign step: the queued copy and the one that was sent.
    add_old_message(db, "jane@ｅｘａｍｐｌｅ.edu", "<queued@x>", "queued", created="2026-11-01T09:00:00Z")
    add_old_message(db, "jane@example.edu", "<sent@x>", "sent", sent_at="2026-11-01T10:00:00Z",
                    recipients=["Jane@Example.EDU", "Cc.Person@ＥＸＡＭＰＬＥ.org"])
    add_old_event(db, "<queued@x>", "jane@ｅｘａｍｐｌｅ.edu", "auto-reply", "imap:1")
    add_old_message(db, "jane@ｅｘａｍｐｌｅ.edu", "<fu@x>", "drafted", step=1, parent_id="<queued@x>")
    # Another person stored in Unicode, with events and suppressions under both spellings.
    add_old_message(db, "jose@univé.fr", "<jose@x>", "sent", sent_at="2026-11-01T10:00:00Z")
    add_old_event(db, "<jose@x>", "jose@univé.fr", "reply", "imap:2")
    add_old_event(db, None, "JOSE@XN--UNIV-EPA.FR", "opted-out", "mark::jose:opted-out")
    db.execute("INSERT INTO suppressions VALUES ('jose@xn--univ-epa.fr', 'opted-out', '2026-11-06T00:00:00Z')")
    db.execute("INSERT INTO suppressions VALUES ('jose@univé.fr', 'bounce 5.1.1', '2026-11-03T00:00:00Z')")
    db.execute("INSERT INTO suppressions VALUES ('not an address', 'opted-out', '2026-11-03T00:00:00Z')")
    db.close()

    store = Store(workspace / "outreach.db")
    assert store.db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    rows = {(r["address"], r["step"]): dict(r) for r in store.db.execute("SELECT * FROM messages")}
    assert sorted(rows) == [("jane@example.edu", 0), ("jane@example.edu", 1), ("jose@xn--univ-epa.fr", 0)]
    kept = rows[("jane@example.edu", 0)]
    assert (kept["message_id"], kept["state"]) == ("<sent@x>", "sent")  # sent wins over queued
    assert json.loads(kept["recipients"]) == ["jane@example.edu", "cc.person@example.org"]
    assert rows[("jane@example.edu", 1)]["parent_id"] == "<sent@x>"  # the follow-up answers the row kept
    events = store.db.execute("SELECT message_id, address, kind FROM events ORDER BY id").fetchall()
    assert [tuple(e) for e in events] == [("<sent@x>", "jane@example.edu", "auto-reply"),  # nothing lost
                                          ("<jose@x>", "jose@xn--univ-epa.fr", "reply"),
                                          (None, "jose@xn--univ-epa.fr", "opted-out")]
    assert store.suppressed() == {"jose@xn--univ-epa.fr": "bounce 5.1.1", "not an address": "opted-out"}
    store.close()

    # Commands find the migrated rows by any spelling.
    assert json.loads(invoke("mark", "Jose@UNIVÉ.FR", "declined", "--json").output)["campaign"] == "fall"
    status = {s["address"]: s for s in json.loads(invoke("status", "fall", "--json").output)}
    assert set(status) == {"jane@example.edu", "jose@xn--univ-epa.fr"}
    assert status["jose@xn--univ-epa.fr"]["next_action"].startswith("none: ")


def test_a_store_with_rows_no_address_rule_can_read_still_opens(workspace):
    db = old_store(workspace / "outreach.db")
    add_old_message(db, "", "<a@x>", "sent", recipients=["x"])
    db.execute("UPDATE messages SET recipients = 'not json' WHERE message_id = '<a@x>'")
    add_old_message(db, "ÉMILE@ÉCOLE..fr", "<b@x>", "sent")
    db.close()
    store = Store(workspace / "outreach.db")
    assert {r[0]: r[1] for r in store.db.execute("SELECT address, recipients FROM messages")} == {
        "": "not json", "émile@école..fr": '["\\u00e9mile@\\u00e9cole..fr"]'}


def test_a_follow_up_goes_to_the_identity_the_first_message_went_to(campaign, invoke, smtp_server, monkeypatch):
    write_sheet(campaign.ws, ['"JANE@Example.EDU",N,S,t,n', '"Jose@UNIVÉ.fr",N,S,t,n'])
    assert invoke(*campaign.args("--yes", "--campaign", "fall")).exit_code == 0
    (campaign.ws / "fu.txt").write_text("Subject: Re: {{ original.subject }}\nKind: follow-up\n\nHello again.\n",
                                        encoding="utf-8")
    later = datetime.now(timezone.utc) + timedelta(days=8)
    monkeypatch.setenv("OUTREACH_NOW", later.strftime("%Y-%m-%dT%H:%M:%SZ"))
    result = invoke("followup", "fall", "--template", "fu.txt", "--no-sync")
    assert result.exit_code == 0, result.output
    drafts = sorted((campaign.ws / "drafts" / "fall").glob("*.followup1.eml"))
    to = sorted(parse_bytes(p.read_bytes())["To"].addresses[0].addr_spec for p in drafts)
    assert to == ["jane@example.edu", "jose@xn--univ-epa.fr"]
