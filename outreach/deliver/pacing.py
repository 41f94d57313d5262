"""Pacing: how fast messages leave, and how many an account may send in 24 hours.

Pure code with an injectable clock, so the arithmetic is tested without waiting.

* :class:`Pacer` is a virtual schedule (GCRA): message *n* is due at ``start + n * interval``.
  Waking late from a sleep does not push the schedule back (the next wait is shorter), so
  the rate holds at any interval; a send that runs long re-anchors the schedule instead of
  bursting to catch up, so the asked rate is never exceeded. Jitter shifts each send inside
  its own slot and never moves the schedule, so the average rate is exactly the asked one.
* :func:`cap_room` and :func:`resume_at` implement a rolling 24-hour cap per account.
"""

from __future__ import annotations

import math
import random
import re
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from outreach.errors import UserError

DEFAULT_RATE = 20.0  # per minute, when neither a preset nor OUTREACH_RATE says otherwise
UNLIMITED = math.inf
WINDOW = timedelta(hours=24)
_UNITS = {"s": 60.0, "sec": 60.0, "second": 60.0, "m": 1.0, "min": 1.0, "minute": 1.0,
          "h": 1 / 60, "hr": 1 / 60, "hour": 1 / 60}
_RATE = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*(?:/\s*([a-z]+?)s?)?\s*", re.IGNORECASE)


def parse_rate(text: str, source: str = "--rate") -> float:
    """``"20/min"``, ``"1.5/s"``, ``"300/h"``, ``"20"`` (per minute) or ``"unlimited"`` -> per minute."""
    value = text.strip().lower()
    if value in ("unlimited", "none", "off", "0"):
        return UNLIMITED
    match = _RATE.fullmatch(value)
    unit = (match.group(2) or "min") if match else None
    if not match or unit not in _UNITS:
        raise UserError(f"{source} {text!r}: write a rate like 20/min, 1/s or 300/h (or 'unlimited')")
    rate = float(match.group(1)) * _UNITS[unit]
    if rate <= 0:
        raise UserError(f"{source} {text!r}: the rate must be above zero (or 'unlimited')")
    return rate


def describe_rate(per_minute: float) -> str:
    if per_minute == UNLIMITED:
        return "unlimited"
    if per_minute >= 600 and per_minute % 60 == 0:
        return f"{per_minute / 60:g}/s"
    return f"{per_minute:g}/min"


def describe_duration(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


class TimeLeft:
    """An honest "time left" while a plan is sent: each message still to go takes the pace's
    interval, or what the messages so far really took apart when that is longer (a slow server).

    Click's own estimate divides the time since the start by the messages done; the first
    message leaves at once, so it comes out about one interval short per message still to go
    (it said 48 s with 75 s left). Call :meth:`sent` as each message is done."""

    def __init__(self, total: int, interval: float, clock: Callable[[], float] = time.monotonic):
        self.total, self.interval, self.clock = total, interval, clock
        self.done = 0
        self.started = clock()
        self.first = self.last = self.started

    def sent(self) -> None:
        now = self.clock()
        if self.done == 0:
            self.first = now
        self.done += 1
        self.last = now

    def seconds(self) -> float:
        left = self.total - self.done
        if left <= 0:
            return 0.0
        taken = (self.last - self.first) / (self.done - 1) if self.done >= 2 else self.last - self.started
        return left * max(self.interval, taken)


class Pacer:
    """Say how long to wait before each send so that ``per_minute`` holds.

    ``jitter`` (seconds) delays each send by a random amount, up to one interval, inside its
    slot. Call :meth:`delay` before a send and :meth:`started` when it actually starts.
    """

    def __init__(self, per_minute: float, jitter: float = 0.0, *,
                 clock: Callable[[], float] = time.monotonic, rng: Callable[[], float] = random.random):
        self.interval = 0.0 if per_minute == UNLIMITED else 60.0 / per_minute
        self.jitter = max(0.0, jitter if self.interval == 0 else min(jitter, self.interval))
        # Lateness that still counts as "on schedule": sleep overshoot, a quick send.
        self.tolerance = self.interval / 4
        self.clock, self.rng = clock, rng
        self._slot: float | None = None
        self._offset: float | None = None  # this slot's jitter, drawn once

    def delay(self) -> float:
        """Seconds to wait before the next send (0 when it is due)."""
        now = self.clock()
        if self._slot is None:
            self._slot, self._offset = now, 0.0  # the first message goes at once
        if self._offset is None:
            self._offset = self.rng() * self.jitter if self.jitter else 0.0
        return max(0.0, self._slot + self._offset - now)

    def started(self) -> None:
        """The send began now: schedule the next slot."""
        now = self.clock()
        if self.interval == 0:  # unpaced: jitter, if any, is a random gap after each send
            self._slot = now
        else:
            now -= self._offset or 0.0  # intentional jitter does not move the schedule
            slot = self._slot if self._slot is not None else now
            self._slot = max(slot + self.interval, now + self.interval - self.tolerance)
        self._offset = None

    def estimate(self, count: int) -> float:
        """Seconds of waiting for ``count`` messages (not counting the time to send them)."""
        if count <= 0:
            return 0.0
        if self.interval == 0:
            return count * self.jitter / 2
        return (count - 1) * self.interval + self.jitter / 2


def cap_room(times: Sequence[datetime], cap: int | None, now: datetime) -> int | None:
    """How many more messages the cap allows now; ``None`` when there is no cap."""
    if cap is None:
        return None
    recent = sum(1 for t in times if t > now - WINDOW)
    return max(0, cap - recent)


def resume_at(times: Sequence[datetime], cap: int, now: datetime) -> datetime | None:
    """When the rolling window next has room; ``None`` when it has room now."""
    recent = sorted(t for t in times if t > now - WINDOW)
    if len(recent) < cap:
        return None
    return recent[len(recent) - cap] + WINDOW
