"""`other_rows_named` looks for another row's name in a message through a table of first words,
a filter of names' first two words, fingerprints and a memory of phrases found missing; here
random sheets are checked against the plain search it stands for: every run of words of the
row's cells (a run may span two cells), compared with every other row's name and institution."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outreach.compose.checks import IDENTITY_COLUMNS, Checker, FirstWords, RowIndex, _squash, words
from outreach.compose.contacts import Contact
from outreach.compose.templates import Template

SAID = re.compile(r"mentions '(.*)', the (\w+) of line (\d+): a copy-paste slip\?")
COLUMNS = ["email", "last_name", "institution", "topic", "note"]
WORDS = ["Chen", "Lee", "St.", "Mary", "University", "of", "Lakeside", "Mount", "Sinai", "paper", "read", "Dr.",
         "A", "Wu", "the", "Ng", "...", "Lee.", "Ng,"]
# Words that start no name: most rows' cells hold few names, so a cell's words alone often say
# whether a row needs searching, and a name that spans two cells must still be found.
FILLER = ["on", "in", "we", "talk", "and", "it", "was", "new", "to", "me"]
phrases = st.lists(st.sampled_from(WORDS), min_size=1, max_size=4).map(" ".join)
texts = st.lists(st.sampled_from(WORDS + FILLER), max_size=14).map(" ".join)
rows = st.lists(st.tuples(phrases, phrases, texts, texts), min_size=1, max_size=12)


class Sheet:
    """Rows shaped as a contacts file, for RowIndex.build."""

    columns = COLUMNS
    rows_hint = 0  # the smallest first-word table: many words share slots, as in a long sheet

    def __init__(self, cells: list[list[str]]):
        self.cells = cells

    def scan(self, observe) -> None:
        for line, row in enumerate(self.cells, start=2):
            observe(line, row)


def plainly_named(contact: Contact, cells: list[list[str]], scanned: list[str]) -> set[tuple[str, int, str]]:
    """(phrase, line, column) of every other row's name or institution the row's cells hold."""
    first: dict[str, tuple[int, str]] = {}
    for line, row in enumerate(cells, start=2):
        for column in IDENTITY_COLUMNS:
            if column in COLUMNS:
                value = _squash(row[COLUMNS.index(column)])
                if len(value) >= 3:
                    first.setdefault(value, (line, column))
    tokens = words("\n".join(contact.fields.get(c, "") for c in scanned))
    found: dict[str, tuple[int, str]] = {}
    for start in range(len(tokens)):
        for end in range(start + 1, len(tokens) + 1):
            phrase = " ".join(tokens[start:end]).rstrip(".")
            if phrase in first and first[phrase][0] != contact.line:
                found.setdefault(phrase, first[phrase])
    own = [_squash(contact.fields[c]) for c in IDENTITY_COLUMNS if contact.fields.get(c)]
    own_cells = {_squash(v) for v in contact.fields.values()}
    return {(p, line, column) for p, (line, column) in found.items()
            if p not in own_cells and not any(p in v for v in own)}


def said_as_plainly(template_dir, sheet_rows: list[tuple[str, str, str, str]]) -> int:
    """Check every row of the sheet twice (the second time round, the phrases found missing are
    remembered), each time against the plain search; the warnings said."""
    template = template_dir / "t.txt"
    template.write_text("Subject: About {{ topic }}\n\nDear Dr. {{ last_name }} of {{ institution }}, {{ note }}\n")
    cells = [[f"p{number}@example.edu", *values] for number, values in enumerate(sheet_rows)]
    checker = Checker(Template(template), RowIndex.build(Sheet(cells)))
    total = 0
    for _ in range(2):
        for line, row in enumerate(cells, start=2):
            contact = Contact(line, dict(zip(COLUMNS, row, strict=True)), row[0])
            said = [SAID.fullmatch(p.text) for p in checker.other_rows_named(contact)]
            found = {(m[1], int(m[3]), m[2]) for m in said if m}
            assert len(found) == len(said)
            assert found == plainly_named(contact, cells, checker.scanned)
            total += len(found)
    return total


@settings(max_examples=150, deadline=None)
@given(rows)
def test_the_index_finds_what_a_plain_search_finds(tmp_path_factory, sheet_rows):
    said_as_plainly(tmp_path_factory.mktemp("t"), sheet_rows)


@pytest.mark.parametrize("institution, note, topic", [
    ("Mount Sinai", "we read it on Mount", "Sinai talk"),   # the note's last word, the topic's first
    ("Mount ... Lee", "we read it on Mount", "... Lee"),    # a second word that is only dots
    ("Mount Sinai", "Mount", "Sinai"),                      # one-word cells
])
def test_a_name_across_two_cells_is_found(tmp_path, institution, note, topic):
    # The checker searches the note, then the topic: the name runs from one into the other.
    assert said_as_plainly(tmp_path, [("Wu", institution, "talk", "new"), ("Ng", "Lakeside", topic, note)]) == 2

@settings(max_examples=100, deadline=None)
@given(st.lists(phrases, min_size=1, max_size=30), st.integers(min_value=0, max_value=100_000))
def test_every_name_s_first_two_words_may_follow(names, expected):
    table = FirstWords(expected)
    for name in names:
        table.add(words(name))
    for name in names:
        first, *rest = [w.rstrip(".") for w in words(name)]
        assert not rest or table.may_follow(first, rest[0])
