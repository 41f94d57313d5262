"""One pass over a contacts file: render each row and lint it, streaming.

This is the functional core every command shares (check, preview, draft, and later send):
what a row will become and what is wrong with it, before anything touches the store or a server.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator

from outreach.checks import Checker, RowIndex
from outreach.contacts import Contact, ContactFile, Problem
from outreach.templates import Draft, RenderError, Template


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
