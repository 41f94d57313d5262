"""Send windows in the recipient's time: "08:00-18:00 on their clock, weekdays only".

Pure functions over aware datetimes: :func:`opens_at` says when a contact's window next opens
(``now`` itself when it is open), from the zone in the contact's ``time_zone`` column. The zone
decides the offset on each date, so a window keeps its wall-clock hours across a daylight-saving
change. :class:`RunningClock` is the clock of a `send --wait`: it starts at ``OUTREACH_NOW`` (or
the real time) and advances with the real monotonic clock, so a test can start a few seconds
before a window opens and watch it open.
"""

from __future__ import annotations

import re
import time as monotonic_clock
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo

from outreach.compose.columns import SYNONYMS
from outreach.config import yes_no
from outreach.errors import UserError

ZONE_COLUMNS = ("time_zone", *SYNONYMS["time_zone"])   # the others when a sheet has several


def zone_column(fields: dict[str, str]) -> str:
    """The column a row's zone is read from (the first of :data:`ZONE_COLUMNS` the file has)."""
    return next((c for c in ZONE_COLUMNS if c in fields), ZONE_COLUMNS[0])
_WINDOW = re.compile(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*")


@dataclass(frozen=True)
class SendWindow:
    """Local hours in which a message may arrive; ``start > end`` spans midnight (22:00-06:00)."""

    start: time
    end: time
    weekdays: bool = False   # Monday to Friday only

    def describe(self) -> str:
        hours = "any hour" if self.start == self.end else f"{self.start:%H:%M}-{self.end:%H:%M}"
        days = ", weekdays only" if self.weekdays else ""
        return f"{hours} in each contact's time{days}"

    def contains(self, local: datetime) -> bool:
        if self.weekdays and local.weekday() >= 5:
            return False
        clock = local.time().replace(tzinfo=None)
        if self.start == self.end:      # the whole day (--weekdays without hours)
            return True
        if self.start < self.end:
            return self.start <= clock < self.end
        return clock >= self.start or clock < self.end


def parse_window(text: str, source: str = "--window") -> tuple[time, time]:
    """``"08:00-18:00"`` -> (08:00, 18:00); a sentence naming ``source`` otherwise."""
    match = _WINDOW.fullmatch(text or "")
    numbers = [int(g) for g in match.groups()] if match else []
    if not match or numbers[0] > 23 or numbers[2] > 24 or numbers[1] > 59 or numbers[3] > 59 \
            or (numbers[2] == 24 and numbers[3]):
        raise UserError(f"{source} {text!r}: write the hours like 08:00-18:00 (24-hour clock)")
    start, end = time(numbers[0], numbers[1]), time(0, 0) if numbers[2] == 24 else time(numbers[2], numbers[3])
    if start == end and numbers[2] != 24:   # 00:00-24:00 is the whole day
        raise UserError(f"{source} {text!r}: the window is empty; it must start before it ends")
    return start, end


def resolve_window(raw: dict[str, str], window: str | None, weekdays: bool | None) -> SendWindow | None:
    """The command line over OUTREACH_SEND_WINDOW / OUTREACH_SEND_WEEKDAYS; None: send at any time."""
    weekdays = weekdays if weekdays is not None else yes_no(raw, "send_weekdays", default=False)
    if window is not None:
        start, end = parse_window(window)
    elif raw.get("send_window"):
        start, end = parse_window(raw["send_window"], "OUTREACH_SEND_WINDOW")
    elif weekdays:
        start, end = time(0, 0), time(0, 0)   # every hour of Monday to Friday
    else:
        return None
    return SendWindow(start, end, weekdays)


def opens_at(window: SendWindow, zone: tzinfo, now: datetime) -> datetime:
    """The first moment at or after ``now`` when the window is open on ``zone``'s clock (UTC).

    Tries now, then each day's start time on the contact's calendar, for up to eight days (a
    window on weekdays that opens on Monday, seen on Friday evening, is three days away)."""
    local = now.astimezone(zone)
    if window.contains(local):
        return now
    for days in range(9):
        day = (local + timedelta(days=days)).date()
        candidate = datetime.combine(day, window.start, tzinfo=zone).astimezone(UTC)
        if candidate >= now and window.contains(candidate.astimezone(zone)):
            return candidate
    raise AssertionError("every window opens within a week")  # pragma: no cover


class RunningClock:
    """``start`` (OUTREACH_NOW, or the real time) advanced by the real monotonic clock."""

    def __init__(self, start: datetime, monotonic=monotonic_clock.monotonic):
        self.start, self._monotonic = start, monotonic
        self._zero = monotonic()

    def __call__(self) -> datetime:
        return self.start + timedelta(seconds=self._monotonic() - self._zero)
