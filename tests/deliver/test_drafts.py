"""`outreach draft`: .eml files (default) and `--imap` (APPEND to the account's Drafts folder)."""

from __future__ import annotations

import email
import os
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



def test_a_draft_gives_the_rows_it_held_back_to_the_garbage_collector(inputs, invoke):
    import gc

    assert invoke("draft", "t.txt", "c.csv").exit_code == 0
    assert gc.get_freeze_count() == 0  # frozen while held (draft_campaign), unfrozen at its end
    (inputs / "bad.csv").write_text("email,last_name,greeting\nnot-an-address,Chen,Hello\n")
    assert invoke("draft", "t.txt", "bad.csv").exit_code == 2
    assert gc.get_freeze_count() == 0

def files_in(folder) -> dict[str, tuple[int, int, bytes]]:
    """Each .eml file's inode, modification time (ns) and bytes."""
    return {path.name: (path.stat().st_ino, path.stat().st_mtime_ns, path.read_bytes())
            for path in folder.glob("*.eml")}


def test_drafting_again_unchanged_rewrites_no_file_and_a_changed_row_is_rewritten(inputs, invoke):
    assert invoke("draft", "t.txt", "c.csv", "--campaign", "fall").exit_code == 0
    folder = inputs / "drafts" / "fall"
    first = files_in(folder)
    result = invoke("draft", "t.txt", "c.csv", "--campaign", "fall")
    assert result.exit_code == 0
    assert files_in(folder) == first  # not one file touched: same inode, same time, same bytes
    assert "wrote 0 drafts to drafts/fall/, left 2 unchanged" in result.output  # not "wrote 2 drafts"
    assert not [p for p in folder.iterdir() if p.suffix == ".tmp"]
    (inputs / "c.csv").write_text(CONTACTS.replace("Chen,Hello", "Chen,Good morning"))
    result = invoke("draft", "t.txt", "c.csv", "--campaign", "fall")
    assert result.exit_code == 0, result.output
    assert "wrote 1 draft to drafts/fall/, left 1 unchanged" in result.output
    again = files_in(folder)
    assert again["m.okafor@example.edu.eml"] == first["m.okafor@example.edu.eml"]
    chen = again["j.chen@example.edu.eml"]
    assert chen[:2] != first["j.chen@example.edu.eml"][:2]
    message = email.message_from_bytes(chen[2], policy=policy.default)
    row = Store(inputs / "outreach.db").get("fall", "j.chen@example.edu")
    assert message["Subject"] == "Good morning from an IMG applicant" == row.subject
    assert message["Message-ID"] == row.message_id  # the same message, refreshed


def test_a_draft_file_changed_by_hand_is_written_again(inputs, invoke):
    assert invoke("draft", "t.txt", "c.csv", "--campaign", "fall").exit_code == 0
    path = inputs / "drafts" / "fall" / "j.chen@example.edu.eml"
    original = path.read_bytes()
    path.write_bytes(original.replace(b"I read your paper.", b"I read your paper twice."))
    assert invoke("draft", "t.txt", "c.csv", "--campaign", "fall").exit_code == 0
    rewritten = path.read_bytes()
    assert b"twice" not in rewritten
    date = [line for line in rewritten.split(b"\r\n") if line.startswith(b"Date: ")]
    assert rewritten == original.replace([line for line in original.split(b"\r\n")
                                          if line.startswith(b"Date: ")][0], date[0])


def test_a_draft_path_is_kept_relative_to_the_workspace_inside_it(tmp_path, monkeypatch):
    from pathlib import Path

    from outreach.deliver.drafts import stored_draft_path

    monkeypatch.chdir(tmp_path)
    workspace = tmp_path / "ws"
    for where in ["ws/drafts/fall/a@b.eml", str(workspace / "x.eml"), "ws2/drafts/a@b.eml", "/elsewhere/a.eml",
                  "ws", "ws/../ws/drafts/a.eml", "imap:Drafts"]:
        path = Path(where).absolute() if not where.startswith("imap:") else None
        expected = where if path is None else (
            str(Path(os.path.abspath(where)).relative_to(workspace))
            if Path(os.path.abspath(where)).is_relative_to(workspace) else os.path.abspath(where))
        assert stored_draft_path(where, workspace) == expected, where


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


def test_a_file_is_the_same_draft_when_only_its_date_differs(tmp_path):
    from outreach.deliver.drafts import same_but_date

    def message(date: bytes, body: bytes = b"Hello\r\n") -> bytes:
        return (b"From: a@example.org\r\nTo: b@example.edu\r\nSubject: Hi\r\nDate: " + date
                + b"\r\nMessage-ID: <x@example.org>\r\n\r\n" + body)

    path = tmp_path / "b@example.edu.eml"
    path.write_bytes(message(b"Sun, 06 Dec 2026 06:38:33 +0000"))
    assert same_but_date(path, message(b"Mon, 07 Dec 2026 10:00:00 +0100"))
    assert not same_but_date(path, message(b"Mon, 07 Dec 2026 10:00:00 +0100", b"Hello!\r\n"))
    assert not same_but_date(path, message(b"Mon, 07 Dec 2026 10:00:00 +0100").replace(b"Subject: Hi", b"Subject: Ho"))
    path.write_bytes(message(b"Sun, 06 Dec 2026\r\n 06:38:33 +0000"))  # a Date on two lines is not a Date line
    assert not same_but_date(path, message(b"Mon, 07 Dec 2026 10:00:00 +0100"))
    assert not same_but_date(tmp_path / "missing.eml", message(b"Sun, 06 Dec 2026 06:38:33 +0000"))


def test_a_sheet_too_long_to_hold_is_drafted_as_a_short_one(inputs, invoke, monkeypatch):
    """The check pass's rows are written as they are; past HELD_ROWS the rows are rendered again."""
    from outreach.deliver import drafts

    def contents(folder):
        return {path.name: [line for line in path.read_bytes().split(b"\r\n")
                            if not line.startswith((b"Date: ", b"Message-ID: "))]
                for path in folder.glob("*.eml")}

    assert invoke("draft", "t.txt", "c.csv", "--campaign", "held").exit_code == 0
    monkeypatch.setattr(drafts, "HELD_ROWS", 1)
    assert invoke("draft", "t.txt", "c.csv", "--campaign", "rendered-again").exit_code == 0
    held, again = contents(inputs / "drafts" / "held"), contents(inputs / "drafts" / "rendered-again")
    assert len(held) == 2 and held == again
