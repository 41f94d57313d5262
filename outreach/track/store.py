"""The tracking store: one SQLite file in the workspace, the tool's memory.

Every message gets its Message-ID and a row *before* it leaves; its ``state`` then moves
drafted/queued -> sending -> sent | failed, and a crash leaves ``sending`` behind, which reads as
"uncertain" and is never re-sent automatically. ``(campaign, address, step)`` is unique: that is
what makes re-running a command safe. Timestamps are UTC ISO-8601 strings, so they sort.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sqlite3
import tempfile
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Iterator, NamedTuple

from outreach.clock import iso, parse_time
from outreach.config import Settings
from outreach.errors import UserError
from outreach.track.outcomes import (
    AUTO_REPLY_KINDS,
    BOUNCE_KINDS,
    REPLY_KINDS,
    SUPPRESS_KINDS,
    sql_list,
)

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
]

# A row in this state is being sent right now, or was when a run died: the outcome is not known.
# The next `send` turns rows a dead run left here into "uncertain" (see outreach/sending.py).
UNCERTAIN = "sending"


def utcnow() -> str:
    return iso(datetime.now(timezone.utc))


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
    kind: str | None = None     # the template's Kind
    commitment: str | None = None

    @classmethod
    def from_sql(cls, row: sqlite3.Row) -> "MessageRow":
        data = dict(row)
        data.pop("id")
        data["recipients"] = json.loads(data["recipients"])
        data["contact"] = json.loads(data["contact"])
        return cls(**data)


class Store:
    """A connection to the tracking store, created (0600, fully migrated) on first use.

    ``opened`` is the store this process opened last: the command line names it when SQLite
    fails later on (a full disk, a damaged page), see :func:`trouble`.
    """

    opened: Path | None = None

    def __init__(self, path: str | Path):
        self.path = Path(path)
        Store.opened = self.path
        if not self.path.exists():
            _create(self.path)
        _refuse_empty(self.path)
        try:
            # mode=rw: never create an empty database behind our back (a store that vanished
            # must not silently become a new one: everyone would get a second copy).
            self.db = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=rw", uri=True, timeout=10,
                                      isolation_level=None)
            self.db.row_factory = sqlite3.Row
            _configure(self.db)
            _check_schema(self.db, self.path)
            self._migrate()
        except sqlite3.Error as e:
            raise trouble(self.path, e) from None

    def _migrate(self) -> None:
        """Apply the missing migrations, each checking the version again inside its write
        transaction, so that two commands opening an old store at once upgrade it once. A store
        that is up to date is only read (so that `status` works on a read-only one)."""
        while (version := self._version()) != len(MIGRATIONS):
            if version > len(MIGRATIONS):
                raise UserError(f"{self.path}: was written by a newer outreach (schema {version}); upgrade outreach")
            with self.transaction():
                if self._version() == version:  # nobody upgraded it while we waited
                    for statement in _statements(MIGRATIONS[version]):
                        self.db.execute(statement)
                    self.db.execute(f"PRAGMA user_version = {version + 1}")

    def _version(self) -> int:
        return self.db.execute("PRAGMA user_version").fetchone()[0]

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

    def campaigns_of_kind(self, kind: str) -> set[str]:
        """The campaigns whose first messages came from a template of this Kind."""
        return {row[0] for row in self.db.execute(
            "SELECT DISTINCT campaign FROM messages WHERE step = 0 AND kind = ?", (kind,))}

    def messages_to(self, address: str) -> list[MessageRow]:
        """Every message to ``address``, in every campaign, oldest first."""
        rows = self.db.execute("SELECT * FROM messages WHERE address=? ORDER BY created_at, step",
                               (address.casefold(),))
        return [MessageRow.from_sql(row) for row in rows]

    def first_reply_since(self, address: str, since: datetime) -> datetime | None:
        """The first reply (or replied-like mark) from ``address`` at or after ``since``."""
        value = self.db.execute(
            f"""SELECT MIN(COALESCE(occurred_at, recorded_at)) FROM events WHERE lower(address)=?
                AND kind IN {sql_list(REPLY_KINDS)} AND COALESCE(occurred_at, recorded_at) >= ?""",
            (address.casefold(), iso(since))).fetchone()[0]
        return parse_time(value)

    def plan(self, *, campaign: str, address: str, step: int = 0, message_id: str, template: str,
             subject: str, recipients: list[str], contact: dict[str, str], contact_line: int | None,
             state: str, transport: str, variant: str | None = None, parent_id: str | None = None,
             account: str | None = None, draft_path: str | None = None, kind: str | None = None,
             commitment: str | None = None,
             replaceable: tuple[str, ...] = ("drafted", "queued")) -> None:
        """Insert a message row, or refresh one whose state is in ``replaceable`` (it has not left,
        or, for a follow-up, definitely failed), keeping its Message-ID."""
        now = utcnow()
        states = ",".join("?" * len(replaceable))
        self.db.execute(
            f"""INSERT INTO messages (campaign, address, step, message_id, parent_id, template, variant,
                   subject, recipients, contact, contact_line, state, transport, account, draft_path,
                   created_at, updated_at, kind, commitment)
               VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
               ON CONFLICT (campaign, address, step) DO UPDATE SET
                   parent_id=excluded.parent_id, template=excluded.template, variant=excluded.variant,
                   subject=excluded.subject, recipients=excluded.recipients, contact=excluded.contact,
                   contact_line=excluded.contact_line, state=excluded.state,
                   transport=excluded.transport, account=excluded.account, error=NULL,
                   draft_path=COALESCE(excluded.draft_path, messages.draft_path), updated_at=excluded.updated_at,
                   kind=excluded.kind, commitment=excluded.commitment
               WHERE messages.state IN ({states})""",
            (campaign, address.casefold(), step, message_id, parent_id, template, variant, subject,
             json.dumps(recipients), json.dumps(contact, ensure_ascii=False), contact_line, state,
             transport, account, draft_path, now, now, kind, commitment, *replaceable),
        )

    def commitments(self, campaign: str | None = None) -> list[tuple[dict, str, str, str]]:
        """(contact, phrase, state, day) of every message drafted or sent with a ranking-commitment
        phrase, oldest first; the unsent drafts of ``campaign`` are left out (this run replaces them)."""
        rows = self.db.execute(
            """SELECT contact, commitment, state, COALESCE(sent_at, created_at) FROM messages
               WHERE commitment IS NOT NULL AND state != 'failed'
                 AND NOT (campaign IS ? AND state IN ('drafted', 'queued'))
               ORDER BY COALESCE(sent_at, created_at)""", (campaign,))
        return [(json.loads(contact), phrase, state, (when or "")[:10]) for contact, phrase, state, when in rows]

    def set_state(self, message_id: str, state: str, *, error: str | None = None) -> None:
        now = utcnow()
        self.db.execute(
            "UPDATE messages SET state=?, error=?, updated_at=?, sent_at=CASE WHEN ?='sent' THEN ? ELSE sent_at END "
            "WHERE message_id=?",
            (state, error, now, state, now, message_id),
        )

    def forget_draft(self, message_id: str) -> None:
        """The message's draft was removed (it was sent): nothing points at it any more."""
        self.db.execute("UPDATE messages SET draft_path=NULL WHERE message_id=?", (message_id,))

    # -- follow-ups and reports -----------------------------------------------------------
    def campaigns(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT DISTINCT campaign FROM messages ORDER BY campaign")]

    def require_campaign(self, campaign: str) -> None:
        """Refuse a campaign the store does not know, naming the ones it does."""
        campaigns = self.campaigns()
        if campaign not in campaigns:
            known = ", ".join(campaigns) if campaigns else "none yet"
            raise UserError(f"no campaign {campaign!r} in the tracking store (known: {known})")

    def campaigns_of(self, address: str) -> list[str]:
        """The campaigns with a message to ``address``, most recently written to first."""
        rows = self.db.execute("SELECT campaign FROM messages WHERE address=? GROUP BY campaign "
                               "ORDER BY MAX(COALESCE(sent_at, updated_at)) DESC", (address.casefold(),))
        return [r[0] for r in rows]

    def other_campaigns(self, campaign: str) -> Iterator[tuple[str, str, str, str, str]]:
        """(message_id, campaign, address, state, when) of every message outside ``campaign``."""
        yield from self.db.execute("SELECT message_id, campaign, address, state, COALESCE(sent_at, updated_at) "
                                   "FROM messages WHERE campaign != ?", (campaign,))

    def event_kinds(self, message_ids: list[str]) -> Iterator[tuple[str, str]]:
        """(message_id, kind) of every event about these messages."""
        for start in range(0, len(message_ids), 500):
            batch = message_ids[start:start + 500]
            yield from self.db.execute(f"SELECT message_id, kind FROM events WHERE message_id IN "
                                       f"({','.join('?' * len(batch))})", batch)

    def remember_pair(self, template: Path, contacts: Path, campaign: str) -> None:
        """``template`` and ``contacts`` were drafted or sent as ``campaign``."""
        self.db.execute("INSERT INTO pairs (template, contacts, campaign, at) VALUES (?,?,?,?) "
                        "ON CONFLICT (template, contacts) DO UPDATE SET campaign=excluded.campaign, at=excluded.at",
                        (str(template.resolve()), str(contacts.resolve()), campaign, utcnow()))

    def campaign_of_pair(self, template: Path, contacts: Path) -> str | None:
        row = self.db.execute("SELECT campaign FROM pairs WHERE template=? AND contacts=?",
                              (str(template.resolve()), str(contacts.resolve()))).fetchone()
        return row[0] if row else None

    def latest_message_id(self, campaign: str, address: str) -> str | None:
        """The Message-ID a manual outcome belongs to: the last one sent, else the last one planned."""
        row = self.db.execute("SELECT message_id FROM messages WHERE campaign=? AND address=? "
                              "ORDER BY state = 'sent' DESC, step DESC LIMIT 1",
                              (campaign, address.casefold())).fetchone()
        return row[0] if row else None

    def thread(self, campaign: str, address: str) -> list[MessageRow]:
        """Every message to ``address`` in ``campaign``, first message first."""
        rows = self.db.execute("SELECT * FROM messages WHERE campaign=? AND address=? ORDER BY step",
                               (campaign, address.casefold()))
        return [MessageRow.from_sql(r) for r in rows]

    def variants(self, campaign: str) -> dict[str, str]:
        """address -> variant of the first messages already planned in ``campaign``."""
        rows = self.db.execute("SELECT address, variant FROM messages WHERE campaign=? AND step=0 "
                               "AND variant IS NOT NULL", (campaign,))
        return {address: variant for address, variant in rows}

    def add_event(self, *, message_id: str | None, address: str, kind: str, source: str,
                  strength: str | None = None, detail: dict | str | None = None, occurred_at: str | None = None,
                  until: str | None = None) -> bool:
        """Record an event once per ``source``; False when that source was already recorded."""
        if isinstance(detail, dict):
            detail = json.dumps(detail, ensure_ascii=False)
        cursor = self.db.execute(
            "INSERT INTO events (message_id, address, kind, source, strength, detail, occurred_at, recorded_at, until) "
            "VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT (source) DO NOTHING",
            (message_id, address.casefold(), kind, source, strength, detail, occurred_at, utcnow(), until))
        return cursor.rowcount > 0

    def delete_event(self, source: str) -> bool:
        return self.db.execute("DELETE FROM events WHERE source=?", (source,)).rowcount > 0

    def has_event(self, address: str, kind: str) -> bool:
        return self.db.execute("SELECT 1 FROM events WHERE lower(address)=? AND kind=? LIMIT 1",
                               (address.casefold(), kind)).fetchone() is not None

    def suppress(self, address: str, reason: str, at: str | None = None) -> bool:
        """Never write to ``address`` again (an opt-out, a hard bounce, a complaint); the first
        reason stays. False when it was already suppressed."""
        cursor = self.db.execute("INSERT INTO suppressions (address, reason, at) VALUES (?,?,?) "
                                 "ON CONFLICT (address) DO NOTHING", (address.casefold(), reason, at or utcnow()))
        return cursor.rowcount == 1

    def unsuppress(self, address: str, reason: str) -> bool:
        return self.db.execute("DELETE FROM suppressions WHERE address=? AND reason=?",
                               (address.casefold(), reason)).rowcount > 0

    def suppressed(self) -> dict[str, str]:
        """address -> reason, for every address never to be written to again.

        The suppressions table, plus any address with a complaint or opt-out event, whoever
        recorded it: a complaint found by sync suppresses even if nothing copied it into the table.
        """
        rows = self.db.execute(
            f"""SELECT address, reason FROM suppressions
                UNION ALL
                SELECT lower(address), kind FROM events WHERE kind IN {sql_list(SUPPRESS_KINDS)}""")
        result: dict[str, str] = {}
        for address, reason in rows:
            result.setdefault(address, reason)
        return result

    def threads(self, campaign: str | None = None) -> Iterator["ThreadRow"]:
        """One row per (campaign, address): where each contact stands.

        Sized for 100,000 messages: events are aggregated per message in SQL and follow-ups
        (few) are read on their own; both are then dictionaries looked up while the first
        messages stream by in one pass, which SQLite's automatic indexes did several times slower.
        """
        self.db.create_function("outreach_return_date", 1, _return_date, deterministic=True)
        where, args = _in("campaign", None if campaign is None else [campaign])
        also = where.replace("WHERE", "AND")
        events = {row[0]: row[1:] for row in self.db.execute(
            f"""SELECT message_id,
                       MIN(CASE WHEN kind IN {sql_list(REPLY_KINDS)} THEN COALESCE(occurred_at, recorded_at) END),
                       MAX(kind IN {sql_list(BOUNCE_KINDS)}),
                       MAX(CASE WHEN kind IN {sql_list(AUTO_REPLY_KINDS)}
                                THEN COALESCE(until, outreach_return_date(detail)) END),
                       MAX(COALESCE(occurred_at, recorded_at) || ' ' || kind ||
                           CASE WHEN strength = 'address' AND kind IN {sql_list(REPLY_KINDS)}
                                THEN ' (by address)' ELSE '' END)
                FROM events WHERE message_id IS NOT NULL GROUP BY message_id""")}
        followups: dict[tuple[str, str], list] = {}
        for camp, address, step, state, sent_at, error, message_id in self.db.execute(
                f"SELECT campaign, address, step, state, sent_at, error, message_id FROM messages "
                f"WHERE step > 0 {also} ORDER BY step", args):
            # [last_step, last_state, followups_sent, last_sent_at, last_error, events...]
            item = followups.setdefault((camp, address), [0, None, 0, None, None, None, 0, None, None])
            item[0:2], item[4] = (step, state), error
            if state == "sent":
                item[2] += 1
                item[3] = max(item[3] or "", sent_at or "") or None
            if message_id in events:
                item[5:9] = _merge_events(item[5:9], events[message_id])
        any_reply = dict(self.db.execute(
            f"""SELECT lower(address), MAX(COALESCE(occurred_at, recorded_at)) FROM events
                WHERE kind IN {sql_list(REPLY_KINDS)} GROUP BY lower(address)"""))
        suppressed = self.suppressed()
        no_events = (None, 0, None, None)
        for camp, address, line, state, sent_at, error, message_id, kind in self.db.execute(
                f"""SELECT campaign, address, contact_line, state, sent_at,
                           CASE WHEN state != 'sent' THEN error END, message_id, kind
                    FROM messages {"NOT INDEXED" if campaign is None else ""}
                    WHERE step = 0 {also} ORDER BY campaign, contact_line, address""", args):
            ev = events.get(message_id, no_events)
            fu = followups.get((camp, address))
            if fu is None:
                yield ThreadRow(camp, address, line, state, sent_at, 0, state, 0,
                                sent_at if state == "sent" else None, error, ev[0], any_reply.get(address),
                                ev[1], ev[2], ev[3], suppressed.get(address), kind)
            else:
                if fu[5:9] != [None, 0, None, None]:
                    ev = _merge_events(ev, fu[5:9])
                last_sent = fu[3] or (sent_at if state == "sent" else None)
                yield ThreadRow(camp, address, line, state, sent_at, fu[0], fu[1], fu[2],
                                last_sent, fu[4] if fu[1] != "sent" else error, ev[0], any_reply.get(address),
                                ev[1], ev[2], ev[3], suppressed.get(address), kind)

    def contact_columns(self, campaigns: list[str] | None = None, sample: int = 2000) -> list[str]:
        """The CSV columns recorded with first messages (from a sample of rows)."""
        where, args = _in("campaign", campaigns)
        rows = self.db.execute(
            f"""SELECT DISTINCT j.key FROM (SELECT contact FROM messages WHERE step = 0 {where.replace("WHERE", "AND")}
                LIMIT {int(sample)}) AS m, json_each(m.contact) AS j ORDER BY j.key""", args)
        return [r[0] for r in rows]

    def report_data(self, campaigns: list[str] | None, by: str | None) -> dict[str, list[tuple]]:
        """The report's aggregates, computed in SQL: counts, medians and reply timelines.

        ``by`` is None (campaign totals only), ``"variant"``, or a CSV column name. Rows with
        ``grp`` NULL are the campaign totals (sums of their groups; medians are computed on
        their own). Sized for 100,000 messages: one pass over the first messages counts what
        needs no event; what events and follow-ups change is counted over the few contacts
        that have any, joined to their first message through the (campaign, address, step) key.
        """
        if by is None:
            group, group_args = "NULL", ()
        elif by == "variant":
            group, group_args = "COALESCE(m0.variant, m0.template)", ()
        else:
            # ->> (SQLite 3.38+) is json_extract for text, a third faster on 100,000 rows.
            extract = "m0.contact ->> ?" if sqlite3.sqlite_version_info >= (3, 38) else "json_extract(m0.contact, ?)"
            group, group_args = f"COALESCE({extract}, '')", (f'$."{by}"',)
        where, args = _in("campaign", campaigns)
        also = where.replace("WHERE", "AND")
        self.db.execute("PRAGMA temp_store=MEMORY")
        self._drop_report_tables()
        try:
            self.db.execute("CREATE TEMP TABLE report_ev (campaign, address, first_reply, bounced, auto, "
                            "PRIMARY KEY (campaign, address)) WITHOUT ROWID")
            self.db.execute("CREATE TEMP TABLE report_fu (campaign, address, first_fu, "
                            "PRIMARY KEY (campaign, address)) WITHOUT ROWID")
            self.db.execute(f"""
                INSERT INTO report_ev
                SELECT m.campaign AS campaign, m.address AS address, MIN(e.first_reply) AS first_reply,
                       MAX(e.bounced) AS bounced, MAX(e.auto) AS auto
                FROM (SELECT message_id,
                             MIN(CASE WHEN kind IN {sql_list(REPLY_KINDS)}
                                      THEN COALESCE(occurred_at, recorded_at) END) AS first_reply,
                             MAX(kind IN {sql_list(BOUNCE_KINDS)}) AS bounced,
                             MAX(kind IN {sql_list(AUTO_REPLY_KINDS)}) AS auto
                      FROM events NOT INDEXED WHERE message_id IS NOT NULL GROUP BY message_id) AS e
                CROSS JOIN messages m ON m.message_id = e.message_id
                {where.replace("campaign", "m.campaign")}
                GROUP BY m.campaign, m.address""", args)
            self.db.execute(f"""
                INSERT INTO report_fu
                SELECT campaign, address, MIN(sent_at) AS first_fu FROM messages
                WHERE step > 0 AND state = 'sent' {also} GROUP BY campaign, address""", args)
            base = self.db.execute(f"""
                SELECT m0.campaign, {group}, COUNT(*), SUM(m0.state = 'sent'), SUM(m0.state = 'failed'),
                       SUM(m0.state IN ('sending', 'uncertain')), MIN(CASE WHEN m0.state = 'sent' THEN m0.sent_at END)
                FROM messages m0 {"NOT INDEXED" if campaigns is None else ""}
                WHERE m0.step = 0 {also.replace("campaign", "m0.campaign")}
                GROUP BY 1, 2""", (*group_args, *args)).fetchall()
            outcomes = self.db.execute(f"""
                WITH c AS (
                    SELECT m0.campaign AS campaign, {group} AS grp, ev.first_reply AS first_reply,
                           fu.first_fu AS first_fu, ev.first_reply IS NOT NULL AS replied,
                           ev.first_reply IS NULL AND COALESCE(ev.bounced, 0) AS bounced,
                           COALESCE(ev.auto, 0) AS auto
                    FROM (SELECT campaign, address FROM report_ev UNION ALL
                          SELECT campaign, address FROM report_fu f WHERE NOT EXISTS (
                              SELECT 1 FROM report_ev e WHERE e.campaign = f.campaign AND e.address = f.address)) AS k
                    CROSS JOIN messages m0 ON m0.campaign = k.campaign AND m0.address = k.address AND m0.step = 0
                    LEFT JOIN report_ev ev ON ev.campaign = k.campaign AND ev.address = k.address
                    LEFT JOIN report_fu fu ON fu.campaign = k.campaign AND fu.address = k.address
                    WHERE m0.state = 'sent')
                SELECT campaign, grp, SUM(bounced), SUM(replied), SUM(auto AND NOT bounced),
                       SUM(first_fu IS NOT NULL),
                       SUM(replied AND (first_fu IS NULL OR julianday(first_reply) < julianday(first_fu))),
                       SUM(replied AND first_fu IS NOT NULL AND julianday(first_reply) >= julianday(first_fu)),
                       MIN(first_fu)
                FROM c GROUP BY 1, 2""", group_args).fetchall()
            self.db.execute(f"""
                CREATE TEMP TABLE report_replies AS
                SELECT m0.campaign AS campaign, {group} AS grp, ev.first_reply AS first_reply,
                       MAX(julianday(ev.first_reply) - julianday(m0.sent_at), 0) * 24 AS hours
                FROM report_ev ev CROSS JOIN messages m0 ON m0.campaign = ev.campaign AND m0.address = ev.address
                                                        AND m0.step = 0
                WHERE m0.state = 'sent' AND ev.first_reply IS NOT NULL""", group_args)
            median = """SELECT campaign, {g}, AVG(hours) FROM (
                            SELECT campaign, grp, hours,
                                   ROW_NUMBER() OVER (PARTITION BY campaign{p} ORDER BY hours) AS rn,
                                   COUNT(*) OVER (PARTITION BY campaign{p}) AS n
                            FROM report_replies)
                        WHERE rn IN ((n + 1) / 2, (n + 2) / 2) GROUP BY campaign{p}"""
            medians = self.db.execute(median.format(g="NULL", p="") + (
                "" if by is None else " UNION ALL " + median.format(g="grp", p=", grp"))).fetchall()
            timeline = self.db.execute(
                f"""SELECT campaign, {"NULL" if by is None else "grp"}, date(first_reply) AS day, COUNT(*)
                    FROM report_replies GROUP BY 1, 2, 3 ORDER BY 1, 2, 3""").fetchall()
        finally:
            self._drop_report_tables()
        # Combine: (campaign, grp) -> planned, sent, failed, uncertain, bounced, delivered, replied,
        # auto_replied, followed_up, replied_before_followup, replied_after_followup.
        groups: dict[tuple, list] = {}
        spans: dict[str, list] = {}
        for campaign, grp, planned, sent, failed, uncertain, first_sent in base:
            groups[(campaign, grp)] = [planned, sent or 0, failed or 0, uncertain or 0, 0, sent or 0, 0, 0, 0, 0, 0]
            span = spans.setdefault(campaign, [None, None])
            span[0] = min(filter(None, (span[0], first_sent)), default=None)
        for campaign, grp, bounced, replied, auto, followed, before, after, first_fu in outcomes:
            row = groups[(campaign, grp)]
            row[4:11] = [bounced, row[1] - bounced, replied, auto, followed, before, after]
            span = spans[campaign]
            span[1] = min(filter(None, (span[1], first_fu)), default=None)
        rows, totals = [], {}
        for (campaign, grp), numbers in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")):
            if by is not None:
                rows.append((campaign, grp, *numbers))
            totals[campaign] = [a + b for a, b in zip(totals.get(campaign, [0] * len(numbers)), numbers)]
        rows += [(campaign, None, *numbers) for campaign, numbers in totals.items()]
        last_reply: dict[str, str] = {}
        for campaign, _, day, _ in timeline:
            last_reply[campaign] = max(last_reply.get(campaign, day), day)
        return {"counts": rows, "medians": medians, "timeline": timeline,
                "spans": [(c, _day(first), last_reply.get(c), _day(fu)) for c, (first, fu) in spans.items()]}

    def _drop_report_tables(self) -> None:
        for table in ("report_ev", "report_fu", "report_replies"):
            self.db.execute(f"DROP TABLE IF EXISTS temp.{table}")

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
        """Why ``address`` must not be written to, or None: the list, or an opt-out or complaint event."""
        row = self.db.execute(
            f"""SELECT reason FROM suppressions WHERE address=?
                UNION ALL SELECT kind FROM events WHERE address=? AND kind IN {sql_list(SUPPRESS_KINDS)}
                LIMIT 1""", (address.casefold(), address.casefold())).fetchone()
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

    # -- mailbox --
    def mailbox_rows(self) -> list[sqlite3.Row]:
        """What sync matches incoming mail against: every message row, oldest first."""
        return self.db.execute(
            "SELECT message_id, campaign, address, step, subject, recipients, state, created_at, sent_at "
            "FROM messages ORDER BY created_at, id").fetchall()

    def mailbox_events(self, message_id: str | None = None) -> list[dict]:
        sql, args = "SELECT * FROM events", ()
        if message_id is not None:
            sql, args = sql + " WHERE message_id=?", (message_id,)
        rows = self.db.execute(sql + " ORDER BY id", args).fetchall()
        return [{**dict(row), "detail": json.loads(row["detail"]) if row["detail"] else None} for row in rows]

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


def open_existing(settings: Settings, *, campaign: str | None = None) -> Store:
    """The store, refusing to create one: most commands read what earlier commands recorded.
    With ``campaign``, also refuse a campaign the store does not know."""
    if not settings.db.exists():
        raise UserError(f"{settings.db}: no tracking store here; run this in the workspace where you drafted "
                        "or sent (or set OUTREACH_DB)")
    store = Store(settings.db)
    if campaign is not None:
        store.require_campaign(campaign)
    return store


# -- opening and creating ----------------------------------------------------------------
OUR_TABLES = {"messages", "events", "suppressions", "sync_state"}

# SQLite's error name (prefix) -> what it means for the person, in words.
_TROUBLE = [
    ("SQLITE_READONLY", "is read-only; outreach records every message before it leaves, so the file and its "
                        "folder must be writable"),
    ("SQLITE_CANTOPEN", "cannot be opened, or its journal files cannot be made beside it; check that the file "
                        "and its folder are writable"),
    ("SQLITE_NOTADB", "is not an outreach tracking store (not an SQLite database); set OUTREACH_DB to the store "
                      "you meant"),
    ("SQLITE_CORRUPT", "is damaged; restore it from a backup before sending again (sqlite3's .recover may save "
                       "what is left), or contacts could get a second copy"),
    ("SQLITE_FULL", "cannot be written because the disk is full; free some space and run again (what was "
                    "recorded before is kept)"),
    ("SQLITE_IOERR", "could not be read or written (the disk reported an error)"),
    ("SQLITE_BUSY", "is busy: another outreach command has held it for more than 10 s; try again when it ends"),
    ("SQLITE_LOCKED", "is busy: another outreach command holds it; try again when it ends"),
]


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


def _configure(db: sqlite3.Connection) -> None:
    db.execute("PRAGMA journal_mode=WAL")
    # FULL: a committed "sending" must survive a power cut, or we could send twice.
    db.execute("PRAGMA synchronous=FULL")
    db.execute("PRAGMA foreign_keys=ON")


def _create(path: Path) -> None:
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
            _configure(db)
            for number, script in enumerate(MIGRATIONS, start=1):
                db.execute("BEGIN IMMEDIATE")
                for statement in _statements(script):
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
        for leftover in (temporary, f"{temporary}-wal", f"{temporary}-shm"):
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


def _refuse_empty(path: Path) -> None:
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


def _check_schema(db: sqlite3.Connection, path: Path) -> None:
    """Refuse an SQLite database that some other program made (it would get our tables added,
    or fail later in a puzzling way)."""
    version = db.execute("PRAGMA user_version").fetchone()[0]
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    foreign = sorted(tables - OUR_TABLES - {"sqlite_sequence", "sqlite_stat1"})
    if (version == 0 and tables) or (version > 0 and not OUR_TABLES <= tables):
        shown = ", ".join(foreign[:5]) or "none of its tables"
        raise UserError(f"{path}: is an SQLite database but not an outreach tracking store (tables: {shown}); "
                        "set OUTREACH_DB to the store you meant")


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


# -- follow-ups and reports ---------------------------------------------------------------
class ThreadRow(NamedTuple):
    """Where one contact of one campaign stands (see :meth:`Store.threads`). A tuple: there may be 100,000."""

    campaign: str
    address: str
    contact_line: int | None
    state: str                  # of the first message
    sent_at: str | None         # of the first message
    last_step: int
    last_state: str             # of the latest message (a follow-up, if any)
    followups_sent: int
    last_sent_at: str | None    # of the latest message that was sent
    last_error: str | None
    first_reply_at: str | None  # first reply (or replied-like mark) to a message of this thread
    last_reply_any: str | None  # latest reply from this address to anything
    bounced: int
    back_on: str | None         # the latest return date announced by an auto-reply (YYYY-MM-DD)
    last_event: str | None      # "<when> <kind>" of the latest event of this thread
    suppressed: str | None      # a suppression reason, if any
    kind: str | None = None     # the first message's template Kind: a thank-you is never followed up


def _merge_events(a, b) -> list:
    """Combine two (first_reply_at, bounced, back_on, last_event) aggregates."""
    return [min(x for x in (a[0], b[0]) if x) if a[0] or b[0] else None, max(a[1] or 0, b[1] or 0),
            max(a[2] or "", b[2] or "") or None, max(a[3] or "", b[3] or "") or None]


_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_RETURN_KEYS = ("until", "return_date", "returns", "back_on")


def _return_date(detail: str | None) -> str | None:
    """The return date an auto-reply announced, as YYYY-MM-DD, read from an event's ``detail``.

    Accepts JSON with a ``return_date`` (or ``until``, ``back_on``...) key, or any text holding
    one ISO date; anything else means "no date".
    """
    if not detail:
        return None
    text = detail
    try:
        data = json.loads(detail)
    except ValueError:
        data = None
    if isinstance(data, dict):
        text = next((str(data[k]) for k in _RETURN_KEYS if data.get(k)), "")
    elif isinstance(data, str):
        text = data
    match = _ISO_DATE.search(text)
    if not match:
        return None
    try:
        return date(*map(int, match.groups())).isoformat()
    except ValueError:
        return None


def _day(timestamp: str | None) -> str | None:
    """``2026-11-14`` from a stored timestamp (UTC)."""
    return timestamp[:10] if timestamp else None


def _in(column: str, values: list[str] | None) -> tuple[str, tuple]:
    """``WHERE column IN (?, ?)`` and its arguments, or nothing when ``values`` is None."""
    if values is None:
        return "", ()
    return f"WHERE {column} IN ({', '.join('?' * len(values))})", tuple(values)
