"""`mark`, `status`, `report`: what the store knows, and outcomes it learns another way."""

from __future__ import annotations

import json
from pathlib import Path

import click

from outreach.output import say, style, use_colour
from outreach.track.policy import DEFAULT_AFTER, DEFAULT_MAX


@click.command()
@click.argument("address")
@click.argument("outcome")
@click.option("--campaign", help="Which campaign (needed only when the address is in several).")
@click.option("--date", "when",
              help="When it happened: YYYY-MM-DD or an ISO date-time, from 2000 to 2099 (default: now).")
@click.option("--note", help="A few words to keep with the outcome.")
@click.option("--undo", is_flag=True, help="Take back this mark (a mistake), and its suppression for opted-out "
                                            "and bounced.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")
def mark(address: str, outcome: str, campaign: str | None, when: str | None, note: str | None, undo: bool,
         as_json: bool):
    """Record an OUTCOME that arrived another way (a phone call, a hallway, another inbox).

    \b
    OUTCOME is one of:
      replied    they answered (counts as a reply; no follow-up)
      declined   they said no (counts as a reply)
      accepted   they said yes (counts as a reply)
      referred   they pointed you to someone else (counts as a reply)
      opted-out  they asked not to be contacted: suppressed in every campaign,
                 for good
      bounced    the address is dead: suppressed in every campaign (confirms
                 a bounce report that quoted none of our Message-IDs)

    Marking the same outcome again changes nothing. Outcomes accumulate (replied, later
    accepted); the newest one is what `status` shows. --undo removes a wrong mark.

    \b
    Examples:
      outreach mark m.okafor@example.edu replied
      outreach mark j.chen@example.edu accepted --campaign fall-mentors \\
          --date 2026-11-20
      outreach mark someone@example.edu opted-out
      outreach mark someone@example.edu declined --undo
      outreach mark m.okafor@example.edu replied --json | jq .changed
    """
    from outreach.cli.common import load_settings, new_store_confirmed, print_json
    from outreach.clock import iso, parse_moment
    from outreach.clock import now as clock_now
    from outreach.config import allows_test_domains
    from outreach.store import Store, open_existing
    from outreach.store.outcomes import normalize_outcome
    from outreach.track.marks import mark as record_mark

    settings = load_settings()
    at = parse_moment(when, "--date") if when else clock_now(settings.raw)
    # only an opt-out may create the store: someone can ask not to be written to before we ever did
    if normalize_outcome(outcome) == "opted-out":
        with new_store_confirmed(settings, yes=False, yes_option=False):
            store = Store(settings.db)
    else:
        store = open_existing(settings)
    result = record_mark(store, address, outcome, campaign=campaign, at=at, note=note, undo=undo,
                         test_domains=allows_test_domains(settings.raw))
    if as_json:
        print_json({"address": result.address, "outcome": result.outcome, "campaign": result.campaign,
                    "undo": undo, "changed": result.changed, "suppressed": result.suppressed, "at": iso(at)})
        return
    where_text = f" in campaign {result.campaign!r}" if result.campaign else ""
    if undo:
        say(f"removed the mark {result.outcome} for {result.address}{where_text}" if result.changed
            else f"{result.address} was not marked {result.outcome}{where_text}; nothing to undo")
    else:
        say(style(f"marked {result.address} {result.outcome}{where_text}", "ok") if result.changed
            else f"{result.address} was already marked {result.outcome}{where_text}")
    if result.suppressed:
        say(f"{result.address} is on the suppression list: nothing more will be sent, drafted or followed up")


@click.command()
@click.argument("campaigns", nargs=-1)
@click.option("--campaign", "campaign_options", multiple=True, metavar="NAME",
              help="A campaign to report on (repeatable; the same as naming it as CAMPAIGNS).")
@click.option("--by", help="Group by a CSV column (e.g. institution, specialty) or by `variant` (A/B templates).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV (one row per group and per campaign).")
@click.option("--html", "html_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write a self-contained HTML page with charts to this file (instead of the text report; "
                   "besides --json or --csv).")
def report(campaigns: tuple[str, ...], campaign_options: tuple[str, ...], by: str | None, as_json: bool,
           as_csv: bool, html_path: Path | None):
    """Response rates per campaign (all campaigns, or the ones named).

    Counts: planned, sent, failed, uncertain (outcome unknown), bounced, delivered (sent minus
    bounced), replied, auto-replied (out of office: never counted as a reply). Reply rate is
    replied / delivered with a 95% Wilson interval; then the median time to the first reply
    and how many replies came before and after the follow-up.

    With --by, each group gets its own row, and the report says plainly whether the groups'
    differences are within noise, by Fisher's exact test on replied / not replied (two-sided,
    p < 0.05, adjusted for the number of pairs): samples here are small.

    \b
    Examples:
      outreach report
      outreach report fall-mentors --by variant
      outreach report --by institution --html report.html
      outreach report --json | jq '.campaigns[].totals.reply_rate'
    """
    from outreach.cli.common import load_settings
    from outreach.clock import now as clock_now
    from outreach.errors import UserError
    from outreach.store import open_existing
    from outreach.track import report as reports

    if as_json and as_csv:
        raise UserError("report prints --json or --csv, not both")
    settings = load_settings()
    result = reports.report_for(open_existing(settings), list(dict.fromkeys(campaigns + campaign_options)) or None, by,
                                clock_now(settings.raw))
    if as_json:
        say(reports.dumps(result))
    elif as_csv:
        click.echo(reports.as_csv(result), nl=False)
    elif not html_path:  # --html alone: the page is the report
        say(reports.render_text(result))
    if html_path:
        reports.write_html(result, html_path)
        say(f"wrote {html_path}", err=as_json or as_csv)


@click.command()
@click.argument("campaign", required=False)
@click.option("--campaign", "campaign_option", metavar="NAME", help="Only this campaign (the same as CAMPAIGN).")
@click.option("--after", default=DEFAULT_AFTER, show_default=True,
              help="When a follow-up falls due (as for `followup`).")
@click.option("--max", "max_followups", default=DEFAULT_MAX, show_default=True, type=click.IntRange(min=0),
              help="Follow-ups per contact (as for `followup`).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list instead of text.")
def status(campaign: str | None, campaign_option: str | None, after: str, max_followups: int, as_json: bool):
    """Each contact's state, last event and next action (every campaign by default).

    \b
    Next actions read like:
      follow-up due now (since 2026-11-21)     `outreach followup` writes it
      follow-up due 2026-12-01                 not yet
      waiting: out of office until 2026-12-03  an auto-reply gave a return date
      none: replied 2026-11-20                 (or bounced, opted out, ...)
      check your Sent folder: ...              a send was cut off; nothing is
                                               re-sent on its own

    \b
    Examples:
      outreach status
      outreach status fall-mentors
      outreach status --json \\
          | jq '.[] | select(.action == "follow-up") | .address'
    """
    from outreach.cli.common import load_settings, one_campaign, without_collector
    from outreach.clock import iso, parse_duration
    from outreach.clock import now as clock_now
    from outreach.store import open_existing
    from outreach.track.threads import format_block, status_lines, status_rows

    campaign = one_campaign(campaign, campaign_option)
    settings = load_settings()
    store = open_existing(settings, campaign=campaign)
    now, delay = clock_now(settings.raw), parse_duration(after, "--after")

    def show() -> bool:
        """Print the table (or JSON); False when the store has no contact to show."""
        if as_json:
            say(json.dumps([{**row._asdict(), "due": iso(row.due) if row.due else None}
                            for row in status_rows(store.threads(campaign), now, delay, max_followups)],
                           ensure_ascii=False, indent=2))
            return True
        styler, shown = style if use_colour() else None, False
        for block in status_lines(store.thread_reads(campaign), now, delay, max_followups):
            if block.lines:
                say(format_block(block, styler))   # a campaign at a time: see format_block
                shown = True
        return shown

    if not without_collector(show):
        say("nothing in the tracking store yet")
