"""Issue 10.3: any mail from a person we wrote to is an answer. A fresh message from the
contact's address (no thread headers, any subject), arriving after our message, is a reply
matched by address; an auto-reply, or mail they sent before we wrote, is not."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid

from tests import mail_samples as samples
from tests.deliver.test_followup_mailbox import eight_days_later  # noqa: F401  (a fixture)


def fresh(sender: str, subject: str, when: datetime, **headers: str) -> bytes:
    m = EmailMessage(policy=SMTP)
    m["From"], m["To"], m["Subject"] = sender, samples.SENDER, subject
    m["Date"], m["Message-ID"] = format_datetime(when), make_msgid(domain="example.edu")
    for name, value in headers.items():
        m[name.replace("_", "-")] = value
    m.set_content("Thanks for writing. Could you send your CV? We may have a project.\n")
    return m.as_bytes()


def test_a_fresh_message_from_the_contact_is_an_answer(mail_account, record_sent, invoke, eight_days_later,  # noqa: F811
                                                       workspace):
    answered, early, away, quiet = record_sent(*(samples.outgoing(f"dr{i}@example.edu") for i in range(4)))
    soon = datetime.now(timezone.utc) + timedelta(hours=2)
    mail_account.append(fresh(answered.to, "Your email about neuroradiology", soon))
    mail_account.append(fresh(early.to, "Seminar next week", soon - timedelta(days=30)))  # before we wrote
    mail_account.append(fresh(away.to, "Out of the office", soon, Auto_Submitted="auto-replied"))

    result = invoke("sync", "--json")
    assert result.exit_code == 0, result.output
    events = json.loads(result.output)["events"]
    assert [(e["address"], e["kind"], e["strength"]) for e in events] == [(answered.to, "reply", "address")]

    status = invoke("status", "fall-mentors").output
    line = next(row for row in status.splitlines() if answered.to in row)
    assert "reply (by address)" in line and "none: replied" in line

    result = invoke("followup", "fall-mentors", "--template", "fu.txt", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "3 due a follow-up; not now: 1 replied" in result.output
    skipped = result.output.split("skipped:\n")[1].splitlines()
    assert [row.split() [0] for row in skipped] == [answered.to] and "none: replied" in skipped[0]

    assert invoke("followup", "fall-mentors", "--template", "fu.txt").exit_code == 0
    written = sorted(p.name.removesuffix(".followup1.eml") for p in (workspace / "drafts" / "fall-mentors").iterdir())
    assert written == sorted([early.to, away.to, quiet.to])


def test_classify_gives_the_answer_sync_records(record_sent, invoke, workspace):
    """Issue 16.8: one classifier, one answer. A fresh message from a contact is the reply by
    address that `sync` records, in `classify` too, text and --json; from a stranger it stays other."""
    contact = record_sent(samples.outgoing("dr0@example.edu"))
    soon = datetime.now(timezone.utc) + timedelta(hours=2)
    (workspace / "fresh.eml").write_bytes(fresh(contact.to, "Your email about neuroradiology", soon))
    (workspace / "stranger.eml").write_bytes(fresh("someone@example.net", "Your email about neuroradiology", soon))

    text = invoke("classify", "fresh.eml", "stranger.eml")
    assert text.exit_code == 0, text.output
    line, other = text.output.splitlines()
    assert line.startswith(f"fresh.eml: reply  {contact.to}  written by a person: a new message from the address")
    assert f"matches fall-mentors -> {contact.to} by a new message from the address we wrote to" in line
    assert other.startswith("stranger.eml: other  someone@example.net") and "matches" not in other

    as_json = [json.loads(row) for row in invoke("classify", "fresh.eml", "--json").output.splitlines()]
    assert [(r["kind"], r["match"]["strength"]) for r in as_json] == [("reply", "address")]
    (workspace / "inbox.mbox").write_bytes(b"From x\n" + fresh(contact.to, "Your email", soon).replace(b"\r\n", b"\n"))
    assert invoke("sync", "--mbox", "inbox.mbox", "--json").exit_code == 0
    recorded = json.loads(invoke("sync", "--mbox", "inbox.mbox", "--json").output)["events"]
    assert [(e["kind"], e["strength"], e["reason"]) for e in recorded] == [("reply", "address", as_json[0]["reason"])]
