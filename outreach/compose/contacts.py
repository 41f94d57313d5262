"""Reading contacts CSVs as real spreadsheets export them, one row at a time.

Excel and Google Sheets write UTF-8 with or without a BOM, UTF-16 ("Unicode text"), or
Windows-1252; they use ``,`` ``;`` or tab; headers come with stray case and spaces. The reader
streams: memory stays flat however long the file is (see firstlines.py for duplicates).
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import os
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from outreach.addresses import AddressValidator, InvalidAddress
from outreach.compose.columns import normalize_header, read_header, unused_columns
from outreach.compose.firstlines import FirstLines
from outreach.errors import UserError, where
from outreach.output import plural

DELIMITERS = ",;\t"
SEP_HINT = re.compile(r"sep=(.)", re.IGNORECASE)  # Excel's "sep=;" first line
FALLBACK_ENCODING = "cp1252"
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


@dataclass
class Encoding:
    """How a file's bytes become text. UTF-8 files are decoded line by line: a row pasted in
    from a Windows-1252 sheet is read as Windows-1252 (``fallback_lines``) without turning every
    UTF-8 ``José`` of the other rows into ``JosÃ©``."""

    name: str
    fallback_lines: list[int] = field(default_factory=list)
    utf8_lines: int = 0  # lines with non-ASCII text that is valid UTF-8

    @property
    def fell_back(self) -> bool:
        return bool(self.fallback_lines)

    @property
    def label(self) -> str:
        """``utf-8``, ``cp1252`` (every non-ASCII line), or ``utf-8+cp1252`` (some lines)."""
        if not self.fell_back:
            return self.name
        return FALLBACK_ENCODING if not self.utf8_lines else f"{self.name}+{FALLBACK_ENCODING}"


def detect_encoding(path: Path) -> Encoding:
    """Read the file once: a UTF-16 BOM, or which lines need Windows-1252 instead of UTF-8."""
    with open(path, "rb") as f:
        head = f.read(4)
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return Encoding("utf-16")
        if head.startswith(b"PK\x03\x04"):
            raise UserError(f"{path}: is a spreadsheet (.xlsx), not CSV; in Excel use Save As > CSV UTF-8")
        encoding = Encoding("utf-8-sig" if head.startswith(codecs.BOM_UTF8) else "utf-8")
        f.seek(0)
        _read_line(f.readline(), 1, encoding, path)
        number = 1  # lines read
        for block in _blocks(f):
            lines = block.split(b"\n")
            if block.endswith(b"\n"):
                lines.pop()  # the empty text after the last LF is no line
            if b"\x00" not in block and block.isascii():  # the usual block: nothing to look at
                pass
            elif b"\x00" not in block and _is_utf8(block):  # each line UTF-8: count the non-ASCII ones
                encoding.utf8_lines += list(map(bytes.isascii, lines)).count(False)
            else:
                for offset, raw in enumerate(lines, start=1):
                    _read_line(raw, number + offset, encoding, path)
            number += len(lines)
    return encoding


BLOCK_BYTES = 1 << 16  # read at a time: a block of whole lines is looked at in C, line by line only when needed


def _blocks(file) -> Iterator[bytes]:
    """The rest of ``file`` in blocks of whole lines (each ends at a LF, but perhaps the last)."""
    rest = b""
    while chunk := file.read(BLOCK_BYTES):
        end = chunk.rfind(b"\n") + 1
        if end:
            yield rest + chunk[:end]
            rest = chunk[end:]
        else:
            rest += chunk
    if rest:
        yield rest


def _is_utf8(block: bytes) -> bool:
    try:
        block.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _read_line(raw: bytes, number: int, encoding: Encoding, path: Path) -> None:
    """One line of the file looked at: NUL bytes refused, a Windows-1252 line or one of UTF-8
    text counted (lines of ASCII are the same in both)."""
    if b"\x00" in raw:
        raise UserError(f"{path}: contains NUL bytes, so it is not a CSV text file; export it as CSV UTF-8")
    if raw.isascii():
        return
    text = _decode_line(raw, number, encoding.name, path)
    if text is _FELL_BACK:
        if len(encoding.fallback_lines) < MAX_LINES_NAMED:
            encoding.fallback_lines.append(number)
    elif not text.isascii():
        encoding.utf8_lines += 1


_FELL_BACK = object()
MAX_LINES_NAMED = 10


def _decode_line(raw: bytes, number: int, encoding: str, path: Path):
    """One line as UTF-8 text, or ``_FELL_BACK`` when it is Windows-1252 (refused when neither)."""
    try:
        return raw.decode(encoding if number == 1 else "utf-8")
    except UnicodeDecodeError:
        pass
    try:
        raw.decode(FALLBACK_ENCODING)
    except UnicodeDecodeError as e:
        raise UserError(
            f"{where(path, number)}: is neither UTF-8 nor Windows-1252 text (byte 0x{e.object[e.start]:02x}); "
            "save it as 'CSV UTF-8' and try again"
        ) from None
    return _FELL_BACK


def decoded_lines(path: Path, encoding: Encoding) -> Iterator[str]:
    """The file's lines as text, each decoded as ``detect_encoding`` found it must be."""
    with open(path, "rb") as f:
        for number, raw in enumerate(f, start=1):
            text = _decode_line(raw, number, encoding.name, path)
            yield raw.decode(FALLBACK_ENCODING) if text is _FELL_BACK else text


def _encoding_note(path: Path, encoding: Encoding) -> str | None:
    if not encoding.fell_back:
        return None
    if not encoding.utf8_lines:
        return f"{path}: not valid UTF-8; read as Windows-1252"
    named = encoding.fallback_lines
    lines = ", ".join(map(str, named)) + (" and more" if len(named) == MAX_LINES_NAMED else "")
    which = f"line {lines} is" if len(named) == 1 else f"lines {lines} are"
    return (f"{path}: {which} not valid UTF-8 (the rest of the file is); "
            "read as Windows-1252: check the accents there")


def detect_delimiter(header_line: str) -> str:
    """The delimiter that splits the header line most often (quotes respected by csv later)."""
    counts = {d: header_line.count(d) for d in DELIMITERS}
    best = max(counts, key=counts.__getitem__)
    return best if counts[best] else ","


def _version(path: Path) -> tuple[int, int, int]:
    """What changes when a file is saved again or replaced: its inode, size and modification time
    (in nanoseconds; the kernel's clock moves it at least every few milliseconds)."""
    stat = os.stat(path)
    return stat.st_ino, stat.st_size, stat.st_mtime_ns


class ContactFile:
    """A contacts CSV, iterated lazily. ``notes`` lists what the reader had to guess."""

    def __init__(self, path: str | Path, *, check_dns: bool = False, test_domains: bool = False):
        self.path = Path(path)
        self.validate = AddressValidator(check_dns, test_domains=test_domains)
        if not self.path.is_file():
            raise UserError(f"{self.path}: no such file")
        self._version = _version(self.path)  # the file as first read: every later pass reads the same
        self.decoding = detect_encoding(self.path)
        self.encoding = self.decoding.label
        self.fell_back = self.decoding.fell_back
        note = _encoding_note(self.path, self.decoding)
        self.notes: list[str] = [note] if note else []
        self.sep_line = 0  # the line of Excel's "sep=;" hint, when the file starts with one
        self.delimiter, self.columns = self._read_header()
        self._first_lines: FirstLines | None = None  # where each address first appears: made by scan()
        self._lowered = bytearray()  # a bit a row, by scan(): its address's identity is the cell lowered

    def _open(self):
        if self.decoding.name == "utf-16":
            return open(self.path, encoding="utf-16", newline="")
        if not self.decoding.fell_back:  # all UTF-8: the C decoder, lines ending at LF as below
            return open(self.path, encoding=self.decoding.name, newline="\n")
        return contextlib.closing(decoded_lines(self.path, self.decoding))

    def _read_header(self) -> tuple[str, list[str]]:
        delimiter = None
        with self._open() as f:
            for number, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                hint = SEP_HINT.fullmatch(line.rstrip("\r\n")) if delimiter is None and not self.sep_line else None
                if hint:  # Excel's first line "sep=;" names the delimiter; the header follows
                    self.sep_line, delimiter = number, hint.group(1)
                    continue
                break
            else:
                raise UserError(f"{self.path}: the file is empty; it needs a header row with an email column")
        delimiter = delimiter or detect_delimiter(line)
        raw = next(csv.reader([line], delimiter=delimiter))
        self.header = read_header(raw)
        columns = list(self.header.columns)
        seen: dict[str, str] = {}
        for raw_name in raw:  # by the sheet's own names: each is read under it (a synonym's too)
            name = normalize_header(raw_name)
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

    def unused_notes(self, used: Iterable[str] = ()) -> list[str]:
        """A note for each column nobody reads whose name is close to one that ``used`` (a
        template's variables) or the tool reads: a misspelt header is named, not ignored."""
        return [f"{self.path}: {text}" for text in unused_columns(self.header, used)]

    @property
    def rows_hint(self) -> int:
        """At most about this many rows (a row takes at least a few dozen bytes): for sizing indexes."""
        return self.path.stat().st_size // 32

    def scan(self, observe: Callable[[int, list[str]], None] | None = None) -> None:
        """One pass over the rows that indexes where each address first appears (kept for every
        later pass over the contacts) and shows each row to ``observe(line, cells)``, so that a
        caller's own index of the file is built in the same pass. It remembers, a bit a row,
        which addresses it found valid with their cell lowered as identity (most): a later pass
        takes that for them instead of validating them again."""
        email_at = self.columns.index("email")
        identity = self._identity
        lowered = self._lowered = bytearray()

        def keyed():
            for number, (line, row) in enumerate(self.raw_rows()):
                if observe is not None:
                    observe(line, row)
                cell = row[email_at] if email_at < len(row) else ""
                key = identity(cell) if cell else ""
                if not number & 7:
                    lowered.append(0)
                if key and key == cell.strip().lower():
                    lowered[-1] |= 1 << (number & 7)
                yield key, line

        self._first_lines = FirstLines(keyed(), self.rows_hint)

    def __iter__(self) -> Iterator[Contact]:
        """The contacts; an address found valid in :meth:`scan`'s pass is not validated again
        (:meth:`raw_rows` refuses a file changed since that pass)."""
        if self._first_lines is None:
            self.scan()
        first_lines, lowered = self._first_lines, self._lowered
        assert first_lines is not None
        for number, (line, row) in enumerate(self.raw_rows()):
            known = number >> 3 < len(lowered) and lowered[number >> 3] >> (number & 7) & 1
            yield self._contact(line, row, first_lines, bool(known))

    def _identity(self, cell: str) -> str:
        """What makes two cells the same recipient (see outreach.addresses); "" for a cell that is
        no address (its row gets its own error)."""
        try:
            return self.validate(cell)
        except InvalidAddress:
            return ""

    def raw_rows(self) -> Iterator[tuple[int, list[str]]]:
        """(first line, cells) of every non-blank data row, unvalidated: for quick scans. The
        file must be the one the earlier passes read, before this pass and after it."""
        with self._open() as f:
            self._refuse_if_changed()
            reader = csv.reader(f, delimiter=self.delimiter, strict=True)
            header_done = False
            previous_end = 0
            while True:
                try:
                    row = next(reader)
                except StopIteration:
                    self._refuse_if_changed()
                    return
                except csv.Error as e:
                    raise UserError(csv_error_text(e, self.path, previous_end + 1, reader.line_num)) from None
                start, previous_end = previous_end + 1, reader.line_num
                joined = "".join(row)
                if not joined.strip() or start == self.sep_line:
                    continue
                if not header_done:
                    header_done = True
                    continue
                if "\n" in joined:
                    self._refuse_swallowed_rows(start, row)
                yield start, row

    def _refuse_if_changed(self) -> None:
        """The passes over the file must read the same file: the first indexes where each address
        first appears and which ones it found valid, and the next ones build the contacts on that
        (a row's address is not validated again, nor searched for as a repeat). A sheet saved from
        an editor meanwhile would pair one pass's index with another's rows, so it is refused."""
        if _version(self.path) != self._version:
            raise UserError(f"{self.path}: the file changed while outreach was reading it (saved from an "
                            "editor?); run the command again once it is saved")

    def _refuse_swallowed_rows(self, start: int, row: list[str]) -> None:
        """A cell whose later lines look like whole rows is an unclosed quote, not a long note."""
        width = len(self.columns)
        email_at = self.columns.index("email")
        for at, cell in enumerate(row):
            if "\n" not in cell:
                continue
            for inner in cell.splitlines()[1:]:
                cells = inner.split(self.delimiter)
                if len(cells) >= width and "@" in cells[email_at] and " " not in cells[email_at].strip():
                    raise UserError(
                        f'{where(self.path, start, self.columns[at] or None)}: a quote opened on line {start} '
                        f"runs on over the next rows (such as {inner.strip()[:60]!r}); close the quote"
                    )

    def _contact(self, line: int, row: list[str], first_lines: FirstLines, lowered: bool = False) -> Contact:
        """The row as a Contact; ``lowered``: the first pass found its address valid, its identity
        the cell lowered."""
        problems = []
        if len(row) > len(self.columns) and any(c.strip() for c in row[len(self.columns):]):
            problems.append(Problem("error", line, None, f"{plural(len(row), 'cell')} but only "
                                                         f"{plural(len(self.columns), 'column')} in the header"))
        # A short row leaves its last columns empty; a long one is the error above. A column with
        # no name in the header reads as empty.
        fields = dict(zip(self.columns, map(str.strip, row), strict=False))
        if len(row) < len(self.columns):
            for name in self.columns[len(row):]:
                fields.setdefault(name, "")
        if "" in fields:
            fields[""] = ""
        for alias, column in self.header.aliases.items():  # "Program Name": {{ program_name }} reads it too
            fields[alias] = fields[column]
        contact = Contact(line, fields, problems=problems)
        raw_address = fields["email"]
        if not raw_address:  # a row kept for reference (a name without an address, as `discover` writes)
            problems.append(Problem("warning", line, "email", "no address: this row gets no message"))
            return contact
        try:
            contact.email = raw_address.lower() if lowered else self.validate(raw_address)
        except InvalidAddress as e:
            problems.append(Problem("error", line, "email", f"{raw_address!r} is not a valid address: {e}"))
            return contact
        # scan() stored this identity under this line (a DNS answer may change between the passes: then a search)
        first = (first_lines.first(contact.email) if self.validate.check_dns
                 else first_lines.first_of_own(contact.email, line))
        if first != line:
            typed = f" (typed {_shown(raw_address)} here)" if raw_address != contact.email else ""
            problems.append(Problem("warning", line, "email",
                                    f"{contact.email}{typed} is the same mailbox as line {first}; "
                                    "this row is skipped"))
        return contact


def _shown(cell: str) -> str:
    """A cell quoted as typed; escaped when it holds decomposed accents, which look like the composed ones."""
    return repr(cell) if unicodedata.is_normalized("NFC", cell) else ascii(cell)


def csv_error_text(error: csv.Error, path: Path, start: int, line: int) -> str:
    """The csv module's complaint as a sentence naming the line the bad row began on."""
    text = str(error)
    if "field larger than field limit" in text:
        return (f"{where(path, start)}: a cell is longer than {MAX_FIELD_CHARS:,} characters "
                f"(a quote opened on line {start} and never closed?)")
    if "unexpected end of data" in text:
        return f"{where(path, start)}: a quote opened on line {start} is never closed; close it"
    if "expected after" in text and start < line:
        return f"{where(path, start)}: a quote opened on line {start} runs on to line {line}; close it"
    if "expected after" in text:
        return (f"{where(path, line)}: text follows a closing quote inside a cell; "
                'quote the whole cell and double inner quotes ("Dr ""Bob"" Lee")')
    return f"{where(path, line)}: {text}"
