"""One hostile message never breaks sync: over IMAP (a real Dovecot), mbox and Maildir.

A stranger's message that the email package or the classifier cannot handle (multiparts nested
1,000 deep, a From of 5,000 open parentheses: both RecursionError) is counted as unreadable,
named by folder and UID or by file, skipped, and the sync goes on; over IMAP its position moves
past it, so the next `sync` and `followup` do not meet it again.
"""

from __future__ import annotations

import json
import mailbox
from datetime import datetime, timedelta, timezone

import pytest

from outreach.store import Store
from tests import mail_samples as samples
from tests.helpers import write_mbox


def nested_bounce(sent: samples.Sent, depth: int = 1000) -> bytes:
    """A "delivery report" whose parts nest ``depth`` deep: it is screened in for its full text."""
    head = ["From: Mail Delivery System <MAILER-DAEMON@mx.example.edu>", "To: asha.rao@example.org",
            "Subject: Undelivered Mail Returned to Sender", "Date: Mon, 30 Nov 2026 10:00:00 +0000",
            "Message-ID: <nested@mx.example.edu>", f"In-Reply-To: {sent.message_id}", "MIME-Version: 1.0",
            'Content-Type: multipart/mixed; boundary="b0"', ""]
    body = []
    for i in range(1, depth):
        body += [f"--b{i - 1}", f'Content-Type: multipart/mixed; boundary="b{i}"', ""]
    body += [f"--b{depth - 1}", "Content-Type: text/plain", "", "hello"]
    body += [f"--b{i}--" for i in reversed(range(depth))]
    return ("\r\n".join(head + body) + "\r\n").encode()


def nested_auto_reply(sent: samples.Sent) -> bytes:
    """An auto-reply from the contact themselves, nested too deeply to read."""
    raw = nested_bounce(sent).replace(b"Mail Delivery System <MAILER-DAEMON@mx.example.edu>", sent.to.encode())
    return raw.replace(b"Subject: Undelivered Mail Returned to Sender",
                       b"Auto-Submitted: auto-replied\r\nSubject: Out of office")


def parenthesised_sender(sent: samples.Sent) -> bytes:
    """A From header of 5,000 open comments, pointing at our message: the header parser recurses."""
    return (f"From: {'(' * 5000}\r\nTo: asha.rao@example.org\r\nSubject: Re: {sent.subject}\r\n"
            f"In-Reply-To: {sent.message_id}\r\nMessage-ID: <parens@example.net>\r\n\r\nhello\r\n").encode()


def sync(invoke, *args) -> tuple[dict, int, str]:
    result = invoke("sync", "--json", *args)
    assert "internal error" not in result.output and "Traceback" not in result.output, result.output
    return json.loads(result.stdout), result.exit_code, result.stderr


@pytest.mark.parametrize("hostile", [nested_bounce, parenthesised_sender])
def test_over_imap_a_hostile_message_is_skipped_named_and_passed_for_good(mail_account, record_sent, invoke,
                                                                         workspace, hostile):
    chen, okafor = record_sent(samples.outgoing("chen@example.edu"), samples.outgoing("okafor@example.edu"))
    mail_account.append(samples.gmail_reply(chen))  # uid 1
    mail_account.append(hostile(okafor))             # uid 2
    mail_account.append(samples.outlook_reply(okafor))  # uid 3: after it, in the same batch

    report, code, _ = sync(invoke)
    assert code == 1
    assert [{k: u[k] for k in ("folder", "uid", "error")} for u in report["unreadable"]] == [
        {"folder": "INBOX", "uid": 2, "error": "nested too deeply"}]
    assert report["warnings"] == ["INBOX uid 2: could not be read (nested too deeply); it was skipped"]
    assert [(e["address"], e["kind"]) for e in report["events"]] == [
        ("chen@example.edu", "reply"), ("okafor@example.edu", "reply")]

    again, code, _ = sync(invoke)
    assert code == 0 and again["unreadable"] == [] and again["sources"][0]["messages"] == 0
    with Store(workspace / "outreach.db").db as db:
        assert db.execute("SELECT last_uid FROM sync_state WHERE folder='INBOX'").fetchone()[0] == 3


def test_unreadable_mail_from_a_contact_counts_as_an_answer(mail_account, record_sent, invoke):
    chen, okafor = record_sent(samples.outgoing("chen@example.edu"), samples.outgoing("okafor@example.edu"))
    mail_account.append(nested_auto_reply(chen))
    result = invoke("sync")
    assert result.exit_code == 1, result.output
    assert "recorded: 1 reply; 1 unreadable message skipped" in result.stdout
    assert ("INBOX uid 1: could not be read (nested too deeply); it was skipped. It is from chen@example.edu, "
            "whom you wrote to, so it counts as an answer and no follow-up goes to them") in result.stderr
    status = invoke("status", "--json")
    actions = {row["address"]: row["next_action"] for row in json.loads(status.stdout)}
    assert actions["chen@example.edu"].startswith("none: replied")
    assert actions["okafor@example.edu"].startswith("follow-up due")
    again = invoke("sync", "--full")
    assert "recorded: nothing new (1 already recorded); 1 unreadable message skipped" in again.stdout


def test_followup_syncs_past_a_hostile_message(mail_account, record_sent, invoke, workspace, monkeypatch):
    quiet, answered = record_sent(samples.outgoing("dr1@example.edu"), samples.outgoing("dr2@example.edu"))
    mail_account.append(nested_bounce(quiet))
    mail_account.append(samples.gmail_reply(answered))
    (workspace / "fu.txt").write_text("Subject: Re: {{ original.subject }}\nKind: follow-up\n\nDear colleague,\n\n"
                                      "Following up.\n\nAsha Rao\n", encoding="utf-8")
    later = datetime.now(timezone.utc) + timedelta(days=8)
    monkeypatch.setenv("OUTREACH_NOW", later.strftime("%Y-%m-%dT%H:%M:%SZ"))
    monkeypatch.setenv("OUTREACH_SYNC_MAX_AGE", "9d")
    for _ in range(2):  # the second run finds the sync fresh and the store whole
        result = invoke("followup", "fall-mentors", "--template", "fu.txt", "--dry-run")
        assert result.exit_code in (0, 1) and "internal error" not in result.output, result.output
        assert "1 due a follow-up; not now: 1 replied" in result.stdout, result.output


def write_maildir(path, messages):
    box = mailbox.Maildir(path, create=True)
    keys = [box.add(raw) for raw in messages]
    box.close()
    return path, keys


@pytest.mark.parametrize("hostile", [nested_bounce, parenthesised_sender])
def test_in_an_mbox_a_hostile_message_is_skipped_and_named(workspace, record_sent, invoke, hostile):
    chen, okafor = record_sent(samples.outgoing("chen@example.edu"), samples.outgoing("okafor@example.edu"))
    export = write_mbox(workspace / "export.mbox", [hostile(okafor), samples.gmail_reply(chen)])
    report, code, _ = sync(invoke, "--mbox", export)
    assert code == 1
    assert [(u["file"], u["number"], u["where"]) for u in report["unreadable"]] == [
        (str(export), 1, f"{export}#1")]
    assert [(e["address"], e["kind"]) for e in report["events"]] == [("chen@example.edu", "reply")]
    assert Store(workspace / "outreach.db").db.execute("SELECT count(*) FROM events").fetchone()[0] == 1


def test_in_a_maildir_a_hostile_message_is_skipped_and_named_by_its_key(workspace, record_sent, invoke):
    chen, okafor = record_sent(samples.outgoing("chen@example.edu"), samples.outgoing("okafor@example.edu"))
    folder, keys = write_maildir(workspace / "Maildir", [samples.gmail_reply(chen), nested_bounce(okafor)])
    report, code, _ = sync(invoke, "--maildir", folder)
    assert code == 1
    bad = sorted(keys).index(keys[1]) + 1
    assert [(u["file"], u["number"], u["key"]) for u in report["unreadable"]] == [(str(folder), bad, keys[1])]
    assert [(e["address"], e["kind"]) for e in report["events"]] == [("chen@example.edu", "reply")]


def test_classify_names_a_hostile_message_and_goes_on(workspace, invoke):
    sent = samples.outgoing("chen@example.edu")
    export = write_mbox(workspace / "export.mbox", [parenthesised_sender(sent), samples.gmail_reply(sent)])
    result = invoke("classify", export)
    assert result.exit_code == 1 and "internal error" not in result.output, result.output
    assert f"{export}#1: could not be read" in result.stderr
    assert f"{export}#2: reply" in result.stdout
