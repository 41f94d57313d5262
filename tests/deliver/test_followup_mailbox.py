"""Follow-ups against a real Dovecot: sync first when stale, drafts in the IMAP Drafts folder,
auto-reply return dates read by sync, and the report after a real sync."""

from __future__ import annotations

import email
import email.policy
import json
from datetime import date, datetime, timedelta, timezone

import pytest

from outreach.track.report import wilson
from tests import mail_samples as samples

FOLLOW_UP = """Subject: Re: {{ original.subject }}
Kind: follow-up

Dear colleague,

I am following up on my email of {{ original.sent_on }}.

Best regards,
Asha Rao
"""


def address(i: int) -> str:
    return f"dr{i}@example.edu"


@pytest.fixture
def eight_days_later(monkeypatch, workspace):
    """The clock a week and a day after sending; a sync of today still counts as fresh."""
    (workspace / "fu.txt").write_text(FOLLOW_UP, encoding="utf-8")
    later = datetime.now(timezone.utc) + timedelta(days=8)
    monkeypatch.setenv("OUTREACH_NOW", later.strftime("%Y-%m-%dT%H:%M:%SZ"))
    monkeypatch.setenv("OUTREACH_SYNC_MAX_AGE", "9d")


def parse(raw: bytes):
    return email.message_from_bytes(raw, policy=email.policy.default)


def test_the_mailbox_is_read_before_anyone_is_chosen(mail_account, record_sent, invoke, eight_days_later):
    quiet, answered = record_sent(samples.outgoing(address(1)), samples.outgoing(address(2)))
    mail_account.append(samples.gmail_reply(answered))  # arrived after the last sync (there was none)
    result = invoke("followup", "fall-mentors", "--template", "fu.txt", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "mailbox: read just now (127.0.0.1)" in result.stdout
    assert "1 due a follow-up; not now: 1 replied" in result.stdout
    listing, skipped = result.stdout.split("not now: 1 replied")[1].split("skipped:\n")
    assert [line.split()[0] for line in listing.splitlines()[1:]] == [quiet.to]
    assert [line.split()[0] for line in skipped.splitlines()] == [answered.to]


def test_follow_ups_as_imap_drafts(mail_account, record_sent, invoke, eight_days_later):
    first, second = record_sent(samples.outgoing(address(1)), samples.outgoing(address(2)))
    assert invoke("sync").exit_code == 0
    result = invoke("followup", "fall-mentors", "--template", "fu.txt", "--imap")
    assert result.exit_code == 0, result.output
    assert "appended 2 follow-up drafts to Drafts" in result.output
    drafts = {parse(raw)["To"].addresses[0].addr_spec: parse(raw) for raw in mail_account.messages("Drafts")}
    for sent in (first, second):
        draft = drafts[sent.to]
        assert draft["In-Reply-To"] == sent.message_id and draft["References"] == sent.message_id
        assert draft["Subject"] == "Re: " + sent.subject and draft["X-Unsent"] is None
    # Again: replaced in place, not duplicated.
    assert invoke("followup", "fall-mentors", "--template", "fu.txt", "--imap").exit_code == 0
    assert len(mail_account.messages("Drafts")) == 2
    # Drafts in the Drafts folder are not replies, and do not count as sent.
    assert invoke("sync").exit_code == 0
    assert "2 due a follow-up" in invoke("followup", "fall-mentors", "--template", "fu.txt", "--dry-run").output


def test_sync_then_follow_up_then_report(mail_account, record_sent, invoke, eight_days_later, workspace):
    """Twelve sent; replies, auto-replies (one with a return date), bounces and unrelated mail."""
    sent = record_sent(*(samples.outgoing(address(i)) for i in range(12)))
    back = date.today() + timedelta(days=12)
    for raw in [samples.gmail_reply(sent[0]), samples.outlook_reply(sent[1]),
                samples.gmail_vacation(sent[2], back), samples.sieve_vacation(sent[3]),
                samples.postfix_bounce(sent[4]), samples.postfix_delay(sent[5]), samples.arf_complaint(sent[6]),
                samples.newsletter(), samples.personal(), samples.unrelated_reply(), samples.stranger_ooo()]:
        mail_account.append(raw)
    assert invoke("sync").exit_code == 0
    result = invoke("followup", "fall-mentors", "--template", "fu.txt")
    assert result.exit_code == 0, result.output
    due = sorted(p.name.removesuffix(".followup1.eml") for p in (workspace / "drafts" / "fall-mentors").glob("*.followup1.eml"))
    assert due == sorted(address(i) for i in (3, 5, 7, 8, 9, 10, 11))
    status = {s["address"]: s for s in json.loads(invoke("status", "--json").output)}
    assert status[address(2)]["next_action"] == f"waiting: out of office until {back.isoformat()}"
    assert status[address(6)]["next_action"] == "none: complained (spam report)"
    totals = json.loads(invoke("report", "--json").output)["campaigns"][0]["totals"]
    low, high = wilson(2, 11)
    assert {k: totals[k] for k in ("planned", "sent", "bounced", "delivered", "replied", "auto_replied",
                                   "reply_rate", "reply_rate_ci95")} == {
        "planned": 12, "sent": 12, "bounced": 1, "delivered": 11, "replied": 2, "auto_replied": 2,
        "reply_rate": round(2 / 11, 6), "reply_rate_ci95": [round(low, 6), round(high, 6)]}
