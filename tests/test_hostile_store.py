"""A broken tracking store, through the real CLI: one sentence, exit 2, nothing sent twice or lost.

Read-only file or folder, an empty file, something that is not SQLite, somebody else's SQLite
database, a damaged page, a full disk, and hand-made rows (a "sent" row with no send time).
Every `send` here runs against the real aiosmtpd server, which must not get a single message
more than before.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import threading
from pathlib import Path

import pytest

from outreach.errors import UserError
from outreach.store import Store

CONTACTS = {f"dr{i}@example.edu": 1 for i in range(3)}


def error_line(result, fragment: str) -> str:
    """The command failed with exit 2 and one line `error: ...` holding ``fragment``."""
    assert result.exit_code == 2, result.output
    assert "internal error" not in result.output and "Traceback" not in result.output, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and fragment in errors[0], result.output
    assert result.output.rstrip("\n").endswith(errors[0])
    return errors[0]


@pytest.fixture
def sent_once(campaign, invoke, smtp_server):
    """A campaign whose three contacts were sent to; two new contacts wait in the CSV."""
    assert invoke(*campaign.args("--yes")).exit_code == 0
    assert smtp_server.received_by() == CONTACTS
    campaign.write_contacts(5)
    return campaign


@pytest.fixture
def freeze():
    """Make a file or folder unwritable, even for root (chattr +i); undone after the test."""
    frozen: list[Path] = []

    def freeze(path: Path) -> None:
        if os.geteuid() != 0:
            path.chmod(0o500 if path.is_dir() else 0o400)
        elif subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode != 0:
            pytest.skip("chattr +i is not available here")
        frozen.append(path)

    yield freeze
    for path in frozen:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(path)], check=True)
        path.chmod(0o700 if path.is_dir() else 0o600)


def table_names(path: Path) -> set[str]:
    db = sqlite3.connect(path)
    try:
        return {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    finally:
        db.close()


# -- not a store ------------------------------------------------------------------------------
@pytest.mark.parametrize("command", [["send"], ["status"], ["report"]])
def test_an_empty_store_file_is_refused_not_taken_as_new(campaign, invoke, smtp_server, command):
    (campaign.ws / "outreach.db").write_bytes(b"")
    args = campaign.args("--yes") if command == ["send"] else command
    error_line(invoke(*args), "the tracking store is empty (0 bytes)")
    assert smtp_server.messages == []
    assert (campaign.ws / "outreach.db").stat().st_size == 0


def test_a_file_that_is_not_sqlite_is_refused(campaign, invoke, smtp_server):
    (campaign.ws / "outreach.db").write_bytes(b"name,email\nBob,bob@example.org\n" * 200)
    error_line(invoke(*campaign.args("--yes")), "is not an outreach tracking store (not an SQLite database)")
    assert smtp_server.messages == []


@pytest.mark.parametrize("version", [0, 2])
def test_another_programs_sqlite_database_is_refused_and_left_alone(campaign, invoke, smtp_server, version):
    path = campaign.ws / "outreach.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE patients (name TEXT, mrn TEXT)")
        db.execute(f"PRAGMA user_version = {version}")
    line = error_line(invoke(*campaign.args("--yes")), "is an SQLite database but not an outreach tracking store")
    assert "patients" in line
    assert table_names(path) == {"patients"}  # none of our tables added to it
    assert smtp_server.messages == []


def test_a_hand_made_store_missing_a_column_is_one_sentence(campaign, invoke, smtp_server):
    path = campaign.ws / "outreach.db"
    with sqlite3.connect(path) as db:
        db.executescript("CREATE TABLE messages (campaign TEXT, address TEXT, state TEXT); CREATE TABLE events (x);"
                         "CREATE TABLE suppressions (x); CREATE TABLE sync_state (x); PRAGMA user_version = 2;")
        db.execute("INSERT INTO messages VALUES ('outreach', 'dr0@example.edu', 'sent')")
    error_line(invoke(*campaign.args("--yes")), "does not have the columns outreach expects")
    error_line(invoke("status"), "does not have the columns outreach expects")
    assert smtp_server.messages == []


def test_a_store_from_a_newer_outreach_is_refused(sent_once, invoke, smtp_server):
    with sqlite3.connect(sent_once.ws / "outreach.db") as db:
        db.execute("PRAGMA user_version = 99")
    error_line(invoke(*sent_once.args("--yes")), "was written by a newer outreach (schema 99)")
    assert smtp_server.received_by() == CONTACTS


# -- damaged, read-only, full -------------------------------------------------------------------
def damage_table(path: Path, table: str = "messages") -> None:
    """Overwrite the first page of ``table`` (or of an index)."""
    db = sqlite3.connect(path)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # every page in the file itself
    page_size = db.execute("PRAGMA page_size").fetchone()[0]
    root = db.execute("SELECT rootpage FROM sqlite_master WHERE name=?", (table,)).fetchone()[0]
    db.close()
    with open(path, "r+b") as file:
        file.seek((root - 1) * page_size)
        file.write(b"\x0d" + b"\xa5" * (page_size - 1))  # a leaf page header pointing nowhere


@pytest.mark.parametrize("command", [["send"], ["status"], ["report"]])
def test_a_damaged_page_is_one_sentence(sent_once, invoke, smtp_server, command):
    damage_table(sent_once.ws / "outreach.db")
    damage_table(sent_once.ws / "outreach.db", "messages_first")  # status and report read the first messages there
    args = sent_once.args("--yes") if command == ["send"] else command
    error_line(invoke(*args), "is damaged; restore it from a backup")
    assert smtp_server.received_by() == CONTACTS


def test_a_read_only_store_is_refused_before_anything_is_sent_but_can_be_read(sent_once, invoke, smtp_server,
                                                                              freeze):
    freeze(sent_once.ws / "outreach.db")
    error_line(invoke(*sent_once.args("--yes")), "is read-only")
    assert smtp_server.received_by() == CONTACTS
    status = invoke("status")
    assert status.exit_code == 0 and "3 sent" in status.output, status.output


def test_a_read_only_folder_with_a_store_is_one_sentence(campaign, run_cli, smtp_server, freeze):
    # Real processes: an in-process run would leave the store's journal files open behind it.
    assert run_cli(*campaign.args("--yes"), cwd=campaign.ws).returncode == 0
    campaign.write_contacts(5)
    (campaign.ws / "outreach.db-journal").unlink()  # the journal must be made again: the folder is needed
    freeze(campaign.ws)
    failed = run_cli(*campaign.args("--yes"), cwd=campaign.ws)
    assert failed.returncode == 2, failed.stdout + failed.stderr
    assert failed.stderr.startswith("error: ") and failed.stderr.count("\n") == 1, failed.stderr
    assert "cannot be opened, or its journal files cannot be made beside it" in failed.stderr
    assert smtp_server.received_by() == CONTACTS


def test_a_read_only_folder_without_a_store_is_one_sentence(campaign, invoke, smtp_server, freeze):
    freeze(campaign.ws)
    error_line(invoke(*campaign.args("--yes")), "cannot create the tracking store")
    assert smtp_server.messages == [] and not (campaign.ws / "outreach.db").exists()


@pytest.fixture
def tiny_disk(tmp_path):
    """A 1 MB file system (tmpfs), mounted for the test: needs root."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", str(mount)],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=True)


def fill(disk: Path) -> None:
    file = open(disk / "filler", "wb", buffering=0)
    try:
        while True:
            file.write(b"\0" * 4096)
    except OSError:
        pass
    finally:
        file.close()


def test_a_full_disk_is_one_sentence_and_keeps_what_was_recorded(campaign, invoke, smtp_server, tiny_disk):
    campaign.configure(OUTREACH_DB=str(tiny_disk / "outreach.db"))
    assert invoke(*campaign.args("--yes")).exit_code == 0
    campaign.write_contacts(300)  # queuing 297 new rows needs pages the full disk does not have
    fill(tiny_disk)
    error_line(invoke(*campaign.args("--yes")), "the disk is full")
    assert smtp_server.received_by() == CONTACTS
    (tiny_disk / "filler").unlink()
    status = invoke("status")
    assert status.exit_code == 0 and "3 sent" in status.output, status.output
    later = invoke(*campaign.args("--yes"))
    assert later.exit_code == 0 and "Sent 297 of 297" in later.output, later.output
    assert smtp_server.received_by() == {f"dr{i}@example.edu": 1 for i in range(300)}


# -- hand-made rows ---------------------------------------------------------------------------
@pytest.mark.parametrize("sent_at", [None, "last tuesday"])
def test_a_sent_row_without_a_readable_send_time_is_shown_not_a_crash(sent_once, invoke, smtp_server, sent_at):
    with sqlite3.connect(sent_once.ws / "outreach.db") as db:
        db.execute("UPDATE messages SET sent_at=? WHERE address='dr1@example.edu'", (sent_at,))
    status = invoke("status")
    assert status.exit_code == 0, status.output
    assert "dr1@example.edu" in status.output and "the store does not say when" in status.output
    for args in (["report"], ["report", "--json"], ["report", "--csv"]):
        report = invoke(*args)
        assert report.exit_code == 0 and "internal error" not in report.output, report.output


# -- two commands creating one store at once ---------------------------------------------------------
def test_commands_creating_a_store_at_once_all_get_the_same_whole_store(tmp_path):
    for round in range(10):
        path = tmp_path / f"round{round}" / "outreach.db"
        barrier, errors = threading.Barrier(8), []

        def open_store():
            barrier.wait()
            try:
                Store(path).close()
            except UserError as e:
                errors.append(str(e))

        threads = [threading.Thread(target=open_store) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert table_names(path) >= {"messages", "events", "suppressions", "sync_state"}
        assert [p.name for p in path.parent.iterdir()] == ["outreach.db"]
        assert path.stat().st_mode & 0o777 == 0o600


def test_a_damaged_store_during_sync_is_the_stores_trouble_not_unreadable_mail(workspace, invoke, record_sent):
    import mailbox

    from tests import mail_samples as samples

    sent = record_sent(samples.outgoing("chen@example.edu"))
    box = mailbox.mbox(workspace / "export.mbox", create=True)
    box.add(samples.gmail_reply(sent))
    box.close()
    damage_table(workspace / "outreach.db", "events")  # found only when the reply is recorded
    error_line(invoke("sync", "--mbox", workspace / "export.mbox"), "is damaged; restore it from a backup")


def test_a_full_disk_while_drafting_is_one_sentence_naming_the_file(campaign, invoke, tiny_disk):
    fill(tiny_disk)
    line = error_line(invoke("draft", campaign.template, campaign.contacts, "--out", tiny_disk / "drafts"),
                      "cannot be written: the disk is full")
    assert str(tiny_disk / "drafts") in line
    (tiny_disk / "filler").unlink()
    again = invoke("draft", campaign.template, campaign.contacts, "--out", tiny_disk / "drafts")
    assert again.exit_code == 0, again.output
    assert len(list((tiny_disk / "drafts").rglob("*.eml"))) == 3  # drafts/CAMPAIGN/ADDRESS.eml


@pytest.mark.parametrize("reason", ["", b"\x00\xff"], ids=["empty", "blob"])
def test_an_address_on_the_suppression_list_is_never_written_to_whatever_its_reason_says(campaign, invoke,
                                                                                          smtp_server, reason):
    """A row in `suppressions` is the fact; its reason only describes it. One whose reason is
    empty (falsy) or not text at all (a hand edit) still holds every message to the address."""
    Store(campaign.ws / "outreach.db").close()
    with sqlite3.connect(campaign.ws / "outreach.db") as db:
        db.execute("INSERT INTO suppressions (address, reason, at) VALUES ('dr1@example.edu', ?, "
                   "'2026-11-01T00:00:00Z')", (reason,))
    sent = invoke(*campaign.args("--yes"))
    assert sent.exit_code in (0, 1) and "1 on the suppression list" in sent.output, sent.output
    assert smtp_server.received_by() == {"dr0@example.edu": 1, "dr2@example.edu": 1}
    status = invoke("status")
    assert status.exit_code == 0 and "internal error" not in status.output, status.output
