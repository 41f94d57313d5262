"""The status table's shared answers (`status_lines`) against `next_action` for every thread.

`status_lines` answers the threads that have nothing on record but their first message once per
(state, error, Kind, quarter hour of the due time, due or not), and works the due time out from
the store's own timestamps by lookups. Its table must be byte for byte the one made from
`status_rows`, which asks `next_action` about each thread: in zones whose clocks change by an
hour, by half an hour (Lord Howe) or sit at +05:45 (Kathmandu), across those changes, with sends
clustered so that many share an answer, with timestamps written otherwise, and at several nows;
and, by hand, the cases where one hour or one quarter hour of UTC holds two local dates.
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


@st.composite
def histories(draw):
    """(zone, after, the moment the dues cluster around, their spread, contacts): each contact
    (state, sent_at, error, kind, what else is on record), most sent ``after`` before a moment
    near the cluster's."""
    after, (zone, around) = draw(st.sampled_from(AFTER)), draw(st.sampled_from(PLACES))
    spread = draw(st.sampled_from([60, 600, 900, 3_600, 86_400 * 3]))   # seconds: dues in a burst, or over days
    contacts = []
    for _ in range(draw(st.integers(1, 30))):
        state = draw(st.sampled_from(STATES))
        sent = around - after + timedelta(seconds=draw(st.integers(-spread, spread)))
        written = sent.replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
        sent_at = draw(st.one_of(st.just(written), st.sampled_from(ODD_TIMES), st.none())) \
            if draw(st.integers(0, 4)) == 0 else written
        error = draw(st.sampled_from([None, "550 5.1.1 No such user"])) if state == "failed" else None
        kind = draw(st.sampled_from([None, None, "thank-you"]))
        extra = draw(st.sampled_from([None] * 6 + ["reply", "bounce", "auto-reply", "follow-up", "opted-out"]))
        contacts.append((state, sent_at, error, kind, extra))
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
    for n, (state, sent_at, error, kind, extra) in enumerate(contacts):
        address = f"p{n}@example.edu"
        mid = add_message(store, "c", address, line=n + 2, state=state, sent_at=sent_at, error=error)
        if state == "sent":
            store.db.execute("UPDATE messages SET sent_at=? WHERE message_id=?", (sent_at, mid))
        if kind:
            store.db.execute("UPDATE messages SET kind=? WHERE message_id=?", (kind, mid))
        if extra == "follow-up":
            add_message(store, "c", address, step=1, sent_at="2026-04-01T10:00:00Z")
        elif extra == "opted-out":
            store.suppress(address, "opted-out")
        elif extra:
            add_event(store, mid, address, extra, "2026-03-30T10:00:00Z", detail={"until": "2026-04-20"})
    return store


def reference(store: Store, now: datetime, after: timedelta, max_followups: int) -> str:
    """The table as `next_action` gives it thread by thread."""
    blocks = []
    for campaign, rows in groupby(status_rows(store.threads(), now, after, max_followups), key=lambda r: r.campaign):
        block = StatusBlock(campaign, [], [], [])
        for row in rows:
            block.lines.append(row.line)
            block.addresses.append(row.address)
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
