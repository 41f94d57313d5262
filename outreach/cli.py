"""The command line: parse, call the core, print. No SMTP, IMAP or SQL in this module."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import traceback
from datetime import datetime
from importlib import resources
from pathlib import Path

import click

from outreach import __version__
from outreach.batch import Rendered, Tally, render_rows
from outreach.account import Account
from outreach.config import Settings
from outreach.contacts import ContactFile
from outreach.drafts import EmlFolder, write_drafts
from outreach.errors import UserError
from outreach.message import build_message, make_message_id, parse_sender
from outreach.output import say, style
from outreach.store import Store
from outreach.templates import Template

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
    for item in render_rows(loaded_template, loaded_contacts):
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
    for count, item in enumerate(render_rows(loaded_template, loaded_contacts), start=1):
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
@click.option("--campaign", help="Name of the campaign (default: the template's file name).")
@click.option("--out", "out_dir", default="drafts", show_default=True,
              type=click.Path(file_okay=False, path_type=Path), help="Folder for the .eml files.")
@click.option("--from", "sender", help="Sender, e.g. 'Asha Rao <asha.rao@example.org>' (default: OUTREACH_FROM).")
@click.option("--imap", "to_imap", is_flag=True,
              help="Append the drafts to the account's IMAP Drafts folder instead of writing .eml files.")
@check_dns_opt
@click.pass_context
def draft(ctx, template: Path, contacts: Path, campaign: str | None, out_dir: Path, sender: str | None,
          to_imap: bool, check_dns: bool):
    """Write one .eml draft per contact and record it in the tracking store.

    Everything is checked first: any error and nothing is written (exit 2). Drafting again
    refreshes drafts that were not sent, keeping their Message-IDs; sent ones are left alone.
    Open an .eml in your mail client to review and send it (Outlook opens it as a draft).

    With --imap the drafts go to the Drafts folder of the IMAP account in .env (the folder
    marked \\Drafts, e.g. Gmail's [Gmail]/Drafts, else "Drafts", created if missing), so they
    show up in every mail client; drafting again replaces them there.

    \b
    Examples:
      outreach draft templates/mentor_outreach.txt mentors.csv --campaign fall-mentors
      outreach draft templates/thank_you.txt interviews.csv --out thank-you-drafts
      outreach draft templates/mentor_outreach.txt mentors.csv --imap
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
    loaded_template, loaded_contacts = load_inputs(template, contacts, check_dns)
    campaign = campaign or template.stem
    tally = Tally()
    for item in render_rows(loaded_template, loaded_contacts):
        tally.add(item)
        if item.problems:
            print_problems(item, contacts)
    if tally.with_errors:
        raise UserError(f"{tally.with_errors} row(s) of {contacts} have errors; nothing was drafted. "
                        f"Fix them and run again (outreach check shows the same list)")
    store = Store(settings.db)
    with contextlib.ExitStack() as stack:
        if account is not None:
            from outreach.imap import ImapDrafts, ImapSession

            session = stack.enter_context(ImapSession(account, warn=warn))
            target = ImapDrafts(session)
        else:
            target = EmlFolder(out_dir)
        with click.progressbar(length=tally.rows, label="drafting", file=sys.stderr,
                               hidden=not sys.stderr.isatty() or tally.rows < 200) as bar:
            result = write_drafts(render_rows(loaded_template, loaded_contacts), store=store, sender=from_address,
                                  campaign=campaign, template_name=str(template), target=target,
                                  on_row=lambda: bar.update(1))
    verb = "appended" if account is not None else "wrote"
    say(style(f"{verb} {len(result.written)} draft(s) to {target.describe()} (campaign {campaign!r}, "
              f"recorded in {settings.db.name})", "ok"))
    if result.already_sent:
        say(f"skipped {len(result.already_sent)} already sent in this campaign")
    ctx.exit(1 if tally.with_warnings else 0)


def main() -> None:
    cli(prog_name="outreach")
