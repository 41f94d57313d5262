"""Issue 16.14: a season through a real mail system (tests/realmail.py: Postfix submission with
STARTTLS and SASL through Dovecot, LMTP delivery, a Sieve vacation responder, Postfix's own
delivery reports, a port that refuses a From the login does not own).

The story of five contacts: Ana answers in the thread, Bo writes a fresh message about it, Victor
is away (his Sieve vacation answers), nobody.here does not exist (Postfix returns a report), Kofi
stays silent. Their mail is written with smtplib to Postfix, as their mail clients would. Then
sync, status, a follow-up eight days later (to Kofi only) and the report; and the 553 of a
sender the login does not own (item 7).
"""

from __future__ import annotations

import email
import email.policy
import json
import smtplib
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from tests.conftest import TEMPLATE
from tests.deliver.test_followup_e2e import FOLLOW_UP
from tests.realmail import APPLICANT, APPLICANT_PASSWORD, UNKNOWN

ANA, BO, VICTOR, KOFI = ("ana.reyes@uni-a.example.edu", "bo.chen@uni-b.example.edu",
                         "victor.vance@uni-a.example.edu", "kofi.mensah@uni-a.example.edu")
ROWS = [f"{ANA},Ana,Reyes,stroke,Your perfusion study changed how I read CTs.",
        f"{BO},Bo,Chen,cardiac,Your cardiac MRI atlas is the one I cite most.",
        f"{VICTOR},Victor,Vance,neuro,I enjoyed your talk on glioma grading.",
        f"{UNKNOWN},No,Body,breast,A note for an address that does not exist.",
        f"{KOFI},Kofi,Mensah,thoracic,Your lung nodule cohort is remarkable."]


def configure(workspace, realmail, *, port: int, sender: str = f"Asha Rao <{APPLICANT}>", rows=ROWS) -> None:
    (workspace / ".env").write_text(
        f"OUTREACH_FROM={sender}\n"
        f"OUTREACH_SMTP_HOST=127.0.0.1\nOUTREACH_SMTP_PORT={port}\nOUTREACH_SMTP_SECURITY=starttls\n"
        f"OUTREACH_SMTP_USER={APPLICANT}\nOUTREACH_IMAP_HOST=127.0.0.1\nOUTREACH_IMAP_PORT={realmail.imap}\n"
        f"OUTREACH_IMAP_SECURITY=starttls\nOUTREACH_PASSWORD_COMMAND=printf %s {APPLICANT_PASSWORD}\n"
        f"OUTREACH_CA_FILE={realmail.cert}\nOUTREACH_RATE=unlimited\nOUTREACH_SMTP_RETRY_DELAY=0.01\n",
        encoding="utf-8")
    (workspace / "templates").mkdir(exist_ok=True)
    (workspace / "templates" / "outreach.txt").write_text(TEMPLATE, encoding="utf-8")
    (workspace / "templates" / "follow_up.txt").write_text(FOLLOW_UP, encoding="utf-8")
    (workspace / "contacts.csv").write_text("\n".join(["email,first_name,last_name,topic,note", *rows]) + "\n",
                                            encoding="utf-8")


def received(realmail, address: str, count: int = 1) -> list[email.message.EmailMessage]:
    return [email.message_from_bytes(raw, policy=email.policy.default)
            for raw in realmail.wait_for(address, count)]


def write_as_client(realmail, sender: str, subject: str, text: str, **headers: str) -> None:
    """A contact's mail client hands a message to their server (Postfix, no login on the MTA port)."""
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, APPLICANT, subject
    message["Date"], message["Message-ID"] = format_datetime(datetime.now(timezone.utc)), make_msgid(
        domain=sender.split("@")[1])
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(text)
    with smtplib.SMTP("127.0.0.1", realmail.mta, timeout=10) as client:
        client.send_message(message)


def test_a_season_through_postfix_and_dovecot(realmail, workspace, invoke, monkeypatch):
    configure(workspace, realmail, port=realmail.submission)
    before = len(realmail.inbox(APPLICANT))
    sent = invoke("send", "templates/outreach.txt", "contacts.csv", "--campaign", "fall", "--yes")
    assert sent.exit_code == 0, sent.output
    assert "Sent 5 of 5" in sent.output and "Filed a copy of each in Sent" in sent.output

    originals = {who: received(realmail, who)[-1] for who in (ANA, BO, VICTOR, KOFI)}
    assert all(m["From"].addresses[0].addr_spec == APPLICANT for m in originals.values())
    ana = originals[ANA]
    write_as_client(realmail, ANA, f"Re: {ana['Subject']}", "Dear Asha, happy to talk on Thursday. Ana",
                    In_Reply_To=ana["Message-ID"], References=ana["Message-ID"])
    write_as_client(realmail, BO, "Your email about cardiac imaging", "Asha, could you send me your CV? Bo")
    inbox = received(realmail, APPLICANT, before + 4)[before:]  # the report, the vacation, Ana, Bo
    assert {m["From"].addresses[0].addr_spec.lower() for m in inbox} == {"mailer-daemon@mx.season.test", VICTOR,
                                                                         ANA, BO}

    synced = invoke("sync", "--json")
    assert synced.exit_code == 0, synced.output
    events = {e["address"]: e for e in json.loads(synced.output)["events"]}
    assert {who: (e["kind"], e["strength"]) for who, e in events.items()} == {
        ANA: ("reply", "header"), BO: ("reply", "address"), VICTOR: ("auto-reply", "header"),
        UNKNOWN: ("bounce", "dsn")}
    assert events[VICTOR]["until"] == realmail.back.isoformat()
    assert events[UNKNOWN]["status"] == "5.1.1" and events[UNKNOWN]["suppressed"] == [UNKNOWN]

    status = {s["address"]: s for s in json.loads(invoke("status", "fall", "--json").output)}
    assert status[ANA]["next_action"].startswith("none: replied")
    assert status[BO]["next_action"].startswith("none: replied")
    assert status[VICTOR]["next_action"] == f"waiting: out of office until {realmail.back.isoformat()}"
    assert status[UNKNOWN]["next_action"] == "none: bounced; check the address"
    assert status[KOFI]["next_action"].startswith("follow-up due ")

    later = datetime.now(timezone.utc) + timedelta(days=8)
    monkeypatch.setenv("OUTREACH_NOW", later.strftime("%Y-%m-%dT%H:%M:%SZ"))
    followup = invoke("followup", "fall", "--template", "templates/follow_up.txt", "--send", "--yes")
    assert followup.exit_code == 0, followup.output
    assert "mailbox: read just now (127.0.0.1)" in followup.output and "Sent 1 of 1" in followup.output
    reminder = received(realmail, KOFI, 2)[-1]
    assert reminder["In-Reply-To"] == originals[KOFI]["Message-ID"]
    assert reminder["Subject"] == f"Re: {originals[KOFI]['Subject']}"
    assert [len(realmail.inbox(who)) for who in (ANA, BO, VICTOR)] == [1, 1, 1]  # nobody else was reminded

    totals = json.loads(invoke("report", "fall", "--json").output)["campaigns"][0]["totals"]
    assert {k: totals[k] for k in ("sent", "bounced", "delivered", "replied", "auto_replied", "followed_up")} == {
        "sent": 5, "bounced": 1, "delivered": 4, "replied": 2, "auto_replied": 1, "followed_up": 1}


def test_a_server_that_refuses_your_address_stops_the_send(realmail, workspace, invoke):
    """Postfix's reject_sender_login_mismatch answers 553 at RCPT: the send stops at once, names
    OUTREACH_FROM and the login, and leaves every contact queued; fixed, the same command sends."""
    rows = [f"{ANA},Ana,Reyes,stroke,Your perfusion study.", f"{KOFI},Kofi,Mensah,thoracic,Your nodule cohort."]
    configure(workspace, realmail, port=realmail.strict, sender="Asha Rao <asha.rao@uni-a.example.edu>", rows=rows)
    before = {who: len(realmail.inbox(who)) for who in (ANA, KOFI)}
    refused = invoke("send", "templates/outreach.txt", "contacts.csv", "--campaign", "spring", "--yes")
    assert refused.exit_code == 2, refused.output
    error = refused.output.split("error: ", 1)[1]
    assert "553 5.7.1 <asha.rao@uni-a.example.edu>: Sender address rejected: not owned by user" in error
    assert "OUTREACH_FROM" in error and f"the login {APPLICANT}" in error
    status = json.loads(invoke("status", "spring", "--json").output)
    assert sorted(s["state"] for s in status) == ["queued", "queued"]

    configure(workspace, realmail, port=realmail.strict, rows=rows)
    again = invoke("send", "templates/outreach.txt", "contacts.csv", "--campaign", "spring", "--yes")
    assert again.exit_code == 0, again.output
    assert [len(received(realmail, who, before[who] + 1)) for who in (ANA, KOFI)] == [before[ANA] + 1,
                                                                                       before[KOFI] + 1]
