"""The interview log: when each interview is (in its program's zone), and who may be thanked.

An interview log is a contacts CSV with a few recognised columns: ``program``, ``interviewer``,
``email``, ``interview_date``, optional ``interview_time`` and ``time_zone``, and a policy
column (``policy`` or ``contact_policy``). Everything here is pure: the clock, the user's zone
and the date order come in a :class:`Season`.

Dates are written as people write them: ``2026-11-28``, ``11/28/2026``, ``Nov 12``,
``12 November 2026``. ``03/04/2026`` is March 4 in the US and 3 April elsewhere, so it is an
error unless ``OUTREACH_DATE_ORDER`` says MDY or DMY. A date without a year is an interview of
the current season: the year that puts it nearest to "now" (in December, "Jan 14" is next
January and "Nov 12" last month). A year outside 2000 to 2099 (``clock.YEARS``) is an error
naming the cell: 9999 or 0001 would take the deadline out of the calendar. A time with AM or
PM has an hour from 1 to 12 (``13:00 PM`` is an error, not 13:00).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from outreach.clock import IN_YEARS, MONTHS, parse_duration, plausible
from outreach.clock import now as clock_now
from outreach.compose.columns import SYNONYMS
from outreach.compose.contacts import Contact, ContactFile, Problem
from outreach.errors import UserError
from outreach.zones import parse_zone, user_zone, zone_of

DATE_ORDERS = ("MDY", "DMY")
DEFAULT_WITHIN = "2d"               # a thank-you is due this long after the interview
INTERVIEW_LENGTH = timedelta(hours=1)  # an interview with a start time is over this long after it
POLICY_COLUMNS = ("policy", *SYNONYMS["policy"])  # the second ones when a sheet has several
LOG_COLUMNS = ("program", "interviewer", "role", "email", "interview_date", "interview_time", "time_zone", "policy")
_MONTH_NUMBER = {name.casefold()[:3]: number for number, name in enumerate(MONTHS, start=1)}
_NUMERIC = re.compile(r"(\d{1,2})[/.-](\d{1,2})(?:[/.-](\d{2}|\d{4}))?")
_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_MONTH_FIRST = re.compile(r"([a-z]{3,9})\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?(?:\s+(\d{4}))?")
_DAY_FIRST = re.compile(r"(\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?([a-z]{3,9})\.?,?(?:\s+(\d{4}))?")
_TIME = re.compile(r"(\d{1,2})(?::(\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)?")
# "no contact", "no post-interview communication", "no thank-you notes", "please do not contact":
# a negation, then within a few words what is refused.
_NO_CONTACT = re.compile(
    r"\b(?:no|not|never|don ?t|do not|please do not)\b(?:\s+\w+){0,4}?\s+"
    r"(?:contact\w*|communicat\w*|thank ?you\w*|thanks|notes?|e ?mails?|letters?|messages?)\b")


@dataclass(frozen=True)
class Season:
    """What the log is read against: now, the user's zone, the date order, the thank-you deadline."""

    now: datetime
    user_zone: tzinfo
    date_order: str | None = None
    within: timedelta = timedelta(days=2)

    @classmethod
    def from_settings(cls, raw: dict[str, str], within: str | None = None) -> Season:
        """From ``Settings.raw``: OUTREACH_NOW, OUTREACH_TIME_ZONE, OUTREACH_DATE_ORDER."""
        order = raw.get("date_order", "").strip().upper() or None
        if order is not None and order not in DATE_ORDERS:
            raise UserError(f"OUTREACH_DATE_ORDER={raw['date_order']!r} is not MDY (03/04 is March 4) "
                            "or DMY (03/04 is 3 April)")
        return cls(clock_now(raw), user_zone(raw), order,
                   parse_duration(within or DEFAULT_WITHIN, "--within"))


@dataclass
class Interview:
    """One row of the log, read: when, where (zone), and whether the program takes no notes."""

    contact: Contact
    start: datetime | None = None       # aware, in the program's zone; None without a date
    timed: bool = False                 # False: only the day is known
    zone_label: str = ""                # as the log wrote it (for messages): "MST", "Europe/Berlin"
    policy: str | None = None           # the policy text when it forbids contact
    problems: list[Problem] = field(default_factory=list)

    @property
    def over_at(self) -> datetime | None:
        """When the interview is over: an hour after its start, or the end of its day."""
        if self.start is None:
            return None
        if self.timed:
            return self.start + INTERVIEW_LENGTH
        return datetime.combine(self.start.date() + timedelta(days=1), time(), self.start.tzinfo)

    def describe(self) -> str:
        """``Dec 3, 09:00 MST`` or ``Dec 3``: how messages name the interview."""
        assert self.start is not None
        return describe_moment(self.start, timed=self.timed)

    def skip_reason(self, now: datetime) -> str | None:
        """Why no thank-you may go to this row now, or None."""
        if self.policy:
            return f"no contact: the program's policy says {self.policy!r}"
        if self.over_at is not None and now < self.over_at:
            return f"not yet: interview on {self.describe()}"
        return None


def describe_moment(moment: datetime, *, timed: bool = True) -> str:
    """``Dec 3, 09:00 MST``, or ``Dec 3`` when only the day is known (the zone named by
    :func:`outreach.zones.zone_of`, as everywhere)."""
    text = f"{MONTHS[moment.month - 1][:3]} {moment.day}"
    return f"{text}, {moment:%H:%M} {zone_of(moment)}" if timed else text


def refuses_contact(policy: str) -> bool:
    """True when a policy cell says the program wants no post-interview messages."""
    text = re.sub(r"[-_'’]", " ", policy.casefold())
    return _NO_CONTACT.search(" ".join(text.split())) is not None


def parse_date(text: str, *, order: str | None, today: date) -> date:
    """A date as a log writes it, in ``clock.YEARS``; ValueError with a sentence when it is not one
    (or is ambiguous)."""
    day = _read_date(text, order=order, today=today)
    if not plausible(day):
        raise ValueError(f"{text!r} is not a date {IN_YEARS}")
    return day


def _read_date(text: str, *, order: str | None, today: date) -> date:
    value = " ".join(text.strip().casefold().split())
    try:
        if match := _ISO.fullmatch(value):
            return date(int(match[1]), int(match[2]), int(match[3]))
        if match := _NUMERIC.fullmatch(value):
            return _numeric_date(text, int(match[1]), int(match[2]), match[3], order, today)
        for pattern, month_at, day_at in ((_MONTH_FIRST, 1, 2), (_DAY_FIRST, 2, 1)):
            if match := pattern.fullmatch(value):
                month = _MONTH_NUMBER.get(match[month_at][:3])
                if month is None or not MONTHS[month - 1].casefold().startswith(match[month_at]):
                    break
                day = int(match[day_at])
                return date(int(match[3]), month, day) if match[3] else _nearest_year(month, day, today)
    except ValueError as e:
        if "ambiguous" in str(e):
            raise
        raise ValueError(f"{text!r} is not a date in the calendar ({e})") from None
    raise ValueError(f"{text!r} is not a date like 2026-11-28, 11/28/2026, Nov 12 or 12 November 2026")


def _numeric_date(text: str, first: int, second: int, year_text: str | None, order: str | None,
                  today: date) -> date:
    """``11/28/2026``, ``28.11.26``, ``11/28``: the order is known when one part is over 12."""
    year = None if year_text is None else int(year_text) + (2000 if len(year_text) == 2 else 0)
    if first > 12 and second <= 12:
        month, day = second, first
    elif second > 12 or first == second:
        month, day = first, second
    elif order is None:
        raise ValueError(f"{text!r} is ambiguous (month/day or day/month?): write it as "
                         f"{year or today.year}-{first:02d}-{second:02d} or set OUTREACH_DATE_ORDER=MDY or DMY")
    else:
        month, day = (first, second) if order == "MDY" else (second, first)
    return _nearest_year(month, day, today) if year is None else date(year, month, day)


def _nearest_year(month: int, day: int, today: date) -> date:
    """The season's year: of last, this and next year, the one that puts the date nearest today."""
    candidates = []
    for year in (today.year - 1, today.year, today.year + 1):
        try:
            candidates.append(date(year, month, day))
        except ValueError:  # February 29
            continue
    if not candidates:
        raise ValueError("February 29 needs a year")
    return min(candidates, key=lambda d: abs((d - today).days))


def parse_clock_time(text: str) -> time:
    """``09:00``, ``9am``, ``2:30 PM``, ``14:30``; ValueError with a sentence otherwise."""
    match = _TIME.fullmatch(" ".join(text.strip().casefold().split()))
    if match:
        hour, minute, half = int(match[1]), int(match[2] or 0), (match[3] or "").replace(".", "")
        if half and not 1 <= hour <= 12:
            raise ValueError(f"{text!r} is not a time: with AM or PM the hour is from 1 to 12 "
                             "(write 13:00 or 1:00 PM, not 13:00 PM)")
        if half:
            hour = hour % 12 + (12 if half == "pm" else 0)
        if (match[2] or half) and hour < 24 and minute < 60:
            return time(hour, minute)
    raise ValueError(f"{text!r} is not a time like 09:00, 9am or 2:30 PM")


class InterviewLog:
    """The rows of a log, read against a season; programs with a no-contact policy anywhere."""

    def __init__(self, columns: Iterable[str], season: Season, rows: Iterable[dict[str, str]] = (),
                 times_zone: str | None = None):
        """``rows`` (cells by column) are scanned once for policies: one row saying "no contact"
        is enough to skip its whole program. ``times_zone``: the zone the time column's header
        names (``Time (ET)``): every written time is on that clock."""
        self.season = season
        self.times_zone = times_zone
        self.columns = set(columns)
        self.policy_column = next((c for c in POLICY_COLUMNS if c in self.columns), None)
        self.no_contact: dict[str, str] = {}   # program (casefolded) -> the policy text
        if self.policy_column:
            for cells in rows:
                policy = cells.get(self.policy_column, "").strip()
                if policy and refuses_contact(policy):
                    self.no_contact.setdefault(_program_key(cells), policy)

    @classmethod
    def of(cls, contacts: ContactFile, season: Season) -> InterviewLog:
        """The log of a contacts file (one quick pass over its raw rows)."""
        columns = contacts.columns
        # strict=False: a raw row may be shorter or longer than the header (a missing cell reads as empty)
        return cls(columns, season, (dict(zip(columns, row, strict=False)) for _, row in contacts.raw_rows()),
                   contacts.header.zones.get("interview_time"))

    @property
    def applies(self) -> bool:
        """A sheet with an interview date or a policy column is an interview log."""
        return "interview_date" in self.columns or self.policy_column is not None

    def read(self, contact: Contact) -> Interview:
        """The row's interview; a bad date, time or zone is a problem naming its column (which
        does not matter on a no-contact row: nothing is written to it)."""
        interview = Interview(contact)
        own = contact.fields.get(self.policy_column or "", "")
        interview.policy = (own if own and refuses_contact(own)
                            else self.no_contact.get(_program_key(contact.fields)) if contact.fields.get("program")
                            else None)
        cells = contact.fields
        zone = self.season.user_zone
        if cells.get("time_zone"):
            try:
                zone, interview.zone_label = parse_zone(cells["time_zone"]), cells["time_zone"]
            except ValueError as e:
                interview.problems.append(Problem("error", contact.line, "time_zone", str(e)))
        if not cells.get("interview_date"):
            if "interview_date" in self.columns:
                interview.problems.append(Problem("warning", contact.line, "interview_date",
                                                  "empty: the note is not held back until the interview is over"))
            return interview
        try:
            day = parse_date(cells["interview_date"], order=self.season.date_order,
                             today=self.season.now.astimezone(self.season.user_zone).date())
        except ValueError as e:
            interview.problems.append(Problem("error", contact.line, "interview_date", str(e)))
            return interview
        at = time()
        if cells.get("interview_time"):
            try:
                at, interview.timed = parse_clock_time(cells["interview_time"]), True
            except ValueError as e:
                interview.problems.append(Problem("error", contact.line, "interview_time", str(e)))
            if interview.timed and self.times_zone:  # "Time (ET)": the time is on that clock, whatever the row's zone
                zone, interview.zone_label = parse_zone(self.times_zone), self.times_zone
        interview.start = datetime.combine(day, at, zone)
        interview.zone_label = interview.zone_label or zone_name(zone)
        return interview


def _program_key(cells: dict[str, str]) -> str:
    return " ".join(cells.get("program", "").casefold().split())


def zone_name(zone: tzinfo) -> str:
    return getattr(zone, "key", None) or ("UTC" if zone is UTC else str(zone))
