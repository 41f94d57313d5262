"""What was sent is in the user's own mailbox: `send` and `followup --send` file a copy of each
accepted message in the IMAP Sent folder (real aiosmtpd + Dovecot), and a refused copy is a
warning, never a reason to send again."""

from __future__ import annotations

import email
import email.policy
import sqlite3

import pytest

from outreach.account import Account
from outreach.config import Settings
from outreach.errors import UserError
from tests.conftest import TEMPLATE, contact_rows

FOLLOW_UP = """Subject: Re: {{ original.subject }}
Kind: follow-up

Dear Dr. {{ last_name }},

I am following up on my email of {{ original.sent_on }}.

Best regards,
Asha Rao
"""
GMAIL_SENT = "[Gmail]/Sent Mail"  # marked \Sent by the test Dovecot's config


@pytest.fixture
def smtp(workspace, mail_account, tls_cert):
    """Three contacts; .env points at aiosmtpd for sending and at Dovecot for the mailbox."""
    from tests.dovecot_server import PASSWORD
    from tests.smtp_server import MailServer

    with MailServer(*tls_cert, mode="starttls", password=PASSWORD) as server:
        with open(workspace / ".env", "a", encoding="utf-8") as env:
            env.write(f"OUTREACH_SMTP_HOST=127.0.0.1\nOUTREACH_SMTP_PORT={server.port}\n"
                      f"OUTREACH_SMTP_SECURITY=starttls\nOUTREACH_SMTP_USER={server.user}\n"
                      "OUTREACH_RATE=unlimited\nOUTREACH_SMTP_RETRY_DELAY=0.01\n")
        (workspace / "templates").mkdir()
        (workspace / "templates" / "outreach.txt").write_text(TEMPLATE, encoding="utf-8")
        (workspace / "templates" / "follow_up.txt").write_text(FOLLOW_UP, encoding="utf-8")
        (workspace / "contacts.csv").write_text("\n".join(["email,first_name,last_name,topic,note",
                                                           *contact_rows(3)]) + "\n", encoding="utf-8")
        yield server


def stored(workspace) -> dict[str, str]:
    """Message-ID -> state, every message of the store."""
    with sqlite3.connect(workspace / "outreach.db") as db:
        return dict(db.execute("SELECT message_id, state FROM messages"))


def message_ids(raw_messages: list[bytes]) -> list[str]:
    return [email.message_from_bytes(raw, policy=email.policy.default)["Message-ID"] for raw in raw_messages]


def folder_names(mail_account) -> set[str]:
    return {name for _, _, name in mail_account.client.list_folders()}


def test_send_files_exactly_one_copy_of_each_in_the_sent_folder(smtp, mail_account, workspace, invoke):
    mail_account.client.create_folder(GMAIL_SENT)
    result = invoke("send", "templates/outreach.txt", "contacts.csv", "--campaign", "fall", "--yes")
    assert result.exit_code == 0, result.output
    assert "Sent copy: each message filed in the Sent folder on 127.0.0.1" in result.output
    assert f"Filed a copy of each in {GMAIL_SENT} on 127.0.0.1" in result.output
    copies = mail_account.messages(GMAIL_SENT)
    sent = {m.message["Message-ID"]: m for m in smtp.messages}
    assert sorted(message_ids(copies)) == sorted(sent) == sorted(stored(workspace))
    for raw in copies:  # the bytes that went out, Date and all
        copy = email.message_from_bytes(raw, policy=email.policy.default)
        assert copy["Date"] == sent[copy["Message-ID"]].message["Date"]
    assert all(b"\\Seen" in flags for flags in mail_account.flags(GMAIL_SENT).values())
    assert "Sent" not in folder_names(mail_account)  # the \Sent folder was used, none created beside it

    again = invoke("send", "templates/outreach.txt", "contacts.csv", "--campaign", "fall", "--yes")
    assert again.exit_code == 0 and "nothing to send now" in again.output
    assert len(mail_account.messages(GMAIL_SENT)) == 3


def test_followup_send_files_its_copies_and_a_missing_sent_folder_is_created(smtp, mail_account, workspace,
                                                                               invoke, monkeypatch):
    assert invoke("send", "templates/outreach.txt", "contacts.csv", "--campaign", "fall", "--yes").exit_code == 0
    assert len(mail_account.messages("Sent")) == 3  # no folder marked \Sent: "Sent", as a mail client does
    monkeypatch.setenv("OUTREACH_NOW", "2030-01-01T09:00:00Z")
    result = invoke("followup", "fall", "-t", "templates/follow_up.txt", "--send", "--yes", "--no-sync")
    assert result.exit_code == 0, result.output
    assert "Filed a copy of each in Sent" in result.output
    assert sorted(message_ids(mail_account.messages("Sent"))) == sorted(stored(workspace))  # 3 + 3 follow-ups


def test_a_refused_copy_is_a_warning_and_nothing_is_sent_again(smtp, mail_account, workspace, invoke):
    mail_account.client.create_folder(GMAIL_SENT)
    folder = next(p for p in mail_account.server.maildir(mail_account.user).iterdir() if "Sent Mail" in p.name)
    for sub in ("tmp", "new", "cur"):  # Dovecot cannot write the message file: APPEND answers NO
        (folder / sub).chmod(0o555)
    try:
        result = invoke("send", "templates/outreach.txt", "contacts.csv", "--campaign", "fall", "--yes")
        again = invoke("send", "templates/outreach.txt", "contacts.csv", "--campaign", "fall", "--yes")
    finally:
        for sub in ("tmp", "new", "cur"):
            (folder / sub).chmod(0o755)
    assert result.exit_code == 1, result.output
    assert "Sent 3 of 3" in result.output
    assert "warning: 0 of 3 sent messages were filed in your Sent folder: IMAP server 127.0.0.1" in result.output
    assert "They were sent and are recorded as sent; nothing will be sent again" in result.output
    assert set(stored(workspace).values()) == {"sent"}
    assert again.exit_code == 0 and "nothing to send now" in again.output
    assert len(smtp.messages) == 3 and mail_account.messages(GMAIL_SENT) == []


def test_save_sent_no_files_nothing(smtp, mail_account, workspace, invoke):
    with open(workspace / ".env", "a", encoding="utf-8") as env:
        env.write("OUTREACH_SAVE_SENT=no\n")
    result = invoke("send", "templates/outreach.txt", "contacts.csv", "--campaign", "fall", "--yes")
    assert result.exit_code == 0 and "Filed a copy" not in result.output and "Sent copy" not in result.output
    assert "Sent" not in folder_names(mail_account) and len(smtp.messages) == 3


@pytest.mark.parametrize("raw, expected", [
    ({"provider": "gmail"}, False),                               # Gmail files SMTP submissions itself
    ({"provider": "gmail", "save_sent": "yes"}, True),            # the setting overrides the preset
    ({"provider": "icloud"}, True),
    ({"smtp_host": "smtp.uni.example", "imap_host": "imap.uni.example"}, True),
    ({"smtp_host": "smtp.uni.example", "imap_host": "imap.uni.example", "save_sent": "no"}, False),
    ({"smtp_host": "smtp.uni.example"}, False),                   # no IMAP: nowhere to file a copy
])
def test_when_a_copy_is_filed(workspace, raw, expected):
    settings = Settings(sender="Asha Rao <asha.rao@example.org>", db=workspace / "outreach.db",
                        raw={"from": "Asha Rao <asha.rao@example.org>", **raw})
    assert Account.load(settings).save_sent is expected


def test_save_sent_must_be_yes_or_no(workspace):
    settings = Settings(sender="a@example.org", db=workspace / "outreach.db",
                        raw={"imap_host": "imap.example.org", "save_sent": "sometimes"})
    with pytest.raises(UserError, match="OUTREACH_SAVE_SENT='sometimes': use yes or no"):
        Account.load(settings)


def test_rounds_of_copies_add_up_and_keep_the_first_error():
    from outreach.mailbox.imap import SentCopies

    total = SentCopies("Sent", 2, 2).add(SentCopies("Sent", 0, 3, "refused")).add(SentCopies("Sent", 1, 1))
    assert total == SentCopies("Sent", 3, 6, "refused")
