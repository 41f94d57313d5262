"""Events: what came back (replies, auto-replies, bounces, complaints) or was marked by hand,
the suppression list, and how far the mailbox has been read."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime

from outreach import json_text
from outreach.addresses import address_key
from outreach.clock import iso, parse_time
from outreach.store.connection import Connection, utcnow
from outreach.store.outcomes import REPLY_KINDS, SUPPRESS_KINDS, sql_list
from outreach.store.schema import SUPPRESSION_REASON


class Events(Connection):
    """The events, suppressions and sync_state tables."""

    def first_reply_since(self, address: str, since: datetime) -> datetime | None:
        """The first reply (or replied-like mark) from ``address`` at or after ``since``."""
        value = self.db.execute(
            f"""SELECT MIN(COALESCE(occurred_at, recorded_at)) FROM events WHERE lower(address)=?
                AND kind IN {sql_list(REPLY_KINDS)} AND COALESCE(occurred_at, recorded_at) >= ?""",
            (address_key(address), iso(since))).fetchone()[0]
        return parse_time(value)

    def event_kinds(self, message_ids: list[str]) -> Iterator[tuple[str, str]]:
        """(message_id, kind) of every event about these messages."""
        for start in range(0, len(message_ids), 500):
            batch = message_ids[start:start + 500]
            yield from self.db.execute(f"SELECT message_id, kind FROM events WHERE message_id IN "
                                       f"({','.join('?' * len(batch))})", batch)

    def add_event(self, *, message_id: str | None, address: str, kind: str, source: str,
                  strength: str | None = None, detail: dict | str | None = None, occurred_at: str | None = None,
                  until: str | None = None) -> bool:
        """Record an event once per ``source``; False when that source was already recorded."""
        if isinstance(detail, dict):
            detail = json.dumps(detail, ensure_ascii=False)
        cursor = self.db.execute(
            "INSERT INTO events (message_id, address, kind, source, strength, detail, occurred_at, recorded_at, until) "
            "VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT (source) DO NOTHING",
            (message_id, address_key(address), kind, source, strength, detail, occurred_at, utcnow(), until))
        return cursor.rowcount > 0

    def delete_event(self, source: str) -> bool:
        return self.db.execute("DELETE FROM events WHERE source=?", (source,)).rowcount > 0

    def has_event(self, address: str, kind: str) -> bool:
        return self.db.execute("SELECT 1 FROM events WHERE lower(address)=? AND kind=? LIMIT 1",
                               (address_key(address), kind)).fetchone() is not None

    def suppress(self, address: str, reason: str, at: str | None = None) -> bool:
        """Never write to ``address`` again (an opt-out, a hard bounce, a complaint); the first
        reason stays. False when it was already suppressed."""
        cursor = self.db.execute("INSERT INTO suppressions (address, reason, at) VALUES (?,?,?) "
                                 "ON CONFLICT (address) DO NOTHING", (address_key(address), reason, at or utcnow()))
        return cursor.rowcount == 1

    def unsuppress(self, address: str, reason: str) -> bool:
        return self.db.execute("DELETE FROM suppressions WHERE address=? AND reason=?",
                               (address_key(address), reason)).rowcount > 0

    def suppressed(self) -> dict[str, str]:
        """address -> reason, for every address never to be written to again.

        The suppressions table, plus any address with a complaint or opt-out event, whoever
        recorded it: a complaint found by sync suppresses even if nothing copied it into the table.
        """
        rows = self.db.execute(
            f"""SELECT address, {SUPPRESSION_REASON} FROM suppressions
                UNION ALL
                SELECT lower(address), kind FROM events WHERE kind IN {sql_list(SUPPRESS_KINDS)}""")
        result: dict[str, str] = {}
        for address, reason in rows:
            result.setdefault(address, reason)
        return result

    def suppression(self, address: str) -> str | None:
        """Why ``address`` must not be written to, or None: the list, or an opt-out or complaint event."""
        key = address_key(address)
        row = self.db.execute(
            f"""SELECT {SUPPRESSION_REASON} FROM suppressions WHERE address=?
                UNION ALL SELECT kind FROM events WHERE address=? AND kind IN {sql_list(SUPPRESS_KINDS)}
                LIMIT 1""", (key, key)).fetchone()
        return row[0] if row else None

    def mailbox_events(self, message_id: str | None = None) -> list[dict]:
        sql, args = "SELECT * FROM events", tuple[str, ...]()
        if message_id is not None:
            sql, args = sql + " WHERE message_id=?", (message_id,)
        rows = self.db.execute(sql + " ORDER BY id", args).fetchall()
        return [{**dict(row), "detail": json_text.loads(row["detail"]) if row["detail"] else None} for row in rows]

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
        latest: str | None = self.db.execute("SELECT max(synced_at) FROM sync_state").fetchone()[0]
        return latest

    def last_read(self) -> tuple[str, str, str] | None:
        """(account, folder or file, synced_at) of the most recent read of any mailbox."""
        row = self.db.execute("SELECT account, folder, synced_at FROM sync_state ORDER BY synced_at DESC "
                              "LIMIT 1").fetchone()
        return (row[0], row[1], row[2]) if row else None
