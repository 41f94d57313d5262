"""An address copied from an old paper may no longer work: people move, and a bounce costs more
than a look at the department's page.

A sheet from `outreach discover` says in ``email_seen`` the year each address was published;
`check` warns on an address seen more than ``OUTREACH_ADDRESS_MAX_AGE`` years ago (default 3).
A sheet without the column is not affected, nor a row whose ``email_seen`` is empty (an address
the user found and checked themselves).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from outreach.compose.contacts import Contact, Problem
from outreach.errors import UserError

COLUMN = "email_seen"
DEFAULT_MAX_AGE = 3  # years


@dataclass(frozen=True)
class AddressAge:
    this_year: int
    max_age: int = DEFAULT_MAX_AGE

    @classmethod
    def from_settings(cls, raw: dict[str, str], this_year: int) -> AddressAge:
        value = raw.get("address_max_age", "").strip()
        if not value:
            return cls(this_year)
        if not value.isdigit():
            raise UserError(f"OUTREACH_ADDRESS_MAX_AGE={value!r}: give a number of years, e.g. 3")
        return cls(this_year, int(value))

    def reads(self, names: Iterable[str]) -> bool:
        """Whether a sheet whose cells are read under ``names`` can give a row a year (the column)."""
        return COLUMN in names

    def is_old(self, year: int) -> bool:
        return self.this_year - year > self.max_age

    def problems(self, contact: Contact) -> list[Problem]:
        """A warning when the row's address was seen longer ago than the setting allows."""
        seen = contact.fields.get(COLUMN, "").strip()
        if not contact.email or not seen:
            return []
        if not (seen.isdigit() and len(seen) == 4):
            return [Problem("warning", contact.line, COLUMN, f"{seen!r} is not a year; write the year the "
                                                             "address was seen, or leave it empty")]
        if not self.is_old(int(seen)):
            return []
        return [Problem("warning", contact.line, COLUMN,
                        f"the address is from a {seen} paper ({self.this_year - int(seen)} years ago) and may "
                        f"bounce; confirm it on their department's page, then clear {COLUMN} "
                        f"(OUTREACH_ADDRESS_MAX_AGE={self.max_age})")]
