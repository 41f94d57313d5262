"""Calendar values are clean (issue 17 item 8): whatever a cell of the interview log holds, only
what RFC 5545 allows reaches a TEXT value of the `.ics` file, and no parser, however it splits
lines, reads a property that the tool did not write. Checked on the file's bytes."""

from __future__ import annotations

import re
import sys
import unicodedata

import icalendar

from tests.season import LOG

# Every character str.splitlines() breaks on, and every other control character but tab and NUL
# (a CSV cell cannot hold NUL).
BREAKS = "\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
CONTROLS = "".join(chr(c) for c in range(sys.maxunicode + 1)
                   if unicodedata.category(chr(c)) == "Cc" and chr(c) not in BREAKS + "\t\x00")
INJECTED = "ATTENDEE;CN=Mallory:mailto:mallory@example.net"
WRITTEN = {"BEGIN", "END", "VERSION", "PRODID", "CALSCALE", "METHOD", "X-WR-CALNAME", "UID", "DTSTAMP", "DTSTART",
           "DTEND", "SUMMARY", "DESCRIPTION", "LOCATION", "TRANSP"}


def hostile(name: str) -> str:
    """A cell that tries each line break in turn to start a property of its own."""
    return "".join(f"{name}{b}{INJECTED}" for b in BREAKS) + CONTROLS + "\tend"


def test_no_cell_can_start_a_property_in_the_ics_file(invoke, log, workspace):
    row = ",".join(['"' + hostile("Lakeside").replace('"', "") + '"', '"' + hostile("Dr. Eve").replace('"', "") + '"',
                    '"' + hostile("Chair") + '"', "e.ve@lakeside.example.edu", "2026-12-10", "09:00", "ET", "",
                    "x"])
    (workspace / "interviews.csv").write_text(LOG + row + "\n", encoding="utf-8")
    result = invoke("due", "interviews.csv", "--ics", "season.ics")
    assert result.exit_code == 0, result.output
    raw = (workspace / "season.ics").read_bytes()

    # Bytes: CRLF ends lines, and no other control or Unicode line break is in the file.
    body = raw.replace(b"\r\n", b"")
    assert not re.search(rb"[\x00-\x08\x0a-\x1f\x7f]", body)
    decoded = body.decode("utf-8")
    assert not set(decoded) & set(BREAKS + CONTROLS)

    # Any parser: unfold, then split on every line break Python knows; each line is one we wrote.
    unfolded = raw.decode("utf-8").replace("\r\n ", "")
    names = {re.match(r"[A-Z-]+", line)[0] for line in unfolded.splitlines()}
    assert names <= WRITTEN, names - WRITTEN
    assert "ATTENDEE" not in {line.split(":")[0].split(";")[0] for line in unfolded.splitlines()}

    # A real parser reads the value back: the line breaks as newlines, the controls left out.
    events = list(icalendar.Calendar.from_ical(raw).walk("VEVENT"))
    assert not [e for e in events if "ATTENDEE" in e]
    summary = next(str(e["SUMMARY"]) for e in events if str(e["SUMMARY"]).startswith("Interview: Dr. Eve"))
    assert summary.count(f"\n{INJECTED}") == 2 * len(BREAKS)  # the interviewer's and the program's
    assert "\tend" in summary and not set(summary) & set(CONTROLS)
