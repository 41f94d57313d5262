"""Time zones as people write them in a spreadsheet: IANA names, US abbreviations, UTC offsets.

An interview log says ``ET``, ``PST``, ``Eastern``, ``Europe/Berlin`` or ``UTC+05:30``. The US
abbreviations name the zone, not the season: ``EST`` in July is still New York's time, with its
daylight saving (applicants write the letters they remember, not the ones in force), so each
maps to its IANA zone and the date decides the offset.

A zone cell means one place on every computer: an IANA name is looked up, in any case, among the
names of the zone database (``zoneinfo.available_timezones``), not opened as a file, so
``localtime`` (on Debian a link to the computer's own setting), ``posix/...`` and ``right/...``
(system builds; ``right/`` clocks count leap seconds) and ``Factory`` ("zone unknown") are errors.
"""

from __future__ import annotations

import os
import re
import time
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

US_ZONES = {
    "America/New_York": ("et", "est", "edt", "eastern", "eastern time", "us eastern"),
    "America/Chicago": ("ct", "cst", "cdt", "central", "central time", "us central"),
    "America/Denver": ("mt", "mst", "mdt", "mountain", "mountain time", "us mountain"),
    "America/Phoenix": ("arizona", "arizona time"),
    "America/Los_Angeles": ("pt", "pst", "pdt", "pacific", "pacific time", "us pacific"),
    "America/Anchorage": ("akt", "akst", "akdt", "alaska", "alaska time"),
    "Pacific/Honolulu": ("ht", "hst", "hawaii", "hawaii time"),
}
ALIASES = {alias: name for name, aliases in US_ZONES.items() for alias in aliases}
UTC_NAMES = ("utc", "gmt", "z", "zulu")
LOCALTIME = "/etc/localtime"
NOT_PLACES = frozenset(["localtime", "Factory"])  # names in the database that say where no place is
_OFFSET = re.compile(r"(?:utc|gmt)?\s*([+-−])\s*(\d{1,2})(?::?(\d{2}))?", re.IGNORECASE)


@lru_cache(maxsize=256)
def parse_zone(text: str) -> tzinfo:
    """The zone ``text`` names; ValueError with a sentence saying what would be understood."""
    value = " ".join(text.replace("_", " ").split()).casefold() if "/" not in text else text.strip()
    if not value:
        raise ValueError("no time zone given")
    if value in UTC_NAMES:
        return UTC
    if value in ALIASES:
        return ZoneInfo(ALIASES[value])
    offset = _OFFSET.fullmatch(value)
    if offset:
        sign, hours, minutes = offset.group(1), int(offset.group(2)), int(offset.group(3) or 0)
        if hours > 14 or minutes >= 60:
            raise ValueError(f"{text!r} is not a UTC offset between -14:00 and +14:00")
        delta = timedelta(hours=hours, minutes=minutes)
        return timezone(-delta if sign in "-−" else delta)
    name = zone_names().get("_".join(text.split()).casefold())
    try:
        if name is None:
            raise ZoneInfoNotFoundError(text)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        if value == "localtime":
            raise ValueError(f"{text!r} names this computer's own zone, not a place: write an IANA name like "
                             "America/Chicago or Asia/Kolkata, ET/CT/MT/PT, or an offset like UTC+05:30") from None
        meant = closest_zone(text)
        hint = f"did you mean {meant}? Or " if meant else ""
        raise ValueError(f"{text!r} is not a time zone: {hint}write an IANA name like America/Chicago or "
                         "Asia/Kolkata, ET/CT/MT/PT, or an offset like UTC+05:30") from None


@lru_cache(maxsize=64)
def closest_zone(text: str) -> str | None:
    """The IANA zone a misspelt or partial name means: ``London`` -> ``Europe/London``."""
    from outreach.suggest import closest

    return closest(text.strip(), [*ALIASES, *sorted(zone_names().values())], shorter=False)


def zone_of(moment: datetime) -> str:
    """How a time's zone is named wherever the tool shows one (plans, `due`, notes), one way
    whatever the sheet wrote ("ET", "eastern", "America/New_York"): the zone's abbreviation on
    that date when it has one (EST, CET, IST), else its IANA name (America/Sao_Paulo, whose
    abbreviation is "-03"), else its offset (UTC+05:30)."""
    abbreviation = moment.tzname() or ""
    if re.fullmatch(r"[A-Z]{2,5}", abbreviation):
        return abbreviation
    return getattr(moment.tzinfo, "key", None) or abbreviation or "UTC"


@lru_cache(maxsize=1)
def zone_names() -> dict[str, str]:
    """The zone database's names (``Europe/Berlin``) by their case-folded form, without those
    that name no place."""
    return {name.casefold(): name for name in available_timezones() if name not in NOT_PLACES}


def user_zone(raw: dict[str, str]) -> tzinfo:
    """The user's own zone: ``OUTREACH_TIME_ZONE`` (``Settings.raw``), else the system's."""
    from outreach.errors import UserError

    setting = raw.get("time_zone")
    if setting:
        try:
            return parse_zone(setting)
        except ValueError as e:
            raise UserError(f"OUTREACH_TIME_ZONE: {e}") from None
    return system_zone()


def system_zone() -> tzinfo:
    """The computer's zone with its daylight-saving rules (``TZ``, else ``/etc/localtime``), so
    that a date next month gets next month's offset; only the current offset when neither is
    readable (Windows)."""
    name = os.environ.get("TZ", "").lstrip(":")
    if name:
        try:
            return parse_zone(name)
        except ValueError:
            pass
    try:
        with open(LOCALTIME, "rb") as f:
            target = os.path.realpath(LOCALTIME)
            key = target.split("zoneinfo/", 1)[1] if "zoneinfo/" in target else None
            return ZoneInfo.from_file(f, key=key)
    except (OSError, ValueError):
        here = time.localtime()
        return timezone(timedelta(seconds=here.tm_gmtoff), here.tm_zone)
