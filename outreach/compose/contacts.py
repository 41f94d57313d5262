"""Reading contacts CSVs as real spreadsheets export them, one row at a time.

Excel and Google Sheets write UTF-8 with or without a BOM, UTF-16 ("Unicode text"), or
Windows-1252; they use ``,`` ``;`` or tab; headers come with stray case and spaces. The reader
streams: memory stays flat however long the file is (see firstlines.py for duplicates).
"""

from __future__ import annotations

import codecs
import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from outreach.addresses import AddressValidator, EmailNotValidError
from outreach.compose.columns import normalize_header
from outreach.compose.firstlines import FirstLines
from outreach.errors import UserError, where

DELIMITERS = ",;\t"
FALLBACK_ENCODING = "cp1252"
EMAIL_ALIASES = ("e_mail", "email_address", "e_mail_address", "mail")
# Large enough for a long personal note, small enough that a runaway cell is caught.
MAX_FIELD_CHARS = 100_000
csv.field_size_limit(MAX_FIELD_CHARS)


@dataclass(frozen=True)
class Problem:
    """One finding about one row: ``severity`` is "error" (stops everything) or "warning"."""

    severity: str
    line: int | None
    field: str | None
    text: str


@dataclass
class Contact:
    """One CSV row: ``fields`` maps normalized column names to stripped cell text."""

    line: int
    fields: dict[str, str]
    email: str = ""
    problems: list[Problem] = field(default_factory=list)

    @property
    def skipped(self) -> bool:
        """True when this row must not produce a message (a duplicate or a bad address)."""
        return any(p.severity == "error" or p.field == "email" for p in self.problems)

    @property
    def display_name(self) -> str:
        """A name for the To header, from the name columns the sheet happens to have."""
        f = self.fields
        for key in ("full_name", "name", "interviewer"):
            if f.get(key):
                return f[key]
        return " ".join(v for v in (f.get("first_name", ""), f.get("last_name", "")) if v)


def detect_encoding(path: Path) -> tuple[str, bool]:
    """Return (encoding, fell_back). Decodes the whole file once, in chunks, to be sure."""
    with open(path, "rb") as f:
        head = f.read(4)
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return "utf-16", False
        encoding = "utf-8-sig" if head.startswith(codecs.BOM_UTF8) else "utf-8"
        if head.startswith(b"PK\x03\x04"):
            raise UserError(f"{path}: is a spreadsheet (.xlsx), not CSV; in Excel use Save As > CSV UTF-8")
        decoder = codecs.getincrementaldecoder("utf-8")()
        f.seek(0)
        try:
            while chunk := f.read(1 << 20):
                if b"\x00" in chunk:
                    raise UserError(f"{path}: contains NUL bytes, so it is not a CSV text file; export it as CSV UTF-8")
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
            return encoding, False
        except UnicodeDecodeError:
            pass
        f.seek(0)
        decoder = codecs.getincrementaldecoder(FALLBACK_ENCODING)()
        try:
            while chunk := f.read(1 << 20):
                decoder.decode(chunk)
        except UnicodeDecodeError as e:
            raise UserError(
                f"{path}: is neither UTF-8 nor Windows-1252 text (byte 0x{e.object[e.start]:02x}); "
                "save it as 'CSV UTF-8' and try again"
            ) from None
    return FALLBACK_ENCODING, True


def detect_delimiter(header_line: str) -> str:
    """The delimiter that splits the header line most often (quotes respected by csv later)."""
    counts = {d: header_line.count(d) for d in DELIMITERS}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


class ContactFile:
    """A contacts CSV, iterated lazily. ``notes`` lists what the reader had to guess."""

    def __init__(self, path: str | Path, *, check_dns: bool = False):
        self.path = Path(path)
        self.validate = AddressValidator(check_dns)
        if not self.path.is_file():
            raise UserError(f"{self.path}: no such file")
        self.encoding, self.fell_back = detect_encoding(self.path)
        self.notes: list[str] = []
        if self.fell_back:
            self.notes.append(f"{self.path}: not valid UTF-8; read as Windows-1252")
        self.delimiter, self.columns = self._read_header()

    def _open(self):
        return open(self.path, encoding=self.encoding, newline="")

    def _read_header(self) -> tuple[str, list[str]]:
        with self._open() as f:
            for line in f:
                if line.strip():
                    break
            else:
                raise UserError(f"{self.path}: the file is empty; it needs a header row with an email column")
        delimiter = detect_delimiter(line)
        raw = next(csv.reader([line], delimiter=delimiter))
        columns = [normalize_header(c) for c in raw]
        if "email" not in columns:  # "E-mail", "Email Address": what other sheets call it
            columns = ["email" if c in EMAIL_ALIASES else c for c in columns]
        seen: dict[str, str] = {}
        for raw_name, name in zip(raw, columns):
            if name and name in seen:
                raise UserError(
                    f'{where(self.path, 1)}: columns "{seen[name]}" and "{raw_name}" '
                    "have the same name once case and spaces are ignored; rename one"
                )
            seen[name] = raw_name
        if "email" not in columns:
            raise UserError(
                f"{where(self.path, 1)}: no email column (found: {', '.join(repr(c) for c in raw)})"
            )
        return delimiter, columns

    def __iter__(self) -> Iterator[Contact]:
        email_at = self.columns.index("email")
        first_lines = FirstLines((_address_key(row[email_at]) if email_at < len(row) else "", line)
                                 for line, row in self.raw_rows())
        for line, row in self.raw_rows():
            yield self._contact(line, row, first_lines)

    def raw_rows(self) -> Iterator[tuple[int, list[str]]]:
        """(first line, cells) of every non-blank data row, unvalidated: for quick scans."""
        with self._open() as f:
            reader = csv.reader(f, delimiter=self.delimiter)
            header_done = False
            previous_end = 0
            while True:
                try:
                    row = next(reader)
                except StopIteration:
                    return
                except csv.Error as e:
                    raise UserError(f"{where(self.path, reader.line_num)}: {csv_error_text(e)}") from None
                start, previous_end = previous_end + 1, reader.line_num
                if not any(cell.strip() for cell in row):
                    continue
                if not header_done:
                    header_done = True
                    continue
                yield start, row

    def _contact(self, line: int, row: list[str], first_lines: FirstLines) -> Contact:
        problems = []
        if len(row) > len(self.columns) and any(c.strip() for c in row[len(self.columns):]):
            problems.append(Problem("error", line, None,
                                    f"{len(row)} cells but only {len(self.columns)} columns in the header"))
        fields = {name: cell.strip() for name, cell in zip(self.columns, row) if name}
        for name in self.columns:
            fields.setdefault(name, "")
        contact = Contact(line, fields, problems=problems)
        raw_address = fields["email"]
        if not raw_address:
            problems.append(Problem("error", line, "email", "no address"))
            return contact
        try:
            contact.email = self.validate(raw_address)
        except EmailNotValidError as e:
            problems.append(Problem("error", line, "email", f"{raw_address!r} is not a valid address: {e}"))
            return contact
        first = first_lines.first(_address_key(raw_address))
        if first != line:
            problems.append(Problem("warning", line, "email",
                                    f"{contact.email} already appears on line {first}; this row is skipped"))
        return contact


def _address_key(cell: str) -> str:
    """What makes two cells the same recipient: case does not matter to any real mail server."""
    return cell.strip().casefold()


def csv_error_text(error: csv.Error) -> str:
    text = str(error)
    if "field larger than field limit" in text:
        return f"a cell is longer than {MAX_FIELD_CHARS:,} characters (an unclosed quote?)"
    return text
