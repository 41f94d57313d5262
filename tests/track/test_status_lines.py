"""The status table's shared answers (`status_lines`) against `next_action` for every thread.

`status_lines` answers the threads that share what the rules read of them once: per (state,
error, Kind, what `_shared_part` keeps of the follow-ups and events, quarter hour of the due
time, due or not), working the due time out from the store's own timestamps by lookups. Its
table must be byte for byte the one made from `status_rows`, which asks `next_action` about each
thread: in zones whose clocks change by an hour, by half an hour (Lord Howe) or sit at +05:45
(Kathmandu), across those changes, with sends, follow-ups and replies clustered so that many
share an answer (replies around a local midnight), with timestamps written otherwise, with each
kind of event and suppression, and at several nows; and, by hand, the cases where one hour or
one quarter hour of UTC holds two local dates.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import groupby

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outreach.clock import parse_time
from outreach.store import Store
from outreach.track.threads import StatusBlock, format_status, status_lines, status_rows
from tests.seed import add_event, add_message

# A zone and a moment the dues cluster around: its clock change (New York and London in March,
# Lord Howe's half hour in April, London in October), Kathmandu's midnight at 18:15 UTC (+05:45:
# one hour of UTC holds two local dates), Monrovia's of 1971 at 00:44:30 UTC (-0:44:30: one
# quarter hour holds two), and UTC's.
PLACES = [("America/New_York", datetime(2026, 3, 8, 7, tzinfo=UTC)),
          ("Europe/London", datetime(2026, 3, 29, 1, tzinfo=UTC)),
          ("Australia/Lord_Howe", datetime(2026, 4, 4, 15, tzinfo=UTC)),
          ("Europe/London", datetime(2026, 10, 25, 1, tzinfo=UTC)),
          ("Asia/Kathmandu", datetime(2026, 6, 1, 18, 15, tzinfo=UTC)),
          ("Africa/Monrovia", datetime(1971, 6, 1, 0, 44, 30, tzinfo=UTC)), ("UTC", datetime(2026, 6, 2, tzinfo=UTC))]
AFTER = [timedelta(days=7), timedelta(hours=36), timedelta(seconds=1_234), timedelta(0),
         timedelta(days=1, microseconds=500_000)]
ODD_TIMES = ["2026-03-29T01:30:00+00:00", "2026-02-30T10:00:00Z", "2026-03-29 01:30:00Z", "2026-03-29T01:30:00",
             "9999-12-31T00:00:00Z", "1969-12-31T23:59:59Z", "2026-03-29T01:30:00.5Z", "yesterday",
             "2026-3-29T01:30:00Z"]
STATES = ["sent"] * 6 + ["drafted", "queued", "claimed", "uncertain", "failed", "failed"]
# What else a contact may have on record: events on the first message (a reply, a mark, a bounce
# that gave up after retries, an auto-reply with and without a return date, an unconfirmed
# report), a reply matched by address only, follow-ups (sent or not, answered or not), suppressions.
EXTRAS = ["reply", "reply", "declined", "bounce", "bounce-4xx", "auto-reply", "auto-reply-dated", "delayed",
          "unconfirmed-complaint", "reply-by-address", "follow-up", "follow-up", "follow-up-reply", "follow-up-bounce",
          "opted-out", "bounced-elsewhere"]
FOLLOW_UP_STATES = ["sent", "sent", "drafted", "queued", "failed"]


@st.composite
def histories(draw):
    """(zone, after, the moment the dues cluster around, their spread, contacts): each contact
    (state, sent_at, error, kind, what else is on record), most sent ``after`` before a moment
    near the cluster's; what else is on record happens near that moment too."""
    after, (zone, around) = draw(st.sampled_from(AFTER)), draw(st.sampled_from(PLACES))
    spread = draw(st.sampled_from([60, 600, 900, 3_600, 86_400 * 3]))   # seconds: dues in a burst, or over days

    def stamp(moment: datetime) -> str:
        written = moment.replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
        return draw(st.one_of(st.just(written), st.sampled_from([*ODD_TIMES, ""]))) \
            if draw(st.integers(0, 6)) == 0 else written

    contacts = []
    for _ in range(draw(st.integers(1, 30))):
        state = draw(st.sampled_from(STATES))
        sent = around - after + timedelta(seconds=draw(st.integers(-spread, spread)))
        written = sent.replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
        sent_at = draw(st.one_of(st.just(written), st.sampled_from(ODD_TIMES), st.none())) \
            if draw(st.integers(0, 4)) == 0 else written
        error = draw(st.sampled_from([None, "550 5.1.1 No such user"])) if state == "failed" else None
        kind = draw(st.sampled_from([None, None, "thank-you"]))
        extras = []
        for name in draw(st.one_of(st.just([]), st.lists(st.sampled_from(EXTRAS), min_size=1, max_size=2))):
            when = around + timedelta(seconds=draw(st.integers(-spread, spread)))
            what = ""   # a follow-up's state, or an auto-reply's return date
            if name.startswith("follow-up"):
                what = draw(st.sampled_from(FOLLOW_UP_STATES))
            elif name == "auto-reply-dated":
                what = (when + timedelta(days=draw(st.integers(-1, 9)))).date().isoformat()
            extras.append((name, stamp(when), what))
        contacts.append((state, sent_at, error, kind, tuple(extras)))
    return zone, after, around, spread, contacts


@pytest.fixture
def scratch(tmp_path):
    """One store for every example: each empties it first."""
    store = Store(tmp_path / "outreach.db")
    store.db.execute("PRAGMA synchronous=OFF")
    yield store
    store.close()


def build(store: Store, contacts) -> Store:
    for table in ("events", "suppressions", "messages"):
        store.db.execute(f"DELETE FROM {table}")
    for n, (state, sent_at, error, kind, extras) in enumerate(contacts):
        address = f"p{n}@example.edu"
        mid = add_message(store, "c", address, line=n + 2, state=state, sent_at=sent_at, error=error)
        if state == "sent":
            store.db.execute("UPDATE messages SET sent_at=? WHERE message_id=?", (sent_at, mid))
        if kind:
            store.db.execute("UPDATE messages SET kind=? WHERE message_id=?", (kind, mid))
        for name, when, what in extras or ():
            add_extra(store, mid, address, name, when, what)
    return store


def add_extra(store: Store, mid: str, address: str, name: str, when: str, what: str) -> None:
    """One more thing on record for a contact (EXTRAS), at ``when``; ``what`` is a follow-up's
    state, or an auto-reply's return date."""
    if name.startswith("follow-up"):
        step = 1 + store.db.execute("SELECT MAX(step) FROM messages WHERE address = ?", (address,)).fetchone()[0]
        follow_up = add_message(store, "c", address, step=step, state=what, sent_at=when,
                                error="421 try later" if what == "failed" else None)
        if event := name.removeprefix("follow-up").lstrip("-"):   # follow-up-reply: a reply to the follow-up
            add_event(store, follow_up, address, event, when)
    elif name == "opted-out":
        store.suppress(address, "opted-out")
    elif name == "bounced-elsewhere":   # a hard bounce in another campaign: suppressed, not refused
        store.suppress(address, "bounce 5.1.1: no such user")
    elif name == "reply-by-address":    # an answer that quoted none of our Message-IDs
        add_event(store, None, address, "reply", when, strength="address")
    else:
        kind = {"bounce-4xx": "bounce", "auto-reply-dated": "auto-reply"}.get(name, name)
        detail = {"bounce-4xx": {"status": "4.4.7"}, "auto-reply-dated": {"until": what}}.get(name)
        add_event(store, mid, address, kind, when, detail=detail)


def reference(store: Store, now: datetime, after: timedelta, max_followups: int) -> str:
    """The table as `next_action` gives it thread by thread."""
    blocks = []
    for campaign, rows in groupby(status_rows(store.threads(), now, after, max_followups), key=lambda r: r.campaign):
        block = StatusBlock(campaign, [], [], [], [])
        for row in rows:   # an end for each line: none shared
            block.lines.append(row.line)
            block.addresses.append(row.address)
            block.answers.append(len(block.ends))
            block.ends.append((row.state, row.last_event, row.next_action, row.action))
        blocks.append(block)
    return format_status(blocks)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(histories(), st.data(), st.integers(0, 2))
def test_the_shared_answers_are_next_actions(local_zone, scratch, history, data, max_followups):
    zone, after, around, spread, contacts = history
    local_zone(zone)
    store = build(scratch, contacts)
    sends = [sent for _, sent_at, *_ in contacts if (sent := parse_time(sent_at))]
    for _ in range(data.draw(st.integers(1, 3))):
        # now: on a contact's due time to the second, or near the cluster, in whole seconds or not
        now = data.draw(st.one_of(st.sampled_from(sends).map(lambda sent: sent + after) if sends else st.nothing(),
                                  st.integers(-spread, spread).map(lambda s: around + timedelta(seconds=s)),
                                  st.integers(-spread, spread).map(lambda s: around + timedelta(seconds=s + 0.25))))
        expected = reference(store, now, after, max_followups)
        assert format_status(list(status_lines(store.thread_reads(), now, after, max_followups))) == expected


def test_a_due_time_on_the_second_of_now(local_zone, scratch):
    """`now` on one contact's due time and before another's in the same quarter hour: the first is
    due, the second waits; a microsecond earlier both wait."""
    local_zone("Europe/London")
    store = build(scratch, [("sent", "2026-03-22T00:50:00Z", None, None, None),
                            ("sent", "2026-03-22T00:55:00Z", None, None, None)])
    due = datetime(2026, 3, 29, 0, 50, tzinfo=UTC)
    for now in (due, due - timedelta(microseconds=1)):
        table = format_status(list(status_lines(store.thread_reads(), now, timedelta(days=7), 1)))
        assert table == reference(store, now, timedelta(days=7), 1)
        assert table.splitlines()[0].endswith("1 follow-up due, 1 waiting" if now == due else "2 waiting")


@pytest.mark.parametrize("after", [timedelta(days=7), timedelta(seconds=1_234)])
def test_an_hour_of_sends_whose_dues_have_two_dates(local_zone, scratch, after):
    """Sends at 17:00 and 17:59 UTC: with `after` 1,234 s their dues (17:20:34, 18:19:34) fall on
    either side of Kathmandu's midnight (18:15 UTC), the second in the last quarter hour of the
    hour's dues; with 7 days both fall before it. The hour answers for all its sends only when
    every quarter hour of its dues has one date."""
    local_zone("Asia/Kathmandu")
    store = build(scratch, [("sent", "2026-05-25T17:00:00Z", None, None, None),
                            ("sent", "2026-05-25T17:59:00Z", None, None, None)])
    now = datetime(2026, 5, 1, tzinfo=UTC)
    table = format_status(list(status_lines(store.thread_reads(), now, after, 1)))
    assert table == reference(store, now, after, 1)
    first, second = table.splitlines()[2:4]
    assert (first[-10:] != second[-10:]) == (after.days == 0), table


@pytest.mark.parametrize(("zone", "contacts"), [
    # dues at 18:05 and 18:20 UTC: one hour of UTC, two dates in Kathmandu (midnight at 18:15)
    ("Asia/Kathmandu", [("sent", "2026-05-25T18:05:00Z", None, None, None),
                        ("sent", "2026-05-25T18:20:00Z", None, None, None)]),
    # dues at 00:40 and 00:44:40 UTC in 1971: one quarter hour, two dates in Monrovia (-0:44:30)
    ("Africa/Monrovia", [("sent", "1971-05-25T00:40:00Z", None, None, None),
                         ("sent", "1971-05-25T00:44:40Z", None, None, None)]),
    # two failures with a send time on record, each with its own error
    ("UTC", [("failed", "2026-05-25T18:05:00Z", "550 5.1.1 No such user", None, None),
             ("failed", "2026-05-25T18:06:00Z", "421 try later", None, None)]),
])
def test_threads_that_differ_do_not_share(local_zone, scratch, zone, contacts):
    local_zone(zone)
    store = build(scratch, contacts)
    if contacts[0][0] == "failed":
        store.db.execute("UPDATE messages SET sent_at = ? WHERE address = ?", (contacts[0][1], "p0@example.edu"))
        store.db.execute("UPDATE messages SET sent_at = ? WHERE address = ?", (contacts[1][1], "p1@example.edu"))
    now = datetime(2026, 1, 1, tzinfo=UTC) if contacts[0][1].startswith("1971") else datetime(2026, 5, 30, tzinfo=UTC)
    table = format_status(list(status_lines(store.thread_reads(), now, timedelta(days=7), 1)))
    assert table == reference(store, now, timedelta(days=7), 1)
    assert table.splitlines()[2][-10:] != table.splitlines()[3][-10:]   # two dates, or two errors


T0, T1 = "2026-05-21T09:00:00Z", "2026-05-26T23:30:00Z"   # an earlier event, and the later one both have
# Two contacts sent at one moment whose histories differ in one thing the rules read, each thing
# in turn: each pair must get two answers (so none can be shared between them).
HISTORY_PAIRS = {
    "suppression": ([("delayed", T1, "")], [("delayed", T1, ""), ("bounced-elsewhere", "", "")]),
    "bounce": ([("delayed", T1, "")], [("bounce", T0, ""), ("delayed", T1, "")]),
    "bounce that gave up": ([("bounce", T0, ""), ("delayed", T1, "")], [("bounce-4xx", T0, ""), ("delayed", T1, "")]),
    "first reply's local date": ([("reply", "2026-05-26T23:00:00Z", ""), ("delayed", "2026-05-27T02:00:00Z", "")],
                                 [("reply", "2026-05-27T00:30:00Z", ""), ("delayed", "2026-05-27T02:00:00Z", "")]),
    "a reply to another message": ([("delayed", T1, "")], [("delayed", T1, ""), ("reply-by-address", T0, "")]),
    "last event": ([("delayed", T0, "")], [("delayed", T1, "")]),
    "return date": ([("auto-reply-dated", T1, "2026-06-10")], [("auto-reply-dated", T1, "2026-06-12")]),
    "unconfirmed report": ([("unconfirmed-complaint", T1, "")], [("unconfirmed-complaint", T1, "")]),
    "follow-up's state": ([("follow-up", T0, "sent"), ("follow-up", T1, "queued")],
                          [("follow-up", T0, "sent"), ("follow-up", T1, "drafted")]),
    "follow-up's step": ([("follow-up", T1, "drafted")], [("follow-up", T0, "failed"), ("follow-up", T1, "drafted")]),
    "an event of the follow-up": ([("follow-up", T0, "sent")], [("follow-up-bounce", T0, "sent")]),
    "follow-up's send time": ([("follow-up", T0, "sent")], [("follow-up", T1, "sent")]),
    "follow-ups sent": ([("follow-up", T0, "sent"), ("follow-up", T1, "sent")],
                        [("follow-up", T0, "failed"), ("follow-up", T1, "sent")]),
}


@pytest.mark.parametrize("pair", HISTORY_PAIRS.values(), ids=HISTORY_PAIRS.keys())
def test_histories_that_differ_do_not_share(utc_zone, scratch, pair):
    store = build(scratch, [("sent", "2026-05-20T10:00:00Z", None, None, tuple(extras)) for extras in pair])
    now = datetime(2026, 5, 30, 12, tzinfo=UTC)
    table = format_status(list(status_lines(store.thread_reads(), now, timedelta(days=7), 2)))
    assert table == reference(store, now, timedelta(days=7), 2)
    first, second = table.splitlines()[2:4]
    assert first.split("@example.edu", 1)[1] != second.split("@example.edu", 1)[1], table
