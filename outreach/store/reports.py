"""Report queries: where each conversation stands (``threads``) and the response-rate
aggregates (``report_data``), computed in SQL for stores of 100,000 messages."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterable, Iterator
from datetime import date
from itertools import groupby, repeat
from operator import itemgetter
from typing import NamedTuple

from outreach.clock import EARLIEST, LATEST
from outreach.store.events import Events
from outreach.store.messages import damaged_row
from outreach.store.outcomes import AUTO_REPLY_KINDS, BOUNCE_KINDS, REPLY_KINDS, UNCONFIRMED_KINDS, sql_list

NOT_BOUNCED, EXPIRED, BOUNCED = 0, 1, 2   # ThreadRow.bounced, ordered: the worst of a thread's events wins


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
    bounced: int                # NOT_BOUNCED, BOUNCED, or EXPIRED (4.x.x: delivery gave up, the address may be fine)
    back_on: str | None         # the latest return date announced by an auto-reply (YYYY-MM-DD)
    last_event: str | None      # "<when> <kind>" of the latest event of this thread
    suppressed: str | None      # a suppression reason, if any
    kind: str | None = None     # the first message's template Kind: a thank-you is never followed up
    unconfirmed: str | None = None  # an unconfirmed-bounce or -complaint: a report that named the address only


def _merge_events(a, b) -> list:
    """Combine two (first_reply_at, bounced, back_on, last_event, unconfirmed) aggregates."""
    return [min(x for x in (a[0], b[0]) if x) if a[0] or b[0] else None, max(a[1] or 0, b[1] or 0),
            max(a[2] or "", b[2] or "") or None, max(a[3] or "", b[3] or "") or None, a[4] or b[4]]


class ThreadReads(NamedTuple):
    """What :meth:`Reports.thread_reads` read: the lookups each first message is completed from.

    A first message (:meth:`first_messages`) whose row number is not in ``events``, whose
    address is neither in ``people`` nor among its campaign's ``followups``, has nothing on
    record but itself: ``status`` answers such threads without reading each one in full."""

    db: sqlite3.Cursor
    campaigns: list[str]                                # every campaign with a first message, or the one asked for
    events: dict[int, tuple]                            # message row number -> (first_reply_at, bounced, back_on,
                                                        # last_event, unconfirmed)
    followups: dict[str, dict[str, list]]               # campaign -> address -> [last_step, last_state,
                                                        # followups_sent, last_sent_at, last_error, events...]
    people: dict[str, tuple[str | None, str | None]]    # address -> (its latest reply to anything, suppression)

    def first_messages(self, campaign: str) -> sqlite3.Cursor:
        """(address, contact_line, state, sent_at, error, row number, kind) of each first message of
        ``campaign``, by line: read through the (campaign, address, step) key, one campaign at a
        time (smaller sorts, and no campaign name made 100,000 times). ``error`` only if not sent."""
        return self.db.execute(
            """SELECT address, contact_line, state, sent_at, CASE WHEN state != 'sent' THEN error END, id, kind
               FROM messages WHERE campaign = ? AND step = 0 ORDER BY contact_line, address""", (campaign,))

    def thread(self, campaign: str, first: tuple, followed: dict[str, list]) -> ThreadRow:
        """The thread of one of :meth:`first_messages`, with ``followed`` its campaign's follow-ups."""
        address, line, state, sent_at, error, row_id, kind = first
        ev: tuple | list = self.events.get(row_id, _NO_EVENTS)
        last_reply_any, suppressed = self.people.get(address, _NOBODY)
        fu = followed.get(address)
        thread = tuple.__new__  # ThreadRow's own __new__ is a Python function: one call fewer per contact
        if fu is None:
            return thread(ThreadRow, (campaign, address, line, state, sent_at, 0, state, 0,
                                      sent_at if state == "sent" else None, error, ev[0], last_reply_any, ev[1], ev[2],
                                      ev[3], suppressed, kind, ev[4]))
        if fu[5:10] != [None, 0, None, None, None]:
            ev = _merge_events(ev, fu[5:10])
        last_sent = fu[3] or (sent_at if state == "sent" else None)
        return thread(ThreadRow, (campaign, address, line, state, sent_at, fu[0], fu[1], fu[2], last_sent,
                                  fu[4] if fu[1] != "sent" else error, ev[0], last_reply_any, ev[1], ev[2], ev[3],
                                  suppressed, kind, ev[4]))


_NO_EVENTS, _NOBODY = (None, 0, None, None, None), (None, None)

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


def _medians(rows: Iterable[tuple], *, grouped: bool) -> list[tuple]:
    """(campaign, None, median) for each campaign and, ``grouped``, (campaign, group, median) for
    each group, from (campaign, group, hours) rows sorted in that order: one sorted read, where a
    window function per level sorted the replies once for the campaigns and again for the groups."""
    medians: list[tuple] = []
    for campaign, rows_of_campaign in groupby(rows, key=itemgetter(0)):
        in_campaign = list(rows_of_campaign)
        medians.append((campaign, None, _median(sorted(hours for _, _, hours in in_campaign))))
        if grouped:
            for group, rows_of_group in groupby(in_campaign, key=itemgetter(1)):
                medians.append((campaign, group, _median([hours for _, _, hours in rows_of_group])))
    return medians


def _median(ordered: list[float]) -> float:
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def _day(timestamp: str | None) -> str | None:
    """``2026-11-14`` from a stored timestamp (UTC)."""
    return timestamp[:10] if timestamp else None


def _in(column: str, values: list[str] | None) -> tuple[str, tuple]:
    """``WHERE column IN (?, ?)`` and its arguments, or nothing when ``values`` is None."""
    if values is None:
        return "", ()
    return f"WHERE {column} IN ({', '.join('?' * len(values))})", tuple(values)


class Reports(Events):
    """Read-only queries for `status`, `followup` and `report`."""

    def threads(self, campaign: str | None = None) -> Iterator[ThreadRow]:
        """One row per (campaign, address): where each contact stands, in campaign and line order."""
        reads = self.thread_reads(campaign)
        for name in reads.campaigns:
            followed = reads.followups.get(name, {})
            yield from map(reads.thread, repeat(name), reads.first_messages(name), repeat(followed))

    def thread_reads(self, campaign: str | None = None) -> ThreadReads:
        """What :meth:`threads` reads before the first messages stream by (all campaigns', or one's).

        Sized for 100,000 messages: events are aggregated per message in SQL (keyed by the
        message's row number, not its Message-ID: an integer crosses into Python for less), and
        follow-ups (few) are read on their own; both, and what is known of each address, are
        dictionaries looked up while the first messages stream by, which SQLite's automatic
        indexes did several times slower. For one campaign, only its messages' events and its
        contacts' replies are read.
        """
        self.db.create_function("outreach_return_date", 1, _return_date, deterministic=True)
        db = self.db.cursor()
        db.row_factory = None  # plain tuples: a sqlite3.Row for each of 100,000 rows costs more than it helps
        where, args = _in("campaign", None if campaign is None else [campaign])
        also = where.replace("WHERE", "AND")
        # The row number comes from the Message-ID's own index; one campaign's events are picked
        # by that campaign's Message-IDs (through the key), not by reading each event's message.
        ours = "" if campaign is None else "WHERE e.message_id IN (SELECT message_id FROM messages WHERE campaign = ?)"
        events = {row[0]: row[1:] for row in db.execute(
            f"""SELECT m.id,
                       MIN(CASE WHEN e.kind IN {sql_list(REPLY_KINDS)} THEN COALESCE(e.occurred_at, e.recorded_at) END),
                       MAX(CASE WHEN e.kind NOT IN {sql_list(BOUNCE_KINDS)} THEN {NOT_BOUNCED}
                                WHEN json_valid(e.detail) AND json_extract(e.detail, '$.status') LIKE '4.%'
                                THEN {EXPIRED} ELSE {BOUNCED} END),
                       MAX(CASE WHEN e.kind IN {sql_list(AUTO_REPLY_KINDS)}
                                THEN COALESCE(e.until, outreach_return_date(e.detail)) END),
                       MAX(COALESCE(e.occurred_at, e.recorded_at) || ' ' || e.kind ||
                           CASE WHEN e.strength = 'address' AND e.kind IN {sql_list(REPLY_KINDS)}
                                THEN ' (by address)' ELSE '' END),
                       MAX(CASE WHEN e.kind IN {sql_list(UNCONFIRMED_KINDS)} THEN e.kind END)
                FROM events e CROSS JOIN messages m ON m.message_id = e.message_id
                {ours} GROUP BY m.id""", args)}
        # campaign -> address -> [last_step, last_state, followups_sent, last_sent_at, last_error, events...]
        followups: dict[str, dict[str, list]] = {}
        for camp, address, step, state, sent_at, error, row_id in db.execute(
                f"SELECT campaign, address, step, state, sent_at, error, id FROM messages "
                f"WHERE step > 0 {also} ORDER BY step", args):
            item = followups.setdefault(camp, {}).setdefault(address, [0, None, 0, None, None, None, 0, None, None,
                                                                       None])
            item[0:2], item[4] = (step, state), error
            if state == "sent":
                item[2] += 1
                item[3] = max(item[3] or "", sent_at or "") or None
            if row_id in events:
                item[5:10] = _merge_events(item[5:10], events[row_id])
        theirs = "" if campaign is None else "AND lower(address) IN (SELECT address FROM messages WHERE campaign = ?)"
        # address -> (its latest reply to anything, why it is suppressed): one lookup for both
        people: dict[str, tuple[str | None, str | None]] = {address: (when, None) for address, when in db.execute(
            f"""SELECT lower(address), MAX(COALESCE(occurred_at, recorded_at)) FROM events
                WHERE kind IN {sql_list(REPLY_KINDS)} {theirs} GROUP BY lower(address)""", args)}
        for address, reason in self.suppressed().items():
            people[address] = (people.get(address, (None, None))[0], reason)
        campaigns = [campaign] if campaign is not None else [name for name, in db.execute(
            "SELECT DISTINCT campaign FROM messages WHERE step = 0 ORDER BY campaign")]
        return ThreadReads(db, campaigns, events, followups, people)

    def contact_columns(self, campaigns: list[str] | None = None, sample: int = 2000) -> list[str]:
        """The CSV columns recorded with first messages (from a sample of rows)."""
        where, args = _in("campaign", campaigns)
        also = where.replace("WHERE", "AND")
        try:
            rows = self.db.execute(
                f"""SELECT DISTINCT j.key FROM (SELECT contact FROM messages WHERE step = 0 {also}
                    AND json_type(contact) = 'object' LIMIT {int(sample)}) AS m, json_each(m.contact) AS j
                    ORDER BY j.key""", args).fetchall()
        except sqlite3.OperationalError as e:
            raise self._damaged_contact(e) from None
        return [r[0] for r in rows]

    def _damaged_contact(self, error: sqlite3.OperationalError) -> Exception:
        """SQLite's "malformed JSON" as one sentence naming a row whose contact is damaged (a
        hand-edited store); ``error`` itself for anything else. Free until it happens: no scan
        of 100,000 rows checks every contact first."""
        row = self.db.execute("SELECT campaign, address, message_id FROM messages WHERE NOT json_valid(contact) "
                              "LIMIT 1").fetchone() if "JSON" in str(error) else None
        return error if row is None else damaged_row(dict(row), "contact")

    def report_data(self, campaigns: list[str] | None, by: str | None) -> dict[str, list]:
        """The report's aggregates, computed in SQL: counts, medians and reply timelines, and
        which campaigns are thank-you notes (a first message of that Kind: never followed up).

        ``by`` is None (campaign totals only), ``"variant"``, or a CSV column name. Rows with
        ``grp`` NULL are the campaign totals (sums of their groups; medians are computed on
        their own). Sized for 100,000 messages: one pass over the first messages counts what
        needs no event; what events and follow-ups change is counted over the few contacts
        that have any, joined to their first message through the (campaign, address, step) key.
        """
        if by is None:
            group, group_args = "NULL", tuple[str, ...]()
        elif by == "variant":
            group, group_args = "COALESCE(m0.variant, m0.template)", ()
        else:
            # ->> (SQLite 3.38+) is json_extract for text, a third faster on 100,000 rows.
            extract = "m0.contact ->> ?" if sqlite3.sqlite_version_info >= (3, 38) else "json_extract(m0.contact, ?)"
            group, group_args = f"COALESCE(CAST({extract} AS TEXT), '')", (f'$."{by}"',)
        where, args = _in("campaign", campaigns)
        also = where.replace("WHERE", "AND")
        self.db.execute("PRAGMA temp_store=MEMORY")
        self._drop_report_tables()
        try:
            # One row per contact with anything past the first message: what its events say, then
            # (an upsert) when it was first followed up.
            self.db.execute("CREATE TEMP TABLE report_k (campaign, address, first_reply, bounced, auto, first_fu, "
                            "PRIMARY KEY (campaign, address)) WITHOUT ROWID")
            self.db.execute(f"""
                INSERT INTO report_k
                SELECT m.campaign AS campaign, m.address AS address, MIN(e.first_reply) AS first_reply,
                       MAX(e.bounced) AS bounced, MAX(e.auto) AS auto, NULL
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
                INSERT INTO report_k (campaign, address, first_fu)
                SELECT campaign, address, MIN(sent_at) FROM messages
                WHERE step > 0 AND state = 'sent' {also} GROUP BY campaign, address
                ON CONFLICT (campaign, address) DO UPDATE SET first_fu = excluded.first_fu""", args)
            base = self.db.execute(f"""
                SELECT m0.campaign, {group}, COUNT(*), SUM(m0.state = 'sent'), SUM(m0.state = 'failed'),
                       SUM(m0.state IN ('sending', 'uncertain')), MIN(CASE WHEN m0.state = 'sent' THEN m0.sent_at END),
                       MAX(m0.kind = 'thank-you')
                FROM messages m0 {"NOT INDEXED" if campaigns is None and by is not None else ""}
                WHERE m0.step = 0 {also.replace("campaign", "m0.campaign")}
                GROUP BY {"1" if by is None else "1, 2"}""", (*group_args, *args)).fetchall()
            outcomes = self.db.execute(f"""
                WITH c AS (
                    SELECT m0.campaign AS campaign, {group} AS grp, k.first_reply AS first_reply,
                           k.first_fu AS first_fu, k.first_reply IS NOT NULL AS replied,
                           k.first_reply IS NULL AND COALESCE(k.bounced, 0) AS bounced,
                           COALESCE(k.auto, 0) AS auto
                    FROM report_k k
                    CROSS JOIN messages m0 ON m0.campaign = k.campaign AND m0.address = k.address AND m0.step = 0
                    WHERE m0.state = 'sent')
                SELECT campaign, grp, SUM(bounced), SUM(replied), SUM(auto AND NOT bounced),
                       SUM(first_fu IS NOT NULL),
                       SUM(replied AND (first_fu IS NULL OR julianday(first_reply) < julianday(first_fu))),
                       SUM(replied AND first_fu IS NOT NULL AND julianday(first_reply) >= julianday(first_fu)),
                       MIN(first_fu)
                FROM c GROUP BY 1, 2""", group_args).fetchall()
            # Replies at a time the store cannot use (a hand-edited 'nonsense', year 9999) still count
            # as replies above, but are left out of the timeline; without a usable send time, of the median.
            usable = f"BETWEEN julianday('{EARLIEST:%Y-%m-%d}') AND julianday('{LATEST:%Y-%m-%d}')"
            self.db.execute(f"""
                CREATE TEMP TABLE report_replies AS
                SELECT m0.campaign AS campaign, {group} AS grp, k.first_reply AS first_reply,
                       CASE WHEN julianday(m0.sent_at) {usable}
                            THEN MAX(julianday(k.first_reply) - julianday(m0.sent_at), 0) * 24 END AS hours
                FROM report_k k CROSS JOIN messages m0 ON m0.campaign = k.campaign AND m0.address = k.address
                                                      AND m0.step = 0
                WHERE m0.state = 'sent' AND julianday(k.first_reply) {usable}""", group_args)
            replies = self.db.execute("SELECT campaign, grp, hours FROM report_replies WHERE hours IS NOT NULL "
                                      "ORDER BY campaign, grp, hours")
            medians = _medians(replies, grouped=by is not None)
            timeline = self.db.execute(
                f"""SELECT campaign, {"NULL" if by is None else "grp"}, date(first_reply) AS day, COUNT(*)
                    FROM report_replies GROUP BY 1, 2, 3 ORDER BY 1, 2, 3""").fetchall()
        except sqlite3.OperationalError as e:
            raise self._damaged_contact(e) from None
        finally:
            self._drop_report_tables()
        # Combine: (campaign, grp) -> planned, sent, failed, uncertain, bounced, delivered, replied,
        # auto_replied, followed_up, replied_before_followup, replied_after_followup.
        groups: dict[tuple, list] = {}
        spans: dict[str, list] = {}
        thank_you = set()
        for campaign, grp, planned, sent, failed, uncertain, first_sent, thanks in base:
            if thanks:
                thank_you.add(campaign)
            groups[(campaign, grp)] = [planned, sent or 0, failed or 0, uncertain or 0, 0, sent or 0, 0, 0, 0, 0, 0]
            span = spans.setdefault(campaign, [None, None])
            span[0] = min(filter(None, (span[0], first_sent)), default=None)
        for campaign, grp, bounced, replied, auto, followed, before, after, first_fu in outcomes:
            row = groups[(campaign, grp)]
            row[4:11] = [bounced, row[1] - bounced, replied, auto, followed, before, after]
            span = spans[campaign]
            span[1] = min(filter(None, (span[1], first_fu)), default=None)
        rows: list[tuple] = []
        totals: dict[str, list[int]] = {}
        for (campaign, grp), numbers in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")):
            if by is not None:
                rows.append((campaign, grp, *numbers))
            totals[campaign] = [a + b for a, b in zip(totals.get(campaign, [0] * len(numbers)), numbers, strict=True)]
        rows += [(campaign, None, *numbers) for campaign, numbers in totals.items()]
        last_reply: dict[str, str] = {}
        for campaign, _, day, _ in timeline:
            last_reply[campaign] = max(last_reply.get(campaign, day), day)
        return {"counts": rows, "medians": medians, "timeline": timeline,
                "spans": [(c, _day(first), last_reply.get(c), _day(fu)) for c, (first, fu) in spans.items()],
                "thank_you": sorted(thank_you)}

    def _drop_report_tables(self) -> None:
        for table in ("report_k", "report_replies"):
            self.db.execute(f"DROP TABLE IF EXISTS temp.{table}")
