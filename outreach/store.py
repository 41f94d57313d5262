"""The tracking store: one SQLite file in the workspace, the tool's memory.

Every message gets its Message-ID and a row *before* it leaves; its ``state`` then moves
drafted/queued -> sending -> sent | failed, and a crash leaves ``sending`` behind, which reads as
"uncertain" and is never re-sent automatically. ``(campaign, address, step)`` is unique: that is
what makes re-running a command safe. Timestamps are UTC ISO-8601 strings, so they sort.
"""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

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
]

# A row in this state is being sent right now, or was when a run died: the outcome is not known.
# The next `send` turns rows a dead run left here into "uncertain" (see outreach/sending.py).
UNCERTAIN = "sending"


def utcnow() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class MessageRow:
    campaign: str
    address: str
    step: int
    message_id: str
    parent_id: str | None
    template: str
    variant: str | None
    subject: str
    recipients: list[str]
    contact: dict[str, str]
    contact_line: int | None
    state: str
    transport: str | None
    account: str | None
    draft_path: str | None
    error: str | None
    created_at: str
    updated_at: str
    sent_at: str | None

    @classmethod
    def from_sql(cls, row: sqlite3.Row) -> "MessageRow":
        data = dict(row)
        data.pop("id")
        data["recipients"] = json.loads(data["recipients"])
        data["contact"] = json.loads(data["contact"])
        return cls(**data)


class Store:
    """A connection to the tracking store, created (0600) and migrated on first use."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        try:
            if not self.path.exists():
                self.path.parent.mkdir(parents=True, exist_ok=True)
                os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
            self.db = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        except (OSError, sqlite3.Error) as e:
            raise UserError(f"{self.path}: cannot open the tracking store ({e})") from None
        self.db.row_factory = sqlite3.Row
        try:
            self.db.execute("PRAGMA journal_mode=WAL")
            # FULL: a committed "sending" must survive a power cut, or we could send twice.
            self.db.execute("PRAGMA synchronous=FULL")
            self.db.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except sqlite3.DatabaseError as e:
            raise UserError(f"{self.path}: is not an outreach tracking store ({e})") from None

    def _migrate(self) -> None:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version > len(MIGRATIONS):
            raise UserError(f"{self.path}: was written by a newer outreach (schema {version}); upgrade outreach")
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            with self.transaction():
                for statement in _statements(script):
                    self.db.execute(statement)
                self.db.execute(f"PRAGMA user_version = {number}")

    def transaction(self):
        return _Transaction(self.db)

    def close(self) -> None:
        self.db.close()

    # -- messages -------------------------------------------------------------------------
    def get(self, campaign: str, address: str, step: int = 0) -> MessageRow | None:
        row = self.db.execute("SELECT * FROM messages WHERE campaign=? AND address=? AND step=?",
                              (campaign, address.casefold(), step)).fetchone()
        return MessageRow.from_sql(row) if row else None

    def by_message_id(self, message_id: str) -> MessageRow | None:
        row = self.db.execute("SELECT * FROM messages WHERE message_id=?", (message_id,)).fetchone()
        return MessageRow.from_sql(row) if row else None

    def messages(self, campaign: str | None = None) -> Iterator[MessageRow]:
        sql, args = "SELECT * FROM messages", ()
        if campaign is not None:
            sql, args = sql + " WHERE campaign=?", (campaign,)
        for row in self.db.execute(sql + " ORDER BY campaign, contact_line, step", args):
            yield MessageRow.from_sql(row)

    def plan(self, *, campaign: str, address: str, step: int = 0, message_id: str, template: str,
             subject: str, recipients: list[str], contact: dict[str, str], contact_line: int | None,
             state: str, transport: str, variant: str | None = None, parent_id: str | None = None,
             account: str | None = None, draft_path: str | None = None) -> None:
        """Insert a message row, or refresh a row that has not left yet (keeping its Message-ID)."""
        now = utcnow()
        self.db.execute(
            """INSERT INTO messages (campaign, address, step, message_id, parent_id, template, variant,
                   subject, recipients, contact, contact_line, state, transport, account, draft_path,
                   created_at, updated_at)
               VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
               ON CONFLICT (campaign, address, step) DO UPDATE SET
                   template=excluded.template, variant=excluded.variant, subject=excluded.subject,
                   recipients=excluded.recipients, contact=excluded.contact,
                   contact_line=excluded.contact_line, state=excluded.state,
                   transport=excluded.transport, account=excluded.account,
                   draft_path=excluded.draft_path, updated_at=excluded.updated_at
               WHERE messages.state IN ('drafted', 'queued')""",
            (campaign, address.casefold(), step, message_id, parent_id, template, variant, subject,
             json.dumps(recipients), json.dumps(contact, ensure_ascii=False), contact_line, state,
             transport, account, draft_path, now, now),
        )

    def set_state(self, message_id: str, state: str, *, error: str | None = None) -> None:
        now = utcnow()
        self.db.execute(
            "UPDATE messages SET state=?, error=?, updated_at=?, sent_at=CASE WHEN ?='sent' THEN ? ELSE sent_at END "
            "WHERE message_id=?",
            (state, error, now, state, now, message_id),
        )

    # -- sending --------------------------------------------------------------------------
    # Sending adds two states: "claimed" (durably reserved by a running send, nothing sent
    # yet) and "uncertain" (DATA was begun, the outcome is unknown). See outreach/sending.py.

    def set_synchronous(self, mode: str) -> None:
        """FULL (fsync every commit) or NORMAL (WAL: survives a killed process, not a power cut)."""
        if mode not in ("FULL", "NORMAL"):
            raise ValueError(mode)
        self.db.execute(f"PRAGMA synchronous={mode}")

    def recover_interrupted(self, *, claims_untouched: bool) -> tuple[int, int]:
        """After a run that died: ``sending`` -> ``uncertain``; ``claimed`` -> ``queued`` when the
        rows written after the claim are known to have survived, else ``uncertain``.
        Returns (uncertain, requeued)."""
        now = utcnow()
        with self.transaction():
            uncertain = self.db.execute(
                "UPDATE messages SET state='uncertain', updated_at=?, error=? WHERE state='sending'",
                (now, "the run stopped during DATA; the server may or may not have accepted it")).rowcount
            if claims_untouched:
                requeued = self.db.execute("UPDATE messages SET state='queued', updated_at=? WHERE state='claimed'",
                                           (now,)).rowcount
            else:
                requeued = 0
                uncertain += self.db.execute(
                    "UPDATE messages SET state='uncertain', updated_at=?, error=? WHERE state='claimed'",
                    (now, "the computer restarted during a send; the server may or may not have it")).rowcount
        return uncertain, requeued

    def claim(self, message_ids: list[str]) -> None:
        """Durably reserve queued rows for this run: committed with an fsync, whatever the mode."""
        previous = self.db.execute("PRAGMA synchronous").fetchone()[0]
        self.db.execute("PRAGMA synchronous=FULL")
        try:
            with self.transaction():
                now = utcnow()
                self.db.executemany("UPDATE messages SET state='claimed', updated_at=? "
                                    "WHERE message_id=? AND state='queued'", [(now, m) for m in message_ids])
        finally:
            self.db.execute(f"PRAGMA synchronous={int(previous)}")

    def release_claims(self) -> int:
        """Claims this run did not use go back to the queue."""
        return self.db.execute("UPDATE messages SET state='queued', updated_at=? WHERE state='claimed'",
                               (utcnow(),)).rowcount

    def requeue(self, message_id: str, from_states: tuple[str, ...]) -> bool:
        """Put a failed or uncertain row back in the queue (the user asked for it)."""
        marks = ",".join("?" * len(from_states))
        return self.db.execute(f"UPDATE messages SET state='queued', error=NULL, updated_at=? "
                               f"WHERE message_id=? AND state IN ({marks})",
                               (utcnow(), message_id, *from_states)).rowcount == 1

    def sent_times(self, account: str, since: str) -> list[str]:
        """UTC times of messages this account sent (or may have sent) since ``since``."""
        rows = self.db.execute(
            """SELECT COALESCE(sent_at, updated_at) FROM messages WHERE account=? AND (
                   (state='sent' AND sent_at>=?) OR (state IN ('sending','uncertain') AND updated_at>=?))""",
            (account, since, since))
        return [r[0] for r in rows]

    def suppression(self, address: str) -> str | None:
        row = self.db.execute("SELECT reason FROM suppressions WHERE address=?", (address.casefold(),)).fetchone()
        return row[0] if row else None

    def resolve_uncertain(self, campaign: str | None, address: str, delivered: bool) -> list[MessageRow]:
        """The user checked: an uncertain message did (``sent``) or did not (``queued``) go out."""
        sql, args = "SELECT * FROM messages WHERE address=? AND state='uncertain'", [address.casefold()]
        if campaign is not None:
            sql, args = sql + " AND campaign=?", [*args, campaign]
        rows = [MessageRow.from_sql(r) for r in self.db.execute(sql, args)]
        if len(rows) == 1:
            now = utcnow()
            if delivered:
                self.db.execute("UPDATE messages SET state='sent', error=NULL, sent_at=updated_at, updated_at=? "
                                "WHERE message_id=?", (now, rows[0].message_id))
            else:
                self.requeue(rows[0].message_id, ("uncertain",))
        return rows

    def latest_events(self, campaign: str | None = None) -> dict[str, tuple[str, str | None]]:
        """Message-ID -> (kind, when) of the newest event recorded against it (replies, bounces...)."""
        sql = ("SELECT e.message_id, e.kind, e.occurred_at FROM events e JOIN messages m ON m.message_id=e.message_id")
        args: tuple = ()
        if campaign is not None:
            sql, args = sql + " WHERE m.campaign=?", (campaign,)
        latest: dict[str, tuple[str, str | None]] = {}
        for message_id, kind, when in self.db.execute(sql + " ORDER BY e.recorded_at, e.id", args):
            latest[message_id] = (kind, when)
        return latest

    def campaigns(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT DISTINCT campaign FROM messages ORDER BY campaign")]


    # -- mailbox --
    def mailbox_rows(self) -> list[sqlite3.Row]:
        """What sync matches incoming mail against: every message row, oldest first."""
        return self.db.execute(
            "SELECT message_id, campaign, address, step, subject, recipients, state, created_at, sent_at "
            "FROM messages ORDER BY created_at, id").fetchall()

    def add_mailbox_event(self, *, message_id: str, address: str, kind: str, source: str, strength: str,
                          detail: dict, occurred_at: str | None, until: str | None = None) -> bool:
        """Record what an incoming message says about one of ours; False if ``source`` was seen before."""
        cursor = self.db.execute(
            "INSERT INTO events (message_id, address, kind, source, strength, detail, occurred_at, recorded_at, until) "
            "VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT (source) DO NOTHING",
            (message_id, address.casefold(), kind, source, strength, json.dumps(detail, ensure_ascii=False),
             occurred_at, utcnow(), until))
        return cursor.rowcount == 1

    def mailbox_events(self, message_id: str | None = None) -> list[dict]:
        sql, args = "SELECT * FROM events", ()
        if message_id is not None:
            sql, args = sql + " WHERE message_id=?", (message_id,)
        rows = self.db.execute(sql + " ORDER BY id", args).fetchall()
        return [{**dict(row), "detail": json.loads(row["detail"]) if row["detail"] else None} for row in rows]

    def suppress_address(self, address: str, reason: str) -> bool:
        """Never write to ``address`` again (a hard bounce, a complaint); the first reason stays."""
        cursor = self.db.execute("INSERT INTO suppressions (address, reason, at) VALUES (?,?,?) "
                                 "ON CONFLICT (address) DO NOTHING", (address.casefold(), reason, utcnow()))
        return cursor.rowcount == 1

    def sync_position(self, account: str, folder: str) -> tuple[int, int] | None:
        """(uidvalidity, last_uid) of the last sync of ``folder``, or None."""
        row = self.db.execute("SELECT uidvalidity, last_uid FROM sync_state WHERE account=? AND folder=?",
                              (account, folder)).fetchone()
        return (row["uidvalidity"], row["last_uid"]) if row else None

    def save_sync_position(self, account: str, folder: str, uidvalidity: int, last_uid: int,
                           synced_at: str | None = None) -> None:
        self.db.execute(
            "INSERT INTO sync_state (account, folder, uidvalidity, last_uid, synced_at) VALUES (?,?,?,?,?) "
            "ON CONFLICT (account, folder) DO UPDATE SET uidvalidity=excluded.uidvalidity, "
            "last_uid=excluded.last_uid, synced_at=excluded.synced_at",
            (account, folder, uidvalidity, last_uid, synced_at or utcnow()))

    def last_synced(self) -> str | None:
        """When the mailbox was last read (UTC ISO): mail that arrived before then has been seen."""
        return self.db.execute("SELECT max(synced_at) FROM sync_state").fetchone()[0]

    def confirm_sent(self, message_id: str, sent_at: str | None, states: tuple[str, ...]) -> bool:
        """Mark a message sent on evidence from the mailbox, if it is still in one of ``states``."""
        marks = ",".join("?" * len(states))
        cursor = self.db.execute(
            f"UPDATE messages SET state='sent', error=NULL, updated_at=?, sent_at=coalesce(?, sent_at, ?) "
            f"WHERE message_id=? AND state IN ({marks})",
            (utcnow(), sent_at, utcnow(), message_id, *states))
        return cursor.rowcount == 1


class _Transaction:
    """``with store.transaction():`` BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on error."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def __enter__(self):
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, exc_type, exc, tb):
        self.db.execute("ROLLBACK" if exc_type else "COMMIT")


def _statements(script: str) -> list[str]:
    """Split a migration into statements (they contain no semicolons inside literals)."""
    return [s.strip() for s in script.split(";") if s.strip()]
