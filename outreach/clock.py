"""Time for commands that reason about "now": follow-ups due, reports, marks.

The store keeps UTC ISO-8601 strings (``2026-11-14T09:30:00Z``); people read local calendar
dates ("November 14", "2026-12-01"). Pure functions take ``now`` as a parameter; the CLI gets it
from :func:`now`, which honours ``OUTREACH_NOW`` (an ISO date-time) so that a "what if it were
December 1st" run, and the tests, see a fixed clock.

Two ranges keep date arithmetic away from the calendar's ends (years 1 and 9999, where Python
raises OverflowError). A time read from the store or from mail outside EARLIEST..LATEST (a
hand-edited store's 9999-12-31, a mail's Date in year 9999) is read as no time at all: nothing
this tool records happened then. A date the user gives (an interview, ``mark --date``,
``OUTREACH_NOW``) must fall in :data:`YEARS`, and a duration be at most :data:`MAX_DURATION`.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, date, datetime, timedelta
from functools import cache, lru_cache
from typing import overload

from outreach.errors import UserError

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December")
_UNITS = {"m": "minutes", "min": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_DURATION = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(m|min|h|d|w)?\s*", re.IGNORECASE)
YEARS = range(2000, 2100)              # the years a date the user gives may fall in
IN_YEARS = f"from {YEARS[0]} to {YEARS[-1]}"
MAX_DURATION = timedelta(days=36_500)  # --after, --within, OUTREACH_SYNC_MAX_AGE: a hundred years


def plausible(moment: date) -> bool:
    """True when ``moment`` (a date or date-time) falls in :data:`YEARS`."""
    return moment.year in YEARS


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# The times this tool can use: arithmetic of years around them cannot overflow.
EARLIEST = EPOCH
LATEST = datetime(2200, 1, 1, tzinfo=UTC)


def usable(moment: datetime | None) -> datetime | None:
    """``moment`` (naive values taken as UTC) if it lies between EARLIEST and LATEST, else None."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment if EARLIEST <= moment < LATEST else None
    except OverflowError:  # an offset that pushes it past datetime's own limits
        return None


def parse_time(text: str | None) -> datetime | None:
    """A stored timestamp as an aware datetime (naive values are taken as UTC); None if unreadable
    or not :func:`usable`."""
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        try:
            value = datetime.fromisoformat(str(text).strip().replace(" ", "T", 1))
        except ValueError:
            return None
    return usable(value)


def parse_day(text: str | None) -> date | None:
    """A stored calendar date (``2026-12-03``); None if unreadable or not :func:`usable`."""
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except (TypeError, ValueError):
        return None
    return day if EARLIEST.date() <= day < LATEST.date() else None


@overload
def iso(moment: datetime) -> str: ...
@overload
def iso(moment: None) -> None: ...
@overload
def iso(moment: datetime | None) -> str | None: ...
def iso(moment: datetime | None) -> str | None:
    """The store's format: UTC, seconds, a ``Z`` (a naive time is taken as UTC)."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    # isoformat, unlike strftime's %Y on glibc, writes year 26 as 0026: the store's strings sort and read back
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds") + "Z"


def now(raw: dict[str, str] | None = None) -> datetime:
    """The current time, or ``OUTREACH_NOW`` when set (``raw`` is ``Settings.raw``)."""
    value = (raw or {}).get("now")
    if not value:
        return datetime.now(UTC)
    return parse_moment(value, "OUTREACH_NOW")


def parse_moment(text: str, what: str) -> datetime:
    """A date or date-time the user gives (``2026-11-20``, ``2026-11-20T14:30:00Z``; UTC unless it
    says otherwise), in :data:`YEARS`; ``what`` names the option or setting in the error."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UserError(f"{what} {text!r} is not a date like 2026-11-20 or 2026-11-20T14:30:00Z") from None
    moment = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    if not plausible(moment):
        raise UserError(f"{what} {text!r} is not a date {IN_YEARS}")
    return moment


def parse_duration(text: str, what: str) -> timedelta:
    """``7d``, ``36h``, ``2w``, ``90m``; a bare number means days. ``what`` names the option."""
    match = _DURATION.fullmatch(text or "")
    if not match:
        raise UserError(f"{what}: {text!r} is not a duration like 7d, 36h, 2w or 90m")
    number, unit = float(match.group(1)), (match.group(2) or "d").lower()
    try:
        duration: timedelta | None = timedelta(**{_UNITS[unit]: number})
    except OverflowError:  # more days than a timedelta holds
        duration = None
    if duration is None or duration > MAX_DURATION:
        raise UserError(f"{what}: {text!r} is longer than {MAX_DURATION.days:,} days")
    return duration


def local_date(moment: datetime) -> date:
    """The calendar date on the user's clock. ``status`` asks for 100,000 of them, so the zone's
    offset is looked up once per quarter hour (every zone changes offset on a quarter hour), and
    so is the date itself where the offset is whole quarters (all of today's zones)."""
    if moment.tzinfo is None:
        return moment.date()
    quarter = int(moment.timestamp()) // QUARTER_HOUR
    return quarter_date(quarter) or (moment + _local_offset(quarter)).date()


QUARTER_HOUR = 900  # seconds


def forget_offsets() -> None:
    """Forget the zone's offsets cached per quarter hour: for a process that changes its zone (tests)."""
    _local_offset.cache_clear()
    quarter_date.cache_clear()
    _quarter_day_text.cache_clear()


@lru_cache(maxsize=8192)
def _local_offset(quarter: int) -> timedelta:
    return timedelta(seconds=time.localtime(quarter * QUARTER_HOUR).tm_gmtoff)


@lru_cache(maxsize=8192)
def quarter_date(quarter: int) -> date | None:
    """The one local date of the whole quarter hour ``quarter`` (seconds since the epoch // 900),
    which :func:`local_date` gives for every moment in it; None when the offset is not whole
    quarters (Monrovia's -0:44:30 until 1972): then a quarter hour can straddle midnight."""
    offset = _local_offset(quarter)
    if offset.seconds % QUARTER_HOUR:
        return None
    return (datetime.fromtimestamp(quarter * QUARTER_HOUR, UTC) + offset).date()


# -- the store's own timestamps (``2026-11-14T09:30:17Z``), read by look-ups: `status` reads 100,000
def local_day(stamp: str) -> str | None:
    """``local_date(parse_time(stamp)).isoformat()``, or None where parse_time reads no time.

    A stamp as the store writes it takes two look-ups (its hour, parsed once, and ``:MM:SSZ``)
    and its quarter hour's date, a third of parse_time and local_date's cost; any other text, or
    a quarter hour with two local dates, takes them (tests/test_local_day.py holds the two equal)."""
    seconds = within_the_hour().get(stamp[13:])
    if seconds is not None and (hour := stamp_hour(stamp[:13])) is not None \
            and (day := _quarter_day_text((hour + seconds) // QUARTER_HOUR)) is not None:
        return day
    moment = parse_time(stamp)
    return local_date(moment).isoformat() if moment else None


@cache
def within_the_hour() -> dict[str, int]:
    """A stored timestamp's end (``:30:17Z``) -> its seconds into the hour; built once, when needed."""
    return {f":{minute:02d}:{second:02d}Z": minute * 60 + second for minute in range(60) for second in range(60)}


@lru_cache(maxsize=65536)
def stamp_hour(text: str) -> int | None:
    """``2026-11-14T09`` in seconds since the epoch, as :func:`parse_time` reads a stored
    timestamp in that hour; None unless it is written exactly so, within the usable years."""
    try:
        moment = datetime.fromisoformat(f"{text}:00:00Z")
    except ValueError:
        return None
    if moment.isoformat()[:13] != text or not EARLIEST <= moment < LATEST:
        return None
    return (moment - EPOCH) // timedelta(seconds=1)


@lru_cache(maxsize=8192)
def _quarter_day_text(quarter: int) -> str | None:
    day = quarter_date(quarter)
    return day.isoformat() if day else None


def human_date(moment: datetime) -> str:
    """``November 14``: how a follow-up refers to the first message (English, any locale)."""
    day = local_date(moment)
    return f"{MONTHS[day.month - 1]} {day.day}"


def start_of_day(day: date) -> datetime:
    """Local midnight at the start of ``day``, as an aware datetime."""
    return datetime(day.year, day.month, day.day).astimezone()


_AGE_UNITS = ((86400, "day"), (3600, "hour"), (60, "minute"))


def describe_age(delta: timedelta, *, precise: bool = False) -> str:
    """``3 days``, ``5 hours``, ``12 minutes``: how old something is, roughly. ``precise`` adds
    the next unit (``1 day 3 hours``): a deadline 27 hours away is not "in 1 day"."""
    seconds = int(max(delta.total_seconds(), 0))
    for index, (size, unit) in enumerate(_AGE_UNITS):
        if seconds >= size:
            count, rest = divmod(seconds, size)
            text = _count(count, unit)
            if precise and index + 1 < len(_AGE_UNITS) and (more := rest // _AGE_UNITS[index + 1][0]):
                text += " " + _count(more, _AGE_UNITS[index + 1][1])
            return text
    return "less than a minute"


def _count(count: int, unit: str) -> str:
    return f"{count} {unit}{'s' if count != 1 else ''}"


__all__ = ["EARLIEST", "IN_YEARS", "LATEST", "MAX_DURATION", "MONTHS", "QUARTER_HOUR", "YEARS", "describe_age",
           "forget_offsets", "human_date", "iso", "local_date", "now", "parse_day", "parse_duration", "parse_moment",
           "parse_time", "plausible", "quarter_date", "start_of_day", "usable"]
