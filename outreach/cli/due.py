"""`due`: every interviewer of the log by the state of their thank-you note."""

from __future__ import annotations

import json
from pathlib import Path

import click

from outreach.cli.common import json_opt, terminal
from outreach.output import plural, say, style

COLOURS = {"overdue": "error", "due": "warning", "drafted": "warning", "upcoming": "note", "sent": "ok",
           "replied": "ok", "skipped": "note"}


@click.command()
@click.argument("interviews", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--within", metavar="DURATION", default="2d", show_default=True,
              help="How soon after the interview a thank-you is due: 2d, 36h, 1w.")
@click.option("--campaign", help="Count only drafts and sends of this campaign (default: any message to the "
                                 "interviewer since the interview).")
@click.option("--ics", "ics_file", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="Also write the interviews and thank-you deadlines as an iCalendar file (.ics).")
@json_opt
def due(interviews: Path, within: str, campaign: str | None, ics_file: Path | None, as_json: bool):
    """List every interviewer of the log by the state of their thank-you, most urgent first.

    \b
    overdue   the deadline passed and nothing was drafted or sent
    due       the interview is over; the thank-you is due by its deadline
    drafted   drafted (not sent yet)
    upcoming  the interview is not over yet (its time in your zone too)
    sent      sent; replied: they answered
    skipped   the program's policy column says no contact

    The log is a CSV with program, interviewer, role, email, interview_date, and optionally
    interview_time, time_zone and policy. Your own zone is the system's, or OUTREACH_TIME_ZONE;
    OUTREACH_NOW asks "what if it were then".

    \b
    Examples:
      outreach due interviews.csv
      outreach due interviews.csv --within 3d --ics interviews.ics
      OUTREACH_NOW=2026-12-04T09:00:00-05:00 outreach due interviews.csv --json
    """
    from outreach.cli.common import load_settings
    from outreach.track.season import STATES, describe, due_list
    from outreach.track.season import as_json as entry_json

    listing = due_list(load_settings(interviews), interviews, within=within, campaign=campaign,
                       feedback=terminal(as_json))
    if ics_file is not None:
        from outreach.files import write_atomically
        from outreach.track.calendar import calendar

        write_atomically(ics_file, calendar(listing))
    counts = listing.counts()
    if as_json:
        say(json.dumps({"log": str(interviews), "now": listing.season.now.isoformat(),
                        "entries": [entry_json(e, listing.season) for e in listing.entries],
                        "counts": counts, "ics": str(ics_file) if ics_file else None},
                       ensure_ascii=False, indent=2))
        return
    for entry in listing.entries:
        who = entry.fields.get("interviewer") or entry.email
        program = entry.fields.get("program")
        say(f"{style(f'{entry.state:<9}', COLOURS[entry.state])} {who}{f' ({program})' if program else ''}: "
            f"{describe(entry, listing.season)}")
    say(f"{plural(len(listing.entries), 'interviewer')}: " + ", ".join(f"{counts[s]} {s}" for s in STATES if counts[s]))
    if ics_file is not None:
        say(f"wrote {ics_file} (import it into your calendar)")
