"""Messages: one row per message, keyed by (campaign, address, step), and the queries on them.

Every message gets its Message-ID and a row *before* it leaves. ``(campaign, address, step)``
is unique: that is what makes re-running a command safe. Timestamps are UTC ISO-8601
strings, so they sort.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from outreach import json_text
from outreach.addresses import address_key
from outreach.errors import UserError
from outreach.store.connection import BATCH, Connection, utcnow
from outreach.store.states import CLAIMED, DRAFTED, IN_DOUBT, MOVES, QUEUED, SENDING, SENT, WRITTEN, StateError

# json.dumps(..., ensure_ascii=False), its encoder made once: dumps makes one a call when given options
_as_written = json.JSONEncoder(ensure_ascii=False).encode


def json_of_cells(cells: dict[str, str]) -> str:
    """``_as_written(cells)`` for a contact's cells, strings to strings, written here: the encoder
    sets up its C writer at every call, which cost more than writing a row's few strings. Anything
    else goes to the encoder. tests/test_store_batches.py holds both to ``json``."""
    try:
        return "{" + ", ".join([_string(key) + ": " + _string(value) for key, value in cells.items()]) + "}"
    except TypeError:  # a key or value that is not a string
        return _as_written(cells)


def json_of_keys(keys: list[str]) -> str:
    """``json.dumps(keys)`` for a list of address keys (strings), as :func:`json_of_cells`."""
    try:
        return "[" + ", ".join(map(_ascii_string, keys)) + "]"
    except TypeError:
        return json.dumps(keys)


_string, _ascii_string = json.encoder.encode_basestring, json.encoder.encode_basestring_ascii  # a JSON string literal


@dataclass(frozen=True)
class Outgoing:
    """What a message row holds besides its state: written by :meth:`Messages.record`."""

    campaign: str
    address: str                # the recipient's identity (outreach.addresses)
    message_id: str
    template: str
    subject: str
    recipients: list[str]       # every envelope recipient
    contact: dict[str, str]     # the CSV row, for reports and follow-ups
    contact_line: int | None
    transport: str              # eml | imap | smtp
    step: int = 0               # 0 the first message, 1.. follow-ups
    parent_id: str | None = None
    variant: str | None = None
    account: str | None = None  # the sending account, for the daily cap
    draft_path: str | None = None
    kind: str | None = None     # the template's Kind
    commitment: str | None = None

    def columns(self) -> dict:
        values = dict(self.__dict__)  # the fields in their order, as __init__ set them: no getattr a field
        values["address"] = address_key(self.address)
        values["recipients"] = json_of_keys([address_key(r) for r in self.recipients])
        values["contact"] = json_of_cells(self.contact)
        return values


# What a refresh writes again: not the key it finds the row by (setting a column, even to its value,
# rewrites the indexes over it), nor the Message-ID the row keeps; the draft's path only if one is new.
REFRESHED = tuple(name for name in Outgoing.__dataclass_fields__
                  if name not in ("campaign", "address", "step", "message_id", "draft_path"))


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
    stored_contact: dict[str, str] | UserError  # read as .contact
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

    @property
    def contact(self) -> dict[str, str]:
        """The CSV row it was written from; a damaged one stops only what reads it, naming the row."""
        if isinstance(self.stored_contact, UserError):
            raise self.stored_contact
        return self.stored_contact

    @classmethod
    def from_sql(cls, row: sqlite3.Row) -> MessageRow:
        data = dict(row)
        data.pop("id")
        data["recipients"] = stored_json(data["recipients"], list) or [data["address"]]  # it went to its address
        contact = stored_json(data.pop("contact"), dict)
        data["stored_contact"] = damaged_row(data, "contact") if contact is None else contact
        return cls(**data)


def stored_json(text: str | None, shape: type[dict | list]) -> Any:
    """A JSON column (a contact's cells, a message's recipients: strings in a dict or a list) as
    ``shape``, or None when a hand-edited or damaged store holds something else there."""
    try:
        value = json_text.loads(text) if isinstance(text, str | bytes) else None
    except ValueError:
        return None
    if not isinstance(value, shape):
        return None
    items = value.values() if isinstance(value, dict) else value
    return value if all(isinstance(item, str) for item in items) else None


def damaged_row(row: dict, column: str, then: str = "restore the store from a backup") -> UserError:
    """One sentence naming a message row whose ``column`` cannot be read, and ``then`` what to do."""
    return UserError(f"{Connection.opened or 'the tracking store'}: the message to {row.get('address')} in campaign "
                     f"{row.get('campaign')} ({row.get('message_id')}) is damaged: its {column} column is not what "
                     f"outreach wrote there; {then}")


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
        sql, args = "SELECT * FROM messages", tuple[str, ...]()
        if campaign is not None:
            sql, args = sql + " WHERE campaign=?", (campaign,)
        for row in self.db.execute(sql + " ORDER BY campaign, contact_line, step", args):
            yield MessageRow.from_sql(row)

    def messages_to(self, address: str) -> list[MessageRow]:
        """Every message to ``address``, in every campaign, oldest first."""
        rows = self.db.execute("SELECT * FROM messages WHERE address=? ORDER BY created_at, step",
                               (address_key(address),))
        return [MessageRow.from_sql(row) for row in rows]

    def record(self, move: str, message: Outgoing) -> bool:
        """Write a message's row (its content, and the state ``move`` leads to): a new row, or the
        refresh of one in a state the move starts from, keeping its Message-ID. False when the
        row is in another state (it was sent, or is being sent): nothing changed."""
        return self.record_all(move, [message])[0]

    def record_all(self, move: str, messages: list[Outgoing]) -> list[bool]:
        """:meth:`record` for each of ``messages``, in the caller's transaction: their rows' states
        read in one query, then one ``INSERT`` for the new rows and one ``UPDATE`` for the refreshed
        (``draft`` records a few hundred rows a transaction: a statement each was most of its store
        time). A message whose key comes twice is recorded twice, the second a refresh."""
        rule = MOVES[move]
        if rule.target not in (DRAFTED, QUEUED):
            raise ValueError(f"{move} does not write a message")
        now = utcnow()
        states = self._states_of_keys({(m.campaign, address_key(m.address), m.step) for m in messages})
        made, refreshed, recorded = [], [], []
        for message in messages:
            content = message.columns()
            key = (message.campaign, content["address"], message.step)
            state = states.get(key)
            moves = state in rule.sources if key in states else None in rule.sources
            recorded.append(moves)
            if not moves:
                continue
            if key not in states:
                made.append((*content.values(), rule.target, now, now))
            else:
                values = [content[name] for name in REFRESHED]
                refreshed.append((*values, rule.target, now, content["draft_path"], *key))
            states[key] = rule.target
        if made:
            columns = [*Outgoing.__dataclass_fields__, "state", "created_at", "updated_at"]
            self.db.executemany(f"INSERT INTO messages ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                                made)
        if refreshed:
            sets = [f"{name}=?" for name in REFRESHED]
            # The states read above hold in the callers' transactions; the statement guards them too,
            # so that no row is ever written over from a state the move does not start from.
            sources = [state for state in rule.sources if state is not None]
            cursor = self.db.executemany(
                f"UPDATE messages SET {', '.join(sets)}, state=?, error=NULL, updated_at=?, "
                "draft_path=COALESCE(?, draft_path) WHERE campaign=? AND address=? AND step=? "
                f"AND state IN ({', '.join(repr(state) for state in sources)})", refreshed)
            if cursor.rowcount != len(refreshed):
                raise RuntimeError(f"{len(refreshed) - cursor.rowcount} message(s) moved while being recorded")
        return recorded

    def _states_of_keys(self, keys: set[tuple[str, str, int]]) -> dict[tuple[str, str, int], str]:
        """(campaign, address, step) -> state, of the rows that exist among ``keys``."""
        found: dict[tuple[str, str, int], str] = {}
        ordered = list(keys)
        for start in range(0, len(ordered), BATCH):
            batch = ordered[start:start + BATCH]
            values = ", ".join(["(?, ?, ?)"] * len(batch))
            rows = self.db.execute(f"SELECT m.campaign, m.address, m.step, m.state FROM (VALUES {values}) AS k "
                                   "JOIN messages m ON m.campaign = k.column1 AND m.address = k.column2 "
                                   "AND m.step = k.column3", [part for key in batch for part in key])
            found.update(((campaign, address, step), state) for campaign, address, step, state in rows)
        return found

    def commitments(self, campaign: str | None = None) -> list[tuple[dict[str, str], str | None, str, str]]:
        """(contact, phrase, state, day) of every message drafted or sent with a ranking-commitment
        phrase, oldest first; the unsent drafts of ``campaign`` are left out (this run replaces them)."""
        rows = self.db.execute(
            """SELECT * FROM messages
               WHERE commitment IS NOT NULL AND state != 'failed'
                 AND NOT (campaign IS ? AND state IN ('drafted', 'queued'))
               ORDER BY COALESCE(sent_at, created_at)""", (campaign,))
        return [(row.contact, row.commitment, row.state, (row.sent_at or row.created_at or "")[:10])
                for row in map(MessageRow.from_sql, rows)]

    def move(self, move: str, message_id: str, *, error: str | None = None, at: str | None = None) -> bool:
        """Take one message through ``move`` (see :mod:`outreach.store.states`) if it is in one of
        the move's source states; False when it is not (nothing changed). ``error`` is kept with
        the row (a server's reply); ``at`` is when a confirmed message left, if known."""
        rule = MOVES[move]
        sources = [state for state in rule.sources if state is not None]
        now = utcnow()
        sent_at = {"accepted": "?", "confirm": "COALESCE(?, sent_at, ?)"}.get(move)
        extra, args = (f", sent_at={sent_at}", [now] if move == "accepted" else [at, now]) if sent_at else ("", [])
        cursor = self.db.execute(
            f"UPDATE messages SET state=?, error=?, updated_at=?{extra} "
            f"WHERE message_id=? AND state IN ({','.join('?' * len(sources))})",
            (rule.target, error, now, *args, message_id, *sources))
        return cursor.rowcount == 1

    def must_move(self, move: str, message_id: str, *, error: str | None = None, at: str | None = None) -> None:
        """:meth:`move` where any other state is a bug: only the holder of the outbox lock moves
        claimed, sending and uncertain messages, so nobody else can have moved them."""
        if not self.move(move, message_id, error=error, at=at):
            row = self.by_message_id(message_id)
            raise StateError(f"{message_id}: cannot {move} a message that is {row.state if row else 'missing'}")

    def forget_draft(self, message_id: str) -> None:
        """The message's draft was removed (it was sent): nothing points at it any more."""
        self.db.execute("UPDATE messages SET draft_path=NULL WHERE message_id=?", (message_id,))

    def drafts_of(self, message_ids: list[str]) -> dict[str, str]:
        """Where each message's draft is, as recorded: Message-ID -> draft path, for those that have one."""
        found: dict[str, str] = {}
        for start in range(0, len(message_ids), BATCH):
            batch = message_ids[start:start + BATCH]
            found.update(self.db.execute(f"SELECT message_id, draft_path FROM messages WHERE draft_path IS NOT NULL "
                                         f"AND message_id IN ({','.join('?' * len(batch))})", batch).fetchall())
        return found

    def sent_with_drafts(self) -> list[tuple[str, str]]:
        """(message_id, draft_path) of sent messages whose draft was never removed: a run that died
        between the server's 250 and removing it, or a draft that could not be removed then."""
        rows = self.db.execute("SELECT message_id, draft_path FROM messages WHERE state=? AND draft_path IS NOT NULL",
                               (SENT,))
        return [(message_id, path) for message_id, path in rows]

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
        return dict(rows.fetchall())

    def recover(self) -> tuple[int, int]:
        """After a command that died (called by the next holder of the outbox lock): what it left
        ``sending`` becomes uncertain, what it left ``claimed`` goes back to the queue (every
        commit is durable, so a claimed row never began DATA). Returns (uncertain, requeued)."""
        with self.transaction():
            uncertain = self._move_all("cut_off", SENDING,
                                       "the run stopped during DATA; the server may or may not have accepted it")
            requeued = self._move_all("release", CLAIMED)
        return uncertain, requeued

    def _move_all(self, move: str, state: str, error: str | None = None) -> int:
        rule = MOVES[move]
        assert state in rule.sources
        return self.db.execute("UPDATE messages SET state=?, error=COALESCE(?, error), updated_at=? WHERE state=?",
                               (rule.target, error, utcnow(), state)).rowcount

    def claim(self, message_ids: list[str]) -> list[str]:
        """Reserve queued messages for this run, in one transaction: the ones returned are claimed;
        any other (no longer queued: drafted again, resolved, held) must not be sent."""
        with self.transaction():
            return [message_id for message_id in message_ids if self.move("claim", message_id)]

    def release_claims(self) -> int:
        """Claims this run did not use go back to the queue."""
        return self._move_all("release", CLAIMED)

    def states_of(self, message_ids: list[str]) -> dict[str, str]:
        """message_id -> state, for those of ``message_ids`` the store has."""
        found: dict[str, str] = {}
        for start in range(0, len(message_ids), 500):
            batch = message_ids[start:start + 500]
            found.update(self.db.execute(f"SELECT message_id, state FROM messages WHERE message_id IN "
                                         f"({','.join('?' * len(batch))})", batch).fetchall())
        return found

    def written_or_drafted(self, addresses: Iterable[str]) -> bool:
        """Whether any of ``addresses`` was ever written to (a message that may have left) or drafted
        to, in any campaign: a draft may have gone from a mail client, and its answer come back."""
        wanted = list(dict.fromkeys(address_key(a) for a in addresses if a))
        states = (*WRITTEN, DRAFTED)
        for start in range(0, len(wanted), 500):
            batch = wanted[start:start + 500]
            if self.db.execute(f"SELECT 1 FROM messages WHERE address IN ({','.join('?' * len(batch))}) "
                               f"AND state IN ({','.join('?' * len(states))}) LIMIT 1", (*batch, *states)).fetchone():
                return True
        return False

    def sent_times(self, account: str, since: str) -> list[str]:
        """UTC times of messages this account sent (or may have sent) since ``since``."""
        rows = self.db.execute(
            """SELECT COALESCE(sent_at, updated_at) FROM messages WHERE account=? AND (
                   (state='sent' AND sent_at>=?) OR (state IN ('sending','uncertain') AND updated_at>=?))""",
            (account, since, since))
        return [r[0] for r in rows]

    def in_doubt(self, address: str, campaign: str | None = None) -> list[MessageRow]:
        """The messages to ``address`` whose sending outcome is unknown (in ``campaign``, if given)."""
        sql, args = "SELECT * FROM messages WHERE address=? AND state IN (?, ?)", [address_key(address), *IN_DOUBT]
        if campaign is not None:
            sql, args = sql + " AND campaign=?", [*args, campaign]
        return [MessageRow.from_sql(r) for r in self.db.execute(sql + " ORDER BY campaign, step", args)]

    def mailbox_rows(self) -> list[sqlite3.Row]:
        """What sync matches incoming mail against: every message row, oldest first."""
        return self.db.execute(
            "SELECT message_id, campaign, address, step, subject, recipients, state, created_at, sent_at "
            "FROM messages ORDER BY created_at, id").fetchall()
