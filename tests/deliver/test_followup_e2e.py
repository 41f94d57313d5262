"""End to end against real servers: send 30 to aiosmtpd, answer in Dovecot, sync, follow up, report.

The story of the 30 contacts (dr0 ... dr29):

* dr0-dr3 replied (Gmail, Outlook, Apple Mail, an assistant answering with References only);
* dr4 is out of the office until after the follow-up would be due (Gmail vacation, a date);
* dr5 sent an auto-reply without a date, dr6 one whose date is already past: both still due;
* dr7 and dr8 bounced (Postfix, Exchange); dr9 got a "delayed" notice only: still due;
* dr10 complained (an ARF report): suppressed;
* dr11 answered by phone (`mark replied`), dr12 asked not to be contacted (`mark opted-out`);
* everyone else, dr13-dr29, did not answer.

The INBOX also holds unrelated mail (a newsletter, a friend, another thread, a stranger's
out-of-office). Expected: follow-ups for exactly dr5, dr6, dr9 and dr13-dr29 (20), each threaded
to its original; and `report --json` with exactly the counts and rates below.
"""

from __future__ import annotations

import email
import email.policy
import json
import sqlite3
from datetime import date, datetime, timedelta, timezone

import pytest

from outreach.track.report import wilson
from tests import mail_samples as samples
from tests.conftest import TEMPLATE, contact_rows

FOLLOW_UP = """Subject: Re: {{ original.subject }}
Kind: follow-up

Dear Dr. {{ last_name }},

I am following up on my email of {{ original.sent_on }} about {{ topic }} imaging research.

Best regards,
Asha Rao
"""
REPLIED = [0, 1, 2, 3]
AWAY, NO_DATE, PAST_DATE = 4, 5, 6
BOUNCED, DELAYED, COMPLAINED = [7, 8], 9, 10
MARKED_REPLIED, OPTED_OUT = 11, 12
DUE = [NO_DATE, PAST_DATE, DELAYED, *range(13, 30)]


def address(i: int) -> str:
    return f"dr{i}@example.edu"


@pytest.fixture
def world(workspace, mail_account, tls_cert):
    """A workspace whose .env points at aiosmtpd (sending) and Dovecot (the mailbox)."""
    from tests.dovecot_server import PASSWORD
    from tests.smtp_server import MailServer

    with MailServer(*tls_cert, mode="starttls", password=PASSWORD) as smtp:
        env = workspace / ".env"
        env.write_text(env.read_text() + f"OUTREACH_SMTP_HOST=127.0.0.1\nOUTREACH_SMTP_PORT={smtp.port}\n"
                       f"OUTREACH_SMTP_SECURITY=starttls\nOUTREACH_SMTP_USER={smtp.user}\nOUTREACH_RATE=unlimited\n"
                       "OUTREACH_SMTP_RETRY_DELAY=0.01\n", encoding="utf-8")
        (workspace / "templates").mkdir()
        (workspace / "templates" / "outreach.txt").write_text(TEMPLATE, encoding="utf-8")
        (workspace / "templates" / "follow_up.txt").write_text(FOLLOW_UP, encoding="utf-8")
        (workspace / "contacts.csv").write_text("\n".join(["email,first_name,last_name,topic,note",
                                                           *contact_rows(30)]) + "\n", encoding="utf-8")
        yield smtp


def sent_messages(workspace, smtp) -> dict[str, samples.Sent]:
    """What the store recorded, with the bytes the server received: delivery reports quote them."""
    received = {m.message_id: m.data for m in smtp.messages}
    with sqlite3.connect(workspace / "outreach.db") as db:
        rows = db.execute("SELECT address, message_id, subject FROM messages WHERE step = 0").fetchall()
    return {a: samples.Sent(mid, a, subject, received[mid]) for a, mid, subject in rows}


def test_send_sync_followup_report(world, mail_account, workspace, invoke, monkeypatch):
    smtp = world
    result = invoke("send", "templates/outreach.txt", "contacts.csv", "--campaign", "fall", "--yes")
    assert result.exit_code == 0, result.output
    assert len(smtp.messages) == 30
    originals = {m.message["To"].addresses[0].addr_spec: m.message for m in smtp.messages}

    sent = sent_messages(workspace, smtp)
    today = date.today()
    inbox = [samples.gmail_reply(sent[address(0)]), samples.outlook_reply(sent[address(1)]),
             samples.apple_mail_reply(sent[address(2)]),
             samples.references_only_reply(sent[address(3)], "assistant@hospital.example"),
             samples.gmail_vacation(sent[address(AWAY)], today + timedelta(days=12)),
             samples.sieve_vacation(sent[address(NO_DATE)]),
             samples.outlook_ooo_english(sent[address(PAST_DATE)], today + timedelta(days=2)),
             samples.postfix_bounce(sent[address(BOUNCED[0])]), samples.exchange_bounce(sent[address(BOUNCED[1])]),
             samples.postfix_delay(sent[address(DELAYED)]), samples.arf_complaint(sent[address(COMPLAINED)]),
             samples.newsletter(), samples.personal(), samples.unrelated_reply(), samples.stranger_ooo()]
    for raw in inbox:
        mail_account.append(raw)

    result = invoke("sync")
    assert result.exit_code in (0, 1), result.output
    assert invoke("mark", address(MARKED_REPLIED), "replied", "--date", today.isoformat()).exit_code == 0
    assert invoke("mark", address(OPTED_OUT), "opted-out", "--date", today.isoformat()).exit_code == 0

    # Eight days later: the mailbox is read again first (IMAP is configured), then who is due.
    later = datetime.now(timezone.utc) + timedelta(days=8)
    monkeypatch.setenv("OUTREACH_NOW", later.strftime("%Y-%m-%dT%H:%M:%SZ"))
    monkeypatch.setenv("OUTREACH_SYNC_MAX_AGE", "9d")
    result = invoke("followup", "fall", "--template", "templates/follow_up.txt")
    assert result.exit_code == 0, result.output
    assert "\nmailbox: read just now (127.0.0.1)\n20 due a follow-up; not now: " in result.output
    drafts = {p.name.split(".followup")[0]: p for p in (workspace / "drafts" / "fall").glob("*.followup1.eml")}
    assert sorted(drafts) == sorted(address(i) for i in DUE)
    for who, path in drafts.items():
        draft = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        original = originals[who]
        assert draft["In-Reply-To"] == original["Message-ID"]
        assert draft["References"] == original["Message-ID"]
        assert draft["Subject"] == "Re: " + original["Subject"]
        assert draft["To"].addresses[0].addr_spec == who

    status = json.loads(invoke("status", "fall", "--json").output)
    away = next(s for s in status if s["address"] == address(AWAY))
    assert away["next_action"] == f"waiting: out of office until {(today + timedelta(days=12)).isoformat()}"

    # The drafted follow-ups go out through the same path as `send`, threaded.
    smtp.messages.clear()
    result = invoke("followup", "fall", "--template", "templates/follow_up.txt", "--send", "--yes")
    assert result.exit_code == 0, result.output
    assert "Removed 20 drafts of the messages just sent, so they cannot go twice" in result.output
    assert not list((workspace / "drafts" / "fall").glob("*.followup1.eml"))
    assert sorted(m.message["To"].addresses[0].addr_spec for m in smtp.messages) == sorted(address(i) for i in DUE)
    for received in smtp.messages:
        original = originals[received.message["To"].addresses[0].addr_spec]
        assert received.message["In-Reply-To"] == original["Message-ID"]
    assert "\n0 due a follow-up" in invoke("followup", "fall", "--template", "templates/follow_up.txt").output

    report = json.loads(invoke("report", "fall", "--json").output)
    totals = report["campaigns"][0]["totals"]
    low, high = wilson(6, 28)
    expected = {"planned": 30, "sent": 30, "failed": 0, "uncertain": 0, "bounced": 2, "delivered": 28,
                "replied": 6, "auto_replied": 3, "followed_up": 20, "replied_before_followup": 6,
                "replied_after_followup": 0, "reply_rate": round(6 / 28, 6),
                "reply_rate_ci95": [round(low, 6), round(high, 6)]}
    assert {k: totals[k] for k in expected} == expected
    assert 0 <= totals["median_hours_to_first_reply"] < 1



def test_followup_send_keeps_to_the_daily_cap(campaign, invoke, smtp_server, workspace, monkeypatch):
    (workspace / "templates" / "follow_up.txt").write_text(FOLLOW_UP, encoding="utf-8")
    assert invoke(*campaign.args("--yes")).exit_code == 0
    originals = {m.message["To"].addresses[0].addr_spec: m.message["Message-ID"] for m in smtp_server.messages}
    smtp_server.messages.clear()
    monkeypatch.setenv("OUTREACH_NOW", (datetime.now(timezone.utc) + timedelta(hours=20)).strftime(
        "%Y-%m-%dT%H:%M:%SZ"))
    monkeypatch.setenv("OUTREACH_DAILY_CAP", "4")  # three went out within the last 24 hours
    args = ("followup", "outreach", "--template", "templates/follow_up.txt", "--after", "12h", "--no-sync")
    result = invoke(*args, "--send", "--yes")
    assert result.exit_code == 1, result.output
    assert "Later:     2 over the daily cap" in result.output
    assert len(smtp_server.messages) == 1
    received = smtp_server.messages[0].message
    assert received["In-Reply-To"] == originals[received["To"].addresses[0].addr_spec]
    assert received["Subject"].startswith("Re: Research collaboration on")
    status = {s["address"]: s for s in json.loads(invoke("status", "--json").output)}
    assert sorted(s["state"] for s in status.values()) == ["follow-up 1 sent", "sent", "sent"]
    assert "2 due a follow-up; not now: 1 already followed up" in invoke(*args, "--dry-run").output
