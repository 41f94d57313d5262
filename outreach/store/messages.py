"""Messages: one row per message, keyed by (campaign, address, step), and the queries on them.

Every message gets its Message-ID and a row *before* it leaves. ``(campaign, address, step)``
is unique: that is what makes re-running a command safe. Timestamps are UTC ISO-8601
strings, so they sort.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from outreach.addresses import address_key
from outreach.errors import UserError
from outreach.store.connection import Connection, utcnow

# A row in this state is being sent right now, or was when a run died: the outcome is not known.
# The next `send` turns rows a dead run left here into "uncertain" (see outreach/deliver/sending.py).
UNCERTAIN = "sending"


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


class Messages(Connection):
    """The messages table: what was drafted, queued, sent, and in which state each message is."""

    def get(self, campaign: str, address: str, step: int = 0) -> MessageRow | None:
        row = self.db.execute("SELECT * FROM messages WHERE campaign=? AND address=? AND step=?",
                              (campaign, address_key(address), step)).fetchone()
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
                               (address_key(address),))
        return [MessageRow.from_sql(row) for row in rows]

    def upsert_message(self, *, campaign: str, address: str, step: int = 0, message_id: str, template: str,
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
            (campaign, address_key(address), step, message_id, parent_id, template, variant, subject,
             json.dumps([address_key(r) for r in recipients]), json.dumps(contact, ensure_ascii=False),
             contact_line, state, transport, account, draft_path, now, now, kind, commitment, *replaceable),
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
                               "ORDER BY MAX(COALESCE(sent_at, updated_at)) DESC", (address_key(address),))
        return [r[0] for r in rows]

    def other_campaigns(self, campaign: str) -> Iterator[tuple[str, str, str, str, str]]:
        """(message_id, campaign, address, state, when) of every message outside ``campaign``."""
        yield from self.db.execute("SELECT message_id, campaign, address, state, COALESCE(sent_at, updated_at) "
                                   "FROM messages WHERE campaign != ?", (campaign,))

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
                              (campaign, address_key(address))).fetchone()
        return row[0] if row else None

    def thread(self, campaign: str, address: str) -> list[MessageRow]:
        """Every message to ``address`` in ``campaign``, first message first."""
        rows = self.db.execute("SELECT * FROM messages WHERE campaign=? AND address=? ORDER BY step",
                               (campaign, address_key(address)))
        return [MessageRow.from_sql(r) for r in rows]

    def variants(self, campaign: str) -> dict[str, str]:
        """address -> variant of the first messages already planned in ``campaign``."""
        rows = self.db.execute("SELECT address, variant FROM messages WHERE campaign=? AND step=0 "
                               "AND variant IS NOT NULL", (campaign,))
        return {address: variant for address, variant in rows}

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

    def resolve_uncertain(self, campaign: str | None, address: str, delivered: bool) -> list[MessageRow]:
        """The user checked: an uncertain message did (``sent``) or did not (``queued``) go out."""
        sql, args = "SELECT * FROM messages WHERE address=? AND state='uncertain'", [address_key(address)]
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

    def mailbox_rows(self) -> list[sqlite3.Row]:
        """What sync matches incoming mail against: every message row, oldest first."""
        return self.db.execute(
            "SELECT message_id, campaign, address, step, subject, recipients, state, created_at, sent_at "
            "FROM messages ORDER BY created_at, id").fetchall()

    def confirm_sent(self, message_id: str, sent_at: str | None, states: tuple[str, ...]) -> bool:
        """Mark a message sent on evidence from the mailbox, if it is still in one of ``states``."""
        marks = ",".join("?" * len(states))
        cursor = self.db.execute(
            f"UPDATE messages SET state='sent', error=NULL, updated_at=?, sent_at=coalesce(?, sent_at, ?) "
            f"WHERE message_id=? AND state IN ({marks})",
            (utcnow(), sent_at, utcnow(), message_id, *states))
        return cursor.rowcount == 1
