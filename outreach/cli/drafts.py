"""`draft`: one draft per contact, as .eml files or in the IMAP Drafts folder."""

from __future__ import annotations

from pathlib import Path

import click

from outreach.cli.common import (
    check_dns_opt,
    contacts_arg,
    history_opts,
    json_opt,
    print_history,
    print_json,
    sheet_campaign_opt,
    tally_json,
    template_arg,
    terminal,
    warn,
    warnings_opts,
)
from outreach.options import Consent, DraftOptions, Sheet
from outreach.output import plural, say, style

variant_opt = click.option(
    "--variant", "variants", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
    help="Another template to A/B test against TEMPLATE (repeat for more). Contacts are split between the "
         "templates, balanced and reproducibly; each message records its variant (the template's file name) "
         "for `outreach report --by variant`.")


@click.command()
@template_arg
@contacts_arg
@variant_opt
@sheet_campaign_opt
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the .eml files, one folder per campaign in it (default: drafts/ in the workspace, "
                   "which no link there may lead out of).")
@click.option("--from", "sender", help="Sender, e.g. 'Asha Rao <asha.rao@example.org>' (default: OUTREACH_FROM).")
@click.option("--imap", "to_imap", is_flag=True,
              help="Append the drafts to the account's IMAP Drafts folder instead of writing .eml files.")
@click.option("--yes", "-y", is_flag=True,
              help="Start a new tracking store without asking, where there is none yet (needed by a script "
                   "run outside any workspace).")
@history_opts
@warnings_opts
@check_dns_opt
@json_opt
@click.pass_context
def draft(ctx, template: Path, contacts: Path, variants: tuple[Path, ...], campaign: str | None, out_dir: Path | None,
          sender: str | None, to_imap: bool, yes: bool, consent: Consent, warnings: str, check_dns: bool,
          as_json: bool):
    """Write one .eml draft per contact and record it in the tracking store.

    Everything is checked first: any error and nothing is written (exit 2). Drafting again
    refreshes drafts that were not sent, keeping their Message-IDs (an .eml whose message did
    not change is not rewritten); sent ones are left alone.
    Addresses on the suppression list (opted out, complained) are skipped, as a Cc or Bcc too.
    Contacts known from other campaigns are listed with their history and held back as `send`
    would hold them (--include-answered, --include-recent). Without --campaign, the campaign
    this template and contact list were drafted under before is used. Each campaign's .eml
    files go in their own folder, OUT/CAMPAIGN/. A thank-you template follows the interview
    log: no draft before the interview is over, none for a program whose policy column says no
    contact.
    Open an .eml in your mail client to review and send it (Outlook opens it as a draft).

    With --imap the drafts go to the Drafts folder of the IMAP account in .env (the folder
    marked \\Drafts, e.g. Gmail's [Gmail]/Drafts, else "Drafts", created if missing), so they
    show up in every mail client; drafting again replaces them there.

    A/B test: give other templates with --variant. Each contact gets one template, chosen by a
    stable hash of campaign and address (never by the sheet's order), so the split is even,
    the same on every run, and contacts added later do not move anyone already drafted.

    \b
    Examples:
      outreach draft templates/mentor_outreach.txt mentors.csv \\
          --campaign fall-mentors
      outreach draft templates/thank_you.txt interviews.csv --out thank-you-drafts
      outreach draft templates/mentor_outreach.txt mentors.csv --imap
      outreach draft templates/short.txt mentors.csv \\
          --variant templates/long.txt --campaign ab-test
      outreach draft templates/mentor_outreach.txt mentors.csv --json \\
          | jq -r '.written[]'

    The workspace (its .env and outreach.db) is the nearest folder holding either, from the
    current folder upward, else from the template's. Where it has no tracking store yet, you are
    asked before one is started (--yes to start it without asking).
    """
    from outreach.cli.common import load_settings, new_store_confirmed
    from outreach.deliver.drafts import draft_campaign
    from outreach.errors import UserError

    if to_imap and out_dir is not None:
        raise UserError("--out is for .eml files; with --imap the drafts go to the IMAP Drafts folder")
    settings = load_settings(template, contacts, **{"from": sender})
    feedback = terminal(as_json)
    options = DraftOptions(Sheet(template, contacts, variants, campaign, check_dns, warnings), consent,
                           out_dir, to_imap)
    with new_store_confirmed(settings, yes=yes):
        run = draft_campaign(settings, options, feedback)
    if as_json:
        print_json(draft_json(run, feedback.rows))
        ctx.exit(1 if run.tally.with_warnings else 0)
    print_history(run.known, str(contacts))
    say(style(f"{wrote(len(run.written), run.unchanged, 'draft', to_imap)} to {run.target}{left_alone(run.unchanged)} "
              f"(campaign {run.campaign!r}, recorded in {settings.db.name})", "ok"))
    if run.split:
        say("variants: " + ", ".join(f"{name} {count}" for name, count in run.split.items()))
    print_held(run.held)
    for note in run.notes:
        warn(note)
    ctx.exit(1 if run.tally.with_warnings else 0)


def wrote(count: int, unchanged: int, what: str, to_imap: bool) -> str:
    """"wrote 3 drafts": the drafts actually written or appended, not those left as they were."""
    return f"{'appended' if to_imap else 'wrote'} {plural(count - unchanged, what)}"


def left_alone(unchanged: int) -> str:
    """", left 17 unchanged": an .eml that already held the same message is not written again."""
    return f", left {unchanged} unchanged" if unchanged else ""


def print_held(held: list[tuple[str, str, str]]) -> None:
    """Who got no draft and why: a count of those already sent, a line for each of the others."""
    sent = sum(1 for _, reason, _ in held if reason == "sent")
    if sent:
        say(f"skipped {sent} already sent in this campaign")
    for who, reason, why in held:
        if reason != "sent":
            say(f"skipped {who}: {why}")


# The gate's reasons, grouped as `draft --json` has always named them.
_JSON_GROUPS = {"sent": "already_sent", "suppressed": "suppressed", "suppressed-copy": "suppressed",
                "not_yet": "skipped", "no_contact": "skipped", "warnings": "skipped"}


def draft_json(run, rows: list[dict]) -> dict:
    """`draft --json`: what was written where, what was left out and why, the rows' problems."""
    groups: dict[str, list] = {"already_sent": [], "suppressed": [], "skipped": [], "held": []}
    for who, reason, why in run.held:
        group = _JSON_GROUPS.get(reason, "held")
        groups[group].append(who if group == "already_sent" else {"address": who, "reason": why if group != "held"
                                                                    else reason})
    return {"campaign": run.campaign, "target": run.target, "transport": "imap" if run.to_imap else "eml",
            "written": run.written, "unchanged": run.unchanged, **groups, "notes": run.notes,
            "variants": run.split or None, "summary": tally_json(run.tally), "rows": rows}
