"""`followup`: one threaded follow-up to those of a campaign who have not answered."""

from __future__ import annotations

from pathlib import Path

import click

from outreach.cli.common import json_opt, one_campaign, print_json, terminal, warn
from outreach.cli.drafts import left_alone, wrote
from outreach.cli.mailbox import print_sync_report
from outreach.cli.send import confirm, send_and_report, send_json, show_plan
from outreach.output import plural, say, style
from outreach.track.policy import DEFAULT_AFTER, DEFAULT_MAX

DEFAULT_TEMPLATE = Path("templates") / "follow_up.txt"   # what `outreach init` writes


@click.command()
@click.argument("campaign", required=False)
@click.option("--campaign", "campaign_option", metavar="NAME", help="The campaign (the same as CAMPAIGN).")
@click.option("--template", "-t", type=click.Path(dir_okay=False, path_type=Path),
              help=f"The follow-up template (Kind: follow-up; default: {DEFAULT_TEMPLATE} when it exists). It sees "
                   "the contact's CSV row and `original` (original.subject, original.sent_on like 'November 14').")
@click.option("--after", default=DEFAULT_AFTER, show_default=True,
              help="Follow up when the last message left at least this long ago (7d, 36h, 2w; a bare number is days).")
@click.option("--max", "max_followups", default=DEFAULT_MAX, show_default=True, type=click.IntRange(min=0),
              help="At most this many follow-ups per contact.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the .eml drafts, one folder per campaign in it (default: drafts/ in the workspace, "
                   "which no link there may lead out of).")
@click.option("--imap", "to_imap", is_flag=True, help="Put the drafts in the IMAP account's Drafts folder instead.")
@click.option("--send/--draft", "send", default=False,
              help="Send the follow-ups through SMTP, paced and recorded like `send` (default: --draft).")
@click.option("--yes", "-y", is_flag=True, help="With --send: send without asking (needed when not on a terminal).")
@click.option("--rate", metavar="N/min", help="With --send: the pace, as for `send`.")
@click.option("--dry-run", is_flag=True, help="Only list who is due a follow-up; write or send nothing.")
@click.option("--no-sync", is_flag=True,
              help="Do not sync and do not require a recent sync: follow up on what the store already knows "
                   "(a reply that arrived since the last sync would be missed).")
@click.option("--from", "sender", help="Sender (default: OUTREACH_FROM).")
@json_opt
@click.pass_context
def followup(ctx, campaign: str | None, campaign_option: str | None, template: Path | None, after: str,
             max_followups: int, out_dir: Path | None, to_imap: bool, send: bool, yes: bool, rate: str | None,
             dry_run: bool, no_sync: bool, sender: str | None, as_json: bool):
    """One threaded follow-up to those of CAMPAIGN who have not answered.

    The campaign is CAMPAIGN or --campaign NAME, as other commands take it.

    Due: the first message was sent, nothing bounced, nobody replied (an auto-reply is not a
    reply), the address is not suppressed (opted out, complained), fewer than --max follow-ups
    were sent, and the last message left more than --after ago. An out-of-office reply with a
    return date postpones the follow-up until the day after that date.

    The follow-up answers the last message (In-Reply-To, References, usually "Re:" in the
    subject), so it lands in the same conversation. It is written as an .eml draft (or to the
    IMAP Drafts folder with --imap); --send sends it the way `send` does: paced, within the
    daily cap, each message recorded before it leaves, nothing uncertain ever re-sent.

    Data must be fresh, so that nobody who just replied gets a reminder: when the last sync is
    older than OUTREACH_SYNC_MAX_AGE (default 6h) the mailbox is synced first over IMAP; without
    IMAP the command says which sync to run and stops.

    \b
    Examples:
      outreach followup fall-mentors --dry-run
      outreach followup --campaign fall-mentors --template templates/follow_up.txt
      outreach followup fall-mentors -t templates/follow_up.txt --after 10d
      outreach followup fall-mentors -t templates/follow_up.txt --imap
      outreach followup fall-mentors -t templates/follow_up.txt --send
      outreach followup fall-mentors -t templates/follow_up.txt --max 2 \\
          --out drafts/second
      outreach followup fall-mentors -t templates/follow_up.txt --dry-run \\
          --json | jq '.skipped'
    """
    from outreach.cli.common import load_settings, workspace_folder
    from outreach.deliver.followup import prepare_followups
    from outreach.errors import UserError
    from outreach.options import FollowupOptions

    campaign = one_campaign(campaign, campaign_option)
    if campaign is None:
        raise UserError("which campaign? `outreach followup --campaign NAME` (`outreach status` lists them)")
    settings = load_settings(*([template] if template else []), **{"from": sender})
    if template is None:  # the workspace's own, as `outreach init` wrote it
        template = workspace_folder(settings, str(DEFAULT_TEMPLATE))
        if not template.is_file():
            raise UserError(f"no follow-up template: give --template FILE (there is no {template})")
    if to_imap and send:
        raise UserError("--imap writes drafts and --send sends: choose one")
    if to_imap and out_dir is not None:
        raise UserError("--out is for .eml files; with --imap the drafts go to the IMAP Drafts folder")
    feedback = terminal(as_json)
    options = FollowupOptions(campaign, template, after, max_followups, no_sync,
                              out_dir, to_imap, rate)
    with prepare_followups(settings, options, dry_run=dry_run, feedback=feedback) as run:
        ctx.exit(run_followups(settings, run, options, mode="dry-run" if dry_run else "send" if send else "draft",
                               yes=yes, as_json=as_json, feedback=feedback))


def run_followups(settings, run, options, *, mode: str, yes: bool, as_json: bool, feedback) -> int:
    """What `followup` does once the run is prepared (under the lock); returns the exit code."""
    from outreach.deliver.followup import draft_followups, open_followup_send
    from outreach.errors import UserError
    from outreach.track.gate import REASONS

    report = FollowupJson(run, mode, feedback) if as_json else None
    if run.view.synced is not None and not as_json:
        print_sync_report(run.view.synced)
    say(f"mailbox: {run.view.text}", err=as_json)
    say(run.selection.summary(), err=as_json)
    for address, why, draft_path in run.withdraw:
        where = f" ({draft_path})" if draft_path else ""
        warn(f"{address} {why}, but a follow-up to them is drafted{where} and not sent: delete it")
    withdraw = 1 if run.withdraw else 0
    if mode == "dry-run" or not run.selection.due:
        if report is not None:
            report.print()
        elif mode == "dry-run":
            for address, action in run.due_actions():
                say(f"  {address:<40} {action}")
            if run.selection.skipped:
                say("skipped:")
            for address, why in run.selection.skipped:
                say(f"  {address:<40} {why}")
        return withdraw
    planned = run.render(settings.sender)
    errors = warnings = 0
    for item in planned:
        if item.rendered.problems:
            feedback.problems(item.rendered, f"campaign {run.campaign}")
        errors += bool(item.rendered.errors)
        warnings += bool(item.rendered.warnings) and not item.rendered.errors
    feedback.end_problems()
    if errors:
        raise UserError(f"errors in {plural(errors, 'follow-up')}; nothing was written. "
                        f"Fix {options.template} and run again")
    if mode == "send":
        session = open_followup_send(settings, run, planned, rate=options.rate)
        return max(send_now(session, yes, report), 1 if warnings else 0, withdraw)
    written, unchanged, target, held = draft_followups(settings, run, planned, options, feedback)
    if report is not None:
        report.print(written=written, target=target)
    else:
        say(style(f"{wrote(len(written), unchanged, 'follow-up draft', options.to_imap)} to {target}"
                  f"{left_alone(unchanged)} (campaign {run.campaign!r})", "ok"))
        for address, reason in held:
            say(f"skipped {address}: {REASONS[reason]}")
    return 1 if warnings or withdraw or held else 0


class FollowupJson:
    """`followup --json`: one document on stdout, whatever the mode (keys are a stable contract)."""

    def __init__(self, run, mode: str, feedback):
        self.run, self.mode, self.rows = run, mode, feedback.rows  # the follow-ups' problems, as they come

    def print(self, *, written=None, target=None, session=None, result=None) -> None:
        run = self.run
        print_json({
            "campaign": run.campaign, "mode": self.mode,
            "synced": run.view.synced.as_json() if run.view.synced is not None else None,
            "mailbox": run.view.text,
            "due": [{"address": address, "action": action} for address, action in run.due_actions()],
            "skipped": [{"address": address, "reason": reason, "detail": detail}
                        for address, reason, detail in run.not_due()],
            "withdraw": [{"address": address, "why": why, "draft": path or None}
                         for address, why, path in run.withdraw],
            "written": None if written is None else [str(where) for where in written], "target": target,
            "send": None if session is None else send_json(session, result, self.rows),
            "rows": self.rows,
        })


def send_now(session, yes: bool, report: FollowupJson | None = None) -> int:
    """`followup --send`: the plan, the question, the send (which removes the drafts it sent)."""
    quiet = report is not None
    if not quiet:
        show_plan(session.plan, "stored contact rows")
    if not session.plan.items:
        say("nothing to send now", err=quiet)
        if report is not None:
            report.print(session=session)
        return 1 if session.plan.later else 0
    if not confirm(session, yes, f"Send {plural(len(session.plan.items), 'follow-up')} now?",
                   "--dry-run to see who is due first", err=quiet):
        say("nothing sent", err=quiet)
        if report is not None:
            report.print(session=session)
        return 0
    code, result = send_and_report(session, quiet=quiet)
    if report is not None:
        report.print(session=session, result=result)
    return int(code)
