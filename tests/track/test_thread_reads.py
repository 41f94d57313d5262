"""`Store.thread_reads` against the queries it replaced, on random stores.

`status` and `followup` complete each thread from three lookups: each message's events
(`events`, by row number), each campaign's follow-ups, and what is known of each address (its
latest reply to anything, its suppression: `people`). The events used to be aggregated per
message by a GROUP BY with one aggregate per column, and the latest replies by a second GROUP BY;
they are now read once and folded in Python (`event_reads`, `merge_events`). 58da969's queries
are kept here as the oracle: the lookups must be equal on stores with several events per message,
replies matched by header and by address, bounces whose status is 4.x.x, 5.x.x or written
oddly, auto-replies with a return date in `until` or only in `detail`, unconfirmed reports,
times missing, empty or unreadable, events on follow-ups, on no message and on unknown ones,
suppressions, and two campaigns, read together or one at a time.

A follow-up's events join its first message's by the same `merge_events`, which now combines
as the old SQL did within one message. Two answers of 58da969 change, on threads whose events
are spread over a first message and a follow-up: with an unconfirmed bounce report on one and
an unconfirmed complaint on the other, the thread shows the complaint (58da969: the first
message's, whichever it was); and a reply whose time is '' (hand-edited: sync and `mark` always
write one) is the thread's first reply, as it was when both replies were on one message
(58da969 took the other reply's time). Both are held by a test below. The follow-ups are
folded by today's `fold_followups` over 58da969's read (the oracle is for the events): since
then a sent follow-up whose time is missing makes the thread's last send time unknown (''), not
absent (58da969: None, and the follow-up was then counted from the first message's time).
"""

from __future__ import annotations

import json

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from outreach.store import Store
from outreach.store.outcomes import AUTO_REPLY_KINDS, BOUNCE_KINDS, REPLY_KINDS, UNCONFIRMED_KINDS, sql_list
from outreach.store.reports import BOUNCED, EXPIRED, NOT_BOUNCED, _return_date, fold_followups


def reference_thread_reads(store: Store, campaign: str | None) -> tuple:
    """(campaigns, events, followups, people) as 58da969's `thread_reads` read them; the follow-ups'
    events are folded by today's `fold_followups` (`merge_events`: the one statement of how events
    combine)."""
    db = store.db
    db.create_function("outreach_return_date", 1, _return_date, deterministic=True)
    where, args = ("", ()) if campaign is None else ("WHERE campaign IN (?)", (campaign,))
    also = where.replace("WHERE", "AND")
    ours = "" if campaign is None else "WHERE e.message_id IN (SELECT message_id FROM messages WHERE campaign = ?)"
    events = {row[0]: tuple(row[1:]) for row in db.execute(
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
    followups = fold_followups(db.execute(   # today's loop over 58da969's read: the events are the oracle's
        f"SELECT campaign, address, step, state, sent_at, error, id FROM messages WHERE step > 0 {also} ORDER BY step",
        args), events)
    theirs = "" if campaign is None else "AND lower(address) IN (SELECT address FROM messages WHERE campaign = ?)"
    people = {address: (when, None) for address, when in db.execute(
        f"""SELECT lower(address), MAX(COALESCE(occurred_at, recorded_at)) FROM events
            WHERE kind IN {sql_list(REPLY_KINDS)} {theirs} GROUP BY lower(address)""", args)}
    for address, reason in store.suppressed().items():
        people[address] = (people.get(address, (None, None))[0], reason)
    campaigns = [campaign] if campaign is not None else [name for name, in db.execute(
        "SELECT DISTINCT campaign FROM messages WHERE step = 0 ORDER BY campaign")]
    return campaigns, events, followups, people


CAMPAIGNS = ["fall", "spring"]
TIMES = ["2026-11-10T10:00:00Z", "2026-11-11T09:30:00Z", "2026-11-12T10:00:00Z", "2026-11-12T10:00:00+01:00",
         "nonsense", "9999-01-01T00:00:00Z", ""]
# What a bounce's detail may hold (JSON as sync writes it, SQLite's reading of odd JSON: the first
# of two keys, a number by its text, NaN not JSON), what an auto-reply's may (a date under a key,
# in the text, an impossible one), and what any event's may.
STATUSES = ['{"status": "4.4.7"}', '{"status": "5.1.1", "reason": "no such user"}', '{"status": "4."}',
            '{"status": "5.4.7", "status": "4.4.7"}', '{"status": "4.4.7", "status": "5.1.1"}', '{"status": 4.5}',
            '{"status": 4e-05}', '{"status": 45.0}', '{"status": 4}', '{"status": "4.4.7", "x": NaN}',
            '{"status": ["4.1.1"]}', '["4.4.7"]', '"4.4.7"', "[1, 2"]
RETURNS = ['{"return_date": "2026-12-03"}', '{"until": "2026-12-04", "status": "4.2.2"}', '{"back_on": "2026-02-30"}',
           "back on 2026-12-05", '"2026-12-06"']
DETAILS = [None, "", "not JSON"]


@st.composite
def events(draw):
    """An event: the message it names, by position (-1: none, -2: an unknown one), whose address
    it carries (-1: a stranger's), written in capitals or not, and the columns of its row."""
    kind = draw(st.sampled_from([*REPLY_KINDS, *BOUNCE_KINDS * 3, *AUTO_REPLY_KINDS * 3, *UNCONFIRMED_KINDS * 3,
                                 "delayed", "complaint"]))
    details = STATUSES if kind in BOUNCE_KINDS else RETURNS if kind in AUTO_REPLY_KINDS else []
    return {"message": draw(st.integers(-2, 5)), "kind": kind, "who": draw(st.integers(-1, 3)),
            "upper": draw(st.booleans()), "strength": draw(st.sampled_from([None, "header", "address", "dsn"])),
            "occurred_at": draw(st.sampled_from([None, *TIMES])),
            "recorded_at": draw(st.sampled_from(["2026-11-15T00:00:00Z", "2026-11-09T00:00:00Z", ""])),
            "until": draw(st.sampled_from([None, None, "2026-12-01", "", "", "2026-11-30", "soon"])),
            "detail": draw(st.sampled_from([*DETAILS, *details * 2]))}


CONTACT = st.fixed_dictionaries({
    "campaign": st.sampled_from(CAMPAIGNS),
    "person": st.integers(0, 3),
    "first": st.booleans(),              # False: a follow-up whose first message is gone (a hand edit)
    "followups": st.lists(st.sampled_from(["sent", "drafted", "failed"]), max_size=2)})
STORE_ROWS = st.tuples(st.lists(CONTACT, min_size=1, max_size=8), st.lists(events(), min_size=4, max_size=30),
                       st.lists(st.tuples(st.integers(-1, 3), st.sampled_from(["opted-out", "bounce 5.1.1: gone"])),
                                max_size=3))


@pytest.fixture(scope="module")
def store(example_store):
    return example_store


def fill(store: Store, contacts: list[dict], events: list[dict], suppressions: list[tuple]) -> None:
    """Replace the store's messages, events and suppressions with these."""
    with store.transaction():
        for table in ("events", "messages", "suppressions"):
            store.db.execute(f"DELETE FROM {table}")
        ids: list[str] = []
        for contact in contacts:
            address = _address(contact["person"])
            steps = ([0] if contact["first"] else []) + list(range(1, len(contact["followups"]) + 1))
            for step in steps:
                state = "sent" if step == 0 else contact["followups"][step - 1]
                mid = f"<{contact['campaign']}.{step}.{address}>"
                store.db.execute(
                    "INSERT INTO messages (campaign, address, step, message_id, template, subject, recipients, "
                    "contact, state, error, created_at, updated_at, sent_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?) "
                    "ON CONFLICT DO NOTHING",
                    (contact["campaign"], address, step, mid, "templates/outreach.txt", "Hi", json.dumps([address]),
                     "{}", state, "550 no" if state == "failed" else None, "2026-11-01T00:00:00Z",
                     "2026-11-01T00:00:00Z", f"2026-11-0{2 + step}T10:00:00Z" if state == "sent" else None))
                ids.append(mid)
        for n, event in enumerate(events):
            target = event["message"]
            mid = None if target == -1 or not ids else "<unknown>" if target == -2 else ids[target % len(ids)]
            address = _address(event["who"])
            store.db.execute(
                "INSERT INTO events (message_id, address, kind, source, strength, detail, occurred_at, recorded_at, "
                "until) VALUES (?,?,?,?,?,?,?,?,?)",
                (mid, address.upper() if event["upper"] else address, event["kind"], f"test:{n}", event["strength"],
                 event["detail"], event["occurred_at"], event["recorded_at"], event["until"]))
        store.db.executemany("INSERT INTO suppressions (address, reason, at) VALUES (?,?,?) ON CONFLICT DO NOTHING",
                             [(_address(who), reason, "2026-11-01T00:00:00Z") for who, reason in suppressions])


def _address(person: int) -> str:
    return "stranger@example.org" if person < 0 else f"p{person}@example.edu"


def lookups(store: Store, campaign: str | None) -> tuple:
    reads = store.thread_reads(campaign)
    return reads.campaigns, reads.events, reads.followups, reads.people


def _event(message: int, kind: str, **fields) -> dict:
    return {"message": message, "kind": kind, "who": 0, "upper": False, "strength": "header",
            "occurred_at": "2026-11-10T10:00:00Z", "recorded_at": "2026-11-15T00:00:00Z", "until": None,
            "detail": None, **fields}


_FOLLOWED = {"campaign": "fall", "person": 0, "first": True, "followups": ["sent"]}
# Each column at least once, on one message and across a first message and its follow-up: two
# replies (one by address, one at no time but its recording), a 4.x.x bounce, a 5.x.x one and one
# whose detail is not JSON (NaN) but for Python's reading, return dates from `until` and from
# `detail`, both unconfirmed kinds, a reply to nothing of ours.
_EVERY_COLUMN = ([_FOLLOWED, {**_FOLLOWED, "campaign": "spring", "person": 1, "followups": []}],
                 [_event(0, "reply", occurred_at="2026-11-12T10:00:00Z"),
                  _event(0, "replied", strength="address", occurred_at="2026-11-13T10:00:00Z"),
                  _event(1, "reply", occurred_at=None), _event(0, "bounce", detail='{"status": "4.4.7"}'),
                  _event(1, "bounce", detail='{"status": "5.1.1"}'), _event(2, "auto-reply", until="2026-12-01"),
                  _event(2, "auto-reply", detail='{"return_date": "2026-12-03"}'),
                  _event(2, "bounce", detail='{"status": "4.4.7", "why": NaN}', occurred_at="2026-11-09T10:00:00Z"),
                  _event(0, "unconfirmed-complaint"), _event(1, "unconfirmed-bounce"),
                  _event(-1, "reply", who=1, upper=True, occurred_at="2026-11-20T08:00:00Z")],
                 [(0, "opted-out")])


@settings(max_examples=200, deadline=None)
@given(STORE_ROWS, st.sampled_from([None, *CAMPAIGNS, "winter"]))
@example(_EVERY_COLUMN, None)
@example(_EVERY_COLUMN, "fall")
@example(([_FOLLOWED], [_event(0, "reply", occurred_at=""), _event(0, "reply")], []), None)  # '' is SQL's least
def test_thread_reads_gives_what_the_old_queries_gave(store, rows, campaign):
    fill(store, *rows)
    assert lookups(store, campaign) == reference_thread_reads(store, campaign)


def test_the_hand_written_store_gives_each_column_a_value(store):
    """So that the property test's examples hold each column to the oracle; and the thread of a
    first message and its follow-up combines both messages' events."""
    fill(store, *_EVERY_COLUMN)
    reads = store.thread_reads()
    first, followup, spring = (reads.db.execute("SELECT id FROM messages WHERE message_id = ?", (mid,)).fetchone()[0]
                               for mid in ("<fall.0.p0@example.edu>", "<fall.1.p0@example.edu>",
                                           "<spring.0.p1@example.edu>"))
    assert reads.events == {
        first: ("2026-11-12T10:00:00Z", EXPIRED, None, "2026-11-13T10:00:00Z replied (by address)",
                "unconfirmed-complaint"),
        followup: ("2026-11-15T00:00:00Z", BOUNCED, None, "2026-11-15T00:00:00Z reply", "unconfirmed-bounce"),
        spring: (None, BOUNCED, "2026-12-03", "2026-11-10T10:00:00Z auto-reply", None)}  # NaN: not JSON
    assert reads.people == {"p0@example.edu": ("2026-11-15T00:00:00Z", "opted-out"),
                            "p1@example.edu": ("2026-11-20T08:00:00Z", None)}
    thread = next(t for t in store.threads("fall") if t.address == "p0@example.edu")
    assert (thread.first_reply_at, thread.bounced, thread.back_on, thread.last_event, thread.unconfirmed) == (
        "2026-11-12T10:00:00Z", BOUNCED, None, "2026-11-15T00:00:00Z reply", "unconfirmed-complaint")


@pytest.mark.parametrize("on_first, on_followup", [("unconfirmed-bounce", "unconfirmed-complaint"),
                                                   ("unconfirmed-complaint", "unconfirmed-bounce")])
def test_a_threads_events_combine_alike_on_one_message_or_two(store, on_first, on_followup):
    """Whichever message of the thread an event names, the thread reads the same."""
    events = [_event(0, on_first), _event(1, on_followup), _event(0, "reply", occurred_at=""), _event(1, "reply")]
    fill(store, [_FOLLOWED], events, [])
    spread = next(store.threads())
    fill(store, [_FOLLOWED], [{**event, "message": 0} for event in events], [])
    together = next(store.threads())
    assert (spread.unconfirmed, spread.first_reply_at) == (together.unconfirmed, together.first_reply_at) == (
        "unconfirmed-complaint", "")
