"""`outreach draft`: .eml files (default) and `--imap` (APPEND to the account's Drafts folder)."""

from __future__ import annotations

import email
from email import policy

import pytest

from outreach.store import Store
from tests.seed import force_state

TEMPLATE = "Subject: {{ greeting }} from an IMG applicant\n\nDear Dr. {{ last_name }},\n\nI read your paper.\n"
CONTACTS = "email,last_name,greeting\nj.chen@example.edu,Chen,Hello\nm.okafor@example.edu,Okafor,Hi\n"


@pytest.fixture
def inputs(workspace):
    (workspace / "t.txt").write_text(TEMPLATE)
    (workspace / "c.csv").write_text(CONTACTS)
    return workspace


def drafts_in(mail_account, folder: str) -> list[tuple[email.message.Message, tuple]]:
    mail_account.client.select_folder(folder, readonly=True)
    uids = mail_account.client.search()
    fetched = mail_account.client.fetch(uids, ["BODY.PEEK[]", "FLAGS"])
    return [(email.message_from_bytes(d[b"BODY[]"], policy=policy.default), d[b"FLAGS"]) for d in fetched.values()]


def folder_names(mail_account) -> list[str]:
    return [name for _, _, name in mail_account.client.list_folders()]


def test_eml_drafts_are_written_and_recorded(inputs, invoke):
    result = invoke("draft", "t.txt", "c.csv", "--campaign", "fall")
    assert result.exit_code == 0, result.output
    message = email.message_from_bytes((inputs / "drafts" / "fall" / "j.chen@example.edu.eml").read_bytes(),
                                       policy=policy.default)
    assert message["X-Unsent"] == "1" and message["Subject"] == "Hello from an IMG applicant"
    row = Store(inputs / "outreach.db").get("fall", "j.chen@example.edu")
    assert (row.transport, row.state, row.message_id) == ("eml", "drafted", message["Message-ID"])


def test_imap_drafts_go_to_a_created_drafts_folder(inputs, mail_account, invoke):
    assert "Drafts" not in folder_names(mail_account)
    result = invoke("draft", "t.txt", "c.csv", "--campaign", "fall", "--imap")
    assert result.exit_code == 0, result.output
    assert "appended 2 drafts to Drafts on 127.0.0.1" in result.output
    drafts = drafts_in(mail_account, "Drafts")
    assert len(drafts) == 2
    assert all(b"\\Draft" in flags and b"\\Seen" in flags for _, flags in drafts)  # stored as a mail client does
    assert all(message["X-Unsent"] is None for message, _ in drafts)
    store = Store(inputs / "outreach.db")
    for message, _ in drafts:
        row = store.by_message_id(message["Message-ID"])
        assert (row.transport, row.state, row.draft_path) == ("imap", "drafted", "imap:Drafts")
    assert not (inputs / "drafts").exists()


def test_imap_drafts_use_the_special_use_drafts_folder(inputs, mail_account, invoke):
    mail_account.client.create_folder("[Gmail]/Drafts")  # flagged \Drafts by the server, like Gmail's
    result = invoke("draft", "t.txt", "c.csv", "--imap")
    assert result.exit_code == 0, result.output
    assert len(drafts_in(mail_account, "[Gmail]/Drafts")) == 2
    assert "Drafts" not in folder_names(mail_account)


def test_imap_drafts_use_a_folder_named_drafts(inputs, mail_account, invoke):
    mail_account.client.create_folder("Drafts")
    mail_account.append(b"Subject: my own draft\r\nMessage-ID: <mine@example.org>\r\n\r\nkeep me\r\n", "Drafts",
                        flags=[b"\\Draft"])
    assert invoke("draft", "t.txt", "c.csv", "--imap").exit_code == 0
    assert len(drafts_in(mail_account, "Drafts")) == 3
    assert folder_names(mail_account).count("Drafts") == 1


def test_drafting_again_replaces_the_imap_drafts_and_keeps_message_ids(inputs, mail_account, invoke):
    mail_account.client.create_folder("Drafts")
    mail_account.append(b"Subject: my own draft\r\nMessage-ID: <mine@example.org>\r\n\r\nkeep me\r\n", "Drafts",
                        flags=[b"\\Draft"])
    assert invoke("draft", "t.txt", "c.csv", "--imap").exit_code == 0
    before = {m["Message-ID"] for m, _ in drafts_in(mail_account, "Drafts")}
    (inputs / "t.txt").write_text(TEMPLATE.replace("from an IMG applicant", "from Asha"))

    assert invoke("draft", "t.txt", "c.csv", "--imap").exit_code == 0

    after = drafts_in(mail_account, "Drafts")
    assert {m["Message-ID"] for m, _ in after} == before
    assert sorted(str(m["Subject"]) for m, _ in after) == ["Hello from Asha", "Hi from Asha", "my own draft"]


def test_sent_rows_are_not_drafted_again(inputs, mail_account, invoke):
    assert invoke("draft", "t.txt", "c.csv", "--campaign", "fall", "--imap").exit_code == 0
    store = Store(inputs / "outreach.db")
    sent = store.get("fall", "j.chen@example.edu").message_id
    force_state(store, sent, "sent")   # as a send killed before it removed the draft leaves it
    result = invoke("draft", "t.txt", "c.csv", "--campaign", "fall", "--imap")
    assert "appended 1 draft " in result.output and "skipped 1 already sent" in result.output
    left = [m["Message-ID"] for m, _ in drafts_in(mail_account, "Drafts")]
    assert len(left) == 1 and sent not in left   # the sent message's draft went when the lock was taken


def test_imap_drafting_refuses_out_and_a_missing_server(inputs, invoke):
    result = invoke("draft", "t.txt", "c.csv", "--imap", "--out", "x")
    assert result.exit_code == 2 and "--out is for .eml files" in result.output
    result = invoke("draft", "t.txt", "c.csv", "--imap")
    assert result.exit_code == 2 and "OUTREACH_IMAP_HOST" in result.output
    assert not (inputs / "outreach.db").exists()


def test_a_dropped_connection_while_drafting_keeps_what_was_appended(inputs, mail_account, invoke, monkeypatch):
    import socket

    from outreach.mailbox.imap import ImapSession

    append = ImapSession.append_draft
    calls = []

    def drop_on_second(self, *args, **kwargs):
        calls.append(args)
        if len(calls) == 2:
            self.client._imap.sock.shutdown(socket.SHUT_RDWR)
        return append(self, *args, **kwargs)

    monkeypatch.setattr(ImapSession, "append_draft", drop_on_second)
    result = invoke("draft", "t.txt", "c.csv", "--campaign", "fall", "--imap")
    assert result.exit_code == 1 and "the connection failed while appending the draft" in result.output
    store = Store(inputs / "outreach.db")
    # Each row is recorded before its APPEND: the second one is known, so no draft can be unknown.
    assert [r.address for r in store.messages("fall")] == ["j.chen@example.edu", "m.okafor@example.edu"]
    assert len(drafts_in(mail_account, "Drafts")) == 1

    monkeypatch.setattr(ImapSession, "append_draft", append)
    assert invoke("draft", "t.txt", "c.csv", "--campaign", "fall", "--imap").exit_code == 0
    assert len(drafts_in(mail_account, "Drafts")) == 2  # the first one replaced, not doubled
