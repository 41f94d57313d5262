"""The command line: parse, call the core, print. No SMTP, IMAP or SQL in this module."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import traceback
from collections import Counter
from datetime import datetime
from importlib import resources
from pathlib import Path

import click

from outreach import __version__
from outreach.account import Account
from outreach.batch import Rendered, Tally, render_rows
from outreach.clock import iso, parse_duration, parse_time
from outreach.clock import now as clock_now
from outreach.config import Settings
from outreach.contacts import ContactFile, normalize_header
from outreach.drafts import EmlFolder, write_drafts
from outreach.errors import UserError
from outreach.followup import (DEFAULT_AFTER, DEFAULT_MAX, DEFAULT_SYNC_MAX_AGE, check_fresh, format_status,
                               next_action, plan_followups, select, status_rows, write_followup_drafts)
from outreach.message import build_message, make_message_id, parse_sender
from outreach.outcomes import describe_suppression, drop_suppressed, normalize_outcome
from outreach.outcomes import mark as record_mark
from outreach.output import say, style, use_colour
from outreach.report import as_csv as report_csv
from outreach.report import build as build_report
from outreach.report import dumps as report_json
from outreach.report import render_text as render_report
from outreach.report import write_html as write_report_html
from outreach.store import Store
from outreach.templates import Template
from outreach.variants import addresses as variant_addresses
from outreach.variants import assign as assign_variants
from outreach.variants import load_variants, render_variants, variant_name

PLACEHOLDER_SENDER = "You <you@example.org>"


class Group(click.Group):
    """Turns a :class:`UserError` into one red sentence and exit 2, and a bug into one line."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except UserError as e:
            say(style("error: ", "error", stream=sys.stderr) + str(e), err=True)
            ctx.exit(e.exit_code)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except BrokenPipeError:  # `outreach check ... | head`: the reader left; stop quietly
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            ctx.exit(1)
        except KeyboardInterrupt:
            say("interrupted", err=True)
            ctx.exit(130)
        except Exception as e:  # a bug: say so plainly; the traceback only when asked for
            if os.environ.get("OUTREACH_DEBUG"):
                traceback.print_exc()
            say(style("internal error: ", "error", stream=sys.stderr)
                + f"{type(e).__name__}: {e} (set OUTREACH_DEBUG=1 for the traceback, and please report it)", err=True)
            ctx.exit(1)


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="outreach")
def cli():
    """Tailored mentor-outreach emails and interview thank-you notes from a CSV of contacts.

    A workspace is the current folder: contacts CSVs, templates/, a .env with OUTREACH_*
    settings and the tracking store outreach.db. Start with `outreach init`.

    \b
    Exit codes: 0 success, 1 warnings or partial failure, 2 bad input or configuration
    (nothing was sent).
    """


template_arg = click.argument("template", type=click.Path(dir_okay=False, path_type=Path))
contacts_arg = click.argument("contacts", type=click.Path(dir_okay=False, path_type=Path))
check_dns_opt = click.option("--check-dns", is_flag=True,
                             help="Also look up each address's domain (3 s timeout each). Off by default: no network.")


def load_inputs(template: Path, contacts: Path, check_dns: bool = False) -> tuple[Template, ContactFile]:
    loaded_template, loaded_contacts = Template(template), ContactFile(contacts, check_dns=check_dns)
    for note in loaded_contacts.notes:
        say(style("note: ", "note", stream=sys.stderr) + note, err=True)
    return loaded_template, loaded_contacts


def warn(text: str) -> None:
    say(style("warning: ", "warning", stream=sys.stderr) + text, err=True)


# ---------------------------------------------------------------------------------- init
@cli.command()
@click.argument("directory", default=".", type=click.Path(file_okay=False, path_type=Path))
def init(directory: Path):
    """Create a workspace: example contacts, the shipped templates and a .env to edit.

    Existing files are left alone, so running it again only adds what is missing.

    \b
    Example:
      outreach init my-outreach && cd my-outreach
      outreach check templates/mentor_outreach.txt mentors.csv
    """
    data = resources.files("outreach.data")
    directory.mkdir(parents=True, exist_ok=True)
    created, kept = [], []
    plan = [(data / "templates" / name, directory / "templates" / name)
            for name in sorted(p.name for p in (data / "templates").iterdir() if p.is_file())]
    plan += [(data / "examples" / name, directory / name)
             for name in sorted(p.name for p in (data / "examples").iterdir() if p.is_file())]
    plan.append((data / "examples" / ".env.example", directory / ".env"))
    for source, target in plan:
        if target.exists():
            kept.append(target)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        with source.open("rb") as src, open(target, "wb") as dst:
            shutil.copyfileobj(src, dst)
        created.append(target)
    for path in created:
        say(f"created {path}")
    if kept:
        say(f"kept {len(kept)} existing file(s)")
    say(f"\nNext: edit {directory / '.env'} (your name and address), then\n"
        f"  cd {directory}\n  outreach check templates/mentor_outreach.txt mentors.csv")


# --------------------------------------------------------------------------------- check
@cli.command()
@template_arg
@contacts_arg
@check_dns_opt
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")
@click.pass_context
def check(ctx, template: Path, contacts: Path, check_dns: bool, as_json: bool):
    """Render every row and lint it; print the problems by CSV line.

    Errors (exit 2): undefined variable, missing or invalid address, missing attachment, a
    line break that would land in a header, empty subject. Warnings (exit 1): an empty or
    repeated personal note, another row's name or institution in a message, a cold email
    over 200 words, ranking language in a thank-you note.

    \b
    Examples:
      outreach check templates/mentor_outreach.txt mentors.csv
      outreach check templates/thank_you.txt interviews.csv --json | jq .summary
    """
    loaded_template, loaded_contacts = load_inputs(template, contacts, check_dns)
    tally = Tally()
    reported = []
    for item in render_rows(loaded_template, loaded_contacts, sample_extra(loaded_template)):
        tally.add(item)
        if not item.problems:
            continue
        if as_json:
            reported.append(row_json(item))
        else:
            print_problems(item, contacts)
    if as_json:
        say(json.dumps({"template": str(template), "contacts": str(contacts),
                        "encoding": loaded_contacts.encoding, "rows": reported,
                        "summary": {"rows": tally.rows, "clean": tally.clean,
                                    "warnings": tally.with_warnings, "errors": tally.with_errors}},
                       ensure_ascii=False, indent=2))
    else:
        kind = "error" if tally.with_errors else "warning" if tally.with_warnings else "ok"
        say(style(tally.summary(), kind))
    ctx.exit(tally.exit_code)


def sample_extra(template: Template) -> dict | None:
    """A follow-up template reads ``original``: check and preview it with a stand-in first message."""
    if template.kind != "follow-up":
        return None
    return {"original": {"subject": "(the subject of the first message)", "sent_on": "November 14",
                         "date": "2026-11-14", "sent_at": "2026-11-14T15:00:00Z",
                         "message_id": "<original@example.org>",
                         "template": "", "variant": "", "followups_sent": 0}}


def row_json(item: Rendered) -> dict:
    return {"line": item.contact.line, "email": item.contact.email or item.contact.fields.get("email", ""),
            "problems": [{"severity": p.severity, "column": p.field, "message": p.text} for p in item.problems]}


def print_problems(item: Rendered, contacts: Path) -> None:
    who = item.contact.email or item.contact.fields.get("email") or "(no address)"
    say(f"{style(f'{contacts}, line {item.contact.line}', 'note')}  {who}")
    for p in item.problems:
        column = f'column "{p.field}": ' if p.field else ""
        say(f"  {style(f'{p.severity:<8}', p.severity)}{column}{p.text}")


# ------------------------------------------------------------------------------- preview
@cli.command()
@template_arg
@contacts_arg
@click.option("--row", "row_number", type=click.IntRange(min=1), help="Which contact: 1 is the first data row.")
@click.option("--to", "address", help="Which contact, by email address.")
@click.option("--raw", is_flag=True, help="Print the raw RFC 5322 message (MIME parts and all).")
def preview(template: Path, contacts: Path, row_number: int | None, address: str | None, raw: bool):
    """Show one rendered message exactly as it would go out (the first row by default).

    \b
    Examples:
      outreach preview templates/mentor_outreach.txt mentors.csv --row 3
      outreach preview templates/thank_you.txt interviews.csv --to m.okafor@example.edu --raw
    """
    if row_number and address:
        raise UserError("preview takes --row or --to, not both")
    loaded_template, loaded_contacts = load_inputs(template, contacts)
    settings = Settings.load()
    sender = parse_sender(settings.sender or PLACEHOLDER_SENDER)
    wanted = (address or "").casefold()
    count = 0
    for count, item in enumerate(render_rows(loaded_template, loaded_contacts, sample_extra(loaded_template)),
                                 start=1):
        if address:
            if wanted not in (item.contact.email.casefold(), item.contact.fields.get("email", "").casefold()):
                continue
        elif count != (row_number or 1):
            continue
        show_preview(item, sender, raw, contacts, configured=bool(settings.sender))
        return
    which = f"with address {address}" if address else f"number {row_number or 1}"
    raise UserError(f"{contacts}: no contact {which} (the file has {count} rows)")


def show_preview(item: Rendered, sender, raw: bool, contacts: Path, *, configured: bool) -> None:
    if item.draft is not None:
        message = build_message(item.draft, sender, make_message_id(sender), datetime.now().astimezone())
        if raw:
            sys.stdout.write(message.as_string())
        else:
            for name in ("From", "To", "Cc", "Bcc", "Reply-To", "Subject"):
                if message[name]:
                    say(f"{style(name + ':', 'note')} {message[name]}")
            for path in item.draft.attachments:
                say(f"{style('Attachment:', 'note')} {path.name} ({path.stat().st_size / 1024:.0f} KiB)")
            say()
            say(item.draft.text.rstrip("\n"))
        if not configured:
            say(style("(From is a placeholder: set OUTREACH_FROM in .env)", "note"), err=True)
    if item.problems:
        say(err=True)
        for p in item.problems:
            column = f'column "{p.field}": ' if p.field else ""
            say(f"{style(p.severity, p.severity, stream=sys.stderr)}: {contacts}, line {item.contact.line}: "
                f"{column}{p.text}", err=True)
    if item.errors:
        raise click.exceptions.Exit(2)


# --------------------------------------------------------------------------------- draft
@cli.command()
@template_arg
@contacts_arg
@click.option("--variant", "variants", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Another template to A/B test against TEMPLATE (repeat for more). Contacts are split "
                   "between the templates, balanced and reproducibly; each message records its variant "
                   "(the template's file name) for `outreach report --by variant`.")
@click.option("--campaign", help="Name of the campaign (default: the template's file name).")
@click.option("--out", "out_dir", default="drafts", show_default=True,
              type=click.Path(file_okay=False, path_type=Path), help="Folder for the .eml files.")
@click.option("--from", "sender", help="Sender, e.g. 'Asha Rao <asha.rao@example.org>' (default: OUTREACH_FROM).")
@click.option("--imap", "to_imap", is_flag=True,
              help="Append the drafts to the account's IMAP Drafts folder instead of writing .eml files.")
@check_dns_opt
@click.pass_context
def draft(ctx, template: Path, contacts: Path, variants: tuple[Path, ...], campaign: str | None, out_dir: Path,
          sender: str | None, to_imap: bool, check_dns: bool):
    """Write one .eml draft per contact and record it in the tracking store.

    Everything is checked first: any error and nothing is written (exit 2). Drafting again
    refreshes drafts that were not sent, keeping their Message-IDs; sent ones are left alone.
    Addresses on the suppression list (opted out, complained) are skipped.
    Open an .eml in your mail client to review and send it (Outlook opens it as a draft).

    With --imap the drafts go to the Drafts folder of the IMAP account in .env (the folder
    marked \\Drafts, e.g. Gmail's [Gmail]/Drafts, else "Drafts", created if missing), so they
    show up in every mail client; drafting again replaces them there.

    A/B test: give other templates with --variant. Each contact gets one template, chosen by a
    stable hash of campaign and address (never by the sheet's order), so the split is even,
    the same on every run, and contacts added later do not move anyone already drafted.

    \b
    Examples:
      outreach draft templates/mentor_outreach.txt mentors.csv --campaign fall-mentors
      outreach draft templates/thank_you.txt interviews.csv --out thank-you-drafts
      outreach draft templates/mentor_outreach.txt mentors.csv --imap
      outreach draft templates/short.txt mentors.csv --variant templates/long.txt --campaign ab-test
    """
    settings = Settings.load(**{"from": sender})
    if not settings.sender:
        raise UserError("no sender: set OUTREACH_FROM in .env (e.g. OUTREACH_FROM=Asha Rao <asha.rao@example.org>) "
                        "or pass --from")
    from_address = parse_sender(settings.sender)
    account = None
    if to_imap:
        if ctx.get_parameter_source("out_dir") == click.core.ParameterSource.COMMANDLINE:
            raise UserError("--out is for .eml files; with --imap the drafts go to the IMAP Drafts folder")
        account = Account.load(settings)
        if account.imap is None:
            raise UserError("--imap needs an IMAP server: set OUTREACH_IMAP_HOST (or OUTREACH_PROVIDER) in .env")
    templates = load_variants([template, *variants])
    loaded_contacts = ContactFile(contacts, check_dns=check_dns)
    for note in loaded_contacts.notes:
        say(style("note: ", "note", stream=sys.stderr) + note, err=True)
    campaign = campaign or template.stem
    existing = Store(settings.db).variants(campaign) if settings.db.exists() else {}
    assignment = assign_variants(campaign, variant_addresses(loaded_contacts), list(templates), existing)
    tally = Tally()
    for item in render_variants(templates, loaded_contacts, assignment):
        tally.add(item)
        if item.problems:
            print_problems(item, contacts)
    if tally.with_errors:
        raise UserError(f"{tally.with_errors} row(s) of {contacts} have errors; nothing was drafted. "
                        f"Fix them and run again (outreach check shows the same list)")
    store = Store(settings.db)
    suppressed: list[tuple[str, str]] = []
    rows = drop_suppressed(render_variants(templates, loaded_contacts, assignment), store.suppressed(), suppressed)
    with contextlib.ExitStack() as stack:
        if account is not None:
            from outreach.imap import ImapDrafts, ImapSession

            session = stack.enter_context(ImapSession(account, warn=warn))
            target = ImapDrafts(session)
        else:
            target = EmlFolder(out_dir)
        with click.progressbar(length=tally.rows, label="drafting", file=sys.stderr,
                               hidden=not sys.stderr.isatty() or tally.rows < 200) as bar:
            result = write_drafts(rows, store=store, sender=from_address,
                                  campaign=campaign, template_name=str(template), target=target,
                                  on_row=lambda: bar.update(1))
    verb = "appended" if account is not None else "wrote"
    say(style(f"{verb} {len(result.written)} draft(s) to {target.describe()} (campaign {campaign!r}, "
              f"recorded in {settings.db.name})", "ok"))
    if len(templates) > 1:
        split = Counter(assignment.values())
        say("variants: " + ", ".join(f"{name} {split.get(name, 0)}" for name in templates))
    if result.already_sent:
        say(f"skipped {len(result.already_sent)} already sent in this campaign")
    for address, reason in suppressed:
        say(f"skipped {address}: {describe_suppression(reason)} (on the suppression list)")
    ctx.exit(1 if tally.with_warnings else 0)


# ---------------------------------------------------------------------------------- mailbox
class ProgressBar:
    """sync's progress: a bar on stderr for long scans, nothing when piped or short."""

    def __init__(self, minimum: int = 500):
        self.minimum, self.bar = minimum, None

    def start(self, label: str, total: int) -> None:
        self.finish()
        if sys.stderr.isatty() and total >= self.minimum:
            self.bar = click.progressbar(length=total, label=label, file=sys.stderr)
            self.bar.__enter__()

    def advance(self, count: int) -> None:
        if self.bar is not None:
            self.bar.update(count)

    def finish(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


@cli.command("sync")
@click.option("--mbox", "mboxes", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Read this mbox export instead of the IMAP account (repeatable).")
@click.option("--maildir", "maildirs", multiple=True, type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Read this Maildir folder instead of the IMAP account (repeatable).")
@click.option("--folder", "folders", multiple=True,
              help="Also read this IMAP folder (repeatable; OUTREACH_SYNC_FOLDERS takes a comma-separated list). "
                   "INBOX and the spam folder are always read.")
@click.option("--full", is_flag=True, help="Read every message again, not only what arrived since the last sync. "
                                           "Nothing is counted twice.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")
@click.pass_context
def sync_command(ctx, mboxes: tuple[Path, ...], maildirs: tuple[Path, ...], folders: tuple[str, ...], full: bool,
                 as_json: bool):
    """Read the mailbox and record replies, auto-replies and bounces to the messages sent.

    Over IMAP (the account in .env, TLS verified) it reads INBOX and the spam folder, only what
    is new since the last sync, and never changes anything: no message is marked read, moved
    or deleted. Unrelated mail is looked at by its headers only. An out-of-office reply is not
    a reply (its return date is kept); a delivery delay is not a bounce; a hard bounce or a
    spam complaint stops further mail to that address. Messages whose sending was interrupted
    are looked up in the Sent folder and marked sent when they are there.

    \b
    Examples:
      outreach sync
      outreach sync --folder "Residency/Replies" --json
      outreach sync --mbox ~/Downloads/All-mail.mbox
      outreach sync --maildir ~/Mail/INBOX
    """
    from outreach import sync as mailbox_sync

    settings = Settings.load()
    store_exists = settings.db.exists()
    own = [parse_sender(settings.sender).addr_spec] if settings.sender else []
    if (mboxes or maildirs) and folders:
        raise UserError("--folder is for IMAP; it cannot be combined with --mbox or --maildir")
    if not store_exists:
        raise UserError(f"{settings.db}: no tracking store here yet; draft or send something first "
                        "(or run this in the workspace folder)")
    store = Store(settings.db)
    if not store.mailbox_rows():
        say(style("note: ", "note", stream=sys.stderr) + "nothing drafted or sent yet, so nothing to match", err=True)
        return
    progress = ProgressBar()
    try:
        if mboxes or maildirs:
            paths = [("mbox", p) for p in mboxes] + [("maildir", p) for p in maildirs]
            report = mailbox_sync.sync_files(store, own, paths, progress)
        else:
            from outreach.imap import ImapSession

            account = Account.load(settings)
            extra = [f.strip() for f in settings.raw.get("sync_folders", "").split(",") if f.strip()]
            with ImapSession(account, warn=warn) as session:
                report = mailbox_sync.sync_imap(store, session, own, extra_folders=[*extra, *folders], full=full,
                                                progress=progress)
    finally:
        progress.finish()
    if as_json:
        say(json.dumps(report.as_json(), ensure_ascii=False, indent=2))
    else:
        print_sync_report(report)
    ctx.exit(1 if report.warnings or report.uncertain else 0)


def print_sync_report(report) -> None:
    for source in report.sources:
        extra = " (UIDVALIDITY changed: read again from the start)" if source.get("rescan") else ""
        say(f"{source['source']}: {source['messages']} message(s) read, {source['matched']} about ours{extra}")
    for event in report.new_events:
        say("  " + event_line(event))
    for item in report.confirmed:
        say(style(f"confirmed sent: {item['address']} ({item['campaign']}), {item['evidence']}", "ok"))
    for text in report.notes:
        say(style("note: ", "note", stream=sys.stderr) + text, err=True)
    for text in report.warnings:
        warn(text)
    if report.uncertain:
        who = ", ".join(f"{u['address']} ({u['campaign']})" for u in report.uncertain[:5])
        more = f" and {len(report.uncertain) - 5} more" if len(report.uncertain) > 5 else ""
        warn(f"{len(report.uncertain)} message(s) may or may not have left: {who}{more}; they are not in the Sent "
             "folder and will not be sent again automatically")
    counts: dict[str, int] = {}
    for event in report.new_events:
        counts[event.kind] = counts.get(event.kind, 0) + 1
    summary = ", ".join(f"{n} {kind}" for kind, n in counts.items()) or "nothing new"
    seen = len(report.events) - len(report.new_events)
    say(style(f"recorded: {summary}" + (f" ({seen} already recorded)" if seen else ""), "ok"))


def event_line(event) -> str:
    what = {"auto-reply": f"back {event.until}" if event.until else "no return date given",
            "bounce": f"{event.status or ''} {', '.join(event.failed)}".strip(),
            "delayed": f"{event.status or ''} not a failure yet".strip(),
            "complaint": "marked as spam"}.get(event.kind, event.subject)
    weak = " (matched by subject only)" if event.strength == "subject" else ""
    stop = f"; suppressed {', '.join(event.suppressed)}" if event.suppressed else ""
    return f"{event.kind:<11} {event.address:<32} {event.campaign:<16} {what}{weak}{stop}"


@cli.command("classify")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per message (JSON lines).")
@click.pass_context
def classify_command(ctx, files: tuple[Path, ...], as_json: bool):
    """Say what the tool makes of message files: reply, auto-reply, bounce, delayed, complaint, other.

    FILES are .eml files, mbox files (every message in them) or Maildir folders. Each message
    gets its kind, the address it is about (the failed recipient of a bounce, else the sender)
    and why. In a workspace with a tracking store, the sent message it matches is shown too.
    Nothing is recorded: `outreach sync` does that.

    \b
    Examples:
      outreach classify bounce.eml
      outreach classify ~/Downloads/replies.mbox --json | jq -r 'select(.kind=="bounce") | .address'
    """
    from outreach import classify as classifier
    from outreach import sync as mailbox_sync

    settings = Settings.load()
    index = None
    if settings.db.exists():
        own = [parse_sender(settings.sender).addr_spec] if settings.sender else []
        index = mailbox_sync.Index.from_store(Store(settings.db), own)
    unreadable = 0
    for path in files:
        for label, raw in mailbox_sync.read_messages(path):
            try:
                verdict = classifier.classify(classifier.parse_message(raw))
            except Exception as e:  # one broken message: say so and go on with the others
                unreadable += 1
                warn(f"{label}: could not be read ({type(e).__name__}: {e})")
                continue
            found = mailbox_sync.match(verdict, index) if index else None
            address = (verdict.failed[0] if verdict.failed else found.sent.address if found else verdict.sender)
            if as_json:
                say(json.dumps({
                    "file": label, "kind": verdict.kind, "address": address or None, "reason": verdict.reason,
                    "from": verdict.sender or None, "subject": verdict.subject, "message_id": verdict.message_id,
                    "until": verdict.until.isoformat() if verdict.until else None, "status": verdict.status,
                    "diagnostic": verdict.diagnostic, "failed": list(verdict.failed),
                    "original_message_ids": list(verdict.original_ids),
                    "match": {"campaign": found.sent.campaign, "address": found.sent.address,
                              "message_id": found.sent.message_id, "strength": found.strength,
                              "matched_by": found.how} if found else None,
                }, ensure_ascii=False))
                continue
            line = f"{label}: {verdict.kind}  {address or '(no address)'}  {verdict.reason}"
            if verdict.until:
                line += f"; back {verdict.until}"
            if found:
                line += f"; matches {found.sent.campaign} -> {found.sent.address} by {found.how}"
            elif index is not None and verdict.kind != "other":
                line += "; matches nothing sent from this workspace"
            say(line)
    ctx.exit(1 if unreadable else 0)


# ---------------------------------------------------------------------------------- send
def _interactive() -> bool:
    """Can we ask a question? (A function, so tests can say yes.)"""
    return sys.stdin.isatty()


@cli.command()
@template_arg
@contacts_arg
@click.option("--campaign", help="Name of the campaign (default: the template's file name).")
@click.option("--yes", "-y", is_flag=True, help="Send without asking; needed when not run from a terminal.")
@click.option("--dry-run", is_flag=True, help="Show the plan and the first message; send and record nothing.")
@click.option("--limit", type=click.IntRange(min=1), metavar="N", help="Send at most N messages now; the rest on a later run.")
@click.option("--rate", metavar="N/min",
              help="Pace: 20/min, 1/s, 300/h or 'unlimited' (default: OUTREACH_RATE, the provider preset, or 20/min).")
@click.option("--jitter", type=click.FloatRange(min=0), metavar="SECONDS",
              help="Delay each message by a random 0..SECONDS inside its slot (the average rate is kept).")
@click.option("--daily-cap", type=click.IntRange(min=0), metavar="N",
              help="At most N messages from this account per rolling 24 hours, all campaigns together (0: no cap).")
@click.option("--resend-uncertain", is_flag=True,
              help="Send again the messages whose outcome is uncertain; check your Sent folder first.")
@click.option("--retry-failed", is_flag=True, help="Try again the contacts the server refused on an earlier run.")
@click.option("--variant", "variants", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Another template to A/B test against TEMPLATE (repeat for more): contacts are split between "
                   "them, balanced and reproducibly, as for `draft --variant`; each message records its variant.")
@check_dns_opt
@click.pass_context
def send(ctx, template: Path, contacts: Path, campaign: str | None, yes: bool, dry_run: bool, limit: int | None,
         rate: str | None, jitter: float | None, daily_cap: int | None, resend_uncertain: bool, retry_failed: bool,
         variants: tuple[Path, ...], check_dns: bool):
    """Send one message per contact through your SMTP account, paced, and record each one.

    Every row is rendered and checked first: any error and nothing is sent. Then you see the
    plan (account, how many now, what is skipped and why, pacing, duration) and the first
    message, and confirm. Re-running the same command sends only what was never sent, so it
    is the way to resume after a crash, Ctrl-C, a daily cap or a server failure; new CSV rows
    are picked up. A message cut off during DATA is "uncertain" and never re-sent on its own.

    \b
    Examples:
      outreach send templates/mentor_outreach.txt mentors.csv --dry-run
      outreach send templates/mentor_outreach.txt mentors.csv --campaign fall-mentors
      outreach send templates/thank_you.txt interviews.csv --rate 10/min --jitter 5 --limit 20
      outreach send templates/mentor_outreach.txt mentors.csv --yes      # from a script or cron
      outreach send templates/short.txt mentors.csv --variant templates/long.txt --campaign ab-test
    """
    from outreach.account import Account
    from outreach import sending

    settings = Settings.load()
    account = Account.load(settings)
    if account.smtp is None:
        raise UserError("no SMTP server: set OUTREACH_PROVIDER (gmail, outlook, ...) or OUTREACH_SMTP_HOST in .env")
    pacing = sending.resolve_pacing(account, rate=rate, jitter=jitter, daily_cap=daily_cap)
    templates = load_variants([template, *variants])
    loaded_template, loaded_contacts = templates[variant_name(template)][1], ContactFile(contacts, check_dns=check_dns)
    for note in loaded_contacts.notes:
        say(style("note: ", "note", stream=sys.stderr) + note, err=True)
    campaign = campaign or template.stem
    if dry_run and not settings.db.exists():  # changes nothing, not even by creating the store
        import tempfile

        scratch = tempfile.TemporaryDirectory(prefix="outreach-dry-run-")
        ctx.call_on_close(scratch.cleanup)
        store = Store(Path(scratch.name) / settings.db.name)
        ctx.call_on_close(store.close)
    else:
        store = Store(settings.db)
    lock = None if dry_run else sending.SendLock(store.path).acquire()
    try:
        if lock is not None:
            uncertain, _ = sending.recover(store, lock.previous)
            if uncertain:
                say(style(f"note: the last send stopped during {uncertain} message(s); they are now 'uncertain'",
                          "warning", stream=sys.stderr), err=True)
        assignment = assign_variants(campaign, variant_addresses(loaded_contacts), list(templates),
                                     store.variants(campaign))
        plan = sending.make_plan(loaded_template, loaded_contacts, store, account, campaign=campaign, pacing=pacing,
                                 limit=limit, resend_uncertain=resend_uncertain, retry_failed=retry_failed,
                                 locked=lock is not None, variants=templates, assignment=assignment)
        for item in plan.with_problems:
            print_problems(item, contacts)
        if plan.tally.with_errors:
            raise UserError(f"{plan.tally.with_errors} row(s) of {contacts} have errors; nothing was sent. "
                            "Fix them and run again (outreach check shows the same list)")
        resume = _resume_command(template, contacts, campaign, template.stem)
        show_plan(plan, contacts)
        warnings = 1 if plan.tally.with_warnings else 0
        if dry_run:
            say(style("dry run: nothing was sent or recorded", "note"))
            ctx.exit(1 if plan.uncertain or plan.later_reason == "daily cap" else warnings)
        if not plan.items:
            say("nothing to send now")
            ctx.exit(1 if plan.uncertain or plan.later_reason == "daily cap" else warnings)
        if not yes and not _interactive():
            raise UserError("standard input is not a terminal, so there is no one to confirm: add --yes to send "
                            "(and --dry-run to see the plan first)")
        get_secret = sending.secret_source(
            account, plan.server, lambda text: say(style("warning: ", "warning", stream=sys.stderr) + text, err=True))
        if plan.server.security != "none":
            get_secret()  # a missing password stops us now, not after the question
        if not yes and not click.confirm(f"Send {len(plan.items)} message(s) now?", default=False):
            say("nothing sent")
            return
        sending.record_plan(plan, store)
        ctx.exit(_run_send(plan, store, account, get_secret, resume))
    finally:
        if lock is not None:
            lock.release()


def _resume_command(template: Path, contacts: Path, campaign: str, default_campaign: str) -> str:
    import shlex

    command = f"outreach send {shlex.quote(str(template))} {shlex.quote(str(contacts))}"
    return command + (f" --campaign {shlex.quote(campaign)}" if campaign != default_campaign else "")


def show_plan(plan, contacts: Path) -> None:
    from outreach.pacing import UNLIMITED, describe_duration, describe_rate
    from outreach.sending import SKIP_REASONS, local_time

    server = plan.server
    label = lambda text: style(f"{text + ':':<11}", "note")  # noqa: E731
    say(f"{label('Account')}{plan.account.sender} via {server.host}:{server.port} ({server.security}), "
        f"login {server.user}")
    say(f"{label('Campaign')}{plan.campaign} ({contacts}, {plan.tally.rows} rows)")
    earlier = [f"{n} {what}" for n, what in ((plan.drafted, "drafted before"), (plan.left_over, "left from an earlier run"))
               if n]
    drafted = f" ({', '.join(earlier)}; same Message-ID)" if earlier else ""
    say(f"{label('Send now')}{len(plan.items)} message(s){drafted}")
    if plan.later:
        say(f"{label('Later')}{len(plan.later)} over the {plan.later_reason}; run the same command again")
    skipped = [(reason, addresses) for reason, addresses in plan.skipped.items() if addresses]
    for number, (reason, addresses) in enumerate(skipped):
        say(f"{label('Skipped') if number == 0 else ' ' * 11}{len(addresses)} {SKIP_REASONS[reason]}")
    if plan.uncertain:
        say(f"{label('Uncertain')}{len(plan.uncertain)} cut off while being sent by an earlier run: they may or may "
            "not have arrived;")
        say(f"{' ' * 11}check your Sent folder, then `outreach resolve ADDRESS sent|unsent --campaign {plan.campaign}`,")
        say(f"{' ' * 11}or send them again with --resend-uncertain")
        for row in plan.uncertain:
            say(f"{' ' * 13}{row.address} (line {row.contact_line})")
    pacing = plan.pacing
    rate = describe_rate(pacing.rate) + (f" ({pacing.rate_source})" if pacing.rate != UNLIMITED else "")
    jitter = f", jitter up to {pacing.jitter:g} s" if pacing.jitter else ""
    if pacing.cap is None:
        cap = "no daily cap"
    else:
        cap = f"daily cap {pacing.cap} ({pacing.cap_source}), {plan.window_used} used in the last 24 h"
    say(f"{label('Pacing')}{rate}{jitter}; {cap}")
    if plan.cap_resume is not None:
        say(style(f"{'':11}the daily cap is reached: sending can resume after {local_time(plan.cap_resume)}",
                  "warning"))
    if plan.items:
        wait = plan.estimate_seconds()
        duration = f"about {describe_duration(wait)} of pacing, plus the server's time" if wait >= 1 else \
            "as fast as the server accepts"
        say(f"{label('Duration')}{duration}")
        first = plan.items[0]
        say(style(f"\nFirst message ({contacts}, line {first.line}):", "note"))
        # its problems, if any, were listed with the others above
        show_preview(Rendered(first.rendered.contact, first.rendered.draft), plan.account.sender, False, contacts,
                     configured=True)
        say()


def _run_send(plan, store: Store, account, get_secret, resume: str) -> int:
    from outreach import sending
    from outreach.pacing import describe_duration

    def first_interrupt():
        say("\nstopping after the current message (Ctrl-C again to abandon it)", err=True)

    result = sending.Result()
    with sending.graceful_interrupts(first_interrupt) as stop:
        transport = sending.make_transport(account, get_secret, wait=lambda seconds: not stop.wait(seconds))
        bar_shown = sys.stderr.isatty()
        with click.progressbar(length=len(plan.items), label="sending", file=sys.stderr, show_eta=True,
                               hidden=not bar_shown) as bar:
            def on_message(item, status, detail):
                bar.update(1)
                if not bar_shown:
                    line = f"{status:<10}{item.address} (line {item.line})"
                    say(line + (f": {detail}" if detail and status != "sent" else ""))

            try:
                sending.send_plan(plan, store, transport, stop=stop, on_message=on_message, result=result)
            except KeyboardInterrupt:
                result.interrupted = True
                result.not_reached = len(plan.items) - result.attempted
    return report_result(plan, store, result, resume, describe_duration)


def report_result(plan, store: Store, result, resume: str, describe_duration) -> int:
    from outreach import sending

    def listing(kind: str, rows, intro: str) -> None:
        if not rows:
            return
        say(style(f"{kind} {len(rows)}", "warning" if kind != "Failed" else "error") + f" ({intro}):")
        for item, detail in rows:
            say(f"  {item.address} (line {item.line}): {detail}")

    partial = [(item, detail) for item, detail in result.sent if detail]
    say(style(f"Sent {len(result.sent)} of {len(plan.items)} in {describe_duration(result.seconds)} "
              f"(campaign {plan.campaign!r})", "ok" if len(result.sent) == len(plan.items) else "warning"))
    listing("Refused recipients on", partial, "the message went to the others")
    listing("Failed", result.failed, "the server refused them; fix the address or use --retry-failed later")
    listing("Deferred", result.deferred, "the server said try later; run the same command again later")
    listing("Uncertain", result.uncertain,
            "the connection was lost during DATA: check your Sent folder, then `outreach resolve`")
    if plan.uncertain:
        say(style(f"Still uncertain from an earlier run: {len(plan.uncertain)}", "warning")
            + " (listed above; check your Sent folder, then `outreach resolve`)")
    code = 1 if (partial or result.failed or result.deferred or result.uncertain or plan.uncertain
                 or plan.tally.with_warnings) else 0
    remaining = result.not_reached + len(result.deferred) + len(plan.later)
    if result.fatal is not None:
        say(style("error: ", "error", stream=sys.stderr) + str(result.fatal), err=True)
        code = 1 if result.sent else 2  # 2: stopped before anything left
    elif result.stopped:
        say(style("stopped: ", "error", stream=sys.stderr) + result.stopped, err=True)
        code = 1
    if plan.later_reason == "daily cap" or (plan.pacing.cap and result.not_reached == 0 and plan.later):
        when = sending.cap_resume_time(store, plan)
        if when is not None:
            say(style(f"The daily cap of {plan.pacing.cap} for {plan.account_key} is reached; sending can resume "
                      f"after {sending.local_time(when)}.", "warning"))
            code = max(code, 1)
    if result.interrupted:
        say(style(f"Interrupted: {remaining} message(s) not sent yet.", "warning"))
        code = 130
    if remaining:
        say(f"To send the rest: {resume}")
    return code


# ------------------------------------------------------------------------------- resolve
@cli.command()
@click.argument("address")
@click.argument("outcome", type=click.Choice(["sent", "unsent"]))
@click.option("--campaign", help="Which campaign, when the address is uncertain in more than one.")
def resolve(address: str, outcome: str, campaign: str | None):
    """Settle an uncertain message once you have checked your Sent folder.

    "sent": it went out (it is recorded as sent). "unsent": it did not (the next `send`
    sends it, with the same Message-ID).

    \b
    Examples:
      outreach resolve m.okafor@example.edu sent
      outreach resolve jchen@example.edu unsent --campaign fall-mentors
    """
    settings = Settings.load()
    if not settings.db.exists():
        raise UserError(f"{settings.db}: no tracking store here")
    store = Store(settings.db)
    rows = store.resolve_uncertain(campaign, address, outcome == "sent")
    if not rows:
        raise UserError(f"{address} has no uncertain message" + (f" in campaign {campaign!r}" if campaign else ""))
    if len(rows) > 1:
        raise UserError(f"{address} is uncertain in {len(rows)} campaigns ({', '.join(r.campaign for r in rows)}); "
                        "add --campaign")
    say(style(f"{address} ({rows[0].campaign}): recorded as "
              f"{'sent' if outcome == 'sent' else 'not sent; the next send sends it'}", "ok"))


# ------------------------------------------------------------------------- login/logout
def _login_user(user: str | None) -> str:
    from outreach.account import Account

    if user:
        return user
    account = Account.load(Settings.load())
    server = account.smtp or account.imap
    if server is None:
        raise UserError("no server configured: set OUTREACH_PROVIDER or OUTREACH_SMTP_HOST in .env, or pass --user")
    return server.user


@cli.command()
@click.option("--user", help="The login name (default: OUTREACH_SMTP_USER, or the address in OUTREACH_FROM).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (for scripts).")
@click.option("--no-check", is_flag=True, help="Store the password without trying it on the SMTP server first.")
def login(user: str | None, password_stdin: bool, no_check: bool):
    """Store your account password in the OS keyring (never in a file).

    The password is first tried on the SMTP server, so a wrong one is caught now. Gmail needs
    an app password; accounts without app passwords (many school accounts) use
    OUTREACH_OAUTH2_TOKEN_COMMAND instead, and need no login.

    \b
    Examples:
      outreach login
      pass show email/smtp | outreach login --password-stdin
    """
    from outreach.account import Account, Secret, keyring_get, keyring_set

    user = _login_user(user)
    keyring_get(user)  # no keyring on this machine: say so before asking for anything
    settings = Settings.load()
    for variable in ("oauth2_token_command", "password_command", "password"):  # Account.secret's order
        if settings.raw.get(variable):
            say(style(f"note: OUTREACH_{variable.upper()} is set and comes first, so the stored password will "
                      "not be used while it is", "note"), err=True)
            break
    if password_stdin:
        password = (sys.stdin.readline() or "").rstrip("\r\n")
    else:
        password = click.prompt(f"Password for {user}", hide_input=True, prompt_suffix=": ", err=True)
    if not password:
        raise UserError("no password given")
    if not no_check:
        from outreach.smtp import SMTPTransport, TransportError

        account = Account.load(settings) if settings.sender else None
        server = account.smtp if account else None
        if server is not None and server.user == user:
            transport = SMTPTransport(server, account.ssl_context(), lambda: Secret("password", password),
                                      attempts=1)
            try:
                transport.open()
            except TransportError as e:
                raise UserError(f"{e}; nothing was stored") from None
            transport.close()
            say(style(f"the password works on {server.host}", "ok"))
    keyring_set(user, password)
    say(style(f"stored the password for {user} in the OS keyring", "ok"))


@cli.command()
@click.option("--user", help="The login name (default: OUTREACH_SMTP_USER, or the address in OUTREACH_FROM).")
def logout(user: str | None):
    """Remove your account password from the OS keyring.

    \b
    Example:
      outreach logout
    """
    from outreach.account import keyring_delete

    user = _login_user(user)
    if keyring_delete(user):
        say(style(f"removed the password for {user} from the OS keyring", "ok"))
    else:
        say(f"no password for {user} was stored in the OS keyring")


# ----------------------------------------------------------------------------- followup
def open_existing_store(settings: Settings) -> Store:
    """The store, refusing to create one: these commands read what earlier commands recorded."""
    if not settings.db.exists():
        raise UserError(f"{settings.db}: no tracking store here; run this in the workspace where you drafted "
                        "or sent (or set OUTREACH_DB)")
    return Store(settings.db)


def known_campaign(store: Store, campaign: str) -> None:
    campaigns = store.campaigns()
    if campaign not in campaigns:
        known = ", ".join(campaigns) if campaigns else "none yet"
        raise UserError(f"no campaign {campaign!r} in the tracking store (known: {known})")


def imap_configured(settings: Settings) -> bool:
    return bool(settings.raw.get("imap_host") or settings.raw.get("provider"))


@cli.command()
@click.argument("campaign")
@click.option("--template", "-t", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The follow-up template (Kind: follow-up). It sees the contact's CSV row and "
                   "`original` (original.subject, original.sent_on like 'November 14').")
@click.option("--after", default=DEFAULT_AFTER, show_default=True,
              help="Follow up when the last message left at least this long ago (7d, 36h, 2w; a bare number is days).")
@click.option("--max", "max_followups", default=DEFAULT_MAX, show_default=True, type=click.IntRange(min=0),
              help="At most this many follow-ups per contact.")
@click.option("--out", "out_dir", default="drafts", show_default=True,
              type=click.Path(file_okay=False, path_type=Path), help="Folder for the .eml drafts.")
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
@click.pass_context
def followup(ctx, campaign: str, template: Path, after: str, max_followups: int, out_dir: Path, to_imap: bool,
             send: bool, yes: bool, rate: str | None, dry_run: bool, no_sync: bool, sender: str | None):
    """One threaded follow-up to those of CAMPAIGN who have not answered.

    \b
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
      outreach followup fall-mentors --template templates/follow_up.txt --dry-run
      outreach followup fall-mentors -t templates/follow_up.txt --after 10d
      outreach followup fall-mentors -t templates/follow_up.txt --imap
      outreach followup fall-mentors -t templates/follow_up.txt --send
      outreach followup fall-mentors -t templates/follow_up.txt --max 2 --out drafts/second
    """
    settings = Settings.load(**{"from": sender})
    now = clock_now(settings.raw)
    after_delta = parse_duration(after, "--after")
    if to_imap and send:
        raise UserError("--imap writes drafts and --send sends: choose one")
    if to_imap and ctx.get_parameter_source("out_dir") == click.core.ParameterSource.COMMANDLINE:
        raise UserError("--out is for .eml files; with --imap the drafts go to the IMAP Drafts folder")
    loaded_template = Template(template)
    store = open_existing_store(settings)
    known_campaign(store, campaign)
    if not no_sync:
        ensure_fresh(store, settings, now)
    if loaded_template.kind != "follow-up":
        say(style("note: ", "note", stream=sys.stderr)
            + f"{template} is a {loaded_template.kind} template, not Kind: follow-up", err=True)
    selection = select(store.threads(campaign), now, after_delta, max_followups)
    say(selection.summary())
    for thread, why in selection.withdraw:
        row = store.get(thread.campaign, thread.address, thread.last_step)
        where = f" ({row.draft_path})" if row and row.draft_path else ""
        say(style("warning: ", "warning", stream=sys.stderr) + f"{thread.address} {why}, but a follow-up to them is "
            f"drafted{where} and not sent: delete it", err=True)
    withdraw = 1 if selection.withdraw else 0
    if not selection.due:
        ctx.exit(withdraw)
    if dry_run:
        for thread in selection.due:
            action = next_action(thread, now, after_delta, max_followups)
            say(f"  {thread.address:<40} {action.text}")
        ctx.exit(withdraw)
    settings_sender = settings.sender
    if not settings_sender:
        raise UserError("no sender: set OUTREACH_FROM in .env or pass --from")
    from_address = parse_sender(settings_sender)
    planned = plan_followups(store, loaded_template, str(template), selection.due, from_address)
    errors = warnings = 0
    for item in planned:
        if item.rendered.problems:
            print_problems(item.rendered, Path(f"campaign {campaign}"))
        errors += bool(item.rendered.errors)
        warnings += bool(item.rendered.warnings) and not item.rendered.errors
    if errors:
        raise UserError(f"{errors} follow-up(s) have errors; nothing was written. Fix {template} and run again")
    if send:
        ctx.exit(max(send_followups(store, settings, planned, campaign, template, now, yes=yes, rate=rate),
                     1 if warnings else 0, withdraw))
    with contextlib.ExitStack() as stack:
        if to_imap:
            from outreach.imap import ImapDrafts, ImapSession

            account = Account.load(settings)
            if account.imap is None:
                raise UserError("--imap needs an IMAP server: set OUTREACH_IMAP_HOST (or OUTREACH_PROVIDER) in .env")
            target = ImapDrafts(stack.enter_context(ImapSession(account, warn=warn)))
        else:
            target = EmlFolder(out_dir)
        written = write_followup_drafts(store, planned, from_address, target, now)
    verb = "appended" if to_imap else "wrote"
    say(style(f"{verb} {len(written)} follow-up draft(s) to {target.describe()} (campaign {campaign!r})", "ok"))
    ctx.exit(1 if warnings or withdraw else 0)


def send_followups(store: Store, settings: Settings, planned, campaign: str, template: Path, now, *, yes: bool,
                   rate: str | None) -> int:
    """`followup --send`: the follow-ups go through the same path as `send` (lock, plan, pacing, cap)."""
    import shlex

    from outreach import sending
    from outreach.followup import record, send_plan

    account = Account.load(settings)
    if account.smtp is None:
        raise UserError("no SMTP server: set OUTREACH_PROVIDER (gmail, outlook, ...) or OUTREACH_SMTP_HOST in .env")
    pacing = sending.resolve_pacing(account, rate=rate, jitter=None, daily_cap=None)
    lock = sending.SendLock(store.path).acquire()
    try:
        uncertain, _ = sending.recover(store, lock.previous)
        if uncertain:
            warn(f"the last send stopped during {uncertain} message(s); they are now 'uncertain'")
        plan = send_plan(planned, store, account, pacing, campaign, template, now)
        resume = f"outreach followup {shlex.quote(campaign)} --template {shlex.quote(str(template))} --send"
        show_plan(plan, Path("stored contact rows"))
        if not plan.items:
            say("nothing to send now")
            return 1 if plan.later else 0
        if not yes and not _interactive():
            raise UserError("standard input is not a terminal, so there is no one to confirm: add --yes to send "
                            "(and --dry-run to see who is due first)")
        get_secret = sending.secret_source(account, plan.server, warn)
        if plan.server.security != "none":
            get_secret()  # a missing password stops us now, not after the question
        if not yes and not click.confirm(f"Send {len(plan.items)} follow-up(s) now?", default=False):
            say("nothing sent")
            return 0
        by_id = {p.message_id: p for p in planned}
        drafts = {}
        with store.transaction():
            for item in plan.items:
                row = store.get(campaign, by_id[item.message_id].original.address, by_id[item.message_id].step)
                if row is not None and row.draft_path:
                    drafts[item.message_id] = row.draft_path
                record(store, by_id[item.message_id], state="queued", transport="smtp", account=plan.account_key)
        code = _run_send(plan, store, account, get_secret, resume)
        sent_drafts = [path for message_id, path in drafts.items()
                       if (row := store.by_message_id(message_id)) is not None and row.state == "sent"]
        if sent_drafts:
            shown = ", ".join(sent_drafts[:3]) + (f" and {len(sent_drafts) - 3} more" if len(sent_drafts) > 3 else "")
            say(style("note: ", "note", stream=sys.stderr) + f"{len(sent_drafts)} of these follow-ups had been drafted "
                f"({shown}); they are sent now, so delete those drafts", err=True)
        return code
    finally:
        lock.release()


def ensure_fresh(store: Store, settings: Settings, now) -> None:
    """Sync first when the mailbox was not read recently; without IMAP, say which sync to run."""
    max_age = parse_duration(settings.raw.get("sync_max_age", DEFAULT_SYNC_MAX_AGE), "OUTREACH_SYNC_MAX_AGE")
    stale = check_fresh(store.last_synced(), now, max_age)
    if not stale:
        return
    if not imap_configured(settings):
        raise UserError(f"{stale}, so a recent reply could be missed: run `outreach sync --mbox FILE` or "
                        "`outreach sync --maildir DIR` first, or pass --no-sync to follow up on what the store "
                        "already knows")
    from outreach import sync as mailbox_sync
    from outreach.imap import ImapSession

    account = Account.load(settings)
    say(style("note: ", "note", stream=sys.stderr) + f"{stale}: syncing first", err=True)
    extra = [f.strip() for f in settings.raw.get("sync_folders", "").split(",") if f.strip()]
    progress = ProgressBar()
    try:
        with ImapSession(account, warn=warn) as session:
            report = mailbox_sync.sync_imap(store, session, [account.sender.addr_spec], extra_folders=extra,
                                            progress=progress)
    finally:
        progress.finish()
    print_sync_report(report)


# --------------------------------------------------------------------------------- mark
@cli.command()
@click.argument("address")
@click.argument("outcome")
@click.option("--campaign", help="Which campaign (needed only when the address is in several).")
@click.option("--date", "when", help="When it happened: YYYY-MM-DD or an ISO date-time (default: now).")
@click.option("--note", help="A few words to keep with the outcome.")
@click.option("--undo", is_flag=True, help="Take back this mark (a mistake), and its suppression for opted-out.")
def mark(address: str, outcome: str, campaign: str | None, when: str | None, note: str | None, undo: bool):
    """Record an OUTCOME that arrived another way (a phone call, a hallway, another inbox).

    \b
    OUTCOME is one of:
      replied    they answered (counts as a reply; no follow-up)
      declined   they said no (counts as a reply)
      accepted   they said yes (counts as a reply)
      referred   they pointed you to someone else (counts as a reply)
      opted-out  they asked not to be contacted: suppressed in every campaign, for good
      bounced    the address is dead (counts as a bounce)

    Marking the same outcome again changes nothing. Outcomes accumulate (replied, later
    accepted); the newest one is what `status` shows. --undo removes a wrong mark.

    \b
    Examples:
      outreach mark m.okafor@example.edu replied
      outreach mark j.chen@example.edu accepted --campaign fall-mentors --date 2026-11-20
      outreach mark someone@example.edu opted-out
      outreach mark someone@example.edu declined --undo
    """
    settings = Settings.load()
    now = clock_now(settings.raw)
    at = now
    if when:
        at = parse_time(when)
        if at is None:
            raise UserError(f"--date {when!r} is not a date like 2026-11-20 or 2026-11-20T14:30:00Z")
    store = open_existing_store(settings) if outcome_needs_store(outcome) else Store(settings.db)
    result = record_mark(store, address, outcome, campaign=campaign, at=at, note=note, undo=undo)
    where_text = f" in campaign {result.campaign!r}" if result.campaign else ""
    if undo:
        say(f"removed the mark {result.outcome} for {result.address}{where_text}" if result.changed
            else f"{result.address} was not marked {result.outcome}{where_text}; nothing to undo")
    else:
        say(style(f"marked {result.address} {result.outcome}{where_text}", "ok") if result.changed
            else f"{result.address} was already marked {result.outcome}{where_text}")
    if result.suppressed:
        say(f"{result.address} is on the suppression list: nothing more will be sent, drafted or followed up")


def outcome_needs_store(outcome: str) -> bool:
    """Only an opt-out may create the store: someone can ask not to be written to before we ever did."""
    return normalize_outcome(outcome) != "opted-out"


# ------------------------------------------------------------------------------- report
@cli.command()
@click.argument("campaigns", nargs=-1)
@click.option("--by", help="Group by a CSV column (e.g. institution, specialty) or by `variant` (A/B templates).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV (one row per group and per campaign).")
@click.option("--html", "html_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write a self-contained HTML page with charts to this file.")
def report(campaigns: tuple[str, ...], by: str | None, as_json: bool, as_csv: bool, html_path: Path | None):
    """Response rates per campaign (all campaigns, or the ones named).

    \b
    Counts: planned, sent, failed, uncertain (outcome unknown), bounced, delivered (sent minus
    bounced), replied, auto-replied (out of office: never counted as a reply). Reply rate is
    replied / delivered with a 95% Wilson interval; then the median time to the first reply
    and how many replies came before and after the follow-up.

    With --by, each group gets its own row, and the report says plainly whether the groups'
    differences are within noise (their 95% intervals overlap): samples here are small.

    \b
    Examples:
      outreach report
      outreach report fall-mentors --by variant
      outreach report --by institution --html report.html
      outreach report --json | jq '.campaigns[].totals.reply_rate'
    """
    if as_json and as_csv:
        raise UserError("report prints --json or --csv, not both")
    settings = Settings.load()
    store = open_existing_store(settings)
    for campaign in campaigns:
        known_campaign(store, campaign)
    selected = list(dict.fromkeys(campaigns)) or None
    if by is not None:
        by = "variant" if by.strip().casefold() == "variant" else normalize_header(by)
        if by != "variant":
            columns = store.contact_columns(selected)
            if by not in columns:
                raise UserError(f"--by {by}: no such column in the contacts of these campaigns "
                                f"(columns: {', '.join(columns) or 'none'}; or use --by variant)")
    result = build_report(store.report_data(selected, by), by, clock_now(settings.raw))
    if as_json:
        say(report_json(result))
    elif as_csv:
        click.echo(report_csv(result), nl=False)
    else:
        say(render_report(result))
    if html_path:
        write_report_html(result, html_path)
        say(f"wrote {html_path}", err=as_json or as_csv)


# ------------------------------------------------------------------------------- status
@cli.command()
@click.argument("campaign", required=False)
@click.option("--after", default=DEFAULT_AFTER, show_default=True,
              help="When a follow-up falls due (as for `followup`).")
@click.option("--max", "max_followups", default=DEFAULT_MAX, show_default=True, type=click.IntRange(min=0),
              help="Follow-ups per contact (as for `followup`).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list instead of text.")
def status(campaign: str | None, after: str, max_followups: int, as_json: bool):
    """Each contact's state, last event and next action (every campaign by default).

    \b
    Next actions read like:
      follow-up due now (since 2026-11-21)       `outreach followup` will write it
      follow-up due 2026-12-01                   not yet
      waiting: out of office until 2026-12-03    an auto-reply gave a return date
      none: replied 2026-11-20                   (or bounced, opted out, followed up once...)
      check your Sent folder: ...                a send was cut off; nothing is re-sent on its own

    \b
    Examples:
      outreach status
      outreach status fall-mentors
      outreach status --json | jq '.[] | select(.action == "follow-up") | .address'
    """
    settings = Settings.load()
    store = open_existing_store(settings)
    if campaign is not None:
        known_campaign(store, campaign)
    rows = list(status_rows(store.threads(campaign), clock_now(settings.raw), parse_duration(after, "--after"),
                            max_followups))
    if as_json:
        say(json.dumps([{**row._asdict(), "due": iso(row.due) if row.due else None} for row in rows],
                       ensure_ascii=False, indent=2))
    elif rows:
        click.echo(format_status(rows, style if use_colour() else None))
    else:
        say("nothing in the tracking store yet")


def main() -> None:
    cli(prog_name="outreach")
