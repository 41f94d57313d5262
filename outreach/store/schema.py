"""The store's file: its schema and migrations, how a new one is made, and what SQLite's
failures mean to a person.

Schema changes are appended to :data:`MIGRATIONS` and tracked in ``PRAGMA user_version``;
a shipped entry is never edited.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import tempfile
from pathlib import Path

from outreach import json_text
from outreach.addresses import address_key
from outreach.errors import UserError

# Each entry upgrades the schema by one version (PRAGMA user_version); never edit a shipped one.
MIGRATIONS = [
    """
    CREATE TABLE messages (
        id INTEGER PRIMARY KEY,
        campaign TEXT NOT NULL,
        address TEXT NOT NULL,            -- casefolded addr-spec: the idempotency key
        step INTEGER NOT NULL DEFAULT 0,  -- 0 the first message, 1.. follow-ups
        message_id TEXT NOT NULL UNIQUE,
        parent_id TEXT,                   -- follow-ups: the Message-ID they answer
        template TEXT NOT NULL,
        variant TEXT,
        subject TEXT NOT NULL,
        recipients TEXT NOT NULL,         -- JSON list of every envelope recipient
        contact TEXT NOT NULL,            -- JSON of the CSV row, for reports and follow-ups
        contact_line INTEGER,
        state TEXT NOT NULL,              -- drafted | queued | sending | sent | failed
        transport TEXT,                   -- eml | imap | smtp
        account TEXT,                     -- the sending account, for daily caps
        draft_path TEXT,
        error TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        sent_at TEXT,
        UNIQUE (campaign, address, step)
    );
    CREATE INDEX messages_account_sent ON messages (account, sent_at);
    CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        message_id TEXT REFERENCES messages (message_id),
        address TEXT NOT NULL,
        kind TEXT NOT NULL,       -- reply | auto-reply | bounce | delayed | complaint | a manual outcome
        source TEXT NOT NULL UNIQUE, -- where it came from (folder/uidvalidity/uid, file, "mark:..."): counted once
        strength TEXT,            -- how it was matched: header | dsn | subject | manual
        detail TEXT,
        occurred_at TEXT,
        recorded_at TEXT NOT NULL
    );
    CREATE INDEX events_message ON events (message_id);
    CREATE TABLE suppressions (
        address TEXT PRIMARY KEY,
        reason TEXT NOT NULL,
        at TEXT NOT NULL
    );
    CREATE TABLE sync_state (
        account TEXT NOT NULL,
        folder TEXT NOT NULL,
        uidvalidity INTEGER NOT NULL,
        last_uid INTEGER NOT NULL,
        synced_at TEXT NOT NULL,
        PRIMARY KEY (account, folder)
    );
    """,
    # 2 (mailbox): an auto-reply's stated return date, and lookups by contact.
    """
    ALTER TABLE events ADD COLUMN until TEXT;  -- auto-reply: "out of office until" date, YYYY-MM-DD
    CREATE INDEX events_address ON events (address, kind);
    """,
    # 3 (interview season): the template's Kind, so that a thank-you note is never followed up.
    """
    ALTER TABLE messages ADD COLUMN kind TEXT;  -- outreach | thank-you | follow-up (NULL: recorded before)
    CREATE INDEX messages_address ON messages (address);  -- `due`: every message to one interviewer
    """,
    # 4 (compose): the ranking-commitment sentence a message holds, so that a second program is caught.
    """
    ALTER TABLE messages ADD COLUMN commitment TEXT;
    """,
    # 5 (issue 10): the campaign a (template, contacts) pair was drafted or sent under, so that
    # `send` without --campaign continues it instead of starting a new one.
    """
    CREATE TABLE pairs (
        template TEXT NOT NULL,   -- resolved paths
        contacts TEXT NOT NULL,
        campaign TEXT NOT NULL,
        at TEXT NOT NULL,
        PRIMARY KEY (template, contacts)
    );
    """,
    # 6 (issue 15): one identity per mailbox. Addresses stored before were case-folded as typed,
    # so a domain in full-width letters or in Unicode and its punycode form were different people.
    # Every stored address becomes its identity (outreach_address_key, from outreach.addresses).
    #
    # Two messages that become one (campaign, address, step) are one person written to twice
    # under two spellings. The row that went furthest stays: sent over anything, then a send
    # whose outcome is unknown, then a claim, a draft, the queue, a failure; among equals the one
    # sent (or planned) first. Nothing is recorded as lost: the other row's events and the
    # follow-ups answering it move to the row that stays, and no state is invented (a second
    # copy that went out stays visible as the events it drew). Two suppressions that become one
    # keep the earliest, as a new suppression keeps the first reason.
    """
    CREATE TEMP TABLE merged_messages AS
        SELECT message_id, keeper FROM (
            SELECT message_id, FIRST_VALUE(message_id) OVER (
                PARTITION BY campaign, outreach_address_key(address), step
                ORDER BY CASE state WHEN 'sent' THEN 0 WHEN 'uncertain' THEN 1 WHEN 'sending' THEN 2
                                    WHEN 'claimed' THEN 3 WHEN 'drafted' THEN 4 WHEN 'queued' THEN 5 ELSE 6 END,
                         COALESCE(sent_at, created_at), id) AS keeper
            FROM messages)
        WHERE message_id != keeper;
    UPDATE events SET message_id = (SELECT keeper FROM merged_messages m WHERE m.message_id = events.message_id)
        WHERE message_id IN (SELECT message_id FROM merged_messages);
    UPDATE messages SET parent_id = (SELECT keeper FROM merged_messages m WHERE m.message_id = messages.parent_id)
        WHERE parent_id IN (SELECT message_id FROM merged_messages);
    DELETE FROM messages WHERE message_id IN (SELECT message_id FROM merged_messages);
    DROP TABLE temp.merged_messages;
    UPDATE messages SET address = outreach_address_key(address), recipients = outreach_address_list(recipients)
        WHERE address != outreach_address_key(address) OR recipients != outreach_address_list(recipients);
    UPDATE events SET address = outreach_address_key(address) WHERE address != outreach_address_key(address);
    DELETE FROM suppressions WHERE rowid IN (
        SELECT rowid FROM (SELECT rowid, ROW_NUMBER() OVER (
                               PARTITION BY outreach_address_key(address) ORDER BY at, rowid) AS n
                           FROM suppressions)
        WHERE n > 1);
    UPDATE suppressions SET address = outreach_address_key(address) WHERE address != outreach_address_key(address);
    """,
    # 7 (issue 19): what `status`, `followup` and `report` read of the messages, in the order
    # they read it, so that SQLite neither sorts nor reads the table's wide rows (the contact's
    # JSON, the recipients). The first messages by campaign and sheet line, with what a thread's
    # line shows (step is in the key only so that SQLite 3.40 counts the index as covering: it is
    # always 0 here); the follow-ups (a tenth of the rows) by campaign, address and step. Each
    # index holds only its own rows, so a follow-up's insert never touches the first one.
    """
    CREATE INDEX messages_first ON messages (campaign, step, contact_line, address, state, sent_at, error, kind)
        WHERE step = 0;
    CREATE INDEX messages_followups ON messages (campaign, address, step, state, sent_at, error) WHERE step > 0;
    """,
]



OUR_TABLES = {"messages", "events", "suppressions", "sync_state"}

# SQLite's error name (prefix) -> what it means for the person, in words.
_TROUBLE = [
    ("SQLITE_READONLY", ("is read-only; outreach records every message before it leaves, so the file and its "
                        "folder must be writable")),
    ("SQLITE_CANTOPEN", ("cannot be opened, or its journal files cannot be made beside it; check that the file "
                        "and its folder are writable")),
    ("SQLITE_NOTADB", ("is not an outreach tracking store (not an SQLite database); set OUTREACH_DB to the store "
                      "you meant")),
    ("SQLITE_CORRUPT", ("is damaged; restore it from a backup before sending again (sqlite3's .recover may save "
                       "what is left), or contacts could get a second copy")),
    ("SQLITE_FULL", ("cannot be written because the disk is full; free some space and run again (what was "
                    "recorded before is kept)")),
    ("SQLITE_IOERR", "could not be read or written (the disk reported an error)"),
    ("SQLITE_BUSY", "is busy: another outreach command has held it for more than 10 s; try again when it ends"),
    ("SQLITE_LOCKED", "is busy: another outreach command holds it; try again when it ends"),
]


def as_text(expression: str) -> str:
    """SQL for ``expression`` as text or NULL: a blob, which only a hand edit puts in a text
    column, as SQLite quotes it (``X'00FF'``, after any time or date, where SQLite orders a blob).
    Python cannot order bytes and str, so a reader that compares or parses a value read from a
    column of text takes it through this."""
    return f"(CASE WHEN typeof({expression}) = 'blob' THEN quote({expression}) ELSE {expression} END)"


# A suppression's reason as readers take it: a row in `suppressions` is the fact, its reason only
# describes it, so one whose reason is empty (a hand edit) still reads as a reason (not as "no").
SUPPRESSION_REASON = f"COALESCE(NULLIF({as_text('reason')}, ''), 'no reason given')"


def trouble(path: str | Path | None, error: sqlite3.Error) -> UserError:
    """One sentence for a failure of the store file itself (read-only, damaged, full, busy...)."""
    name = getattr(error, "sqlite_errorname", "") or ""
    if name.startswith(("SQLITE_IOERR", "SQLITE_CANTOPEN")) and path is not None and _disk_full(Path(path)):
        name = "SQLITE_FULL"  # SQLite says "disk I/O error" when its shared-memory file finds no room
    meaning = next((text for prefix, text in _TROUBLE if name.startswith(prefix)), "failed")
    if name == "SQLITE_ERROR" and str(error).startswith(("no such column", "no such table")):
        meaning = ("does not have the columns outreach expects (a hand-made or foreign store); set OUTREACH_DB "
                   "to the store you meant")
    return UserError(f"{path or 'the tracking store'}: {meaning} (SQLite: {error})")


def _disk_full(path: Path) -> bool:
    try:
        disk = os.statvfs(path.parent)
    except (OSError, AttributeError):  # AttributeError: Windows has no statvfs
        return False
    return disk.f_bavail * disk.f_frsize < 256 * 1024


def configure(db: sqlite3.Connection) -> None:
    """A rollback journal, every commit synced: when a commit returns, the fact is in the store's
    own file. With WAL the newest facts lived in ``outreach.db-wal`` until a checkpoint, and a
    backup or sync tool that copied only ``outreach.db`` (or a crash that lost the WAL) made the
    next run send again what had already gone. PERSIST keeps the journal file and zeroes its
    header instead of deleting it: a commit is two fsyncs and no file made or removed, 1.6 ms
    against 4.7 ms for DELETE on the development machine (docs/sending-design.md)."""
    # An older store in WAL mode is checkpointed and converted. It stays as it is when the file is
    # read-only or another process has it open in WAL mode: reading it is still right.
    with contextlib.suppress(sqlite3.OperationalError):
        db.execute("PRAGMA journal_mode=PERSIST")
    db.execute("PRAGMA journal_size_limit=4194304")  # a big transaction's journal does not stay big
    db.execute("PRAGMA synchronous=FULL")
    db.execute("PRAGMA foreign_keys=ON")
    # An address's identity, for migrations (see MIGRATIONS[5]).
    db.create_function("outreach_address_key", 1, _address_key, deterministic=True)
    db.create_function("outreach_address_list", 1, _address_list, deterministic=True)


# What a migration meets in a store is not checked: anything that is not an address (a
# hand-edited row) is left as it is, since a function that raises would leave the store unopenable.
def _address_key(value):
    return address_key(value) if isinstance(value, str) else value


def _address_list(recipients):
    """A JSON list of addresses (messages.recipients), as identities."""
    try:
        addresses = json_text.loads(recipients)
    except (TypeError, ValueError):
        return recipients
    if not isinstance(addresses, list) or not all(isinstance(a, str) for a in addresses):
        return recipients
    return json.dumps([address_key(a) for a in addresses])


def create(path: Path) -> None:
    """Make a new, fully migrated store at ``path`` in one step: it is built under a temporary
    name beside it and then linked into place, so that no other command (two sends started
    at once) ever sees a half-made store; if one was linked first, ours is thrown away."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.new-", dir=path.parent)
        os.close(fd)  # mkstemp: mode 0600, as the store must be
    except OSError as e:
        raise UserError(f"{path}: cannot create the tracking store ({e.strerror or e})") from None
    try:
        db = sqlite3.connect(temporary, isolation_level=None)
        try:
            configure(db)
            for number, script in enumerate(MIGRATIONS, start=1):
                db.execute("BEGIN IMMEDIATE")
                for statement in statements(script):
                    db.execute(statement)
                db.execute(f"PRAGMA user_version = {number}")
                db.execute("COMMIT")
        finally:
            db.close()
        _put_in_place(temporary, path)
    except sqlite3.Error as e:
        raise trouble(path, e) from None
    except OSError as e:
        raise UserError(f"{path}: cannot create the tracking store ({e.strerror or e})") from None
    finally:
        for leftover in (temporary, f"{temporary}-journal", f"{temporary}-wal", f"{temporary}-shm"):
            with contextlib.suppress(OSError):
                os.unlink(leftover)


def _put_in_place(temporary: str, path: Path) -> None:
    """Link the new store to its name unless another command made one first (then use theirs)."""
    try:
        os.link(temporary, path)
    except FileExistsError:
        pass
    except OSError:  # a file system without hard links (FAT, some network drives): nearly as good
        if not path.exists():
            os.replace(temporary, path)


def refuse_empty(path: Path) -> None:
    """A zero-length file where the store should be is not a new store: something emptied it
    (a sync client, a full disk, a copy gone wrong), and starting afresh would send everyone
    a second copy."""
    try:
        empty = path.stat().st_size == 0 and not _size(Path(f"{path}-wal"))
    except OSError as e:
        raise UserError(f"{path}: cannot open the tracking store ({e.strerror or e})") from None
    if empty:
        raise UserError(f"{path}: the tracking store is empty (0 bytes), so what was sent is unknown; restore it "
                        "from a backup, or delete the file if you really mean to start again")


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def check_schema(db: sqlite3.Connection, path: Path) -> None:
    """Refuse an SQLite database that some other program made (it would get our tables added,
    or fail later in a puzzling way)."""
    version = db.execute("PRAGMA user_version").fetchone()[0]
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    foreign = sorted(tables - OUR_TABLES - {"sqlite_sequence", "sqlite_stat1"})
    if (version == 0 and tables) or (version > 0 and not tables >= OUR_TABLES):
        shown = ", ".join(foreign[:5]) or "none of its tables"
        raise UserError(f"{path}: is an SQLite database but not an outreach tracking store (tables: {shown}); "
                        "set OUTREACH_DB to the store you meant")


def statements(script: str) -> list[str]:
    """Split a migration into statements (they contain no semicolons inside literals)."""
    return [s.strip() for s in script.split(";") if s.strip()]
