"""Lint rules over rendered drafts: each a small pure function returning problems.

Errors (bad addresses, undefined variables, missing attachments, header injection, empty
subjects) come from reading and rendering; the rules here add the warnings that protect an
applicant's reputation: empty or copy-pasted personal lines, another row's name left in the
message, cold emails that run long, and ranking language in thank-you notes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from outreach.compose.contacts import Contact, ContactFile, Problem
from outreach.compose.firstlines import FirstLines
from outreach.compose.templates import Draft, Template

COLD_EMAIL_MAX_WORDS = 200
# Columns that name a person or a place: if another row's value shows up in a message, it is
# almost always a copy-paste slip ("Dear Dr. Chen" in the note to Dr. Okafor).
IDENTITY_COLUMNS = ("last_name", "full_name", "name", "institution", "program", "hospital",
                    "university", "school", "department", "interviewer", "lab")
RANKING_PATTERNS = [
    (re.compile(p, re.IGNORECASE), label) for p, label in [
        (r"\brank(?:ed|ing)?\b[^.!?\n]{0,40}?\b(?:first|1st|#\s*1|number one|highly|at the top|top)\b",
         "a statement about how you will rank the program"),
        (r"(?<!\w)#\s*1\b|\bnumber one\b|\bno\.\s*1\b", "\"#1\" / \"number one\""),
        (r"\b(?:top|first|1st)\s+choice\b", "\"top choice\" / \"first choice\""),
        (r"\b(?:will|plan to|intend to|going to)\s+rank\b", "a promise about your rank list"),
        (r"\b(?:top|head|highest)\s+(?:of|on)\s+my\s+(?:rank\s+)?list\b", "\"top of my list\""),
        (r"\bonly program\b", "\"only program\""),
        (r"\bcommit(?:ted|ment)?\s+to\s+(?:your|this|the)\s+program\b", "a commitment to the program"),
    ]
]


def is_note_column(name: str) -> bool:
    """Personal-note columns are the point of tailoring: an empty one is worth a warning."""
    return "note" in name or name in ("detail", "details", "personal", "hook", "shared_interest")


def words(text: str) -> list[str]:
    return re.findall(r"[\w'’.-]+", text)


@dataclass
class RowIndex:
    """What the whole file holds, for rules that compare a row with the others.

    Built in one streaming pass before rendering: the distinct names and institutions (few, in a
    real list) and where each personal note first appeared (16 bytes a row, see firstlines.py).
    """

    identities: dict[str, tuple[int, str]] = field(default_factory=dict)  # value -> (line, column)
    lengths: dict[str, set[int]] = field(default_factory=dict)             # first word -> value lengths
    notes: FirstLines | None = None

    @classmethod
    def build(cls, contacts: ContactFile) -> "RowIndex":
        """``contacts`` needs ``columns`` and ``raw_rows()``: a CSV file, or rows from the store."""
        index = cls()
        identity_at = [(contacts.columns.index(c), c) for c in IDENTITY_COLUMNS if c in contacts.columns]
        note_at = [(i, c) for i, c in enumerate(contacts.columns) if is_note_column(c)]

        def note_keys():
            for line, row in contacts.raw_rows():
                index._add_identities(line, row, identity_at)
                for position, column in note_at:
                    if position < len(row):
                        yield _note_key(column, row[position]), line

        index.notes = FirstLines(note_keys())
        return index

    def _add_identities(self, line: int, row: list[str], positions: list[tuple[int, str]]) -> None:
        for position, column in positions:
            value = _squash(row[position]) if position < len(row) else ""
            if len(value) >= 3 and value not in self.identities:
                self.identities[value] = (line, column)
                value_words = words(value)
                if value_words:
                    self.lengths.setdefault(value_words[0].rstrip("."), set()).add(len(value_words))


def _squash(text: str) -> str:
    return " ".join(text.split())


def _note_key(column: str, value: str) -> str:
    """Notes are compared ignoring case and spacing; short ones ("n/a", "TBD") are not notes."""
    value = _squash(value).casefold()
    return f"{column}\0{value}" if len(value) >= 12 else ""


class Checker:
    """Applies every rule to each draft."""

    def __init__(self, template: Template, index: RowIndex | None = None):
        self.template = template
        self.index = index or RowIndex()
        self.required = sorted(template.variables - template.optional - {"email", "contact"})
        self.scanned = sorted(template.variables - set(IDENTITY_COLUMNS) - {"email", "contact"})

    def check(self, draft: Draft) -> list[Problem]:
        contact = draft.contact
        problems = [*self.empty_fields(contact), *self.repeated_notes(contact),
                    *self.other_rows_named(contact)]
        if draft.kind == "outreach":
            problems += too_long(draft)
        if draft.kind == "thank-you":
            problems += ranking_language(draft)
        return problems

    def empty_fields(self, contact: Contact) -> list[Problem]:
        problems = []
        for name in self.required:
            if name in contact.fields and not contact.fields[name]:
                what = "the personal note is empty" if is_note_column(name) else "is empty"
                problems.append(Problem("warning", contact.line, name, f"{what}, but the template uses it"))
        return problems

    def repeated_notes(self, contact: Contact) -> list[Problem]:
        if self.index.notes is None:
            return []
        problems = []
        for name in self.required:
            key = _note_key(name, contact.fields.get(name, "")) if is_note_column(name) else ""
            first = self.index.notes.first(key) if key else None
            if first is not None and first != contact.line:
                problems.append(Problem("warning", contact.line, name,
                                        f"the same note as line {first}, word for word; tailor it"))
        return problems

    def other_rows_named(self, contact: Contact) -> list[Problem]:
        """Another row's name or institution in this row's cells (the template's own text is
        the same for everyone, so only what the CSV fills in is searched)."""
        if not self.index.identities:
            return []
        tokens = words("\n".join(contact.fields.get(c, "") for c in self.scanned))
        found: dict[str, tuple[int, str]] = {}
        for start, token in enumerate(tokens):
            token = token.rstrip(".")
            for size in self.index.lengths.get(token, ()):
                phrase = token if size == 1 else " ".join(tokens[start:start + size]).rstrip(".")
                hit = self.index.identities.get(phrase)
                if hit and hit[0] != contact.line:
                    found.setdefault(phrase, hit)
        if found:  # not a slip when it is this row's own value ("James" may be its first name)
            own = [_squash(contact.fields[c]) for c in IDENTITY_COLUMNS if contact.fields.get(c)]
            own_cells = {_squash(v) for v in contact.fields.values()}
            found = {p: hit for p, hit in found.items() if p not in own_cells and not any(p in v for v in own)}
        return [Problem("warning", contact.line, None,
                        f"mentions {phrase!r}, the {column} of line {line}: a copy-paste slip?")
                for phrase, (line, column) in found.items()]


def too_long(draft: Draft) -> list[Problem]:
    count = len(draft.text.split())
    if count <= COLD_EMAIL_MAX_WORDS:
        return []
    return [Problem("warning", draft.contact.line, None,
                    f"the body is {count} words; cold emails that get answers stay under {COLD_EMAIL_MAX_WORDS}")]


def ranking_language(draft: Draft) -> list[Problem]:
    text = f"{draft.subject}\n{draft.text}"
    problems = []
    for pattern, label in RANKING_PATTERNS:
        match = pattern.search(text)
        if match:
            problems.append(Problem("warning", draft.contact.line, None,
                                    f"ranking language ({label}: {match.group(0)!r}); NRMP rules forbid "
                                    "statements that read as a commitment"))
    return problems
