"""Pacing arithmetic with a fake clock: the asked rate holds, is never exceeded, and caps roll."""

from __future__ import annotations

import random
import time
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outreach.deliver.pacing import (
    UNLIMITED,
    Pacer,
    cap_room,
    describe_duration,
    parse_rate,
    resume_at,
)
from outreach.errors import UserError


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def run(pacer: Pacer, clock: FakeClock, count: int, send_time=lambda: 0.0, overshoot=lambda: 0.0) -> list[float]:
    """Send ``count`` messages; return the times each send started."""
    starts = []
    for _ in range(count):
        wait = pacer.delay()
        if wait > 0:
            clock.now += wait + overshoot()  # sleeps wake up late, never early
        pacer.started()
        starts.append(clock.now)
        clock.now += send_time()
    return starts


@pytest.mark.parametrize("text, per_minute", [
    ("20", 20), ("20/min", 20), ("20 / minute", 20), ("1/s", 60), ("10/sec", 600), ("300/h", 5),
    ("0.5/min", 0.5), ("600/min", 600), ("unlimited", UNLIMITED), ("0", UNLIMITED),
])
def test_parse_rate(text, per_minute):
    assert parse_rate(text) == per_minute


@pytest.mark.parametrize("text", ["fast", "20/day", "-3/min", "/min", "0/min"])
def test_parse_rate_refuses_nonsense(text):
    with pytest.raises(UserError, match="rate"):
        parse_rate(text)


@settings(max_examples=200, deadline=None)
@given(per_minute=st.floats(min_value=0.5, max_value=600), seed=st.integers(0, 2**32))
def test_rate_holds_within_one_percent_with_late_wakeups_and_slow_sends(per_minute, seed):
    rng = random.Random(seed)
    clock = FakeClock()
    pacer = Pacer(per_minute, clock=clock)
    interval = 60 / per_minute
    # Sleeps overshoot by up to 2 ms, sends take up to 20% of the interval.
    starts = run(pacer, clock, 200, send_time=lambda: rng.uniform(0, 0.2 * interval),
                 overshoot=lambda: rng.uniform(0, 0.002))
    achieved = (len(starts) - 1) / (starts[-1] - starts[0]) * 60
    assert achieved == pytest.approx(per_minute, rel=0.01)


@settings(max_examples=100, deadline=None)
@given(per_minute=st.floats(min_value=1, max_value=600), seed=st.integers(0, 2**32))
def test_rate_is_never_exceeded_in_any_window(per_minute, seed):
    """Even when sends are sometimes slower than the interval, no catch-up burst follows."""
    rng = random.Random(seed)
    clock = FakeClock()
    pacer = Pacer(per_minute, clock=clock)
    interval = 60 / per_minute
    starts = run(pacer, clock, 300, send_time=lambda: rng.choice([0.0, 0.1, 3.0]) * interval)
    gaps = [b - a for a, b in zip(starts, starts[1:])]
    assert min(gaps) >= interval * 0.75 - 1e-9  # the tolerance for waking late
    window = 60.0
    for i, start in enumerate(starts):
        inside = sum(1 for t in starts[i:] if t < start + window)
        assert inside <= per_minute + 1 + per_minute * 0.25 * interval / window


def test_first_message_goes_at_once_and_mailmerge_style_drift_does_not_accumulate():
    clock = FakeClock()
    pacer = Pacer(600, clock=clock)  # one every 100 ms
    assert pacer.delay() == 0
    # every wake-up is 5 ms late (5% of the interval): a naive sleep(interval) loop drifts 5%
    starts = run(pacer, clock, 601, overshoot=lambda: 0.005)
    assert starts[-1] - starts[0] == pytest.approx(60.0, abs=0.01)


@settings(max_examples=50, deadline=None)
@given(per_minute=st.floats(min_value=1, max_value=600), fraction=st.floats(0, 1), seed=st.integers(0, 2**32))
def test_jitter_keeps_the_average_rate_and_stays_inside_the_slot(per_minute, fraction, seed):
    rng = random.Random(seed)
    clock = FakeClock()
    interval = 60 / per_minute
    pacer = Pacer(per_minute, jitter=fraction * interval, clock=clock, rng=rng.random)
    starts = run(pacer, clock, 400)
    achieved = (len(starts) - 1) / (starts[-1] - starts[0]) * 60
    assert achieved == pytest.approx(per_minute, rel=0.05)
    slots = [starts[0] + n * interval for n in range(len(starts))]
    assert all(slot - 1e-9 <= start <= slot + fraction * interval + 1e-9 for slot, start in zip(slots, starts))


def test_jitter_larger_than_the_interval_is_capped_at_the_interval():
    pacer = Pacer(60, jitter=10)
    assert pacer.jitter == 1.0


def test_unpaced_sends_at_once_and_jitter_becomes_a_random_gap():
    clock = FakeClock()
    assert run(Pacer(UNLIMITED, clock=clock), clock, 5) == [1000.0] * 5
    clock = FakeClock()
    starts = run(Pacer(UNLIMITED, jitter=2.0, clock=clock, rng=lambda: 0.5), clock, 4)
    assert [b - a for a, b in zip(starts, starts[1:])] == [1.0, 1.0, 1.0]


def test_estimate():
    assert Pacer(20).estimate(10) == pytest.approx(27.0)
    assert Pacer(UNLIMITED).estimate(10) == 0
    assert describe_duration(27) == "27 s" and describe_duration(3725) == "1 h 02 min"


def test_real_sleeps_hold_600_per_minute():
    """The real clock: 11 messages at 600/min take 1.0 s (within 5%)."""
    pacer = Pacer(600)
    starts = []
    for _ in range(11):
        wait = pacer.delay()
        if wait:
            time.sleep(wait)
        pacer.started()
        starts.append(time.monotonic())
    assert starts[-1] - starts[0] == pytest.approx(1.0, rel=0.05)


NOW = datetime(2026, 11, 22, 12, 0, tzinfo=timezone.utc)


def test_cap_counts_a_rolling_24_hours():
    times = [NOW - timedelta(hours=h) for h in (1, 2, 23.9, 24.1, 30)]
    assert cap_room(times, 5, NOW) == 2
    assert cap_room(times, 3, NOW) == 0
    assert cap_room(times, None, NOW) is None


def test_resume_at_is_when_the_oldest_counted_message_leaves_the_window():
    times = [NOW - timedelta(hours=h) for h in (1, 2, 20)]
    assert resume_at(times, 4, NOW) is None
    assert resume_at(times, 3, NOW) == NOW + timedelta(hours=4)     # the 20-hour-old one expires
    assert resume_at(times, 2, NOW) == NOW + timedelta(hours=22)    # two must expire: 20 h and 2 h old
