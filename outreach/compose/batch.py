"""One pass over a contacts file: render each row and lint it, streaming.

This is the functional core every command shares (check, preview, draft, and later send):
what a row will become and what is wrong with it, before anything touches the store or a server.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator

from outreach.compose.checks import Checker, RowIndex
from outreach.compose.contacts import Contact, ContactFile, Problem
from outreach.compose.templates import Draft, RenderError, Template
from outreach.errors import UserError


@dataclass
class Rendered:
    """A contact, its draft (``None`` when it could not or must not be rendered), its problems."""

    contact: Contact
    draft: Draft | None
    problems: list[Problem] = field(default_factory=list)
    template_name: str | None = None  # set when rows use different templates (A/B variants)
    variant: str | None = None

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]


def render_rows(template: Template, contacts: ContactFile, extra: dict[str, Any] | None = None) -> Iterator[Rendered]:
    """Render and check every row. Two streaming passes: the first indexes names for cross-row rules."""
    checker = Checker(template, RowIndex.build(contacts))
    for contact in contacts:
        problems = list(contact.problems)
        draft = None
        if not contact.skipped:
            try:
                draft = template.render(contact, extra)
            except RenderError as e:
                problems.append(e.problem)
            else:
                problems += checker.check(draft)
        yield Rendered(contact, draft, problems)


@dataclass
class Tally:
    """Counts for the closing summary line and the exit code."""

    rows: int = 0
    clean: int = 0
    with_warnings: int = 0
    with_errors: int = 0

    def add(self, item: Rendered) -> None:
        self.rows += 1
        if item.errors:
            self.with_errors += 1
        elif item.warnings:
            self.with_warnings += 1
        else:
            self.clean += 1

    @property
    def exit_code(self) -> int:
        return 2 if self.with_errors else 1 if self.with_warnings else 0

    def summary(self) -> str:
        return (f"{self.rows} rows: {self.clean} clean, {self.with_warnings} with warnings, "
                f"{self.with_errors} with errors")


def sample_extra(template: Template) -> dict | None:
    """A follow-up template reads ``original``: check and preview it with a stand-in first message."""
    if template.kind != "follow-up":
        return None
    return {"original": {"subject": "(the subject of the first message)", "sent_on": "November 14",
                         "date": "2026-11-14", "sent_at": "2026-11-14T15:00:00Z",
                         "message_id": "<original@example.org>",
                         "template": "", "variant": "", "followups_sent": 0}}


def check_rows(template: Template, contacts: ContactFile) -> Iterator[Rendered]:
    """`outreach check`: every row rendered and linted, as it would be sent."""
    return render_rows(template, contacts, sample_extra(template))


def find_row(template: Template, contacts: ContactFile, *, row: int | None = None,
             address: str | None = None) -> Rendered:
    """`outreach preview`: the row numbered ``row`` (1 is the first data row) or the one whose
    address is ``address``; the first row when neither is given."""
    if row and address:
        raise UserError("preview takes --row or --to, not both")
    wanted = (address or "").casefold()
    count = 0
    for count, item in enumerate(check_rows(template, contacts), start=1):
        if address:
            if wanted in (item.contact.email.casefold(), item.contact.fields.get("email", "").casefold()):
                return item
        elif count == (row or 1):
            return item
    which = f"with address {address}" if address else f"number {row or 1}"
    raise UserError(f"{contacts.path}: no contact {which} (the file has {count} rows)")
