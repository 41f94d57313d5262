"""`sync` and `classify`: what came back, read from the mailbox or from message files."""

from __future__ import annotations

import json
from pathlib import Path

import click

from outreach.cli.common import Terminal, json_opt, note, warn
from outreach.output import plural, say, style


@click.command("sync")
@click.option("--mbox", "mboxes", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Read this mbox export instead of the IMAP account (repeatable).")
@click.option("--maildir", "maildirs", multiple=True, type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Read this Maildir folder instead of the IMAP account (repeatable).")
@click.option("--folder", "folders", multiple=True,
              help="Also read this IMAP folder (repeatable; OUTREACH_SYNC_FOLDERS takes a comma-separated list). "
                   "INBOX and the spam folder are always read.")
@click.option("--full", is_flag=True, help="Read every message again, not only what arrived since the last sync. "
                                           "Nothing is counted twice.")
@json_opt
@click.pass_context
def sync_(ctx, mboxes: tuple[Path, ...], maildirs: tuple[Path, ...], folders: tuple[str, ...], full: bool,
          as_json: bool):
    """Read the mailbox and record replies, auto-replies and bounces to the messages sent.

    Over IMAP (the account in .env, TLS verified) it reads INBOX and the spam folder, only what
    is new since the last sync, and never changes anything: no message is marked read, moved
    or deleted. Unrelated mail is looked at by its headers only. An out-of-office reply is not
    a reply (its return date is kept); a delivery delay is not a bounce; a hard bounce or a
    spam complaint stops further mail to that address when it quotes one of our Message-IDs
    (one that only names the address is shown, and `outreach mark ADDRESS bounced` confirms
    it). Messages whose sending was interrupted
    are looked up in the Sent folder and marked sent when they are there.

    \b
    Examples:
      outreach sync
      outreach sync --folder "Residency/Replies" --json
      outreach sync --mbox ~/Downloads/All-mail.mbox
      outreach sync --maildir ~/Mail/INBOX
    """
    from outreach.cli.common import load_settings
    from outreach.mailbox.sync import sync_mailbox

    report = sync_mailbox(load_settings(), mboxes=mboxes, maildirs=maildirs, folders=folders, full=full,
                          feedback=Terminal())
    if report is None:
        return
    if as_json:
        say(json.dumps(report.as_json(), ensure_ascii=False, indent=2))
    else:
        print_sync_report(report)
    ctx.exit(1 if report.warnings or report.uncertain else 0)


def print_sync_report(report) -> None:
    for source in report.sources:
        extra = " (UIDVALIDITY changed: read again from the start)" if source.get("rescan") else ""
        say(f"{source['source']}: {plural(source['messages'], 'message')} read, {source['matched']} about ours{extra}")
    widths = tuple(max((len(getattr(e, name)) for e in report.new_events), default=0)
                   for name in ("kind", "address", "campaign"))
    for event in report.new_events:
        say("  " + event_line(event, widths))
    for item in report.confirmed:
        removed = "; its .eml draft was removed" if item.get("draft_removed") else ""
        say(style(f"confirmed sent: {item['address']} ({item['campaign']}), {item['evidence']}{removed}", "ok"))
    for text in report.notes:
        note(text)
    for text in report.warnings:
        warn(text)
    if report.uncertain:
        who = ", ".join(f"{u['address']} ({u['campaign']})" for u in report.uncertain[:5])
        more = f" and {len(report.uncertain) - 5} more" if len(report.uncertain) > 5 else ""
        warn(f"{plural(len(report.uncertain), 'message')} may or may not have left: {who}{more}; they are not in "
             "the Sent folder and will not be sent again automatically")
    counts: dict[str, int] = {}
    for event in report.new_events:
        counts[event.kind] = counts.get(event.kind, 0) + 1
    summary = ", ".join(plural(n, KIND_NOUNS.get(kind, kind)) for kind, n in counts.items()) or "nothing new"
    seen = len(report.events) - len(report.new_events)
    skipped = f"; {plural(len(report.unreadable), 'unreadable message')} skipped" if report.unreadable else ""
    say(style(f"recorded: {summary}" + (f" ({seen} already recorded)" if seen else "") + skipped, "ok"))


# An event's kind as a noun that takes a plural ("3 replies", "2 delays")
KIND_NOUNS = {"delayed": "delay"}


def event_line(event, widths: tuple[int, ...] = (11, 32, 16)) -> str:
    """One event: its kind, address and campaign in columns ``widths`` wide (the longest of the listing)."""
    failure = f"{event.status or ''} {', '.join(event.failed)}".strip()
    unconfirmed = "quotes no Message-ID of ours, so nobody was suppressed"
    what = {"auto-reply": f"back {event.until}" if event.until else "no return date given",
            "bounce": failure,
            "delayed": f"{event.status or ''} not a failure yet".strip(),
            "complaint": "marked as spam",
            "unconfirmed-bounce": f"{failure}; {unconfirmed}",
            "unconfirmed-complaint": f"marked as spam; {unconfirmed}"}.get(event.kind, event.subject)
    weak = " (matched by subject only)" if event.strength == "subject" else ""
    stop = f"; suppressed {', '.join(event.suppressed)}" if event.suppressed else ""
    kind, address, campaign = widths
    return f"{event.kind:<{kind}} {event.address:<{address}} {event.campaign:<{campaign}} {what}{weak}{stop}"


@click.command("classify")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per message (JSON lines).")
@click.pass_context
def classify_(ctx, files: tuple[Path, ...], as_json: bool):
    """Say what the tool makes of message files: reply, auto-reply, bounce, delayed, complaint, other.

    FILES are .eml files, mbox files (every message in them) or Maildir folders. Each message
    gets its kind, the address it is about (the failed recipient of a bounce, else the sender)
    and why. In a workspace with a tracking store, the sent message it matches is shown too.
    Nothing is recorded: `outreach sync` does that.

    \b
    Examples:
      outreach classify bounce.eml
      outreach classify ~/Downloads/replies.mbox --json \\
          | jq -r 'select(.kind=="bounce") | .address'
    """
    from outreach.cli.common import load_settings
    from outreach.mailbox.sync import classify_files

    unreadable = 0
    for item in classify_files(load_settings(), files):
        verdict, found = item.verdict, item.match
        if verdict is None:  # the message could not be read: item.error says why
            unreadable += 1
            warn(f"{item.label}: could not be read ({item.error})")
            continue
        address = item.address
        if as_json:
            say(json.dumps({
                "file": item.label, "kind": verdict.kind, "address": address or None, "reason": verdict.reason,
                "from": verdict.sender or None, "subject": verdict.subject, "message_id": verdict.message_id,
                "until": verdict.until.isoformat() if verdict.until else None, "status": verdict.status,
                "diagnostic": verdict.diagnostic, "failed": list(verdict.failed),
                "original_message_ids": list(verdict.original_ids),
                "match": {"campaign": found.sent.campaign, "address": found.sent.address,
                          "message_id": found.sent.message_id, "strength": found.strength,
                          "matched_by": found.how} if found else None,
            }, ensure_ascii=False))
            continue
        line = f"{item.label}: {verdict.kind}  {address or '(no address)'}  {verdict.reason}"
        if verdict.until:
            line += f"; back {verdict.until}"
        if found:
            line += f"; matches {found.sent.campaign} -> {found.sent.address} by {found.how}"
        elif item.matched_against_store and verdict.kind != "other":
            line += "; matches nothing sent from this workspace"
        say(line)
    ctx.exit(1 if unreadable else 0)
