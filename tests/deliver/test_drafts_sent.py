"""Issue 10.2: drafts cannot be sent twice. Each campaign's drafts live apart, and when the tool
sends a message its draft (.eml file or IMAP draft with the same Message-ID) is removed."""

from __future__ import annotations

import email
import sqlite3
from email import policy

from tests.conftest import smtp_settings


def unsent_drafts(folder) -> dict[str, str]:
    """Message-ID -> file name of every .eml under ``folder`` still marked X-Unsent."""
    found = {}
    for path in folder.rglob("*.eml"):
        message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        if message["X-Unsent"]:
            found[message["Message-ID"]] = str(path.relative_to(folder))
    return found


def sent_ids(ws) -> set[str]:
    with sqlite3.connect(ws / "outreach.db") as db:
        return {m for (m,) in db.execute("SELECT message_id FROM messages WHERE state='sent'")}


def test_two_campaigns_over_one_list_keep_their_own_drafts(campaign, invoke):
    assert invoke("draft", campaign.template, campaign.contacts, "--campaign", "fall").exit_code == 0
    result = invoke("draft", campaign.template, campaign.contacts, "--campaign", "spring")
    assert result.exit_code == 0 and "to drafts/spring/" in result.output
    drafts = unsent_drafts(campaign.ws / "drafts")
    assert len(drafts) == 6
    assert sorted(p.split("/")[0] for p in drafts.values()) == ["fall"] * 3 + ["spring"] * 3


def test_send_removes_the_eml_drafts_it_sent(campaign, invoke, smtp_server):
    assert invoke("draft", campaign.template, campaign.contacts, "--out", "mine").exit_code == 0
    assert len(unsent_drafts(campaign.ws / "mine" / "outreach")) == 3
    result = invoke(*campaign.args("--yes", "--limit", "2"))
    assert result.exit_code == 0, result.output
    assert "Removed 2 drafts of the messages just sent" in result.output
    left = unsent_drafts(campaign.ws / "mine")
    assert len(left) == 1 and not set(left) & sent_ids(campaign.ws)
    result = invoke(*campaign.args("--yes"))
    assert "Removed 1 draft " in result.output
    assert unsent_drafts(campaign.ws) == {}


def test_send_removes_the_imap_drafts_it_sent(workspace, dovecot, tls_cert, invoke):
    import ssl

    from tests.conftest import TEMPLATE, contact_rows
    from tests.dovecot_server import PASSWORD
    from tests.smtp_server import MailServer

    cert = tls_cert[0]
    user = dovecot.new_user()
    (workspace / "t.txt").write_text(TEMPLATE)
    (workspace / "c.csv").write_text("\n".join(["email,first_name,last_name,topic,note", *contact_rows(3)]) + "\n")
    client = dovecot.connect(user, ssl.create_default_context(cafile=str(cert)))
    with MailServer(*tls_cert, mode="starttls", password=PASSWORD) as server:
        settings = smtp_settings(server, cert, OUTREACH_PASSWORD_COMMAND=f"printf %s {PASSWORD}",
                                 OUTREACH_IMAP_HOST="127.0.0.1", OUTREACH_IMAP_PORT=str(dovecot.imaps_port),
                                 OUTREACH_IMAP_SECURITY="ssl", OUTREACH_IMAP_USER=user)
        (workspace / ".env").write_text("".join(f"{k}={v}\n" for k, v in settings.items()))
        assert invoke("draft", "t.txt", "c.csv", "--imap").exit_code == 0
        client.select_folder("Drafts", readonly=True)
        assert len(client.search()) == 3
        client.append("Drafts", b"Subject: my own draft\r\nMessage-ID: <mine@example.org>\r\n\r\nkeep me\r\n",
                      flags=[b"\\Draft"])
        result = invoke("send", "t.txt", "c.csv", "--yes")
        assert result.exit_code == 0, result.output
        assert len(server.messages) == 3
    assert "Removed 3 drafts of the messages just sent" in result.output
    client.select_folder("Drafts", readonly=True)
    left = client.fetch(client.search(), ["BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"])
    assert [d[b"BODY[HEADER.FIELDS (MESSAGE-ID)]"].strip() for d in left.values()] == [b"Message-ID: <mine@example.org>"]
    client.logout()


def test_a_draft_sent_by_hand_is_removed_when_sync_finds_it_in_sent(mail_account, invoke, workspace):
    (workspace / "t.txt").write_text("Subject: Hello Dr. {{ last_name }}\n\nDear Dr. {{ last_name }},\n\nHi.\n")
    (workspace / "c.csv").write_text("email,last_name\na@example.edu,Adams\nb@example.edu,Brown\n")
    assert invoke("draft", "t.txt", "c.csv", "--campaign", "fall").exit_code == 0
    by_hand = (workspace / "drafts" / "fall" / "a@example.edu.eml").read_bytes().replace(b"X-Unsent: 1\n", b"")
    mail_account.client.create_folder("[Gmail]/Sent Mail")  # \Sent by SPECIAL-USE, as on Gmail
    mail_account.append(by_hand, "[Gmail]/Sent Mail", flags=[b"\\Seen"])  # the user sent it from Outlook
    result = invoke("sync")
    assert result.exit_code == 0, result.output
    assert "confirmed sent: a@example.edu (fall), found in [Gmail]/Sent Mail; its .eml draft was removed" \
        in result.output
    left = unsent_drafts(workspace / "drafts")
    assert list(left.values()) == ["fall/b@example.edu.eml"] and not set(left) & sent_ids(workspace)


def test_resolving_an_uncertain_message_as_sent_removes_its_draft(campaign, invoke, smtp_server):
    assert invoke("draft", campaign.template, campaign.contacts).exit_code == 0
    smtp_server.fail_data.append("drop")  # the first message is cut off during DATA: uncertain
    result = invoke(*campaign.args("--yes"))
    assert "Removed 2 drafts" in result.output
    assert list(unsent_drafts(campaign.ws / "drafts").values()) == ["outreach/dr0@example.edu.eml"]
    result = invoke("resolve", "dr0@example.edu", "sent")
    assert result.exit_code == 0 and "removed its draft, so it cannot go twice" in result.output
    assert unsent_drafts(campaign.ws / "drafts") == {}
