"""One pass over a contacts file: render each row and lint it, streaming.

This is the functional core every command shares (check, preview, draft, and later send):
what a row will become and what is wrong with it, before anything touches the store or a server.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from outreach.addresses import address_key
from outreach.compose.address_age import AddressAge
from outreach.compose.checks import Checker, Commitment, RowIndex
from outreach.compose.contacts import Contact, ContactFile, Problem
from outreach.compose.interviews import InterviewLog, Season
from outreach.compose.templates import Draft, RenderError, Template
from outreach.errors import UserError
from outreach.output import plural


@dataclass
class Rendered:
    """A contact, its draft (``None`` when it could not or must not be rendered), its problems."""

    contact: Contact
    draft: Draft | None
    problems: list[Problem] = field(default_factory=list)
    template_name: str | None = None  # set when rows use different templates (A/B variants)
    variant: str | None = None
    skip: str | None = None  # why this row must get no message (yet): "not yet: interview on Dec 3, ..."

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]


def render_rows(template: Template, contacts: ContactFile, extra: dict[str, Any] | None = None,
                season: Season | None = None, commitments: dict[str, Commitment] | None = None,
                sender=None) -> Iterator[Rendered]:
    """Render and check every row. Two streaming passes: the first indexes names for cross-row rules.

    With a ``season``, a thank-you template follows the interview log (see :func:`interview_log`).
    ``commitments``: what the store says was already promised to which program. ``sender`` (an
    Address) is who the messages go out as: they must not sign as someone else."""
    checker = Checker(template, RowIndex.build(contacts), dict(commitments or {}), sender=sender)
    log = interview_log(template, contacts, season)
    for contact in contacts:
        yield render_one(template, checker, contact, extra, log)


def interview_log(template: Template, contacts: ContactFile, season: Season | None) -> InterviewLog | None:
    """The log a thank-you template is held to: no note before the interview is over, none to a
    program that asks for none. None for other templates and for sheets without interview columns."""
    if season is None or template.kind != "thank-you":
        return None
    log = InterviewLog.of(contacts, season)
    return log if log.applies else None


def render_one(template: Template, checker: Checker | None, contact: Contact, extra: dict[str, Any] | None,
               log: InterviewLog | None, **labels: str | None) -> Rendered:
    """One row rendered and checked (rendered only, without a ``checker``). A row the log skips
    carries its reason and no draft: a no-contact program's row is not even rendered; an
    interview not over yet is checked now (so the template can be fixed before the day) but not
    drafted."""
    problems, skip = list(contact.problems), None
    if log is not None:
        interview = log.read(contact)
        skip = interview.skip_reason(log.season.now)
        if interview.policy:
            return Rendered(contact, None, [], skip=skip, **labels)
        problems += interview.problems
    draft = None
    # Not a repeat: every problem in one pass.
    if contact.email and not (contact.problems and any(p.field == "email" for p in contact.problems)):
        try:
            draft = template.render(contact, extra, hint=checker.column_hint if checker else None)
        except RenderError as e:
            problems += e.problems
            if e.draft is not None and checker:  # rendered with stand-ins for missing variables: checked, never sent
                problems += checker.check(e.draft)
        else:
            if checker:
                problems += checker.check(draft)
    return Rendered(contact, None if skip else draft, problems, skip=skip, **labels)


STRICT = " (warnings count as errors with --strict)"


def as_chosen(rows: Iterable[Rendered], warnings: str) -> Iterator[Rendered]:
    """The rows, each warning an error when the person chose ``strict`` (``--strict``): then a row
    with a warning stops everything, as an error does. Any other choice leaves them as they are."""
    return _strictly(rows) if warnings == "strict" else iter(rows)


def _strictly(rows: Iterable[Rendered]) -> Iterator[Rendered]:
    for item in rows:
        if item.warnings:
            item.problems = [replace(p, severity="error") if p.severity == "warning" else p for p in item.problems]
        yield item


def left_out(item: Rendered, warnings: str) -> bool:
    """A row that would go out with warnings, when the person chose to leave those out (``skip``)."""
    return warnings == "skip" and item.draft is not None and bool(item.warnings) and not item.errors


@dataclass
class Tally:
    """Counts for the closing summary line and the exit code."""

    rows: int = 0
    clean: int = 0
    with_warnings: int = 0
    with_errors: int = 0
    skipped: int = 0        # clean, but held back by the interview log: not yet, or no contact

    def add(self, item: Rendered) -> None:
        self.rows += 1
        problems = item.problems  # none on the usual row: its lists of errors and warnings are not made
        if problems and item.errors:
            self.with_errors += 1
        elif problems and item.warnings:
            self.with_warnings += 1
        elif item.skip:
            self.skipped += 1
        else:
            self.clean += 1

    @property
    def exit_code(self) -> int:
        return 2 if self.with_errors else 1 if self.with_warnings else 0

    def summary(self) -> str:
        skipped = f", {self.skipped} skipped" if self.skipped else ""
        return (f"{plural(self.rows, 'row')}: {self.clean} clean, {self.with_warnings} with warnings, "
                f"{self.with_errors} with errors{skipped}")


def sample_extra(template: Template) -> dict | None:
    """A follow-up template reads ``original``: check and preview it with a stand-in first message."""
    if template.kind != "follow-up":
        return None
    return {"original": {"subject": "(the subject of the first message)", "sent_on": "November 14",
                         "date": "2026-11-14", "sent_at": "2026-11-14T15:00:00Z",
                         "message_id": "<original@example.org>",
                         "template": "", "variant": "", "followups_sent": 0}}


def check_rows(template: Template, contacts: ContactFile, season: Season | None = None,
               commitments: dict[str, Commitment] | None = None, sender=None,
               address_age: AddressAge | None = None) -> Iterator[Rendered]:
    """`outreach check`: every row rendered and linted, as it would be sent; a note names the
    recipients when they are more than the contact's own address; ``address_age`` warns on
    addresses taken from old papers."""
    if address_age is not None and not address_age.reads(contacts.header.names):
        address_age = None  # a sheet without the column: no row has a year to look at
    for item in render_rows(template, contacts, sample_extra(template), season, commitments, sender):
        if item.draft is not None and not item.draft.goes_only_to(item.contact.email):
            item.problems.append(Problem("note", item.contact.line, None, recipients_note(item.draft)))
        if address_age is not None:
            item.problems += address_age.problems(item.contact)
        yield item


def recipients_note(draft: Draft) -> str:
    lists = [("To", draft.to), ("Cc", draft.cc), ("Bcc", draft.bcc)]
    return "goes to " + "; ".join(f"{name} {', '.join(a.addr_spec for a in found)}"
                                  for name, found in lists if found)


def find_row(template: Template, contacts: ContactFile, *, line: int | None = None,
             address: str | None = None, sender=None) -> Rendered:
    """`outreach preview`: the row on CSV line ``line`` (the numbering of a spreadsheet and of
    every other command: the header is line 1) or the one whose address is ``address``; the
    first row when neither is given."""
    if line and address:
        raise UserError("preview takes --line or --to, not both")
    if line == 1:
        raise UserError(f"{contacts.path}: line 1 is the header; the first contact is on line 2 or later")
    wanted = address_key(address or "")
    lines = []
    for item in check_rows(template, contacts, sender=sender):
        if address:
            if wanted in (item.contact.email, address_key(item.contact.fields.get("email", ""))):
                return item
        elif line is None or item.contact.line == line:
            return item
        lines.append(item.contact.line)
    if address:
        raise UserError(f"{contacts.path}: no contact with address {address} ({plural(len(lines), 'row')})")
    span = f"lines {lines[0]}-{lines[-1]}" if lines else "no rows"
    raise UserError(f"{contacts.path}: no contact on line {line} (the contacts are on {span})")
