"""`clock.local_day`, the local date of a stored time by look-ups, against parse_time and
local_date, which it stands in for (`status` asks it for every reply's date).

Stamps as the store writes them, clustered around the clock changes of London and New York,
Lord Howe's half hour, Kathmandu's midnight at 18:15 UTC (+05:45) and Monrovia's in 1971
(-0:44:30: one quarter hour of UTC holds two local dates), and texts written otherwise: an
offset, a space, no zone, a fraction of a second, a day that does not exist, years outside the
usable ones, a second 60, nonsense."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from outreach.clock import local_date, local_day, parse_time
from tests.track.test_status_lines import PLACES  # each zone's clock change, or its odd midnight

ODD = ["2026-03-29T01:30:00+00:00", "2026-03-29 01:30:00Z", "2026-03-29T01:30:00", "2026-03-29T01:30:00.5Z",
       "2026-02-30T10:00:00Z", "2026-03-29T24:00:00Z", "2026-03-29T01:30:60Z", "9999-12-31T00:00:00Z",
       "1969-12-31T23:59:59Z", "2199-12-31T23:59:59Z", "2026-3-29T01:30:00Z", "yesterday", "2026-03-29T01:30:00z",
       "2026-03-29T01:30:00ZZ", "+2026-03-29T01:30:00Z"]


def slow(stamp: str) -> str | None:
    moment = parse_time(stamp)
    return local_date(moment).isoformat() if moment else None


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])  # sets the zone
@given(st.sampled_from(PLACES), st.lists(st.one_of(st.integers(-3 * 86_400, 3 * 86_400), st.sampled_from(ODD)),
                                         min_size=1, max_size=40))
@example(("Africa/Monrovia", datetime(1971, 6, 1, 0, 44, 30, tzinfo=UTC)), [-10, -5, 0, 5, 300, 900])
@example(("Asia/Kathmandu", datetime(2026, 6, 1, 18, 15, tzinfo=UTC)), [-1, 0, 1, -900, 899])
def test_a_stored_times_local_date_by_look_ups_is_parse_time_and_local_dates(local_zone, place, offsets):
    zone, around = place
    local_zone(zone)
    for offset in offsets:
        stamp = offset if isinstance(offset, str) else \
            (around + timedelta(seconds=offset)).strftime("%Y-%m-%dT%H:%M:%SZ")
        assert local_day(stamp) == slow(stamp), (zone, stamp)
