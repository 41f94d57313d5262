"""The contacts sheet `discover` writes: one row per person, the columns `check` and the shipped
mentor template read, and an empty ``note`` for the line only the user can write.

A new sheet is UTF-8 with a byte-order mark (so Excel shows the accents) and CRLF line ends.
``--append`` adds rows to an existing sheet in its own delimiter and line ends, under its own
header (a column it lacks is left out and named), and skips the people already in it: the same
address, else the same surname, first initial and institution. A cell from a record that starts
like a formula (``=``, ``+``, ``-``, ``@``) gets a leading ``'`` so a spreadsheet shows it as text.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

from outreach.addresses import address_key
from outreach.compose.contacts import ContactFile
from outreach.discover.ranking import Person, sheet_key
from outreach.errors import UserError
from outreach.files import write_atomically
from outreach.track.report import spreadsheet_safe

COLUMNS = ("name", "first_name", "last_name", "email", "email_seen", "institution", "topic", "recent_paper",
           "journal", "year", "pmid", "papers", "orcid", "history", "note")
NEWLINE = "\r\n"
# Free text from the records, made safe for spreadsheets (an address or a number never needs it).
FROM_RECORDS = ("name", "first_name", "last_name", "institution", "recent_paper", "journal")


def row(person: Person, topic: str, history: str) -> dict[str, str]:
    """A person's row: who, where, their latest paper on the topic, and what the store knows of them."""
    paper = person.paper
    values = {
        "name": person.name, "first_name": person.author.fore, "last_name": person.author.last,
        "email": person.address or "", "email_seen": str(person.address_year or "") if person.address else "",
        "institution": person.institution, "topic": topic, "recent_paper": paper.title, "journal": paper.journal,
        "year": str(paper.year or ""), "pmid": paper.pmid, "papers": str(len(person.papers)),
        "orcid": person.orcid or "", "history": history, "note": "",
    }
    return {column: str(spreadsheet_safe(value)) if column in FROM_RECORDS else value
            for column, value in values.items()}


@dataclass
class Existing:
    """A sheet ``--append`` adds to: its layout, and the people already in it."""

    path: Path
    columns: list[str]
    delimiter: str
    newline: str
    addresses: set[str] = field(default_factory=set)
    people: set[str] = field(default_factory=set)

    @classmethod
    def read(cls, path: Path) -> Existing:
        sheet = ContactFile(path)
        if sheet.encoding not in ("utf-8", "utf-8-sig"):
            raise UserError(f"{path}: is {sheet.encoding}, not UTF-8; save it as 'CSV UTF-8' before adding to it, "
                            "or write the new people to another file")
        with open(path, "rb") as f:
            first = f.readline()
        existing = cls(path, sheet.columns, sheet.delimiter, "\r\n" if first.endswith(b"\r\n") else "\n")
        for _, cells in sheet.raw_rows():
            fields = {name: cell.strip() for name, cell in zip(sheet.columns, cells, strict=False) if name}
            if fields.get("email"):
                existing.addresses.add(address_key(fields["email"]))
            full = (fields.get("name") or fields.get("full_name") or "").split()
            last = fields.get("last_name") or (full[-1] if full else "")
            fore = fields.get("first_name") or (full[0] if len(full) > 1 else "")
            if last:
                existing.people.add(sheet_key(last, fore, fields.get("institution", "")))
        return existing

    def has(self, person: Person) -> bool:
        return (person.address is not None and person.address in self.addresses) or person.key() in self.people

    def missing(self) -> list[str]:
        """The sheet's columns the new rows have no place for."""
        return [column for column in COLUMNS if column not in self.columns]

    def append(self, rows: list[dict[str, str]]) -> None:
        data = self.path.read_bytes()
        if data and not data.endswith(b"\n"):
            data += self.newline.encode()
        data += _csv([[r.get(column, "") for column in self.columns] for r in rows], self.delimiter,
                     self.newline).encode("utf-8")
        write_atomically(self.path, data)


def write_new(path: Path, rows: list[dict[str, str]]) -> None:
    text = _csv([list(COLUMNS), *([r[column] for column in COLUMNS] for r in rows)], ",", NEWLINE)
    write_atomically(path, text.encode("utf-8-sig"))


def _csv(rows: list[list[str]], delimiter: str, newline: str) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator=newline).writerows(rows)
    return buffer.getvalue()
