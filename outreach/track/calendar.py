"""The interview season as an iCalendar file (RFC 5545), for Google Calendar, Outlook and Apple.

Each interview is a VEVENT at its true moment, written in UTC (``...Z``): every calendar shows
it in the reader's own zone, and no VTIMEZONE has to be invented (a TZID must name one). A day
without a time is an all-day event. Each thank-you still to write gets its own VEVENT ending at
its deadline, marked free (TRANSP): Google Calendar ignores VTODO on import. UIDs are derived
from the row, so importing a newer file updates the events instead of doubling them.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta

from outreach.compose.interviews import zone_name
from outreach.track.season import DueList, Entry

PRODID = "-//outreach//interview season//EN"
REMINDER = timedelta(minutes=30)      # the deadline event: the half hour before the deadline
TO_DO = ("overdue", "due", "drafted", "upcoming")


def calendar(due: DueList) -> bytes:
    """The whole file: CRLF line endings, long lines folded at 75 octets."""
    stamp = utc(due.season.now)
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:{PRODID}", "CALSCALE:GREGORIAN", "METHOD:PUBLISH",
             "X-WR-CALNAME:Interviews"]
    for entry in due.entries:
        start, end = entry.interview.start, entry.interview.over_at
        if start is not None and end is not None:  # a dated row
            lines += interview_event(entry, start, end, stamp)
        if entry.state in TO_DO and entry.deadline is not None:
            lines += deadline_event(entry, entry.deadline, stamp)
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + "\r\n" for line in lines).encode("utf-8")


def interview_event(entry: Entry, start: datetime, end: datetime, stamp: str) -> list[str]:
    """The interview from ``start`` to ``end`` (aware: a naive one would be UTC, as everywhere here)."""
    interview, fields = entry.interview, entry.fields
    if interview.timed:
        when = [f"DTSTART:{utc(start)}", f"DTEND:{utc(end)}"]
    else:
        day = start.date()
        when = [f"DTSTART;VALUE=DATE:{day:%Y%m%d}", f"DTEND;VALUE=DATE:{day + timedelta(days=1):%Y%m%d}"]
    about = [f"{fields.get('interviewer', '')}, {fields.get('role', '')}".strip(", "),
             f"Local time: {interview.describe()} ({zone_name(start.tzinfo or UTC)})" if interview.timed else "",
             entry.email and f"Email: {entry.email}", f"Thank-you: {entry.state}"]
    return ["BEGIN:VEVENT", f"UID:{uid(entry, 'interview')}", f"DTSTAMP:{stamp}", *when,
            f"SUMMARY:{text(f'Interview: {title(entry)}')}",
            f"DESCRIPTION:{text(chr(10).join(line for line in about if line))}",
            f"LOCATION:{text(fields.get('program', ''))}", "END:VEVENT"]


def deadline_event(entry: Entry, deadline: datetime, stamp: str) -> list[str]:
    return ["BEGIN:VEVENT", f"UID:{uid(entry, 'thank-you')}", f"DTSTAMP:{stamp}",
            f"DTSTART:{utc(deadline - REMINDER)}", f"DTEND:{utc(deadline)}",
            f"SUMMARY:{text(f'Thank-you due: {title(entry)}')}",
            f"DESCRIPTION:{text(f'Write to {entry.email} (outreach due lists it)')}",
            "TRANSP:TRANSPARENT", "END:VEVENT"]


def title(entry: Entry) -> str:
    program = entry.fields.get("program", "")
    return f"{entry.fields.get('interviewer', '') or entry.email} ({program})" if program else \
        entry.fields.get("interviewer", "") or entry.email


def uid(entry: Entry, what: str) -> str:
    f = entry.fields
    key = "\0".join((f.get("program", ""), f.get("interviewer", ""), entry.email.casefold(), what))
    return f"{hashlib.sha256(key.encode()).hexdigest()[:24]}-{what}@outreach"


def utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


# Every line break some parser splits on (str.splitlines' set: CR, LF, VT, FF, the file/group/record
# separators, NEL, U+2028, U+2029): each becomes the escaped newline "\n", as the value meant.
LINE_BREAK = re.compile("\r\n|[\n\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
# What RFC 5545 TEXT does not allow (CONTROL: %x00-08, %x0A-1F, %x7F), and the C1 controls: dropped.
CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f]")


def text(value: str) -> str:
    """A TEXT value (RFC 5545 3.3.11): backslash, semicolon and comma escaped, every line break
    written as ``\\n`` and every other control character left out, so that only what the RFC
    allows reaches the file and no parser, however it splits lines, reads a property inside."""
    value = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return CONTROL.sub("", LINE_BREAK.sub("\\\\n", value))


def fold(line: str) -> str:
    """Lines over 75 octets continue on the next line after CRLF and a space, never inside a
    UTF-8 character (RFC 5545 3.1)."""
    out, current, size = [], "", 0
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > 75:
            out.append(current)
            current, size = " ", 1
        current += char
        size += width
    out.append(current)
    return "\r\n".join(out)
