"""`check` and `preview`: what every row will become, before anything is drafted or sent."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

import click

from outreach.cli.common import (
    check_dns_opt,
    contacts_arg,
    json_opt,
    note,
    print_groups,
    print_history,
    print_json,
    problem_keys,
    row_json,
    row_label,
    sheet_campaign_opt,
    strict_opt,
    tally_json,
    template_arg,
    warnings_choice,
)
from outreach.output import say, style

PLACEHOLDER_SENDER = "You <you@example.org>"


def load_inputs(template: Path, contacts: Path, check_dns: bool = False):
    from outreach.compose.contacts import ContactFile
    from outreach.compose.templates import Template
    from outreach.config import Settings, allows_test_domains

    test_domains = allows_test_domains(Settings.load().raw)
    loaded_template = Template(template, test_domains=test_domains)
    loaded_contacts = ContactFile(contacts, check_dns=check_dns, test_domains=test_domains)
    for text in loaded_contacts.notes + loaded_contacts.unused_notes(loaded_template.variables):
        note(text)
    return loaded_template, loaded_contacts


def stored_commitments(settings, campaign: str) -> dict:
    """What the store says was already promised to which program (no store: nothing, and sqlite3
    is not even loaded); the unsent drafts of ``campaign`` are the ones being checked again."""
    if not settings.db.exists():
        return {}
    from outreach.compose.checks import earlier_commitments
    from outreach.store import Store

    store = Store(settings.db)
    try:
        return earlier_commitments(store.commitments(campaign))
    finally:
        store.close()


@click.command()
@template_arg
@contacts_arg
@sheet_campaign_opt
@strict_opt
@check_dns_opt
@json_opt
@click.pass_context
def check(ctx, template: Path, contacts: Path, campaign: str | None, strict: bool, check_dns: bool, as_json: bool):
    """Render every row and lint it; print the problems by CSV line.

    Errors (exit 2): undefined variable, missing or invalid address, missing attachment or
    one from a cell outside the workspace, a line break that would land in a header, a
    display name that reads as an address, empty subject. Warnings (exit 1): an empty or
    repeated personal note, another row's name or institution in a message, a cold email
    over 200 words, ranking-commitment language ("you are my top choice") in any message, a
    note nearly the same as another to the same program, an address from a paper older than
    OUTREACH_ADDRESS_MAX_AGE years (the email_seen column `discover` writes). Errors too: asking for ranking
    information ("where do I stand on your rank list?"), a commitment to a second program
    when the store (or an earlier row) has one to another, a [[PLACEHOLDER]], and the example
    applicant's details while you send as someone else. A note lists the recipients of any row
    that goes to more than the contact. Contacts the store knows from other campaigns are
    listed with what happened there.

    A thank-you template (Kind: thank-you) follows the interview log: rows whose interview is
    not over yet, and programs whose policy column says no contact, are shown as skipped.

    \b
    Examples:
      outreach check templates/mentor_outreach.txt mentors.csv
      outreach check templates/thank_you.txt interviews.csv --json | jq .summary
    """
    from outreach.cli.common import load_settings
    from outreach.clock import now
    from outreach.compose.address_age import AddressAge
    from outreach.compose.batch import Tally, as_chosen, check_rows
    from outreach.compose.findings import Findings
    from outreach.compose.interviews import Season
    from outreach.config import parse_sender

    loaded_template, loaded_contacts = load_inputs(template, contacts, check_dns)
    settings = load_settings(template, contacts)
    season = Season.from_settings(settings.raw)
    sender = parse_sender(settings.sender) if settings.sender else None
    history = known_history(settings, template, loaded_contacts, campaign)
    known = []
    tally = Tally()
    reported = []
    findings = Findings()
    address_age = AddressAge.from_settings(settings.raw, now(settings.raw).year)
    rows = check_rows(loaded_template, loaded_contacts, season, stored_commitments(settings, template.stem),
                      sender=sender, address_age=address_age)
    for item in as_chosen(rows, warnings_choice(strict=strict)):
        tally.add(item)
        if history and item.contact.email and (pasts := history.get(item.contact.email.casefold())):
            known.append((item.contact.line, item.contact.email, pasts))
        if not item.problems and not item.skip:
            continue
        if as_json:
            reported.append(row_json(item))
        else:
            print_groups(findings.add(item.contact.line, row_label(item), problem_keys(item)), str(contacts))
    print_groups(findings.drain(), str(contacts))
    if as_json:
        print_json({"template": str(template), "contacts": str(contacts), "encoding": loaded_contacts.encoding,
                    "rows": reported,
                    "known_elsewhere": [{"line": line, "email": address, "history": [
                        {"campaign": p.campaign, "state": p.state, "when": p.when, "outcome": p.outcome}
                        for p in pasts]} for line, address, pasts in known],
                    "summary": tally_json(tally)})
    else:
        print_history(known, str(contacts))
        kind = "error" if tally.with_errors else "warning" if tally.with_warnings else "ok"
        say(style(tally.summary(), kind))
    ctx.exit(tally.exit_code)


def known_history(settings, template: Path, contacts, campaign: str | None) -> dict:
    """What the store (if there is one) knows of these contacts from other campaigns than the one
    this template and list were drafted under (or would start)."""
    if not settings.db.exists():
        return {}
    from outreach.store import Store
    from outreach.track.history import known_elsewhere

    store = Store(settings.db)
    try:
        campaign = campaign or store.campaign_of_pair(template, contacts.path) or template.stem
        return known_elsewhere(store, (c.email for c in contacts if c.email), campaign)
    finally:
        store.close()


@click.command()
@template_arg
@contacts_arg
@click.option("--line", "--row", "line", type=click.IntRange(min=1),
              help="Which contact, by CSV line as check, send and status print it (line 1 is the header).")
@click.option("--to", "address", help="Which contact, by email address.")
@click.option("--raw", is_flag=True, help="Print the raw RFC 5322 message (MIME parts and all).")
def preview(template: Path, contacts: Path, line: int | None, address: str | None, raw: bool):
    """Show one rendered message exactly as it would go out (the first row by default).

    \b
    Examples:
      outreach preview templates/mentor_outreach.txt mentors.csv --line 3
      outreach preview templates/thank_you.txt interviews.csv \\
          --to m.okafor@example.edu --raw
    """
    from outreach.cli.common import load_settings
    from outreach.compose.batch import find_row
    from outreach.config import parse_sender

    loaded_template, loaded_contacts = load_inputs(template, contacts)
    settings = load_settings(template, contacts)
    sender = parse_sender(settings.sender or PLACEHOLDER_SENDER)
    item = find_row(loaded_template, loaded_contacts, line=line, address=address,
                    sender=sender if settings.sender else None)
    show_preview(item, sender, raw, str(contacts), configured=bool(settings.sender))


def show_preview(item, sender, raw: bool, source: str, *, configured: bool) -> None:
    """The message as it would go out (headers and text, or the raw bytes), then the row's problems."""
    from outreach.compose.message import Envelope, build_message, make_message_id
    from outreach.compose.templates import readable_size

    if item.draft is not None:
        message = build_message(item.draft, sender, Envelope(make_message_id(sender), datetime.now().astimezone()))
        if raw:
            say(message.as_string().replace("\r\n", "\n"), nl=False)  # control codes shown escaped
        else:
            for name in ("From", "To", "Cc", "Bcc", "Reply-To", "Subject"):
                if message[name]:
                    say(f"{style(name + ':', 'note')} {message[name]}")
            for path in item.draft.attachments:
                say(f"{style('Attachment:', 'note')} {path.name} ({readable_size(path, 2**31) / 1024:.0f} KiB)")
            say()
            say(item.draft.text.rstrip("\n"))
        if not configured:
            say(style("(From is a placeholder: set OUTREACH_FROM in .env)", "note"), err=True)
    if item.problems:
        say(err=True)
        for p in item.problems:
            column = f'column "{p.field}": ' if p.field else ""
            say(f"{style(p.severity, p.severity, stream=sys.stderr)}: {source}, line {item.contact.line}: "
                f"{column}{p.text}", err=True)
    if item.errors:
        raise click.exceptions.Exit(2)
