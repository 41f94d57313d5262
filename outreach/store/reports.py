"""Report queries: where each conversation stands (``threads``) and the response-rate
aggregates (``report_data``), computed in SQL for stores of 100,000 messages."""

from __future__ import annotations

import json
import re
import sqlite3
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import date
from itertools import groupby, repeat
from operator import itemgetter
from typing import NamedTuple

from outreach import json_text
from outreach.clock import EARLIEST, LATEST
from outreach.store.events import Events
from outreach.store.messages import damaged_row
from outreach.store.outcomes import AUTO_REPLY_KINDS, BOUNCE_KINDS, REPLY_KINDS, UNCONFIRMED_KINDS, sql_list
from outreach.store.schema import as_text

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
    last_sent_at: str | None    # of the latest message that was sent ('' if a follow-up's is missing)
    last_error: str | None
    first_reply_at: str | None  # first reply (or replied-like mark) to a message of this thread
    last_reply_any: str | None  # latest reply from this address to anything
    bounced: int                # NOT_BOUNCED, BOUNCED, or EXPIRED (4.x.x: delivery gave up, the address may be fine)
    back_on: str | None         # the latest return date announced by an auto-reply (YYYY-MM-DD)
    last_event: str | None      # "<when> <kind>" of the latest event of this thread
    suppressed: str | None      # a suppression reason, if any
    kind: str | None = None     # the first message's template Kind: a thank-you is never followed up
    unconfirmed: str | None = None  # an unconfirmed-bounce or -complaint: a report that named the address only


def merge_events(a, b) -> tuple:
    """Combine two (first_reply_at, bounced, back_on, last_event, unconfirmed) aggregates: the
    earliest reply, the worst bounce, the latest return date, event and unconfirmed kind. As
    SQL's MIN and MAX: None is nothing, anything else a value ('' too, a hand-edited time)."""
    return (_least(a[0], b[0]), max(a[1], b[1]), _greatest(a[2], b[2]), _greatest(a[3], b[3]), _greatest(a[4], b[4]))


def _least(x, y):
    return y if x is None else x if y is None else min(x, y)


def _greatest(x, y):
    return y if x is None else x if y is None else max(x, y)


_REPLIES, _BOUNCES, _AUTO_REPLIES, _UNCONFIRMED = map(frozenset, (REPLY_KINDS, BOUNCE_KINDS, AUTO_REPLY_KINDS,
                                                                  UNCONFIRMED_KINDS))


def event_reads(kind: str, when: str, strength: str | None, until: str | None, detail: str | None) -> tuple:
    """What one event says of its thread, as the aggregate :func:`merge_events` combines:
    (first_reply_at, bounced, back_on, last_event, unconfirmed). ``when`` is when it happened, or
    else when it was recorded; ``until`` an auto-reply's return date, else read from ``detail``."""
    if kind in _REPLIES:
        by_address = " (by address)" if strength == "address" else ""
        return when, NOT_BOUNCED, None, f"{when} {kind}{by_address}", None
    return (None, (EXPIRED if _expired(detail) else BOUNCED) if kind in _BOUNCES else NOT_BOUNCED,
            (_return_date(detail) if until is None else until) if kind in _AUTO_REPLIES else None,
            f"{when} {kind}", kind if kind in _UNCONFIRMED else None)


def _expired(detail: str | None) -> bool:
    """Whether a bounce's ``detail`` records a 4.x.x status: delivery gave up after retries, and
    the address may be fine. Read as SQLite's ``json_extract(detail, '$.status') LIKE '4.%'``
    read it: the first "status" of a JSON object (no NaN), a number by SQLite's text of it."""
    if not detail:
        return False
    try:
        data = json_text.loads(detail, object_pairs_hook=_first_of_each_key, parse_constant=_not_json)
    except ValueError:
        return False
    status = data.get("status") if isinstance(data, dict) else None
    if isinstance(status, float):  # SQLite writes 4.0e-05 where Python writes 4e-05
        text = f"{status:.15g}"
        return text[:1] == "4" and text[1:2] in ("", ".", "e")
    return isinstance(status, str) and status.startswith("4.")


def _first_of_each_key(pairs: list[tuple]) -> dict:
    return dict(reversed(pairs))


def _not_json(constant: str) -> None:
    raise ValueError(f"{constant} is not JSON")


def _fold_events(rows: Iterable[tuple]) -> tuple[dict[int, tuple], dict[str, str]]:
    """``ThreadReads.events`` and each address's latest reply, in one pass over events read as
    (message row number, lowercased address, kind, when, strength, until, detail): an event counts
    for its message if the row number is given, for its address if the address is and it is a reply."""
    events: dict[int, tuple] = {}
    latest: dict[str, str] = {}
    for row_id, address, kind, when, strength, until, detail in rows:
        reads = event_reads(kind, when, strength, until, detail)
        if reads[0] is not None and address is not None and (address not in latest or reads[0] > latest[address]):
            latest[address] = reads[0]
        if row_id is not None:
            known = events.get(row_id)
            events[row_id] = reads if known is None else merge_events(known, reads)
    return events, latest


def fold_followups(rows: Iterable[tuple], events: dict[int, tuple]) -> dict[str, dict[str, list]]:
    """``ThreadReads.followups`` from follow-ups read as (campaign, address, step, state, sent_at,
    error, row number), each address's in step order: campaign -> address -> [last_step,
    last_state, followups_sent, last_sent_at, last_error, events...], their ``events`` merged."""
    followups: dict[str, dict[str, list]] = {}
    for camp, address, step, state, sent_at, error, row_id in rows:
        item = followups.setdefault(camp, {}).setdefault(address, [0, None, 0, None, None, *NO_FOLLOWUP_EVENTS])
        item[0:2], item[4] = (step, state), error
        if state == "sent":
            item[2] += 1
            # the latest send time; "" once a sent follow-up's is missing: unknown, not absent
            item[3] = max(item[3] or sent_at, sent_at) if sent_at and item[3] != "" else ""
        if row_id in events:
            item[5:10] = merge_events(item[5:10], events[row_id])
    return followups


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
        ``campaign``, by line: read from their own index (``messages_first``, in this order and
        holding these columns: no sort, no table row), one campaign at a time (no campaign name
        made 100,000 times). ``error`` only if not sent."""
        return self.db.execute(
            """SELECT address, contact_line, state, sent_at, CASE WHEN state != 'sent' THEN error END, id, kind
               FROM messages WHERE campaign = ? AND step = 0 ORDER BY contact_line, address""", (campaign,))

    def thread(self, campaign: str, first: tuple, followed: dict[str, list]) -> ThreadRow:
        """The thread of one of :meth:`first_messages`, with ``followed`` its campaign's follow-ups."""
        address, line, state, sent_at, error, row_id, kind = first
        ev: tuple | list = self.events.get(row_id, NO_EVENTS)
        last_reply_any, suppressed = self.people.get(address, NOBODY)
        fu = followed.get(address)
        thread = tuple.__new__  # ThreadRow's own __new__ is a Python function: one call fewer per contact
        if fu is None:
            return thread(ThreadRow, (campaign, address, line, state, sent_at, 0, state, 0,
                                      sent_at if state == "sent" else None, error, ev[0], last_reply_any, ev[1], ev[2],
                                      ev[3], suppressed, kind, ev[4]))
        if fu[5:10] != NO_FOLLOWUP_EVENTS:
            ev = merge_events(ev, fu[5:10])
        last_sent = fu[3] if fu[3] is not None else sent_at if state == "sent" else None
        return thread(ThreadRow, (campaign, address, line, state, sent_at, fu[0], fu[1], fu[2], last_sent,
                                  fu[4] if fu[1] != "sent" else error, ev[0], last_reply_any, ev[1], ev[2], ev[3],
                                  suppressed, kind, ev[4]))


NO_EVENTS, NOBODY = (None, 0, None, None, None), (None, None)   # a thread with no events; an address with nothing known
NO_FOLLOWUP_EVENTS = list(NO_EVENTS)   # the follow-ups' events, as ThreadReads.followups holds them, when none

# Every campaign with a first message, in order: one look-up in ``messages_first`` per campaign,
# each for the next name after the last (SQLite skips to it), where DISTINCT read all 90,000 entries.
_CAMPAIGNS = """WITH RECURSIVE c (name) AS (
                    SELECT MIN(campaign) FROM messages WHERE step = 0
                    UNION ALL
                    SELECT (SELECT MIN(campaign) FROM messages WHERE step = 0 AND campaign > c.name) FROM c
                    WHERE c.name IS NOT NULL)
                SELECT name FROM c WHERE name IS NOT NULL"""

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
        data = json_text.loads(detail)
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


# What one first message adds to its group's figures, as one number of bits: its state and, if
# sent, what its thread's events and follow-ups say (k: its row of ``report_k``, if any). A
# comparison of times either side cannot read is false (IS TRUE), as the SUM it replaces left
# out its NULL. A campaign's first messages cross into Python as one JSON array of these.
_SENT, _FAILED, _UNCERTAIN, _BOUNCED, _REPLIED, _AUTO, _FOLLOWED, _BEFORE, _AFTER = (1 << n for n in range(9))
_BOUNCE_ONLY = "(k.first_reply IS NULL AND COALESCE(k.bounced, 0))"
_FIGURES = f"""(CASE m0.state
    WHEN 'sent' THEN {_SENT} + CASE WHEN k.id IS NULL THEN 0 ELSE
        {_BOUNCE_ONLY} * {_BOUNCED} + (k.first_reply IS NOT NULL) * {_REPLIED}
        + (COALESCE(k.auto, 0) AND NOT {_BOUNCE_ONLY}) * {_AUTO} + (k.first_fu IS NOT NULL) * {_FOLLOWED}
        + ((k.first_reply IS NOT NULL AND (k.first_fu IS NULL OR julianday(k.first_reply) < julianday(k.first_fu)))
           IS TRUE) * {_BEFORE}
        + ((k.first_reply IS NOT NULL AND julianday(k.first_reply) >= julianday(k.first_fu)) IS TRUE) * {_AFTER} END
    WHEN 'failed' THEN {_FAILED} WHEN 'sending' THEN {_UNCERTAIN} WHEN 'uncertain' THEN {_UNCERTAIN} ELSE 0 END)"""
# Counts' order after "planned": the bit each figure counts (delivered: sent, less the bounced, below).
_COUNTED = (_SENT, _FAILED, _UNCERTAIN, _BOUNCED, _SENT, _REPLIED, _AUTO, _FOLLOWED, _BEFORE, _AFTER)


def _tally(campaign: str, figures: str, *, grouped: bool) -> dict[tuple, list[int]]:
    """(campaign, group) -> planned, sent, failed, uncertain, bounced, delivered, replied,
    auto_replied, followed_up, replied_before_followup, replied_after_followup, from the JSON
    array of each first message's :data:`_FIGURES` (then, if ``grouped``, a space and its
    group). Counted in C (json, Counter), then once per distinct value: a GROUP BY on the group
    would sort every first message, and each row crossing into Python costs more than SQLite's
    sort."""
    groups: dict[tuple, list[int]] = {}
    for value, count in Counter(json.loads(figures)).items():
        text, _, grp = value.partition(" ") if grouped else (value, "", None)
        bits = int(text)
        row = groups.setdefault((campaign, grp), [0] * (1 + len(_COUNTED)))
        row[0] += count
        for i, bit in enumerate(_COUNTED, start=1):
            if bits & bit:
                row[i] += count
    for row in groups.values():
        row[5] -= row[4]
    return groups


def report_of(groups: dict[tuple, list[int]], spans: dict[str, tuple], medians: list, timeline: list,
              thank_you: set[str], *, grouped: bool) -> dict:
    """:meth:`Reports.report_data`'s answer from what its queries gathered: each group's figures
    (if ``grouped``) and each campaign's totals, in order, and each campaign's dates."""
    rows: list[tuple] = []
    totals: dict[str, list[int]] = {}
    for (campaign, grp), numbers in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")):
        if grouped:
            rows.append((campaign, grp, *numbers))
        totals[campaign] = [a + b for a, b in zip(totals.get(campaign, [0] * len(numbers)), numbers, strict=True)]
    rows += [(campaign, None, *numbers) for campaign, numbers in totals.items()]
    last_reply: dict[str, str] = {}
    for campaign, _, day, _ in timeline:
        last_reply[campaign] = max(last_reply.get(campaign, day), day)
    return {"counts": rows, "medians": medians, "timeline": timeline,
            "spans": [(c, _day(first), last_reply.get(c), _day(fu)) for c, (first, fu) in spans.items()],
            "thank_you": sorted(thank_you)}


def _events_read(campaign: str | None) -> tuple[str, tuple]:
    """The query :func:`_fold_events` reads, and its arguments (the row number comes from the
    Message-ID's own index). Every campaign's: each event once, with its message's row number if
    it has one. One campaign's: the events of its messages (picked by its Message-IDs, through
    the key, not by reading each event's message), then the replies from its contacts' addresses.
    By row number: the aggregates are then made, and lie in memory, in about the order the first
    messages look them up (in the order synced, the lookups of `status` took 8 to 15 ms more)."""
    event = (f"e.kind, {as_text('COALESCE(e.occurred_at, e.recorded_at)')}, e.strength, {as_text('e.until')}, "
             f"{as_text('e.detail')}")
    if campaign is None:
        return (f"""SELECT m.id, lower(e.address), {event} FROM events e LEFT JOIN messages m USING (message_id)
                    ORDER BY m.id""", ())
    return (f"""SELECT m.id, NULL, {event} FROM events e CROSS JOIN messages m ON m.message_id = e.message_id
                WHERE e.message_id IN (SELECT message_id FROM messages WHERE campaign = ?1)
                UNION ALL
                SELECT NULL, lower(e.address), {event} FROM events e
                WHERE e.kind IN {sql_list(REPLY_KINDS)}
                      AND lower(e.address) IN (SELECT address FROM messages WHERE campaign = ?1)
                ORDER BY 1""", (campaign,))


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

        Sized for 100,000 messages: the events are read once and folded in Python, per message
        (keyed by the message's row number, not its Message-ID: an integer crosses into Python for
        less) and per address for its latest reply (:func:`_fold_events`; SQL's GROUP BY with an
        aggregate per column cost more than the fold); follow-ups (few) are read on their own;
        both, and what is known of each address, are dictionaries looked up while the first
        messages stream by, which SQLite's automatic indexes did several times slower. For one
        campaign, only its messages' events and its contacts' replies are read.
        """
        db = self.db.cursor()
        db.row_factory = None  # plain tuples: a sqlite3.Row for each of 100,000 rows costs more than it helps
        where, args = _in("campaign", None if campaign is None else [campaign])
        also = where.replace("WHERE", "AND")
        events, latest = _fold_events(db.execute(*_events_read(campaign)))
        followups = fold_followups(db.execute(
            f"SELECT campaign, address, step, state, {as_text('sent_at')}, error, id FROM messages "
            f"WHERE step > 0 {also} ORDER BY campaign, address, step", args), events)   # their index's order
        # address -> (its latest reply to anything, why it is suppressed): one lookup for both
        people: dict[str, tuple[str | None, str | None]] = {address: (when, None) for address, when in latest.items()}
        for address, reason in self.suppressed().items():
            people[address] = (people.get(address, (None, None))[0], reason)
        campaigns = [campaign] if campaign is not None else [name for name, in db.execute(_CAMPAIGNS)]
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
        their own). Sized for 100,000 messages: what events and follow-ups say is gathered per
        first message (by its row number) over the few contacts that have any; then one pass
        over the first messages, in their index's order (grouped by campaign without a sort),
        reads each group once and counts every figure (see :func:`_tally`); the replies' times
        are read for the contacts that replied.
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
            self._gather_outcomes(also.replace("campaign", "f.campaign"), args)
            # One array of "<figures> <group>" per campaign (see _FIGURES), counted in Python:
            # a GROUP BY on the group would sort every first message.
            base = self.db.execute(f"""
                SELECT m0.campaign, json_group_array({_FIGURES} {"" if by is None else f"|| ' ' || {group}"}),
                       MIN(CASE WHEN m0.state = 'sent' THEN m0.sent_at END), MAX(m0.kind = 'thank-you'),
                       MIN(CASE WHEN m0.state = 'sent' THEN k.first_fu END)
                FROM messages m0 LEFT JOIN report_k k ON k.id = m0.id
                WHERE m0.step = 0 {also.replace("campaign", "m0.campaign")}
                GROUP BY m0.campaign""", (*group_args, *args)).fetchall()
            # Replies at a time the store cannot use (a hand-edited 'nonsense', year 9999) still count
            # as replies above, but are left out of the timeline; without a usable send time, of the median.
            usable = f"BETWEEN julianday('{EARLIEST:%Y-%m-%d}') AND julianday('{LATEST:%Y-%m-%d}')"
            # (campaign, group, hours to the first reply, its day) of each reply, sorted: one read
            # gives the medians and the timeline.
            replies = self.db.execute(f"""
                SELECT m0.campaign, {group}, CASE WHEN julianday(m0.sent_at) {usable}
                            THEN MAX(julianday(k.first_reply) - julianday(m0.sent_at), 0) * 24 END,
                       date(k.first_reply)
                FROM report_k k CROSS JOIN messages m0 ON m0.id = k.id
                WHERE m0.step = 0 AND m0.state = 'sent' AND julianday(k.first_reply) {usable}
                      {also.replace("campaign", "m0.campaign")}
                ORDER BY 1, 2, 3""", (*group_args, *args)).fetchall()
        except sqlite3.OperationalError as e:
            raise self._damaged_contact(e) from None
        finally:
            self._drop_report_tables()
        medians = _medians(((c, g, hours) for c, g, hours, _ in replies if hours is not None), grouped=by is not None)
        timeline = sorted((*key, n) for key, n in Counter((c, g, day) for c, g, _, day in replies).items())
        groups: dict[tuple, list[int]] = {}
        spans: dict[str, tuple] = {}
        thank_you = set()
        for campaign, figures, first_sent, thanks, first_fu in base:
            if thanks:
                thank_you.add(campaign)
            spans[campaign] = (first_sent, first_fu)
            groups.update(_tally(campaign, figures, grouped=by is not None))
        return report_of(groups, spans, medians, timeline, thank_you, grouped=by is not None)

    def _gather_outcomes(self, also: str, args: tuple) -> None:
        """Fill ``report_k``: for each first message (by row number) whose thread has events or a
        sent follow-up, its first reply, whether it bounced or had an auto-reply, and when it was
        first followed up. A follow-up's events count for its first message (``report_f`` maps
        one to the other through the store's key); the messages' own rows are never read for
        the events, only the Message-ID's index, which holds the row number. The follow-ups are
        read from their own index (``messages_followups``), which holds all this needs of them."""
        self.db.execute("CREATE TEMP TABLE report_f (id INTEGER PRIMARY KEY, first_id, sent_at)")
        self.db.execute(f"""
            INSERT INTO report_f
            SELECT f.id, m0.id, CASE WHEN f.state = 'sent' THEN f.sent_at END
            FROM messages f
            CROSS JOIN messages m0 ON m0.campaign = f.campaign AND m0.address = f.address AND m0.step = 0
            WHERE f.step > 0 {also}""", args)
        self.db.execute("CREATE TEMP TABLE report_k (id INTEGER PRIMARY KEY, first_reply, bounced, auto, first_fu)")
        # An upsert per event (the earliest reply, any bounce, any auto-reply): a GROUP BY sorted them first.
        self.db.execute(f"""
            INSERT INTO report_k (id, first_reply, bounced, auto)
            SELECT COALESCE(f.first_id, m.id),
                   CASE WHEN e.kind IN {sql_list(REPLY_KINDS)} THEN COALESCE(e.occurred_at, e.recorded_at) END,
                   e.kind IN {sql_list(BOUNCE_KINDS)}, e.kind IN {sql_list(AUTO_REPLY_KINDS)}
            FROM events e NOT INDEXED CROSS JOIN messages m ON m.message_id = e.message_id
            LEFT JOIN report_f f ON f.id = m.id
            WHERE e.message_id IS NOT NULL
            ON CONFLICT (id) DO UPDATE SET
                first_reply = COALESCE(MIN(first_reply, excluded.first_reply), first_reply, excluded.first_reply),
                bounced = MAX(bounced, excluded.bounced), auto = MAX(auto, excluded.auto)""")
        self.db.execute("""
            INSERT INTO report_k (id, first_fu)
            SELECT first_id, MIN(sent_at) FROM report_f WHERE sent_at IS NOT NULL GROUP BY first_id
            ON CONFLICT (id) DO UPDATE SET first_fu = excluded.first_fu""")

    def _drop_report_tables(self) -> None:
        for table in ("report_f", "report_k"):
            self.db.execute(f"DROP TABLE IF EXISTS temp.{table}")
