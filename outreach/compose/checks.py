"""Lint rules over rendered drafts: each a small pure function returning problems.

Errors (bad addresses, undefined variables, missing attachments, header injection, empty
subjects) come from reading and rendering; the rules here add the warnings that protect an
applicant's reputation: empty or copy-pasted personal lines, another row's name left in the
message, cold emails that run long, and the NRMP rules: ranking-commitment language in any
message (a warning), asking a program for ranking information (an error), and a commitment
to a second program (an error naming the first, from the store and the file).
"""

from __future__ import annotations

import functools
import itertools
import operator
import re
from collections import Counter, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Any, NamedTuple, Protocol

from outreach.compose.contacts import Contact, Problem
from outreach.compose.firstlines import Fingerprints
from outreach.compose.templates import NO_SUCH_COLUMN, Draft, Template
from outreach.persona import borrowed_details
from outreach.suggest import closest

COLD_EMAIL_MAX_WORDS = 200
# Columns that name a person or a place: if another row's value shows up in a message, it is
# almost always a copy-paste slip ("Dear Dr. Chen" in the note to Dr. Okafor).
IDENTITY_COLUMNS = ("last_name", "full_name", "name", "institution", "program", "hospital",
                    "university", "school", "department", "interviewer", "lab")
# Each names the shape of a sentence that tells a program how it will be ranked. They need the
# applicant's own list or choice ("my", "you", "your program") so that "the #1 trauma center",
# "top-notch training" or "ranked among the top programs" are not flagged.
_DEGREE = r"(?:first|1st|#\s*1|no\.\s*1|number\s+(?:one|1)|highly|high|at\s+the\s+top|top|above\s+\w+)"
_YOU = r"(?:you|your(?:\s+[\w-]+){0,2}|the\s+program|this\s+program)"


@dataclass(frozen=True)
class Phrase:
    """A regular expression, what it means, and words one of which any match contains: checked
    first with ``in`` (most messages hold none of them), they keep `check` fast. The expression
    is compiled the first time a message holds a trigger (compiling all of them took 2 ms of
    every start)."""

    source: str
    label: str
    triggers: tuple[str, ...]

    @functools.cached_property
    def pattern(self) -> re.Pattern:
        return re.compile(self.source, re.IGNORECASE)

    @functools.cached_property
    def ascii_pattern(self) -> re.Pattern:
        """The expression for text that :func:`ascii_alike` says it reads as :attr:`pattern` does:
        the same matches, found in about half the time."""
        return re.compile(self.source, re.IGNORECASE | re.ASCII)


def ascii_alike(text: str) -> bool:
    """Whether ``re`` reads ``text`` the same with and without ``re.ASCII``: ASCII, and none of the
    four separators (0x1c-0x1f) that only Unicode's ``\\s`` takes for white space (``\\w``, ``\\b`` and
    the case of ASCII letters are the same in both)."""
    return text.isascii() and not any(map(text.__contains__, "\x1c\x1d\x1e\x1f"))


def _phrases(*specs: tuple[str, str, tuple[str, ...]]) -> list[Phrase]:
    return [Phrase(source, label, triggers) for source, label, triggers in specs]


COMMITMENT_PHRASES = _phrases(
    (rf"\brank(?:ed|ing|s)?\s+{_YOU}\b[^.!?\n]{{0,30}}?\b{_DEGREE}(?!\w)",
     "a statement about how you will rank the program", ("rank",)),
    (rf"\b(?:will|plan\s+to|intend\s+to|going\s+to)\s+(?:be\s+)?rank(?:ing)?\s+{_YOU}\b",
     "a promise about your rank list", ("rank",)),
    (r"(?:\b(?:top|first|1st)|#\s*1|\bnumber\s+(?:one|1))\s+choice\b(?!\s+of\b)",
     "\"top choice\" / \"first choice\"", ("choice",)),
    (r"(?:\b(?:first|top|1st|highest|head)|#\s*1|\bnumber\s+(?:one|1))\s+(?:of|on)\s+my\s+(?:rank(?:ing)?\s+)?list\b",
     "\"first on my list\"", ("list",)),
    (r"\bmy\s+(?:#\s*1|no\.\s*1|number\s+(?:one|1))(?!\w)|\bmy\s+(?:top|first)\s+(?:program|pick|spot|place)\b",
     "\"my number one\"", ("#", "no.", "number", "top", "first")),
    (r"\bonly\s+program\s+(?:I|that\s+I)\b", "\"the only program I ...\"", ("only",)),
    (r"\bcommit(?:ted|ment)?\s+to\s+(?:your|this|the)\s+program\b", "a commitment to the program", ("commit",)),
)
# Asking how you will be (or were) ranked: requesting it breaks the Match Participation Agreement.
RANK_QUESTIONS = _phrases(
    ((r"\b(?:will|would|do|does|did|could|can|are|is)\s+(?:you|your\s+(?:program|team|committee))\s+"
      r"(?:[\w-]+\s+){0,2}rank(?:ing)?\s+me\b"), "will you rank me", ("rank",)),
    (r"\bwhere\s+(?:do|does|would|will|might)\s+I\s+(?:stand|fall|land|place|rank)\b", "where do I stand", ("where",)),
    (r"\bwhere\s+I\s+(?:stand|fall|land|am|rank)\s+on\s+your\s+(?:rank(?:ing)?\s+)?list\b", "where I stand",
     ("where",)),
    (r"\b(?:am|was|will)\s+I\s+(?:be\s+)?ranked\b", "am I ranked", ("rank",)),
    (r"\bhow\s+(?:highly\s+)?(?:I\s+am|I'm|I\s+was|I\s+will\s+be|I'll\s+be)\s+ranked\b", "how I am ranked",
     ("rank",)),
    (r"\b(?:my|our)\s+(?:position|place|standing|spot|rank)\s+on\s+your\s+(?:rank(?:ing)?\s+)?list\b",
     "my place on your list", ("list",)),
)


def find_phrases(phrases: list[Phrase], text: str, present: frozenset[str]) -> Iterator[tuple[re.Match, Phrase]]:
    """The first match of each phrase in ``text`` (``present``: the trigger words it holds), in the list's order."""
    alike = ascii_alike(text)
    for phrase in phrases:
        if not present.isdisjoint(phrase.triggers):
            match = (phrase.ascii_pattern if alike else phrase.pattern).search(text)
            if match:
                yield match, phrase


class Scanned(NamedTuple):
    """A message's subject and body, searched once for the NRMP phrases (a tuple: made on every row)."""

    text: str
    commitments: list[tuple[re.Match, Phrase]]
    questions: list[tuple[re.Match, Phrase]]


# Every trigger of every phrase, once: most messages hold none and skip every pattern.
_TRIGGERS = tuple(sorted({t for p in COMMITMENT_PHRASES + RANK_QUESTIONS for t in p.triggers}))


def scan(draft: Draft, windows: CellWindows | None = None) -> Scanned:
    """The draft's subject and body searched, once a draft (kept on it for as long as they are
    the same text): the checks search them, and `draft` asks again for the commitment it records.
    With the ``windows`` of the template that rendered it, a message whose cells make no trigger
    word is known to hold none without searching the template's own text again."""
    text = f"{draft.subject}\n{draft.text}"
    kept = draft.scanned
    if kept is not None and kept.text == text:
        found: Scanned = kept
        return found
    present = windows.triggers(draft) if windows is not None else None
    draft.rendered = None  # the values were for this search: a draft held to be written need not keep them
    if present is None:
        present = trigger_words(text)
    if not present:
        found = Scanned(text, [], [])
    else:
        found = Scanned(text, list(find_phrases(COMMITMENT_PHRASES, text, present)),
                        list(find_phrases(RANK_QUESTIONS, text, present)))
    draft.scanned = found
    return found


def trigger_words(text: str) -> frozenset[str]:
    """The trigger words ``text`` casefolded holds (a search each beats one regex for all)."""
    folded = text.casefold()
    if not any(map(folded.__contains__, _TRIGGERS)):  # the usual text: no set made
        return _NONE
    return frozenset(filter(folded.__contains__, _TRIGGERS))


# A trigger word found in a message but not in the template's own text lies within this many
# characters of a cell (or of where an empty one was): each character folds to one or more.
_REACH = max(map(len, _TRIGGERS)) - 1
_TRIGGER_CHARS = frozenset("".join(_TRIGGERS))


def blocks_triggers(char: str) -> bool:
    """Whether no trigger word can hold any part of ``char`` casefolded (white space, most punctuation)."""
    return _TRIGGER_CHARS.isdisjoint(char.casefold())


class CellWindows:
    """Where the cells can make a trigger word in a message of a template whose subject and body
    are text and ``{{ variable }}``s, so that each row searches only there: its cells, with the
    :data:`_REACH` characters of the template's text on either side (a word may straddle a cell
    and the text next to it). Cells closer together than that, with no character between them
    that :func:`blocks_triggers`, share one window. The template's own text is searched once:
    if it holds a trigger, every message does, and is searched in full.

    The message is the subject stripped, a line break, and the body with CRLFs made LFs: what
    the stripping and the CRLFs take out is white space next to white space or to the text's
    start, which no trigger word holds, so they change no trigger found. ``str.casefold`` folds
    each character on its own, so a window's folded text is a piece of the message's. Each
    window's answer is remembered by its cells' values (titles and institutions repeat), unless
    they seldom repeat in the first :data:`WINDOW_TRIAL` rows (a personal note never does). Held
    to the search of the whole message by tests/compose/test_cell_windows.py."""

    def __init__(self, template: Template, windows: list[tuple[tuple[str, ...], str]]):
        self.template = template
        # The windows of the same cells (a topic in the subject and the body) are looked up once.
        # Per cells: how to take their values from a row's context (one value, or a tuple of
        # several), whether they are several, the texts of their windows to format them into, and
        # the trigger words found so far by those values (an empty dict once it stops remembering).
        forms: dict[tuple[str, ...], list[str]] = {}
        for names, form in windows:
            forms.setdefault(names, []).append(form)
        self._values = [operator.itemgetter(*names) for names in forms]
        self._several = [len(names) > 1 for names in forms]
        self._forms = list(forms.values())
        self._answers: list[dict[Any, frozenset[str]]] = [{} for _ in forms]
        self._rows = 0

    @classmethod
    def of(cls, template: Template) -> CellWindows | None:
        """The windows of ``template``'s subject and body; None when either part is more than
        text and variables, or the template's own text holds a trigger word."""
        subject, body = template.headers["subject"].flat, template.body.flat
        if subject is None or body is None:
            return None
        texts, names = [""], []  # the template's text around each variable, and the variables
        for text, name in (*subject, ("\n", None), *body):
            if name is None:
                texts[-1] += text
            else:
                names.append(name)
                texts.append("")
        if any(map(trigger_words, texts)):
            return None
        windows: list[tuple[list[str], list[str]]] = []  # each window's variables, and its text to format
        for at, name in enumerate(names):
            before = texts[at]
            if at and len(before) < _REACH and not any(map(blocks_triggers, before)):
                windows[-1][0].append(name)  # too close to the cell before: one window for both
                windows[-1][1].extend([_escaped(before), "%s"])
            else:
                if at:
                    windows[-1][1].append(_escaped(before[:_REACH]))
                windows.append(([name], [_escaped(before[-_REACH:]), "%s"]))
        if windows:
            windows[-1][1].append(_escaped(texts[-1][:_REACH]))
        return cls(template, [(tuple(joined), "".join(form)) for joined, form in windows])

    def triggers(self, draft: Draft) -> frozenset[str] | None:
        """The trigger words in ``draft``'s message (rendered by this template from the values it
        carries): those of its windows, since the template's own text holds none. None when the
        draft was not rendered so, or a value was written with ``str()`` (not remembered)."""
        rendered = draft.rendered
        if rendered is None or rendered[0] is not self.template:
            return None
        context = rendered[1]
        self._rows += 1
        if self._rows == WINDOW_TRIAL:
            self._forget_unrepeated()
        found = _NONE
        try:
            for at, values, answers in zip(itertools.count(), self._values, self._answers):
                key = values(context)
                held = answers.get(key)
                if held is None and (held := self._search(at, key)) is None:
                    return None
                if held:
                    found |= held
        except (KeyError, TypeError):  # a variable it does not hold, or a value that is no key
            return None
        return found

    def _search(self, at: int, key: Any) -> frozenset[str] | None:
        """The trigger words of the windows of cells ``at`` for values ``key`` not met before (their
        texts searched together, joined by a NUL, which no trigger word holds), remembered while it
        remembers; None for a value written with ``str()``, which is not remembered (nor searched here)."""
        if not all(type(v) is str for v in key) if self._several[at] else type(key) is not str:
            return None
        held = trigger_words("\x00".join([form % key for form in self._forms[at]]))
        answers = self._answers[at]
        if self._rows < WINDOW_TRIAL or answers:
            if len(answers) >= MAX_RECENT:
                answers.clear()
            answers[key] = held
        return held

    def _forget_unrepeated(self) -> None:
        """Stop remembering the windows whose values mostly came once in the first rows."""
        for answers in self._answers:
            if len(answers) > WINDOW_TRIAL // 2:
                answers.clear()


_NONE: frozenset[str] = frozenset()
WINDOW_TRIAL = 1024  # rows after which a window whose values seldom repeat stops remembering them


def _escaped(text: str) -> str:
    """The template's ``text`` as ``%`` writes it."""
    return text.replace("%", "%%")


# Who the message is to, for the rules about programs: the first of these columns that is filled.
PROGRAM_COLUMNS = ("program", "institution", "hospital")
NAME_COLUMNS = ("first_name", "last_name", "name", "full_name", "interviewer")
# Near-duplicate notes are looked for among the interviewers of one program (an interview log's
# column): they compare notes after the interview day. Mentors who share an institution rarely do,
# and formulaic cold-email notes ("I read your 2021 paper in ...") would all be flagged.
NOTES_GROUPED_BY = "program"
NEAR_DUPLICATE = 0.85       # difflib ratio of two notes' words, names removed
NEAR_DUPLICATE_PEERS = 12   # each note is compared with the previous notes of its program, at most this many
NEAR_DUPLICATE_MIN_WORDS = 6
MAX_PROGRAMS = 10_000       # programs whose last notes are kept (an interview log has a few dozen)
MAX_RECENT = 4_096          # names and institutions remembered as met, so a repeated one is indexed once
MAX_WORD_BITS = 8_192       # words whose first-word bits are remembered (everyday words repeat on every row)


@dataclass(frozen=True)
class Commitment:
    """A commitment-style sentence already written to a program (in the store or earlier in the file)."""

    program: str       # as the contact row wrote it
    when: str          # "2026-11-20", or "line 4 of this file"
    phrase: str


def is_note_column(name: str) -> bool:
    """Personal-note columns are the point of tailoring: an empty one is worth a warning."""
    return "note" in name or name in ("detail", "details", "personal", "hook", "shared_interest")


WORD = re.compile(r"[\w'’.-]+")
# For ASCII text, in C: each byte that cannot be part of a WORD becomes a space, so ``split``
# finds the words (ASCII's \w is letters, digits and _); and each white space byte (as ``split``
# knows it) becomes a space and every other byte an x, so the words are counted as " x" pairs.
_WORD_BYTES = bytes(b if b < 128 and (chr(b).isalnum() or chr(b) in "_'.-") else 0x20 for b in range(256))
_SPACE_MARKS = bytes(0x20 if chr(b).isspace() else 0x78 for b in range(256))


def words(text: str) -> list[str]:
    """``WORD``'s matches (an ASCII text's four times faster: tests/compose/test_text_counts.py)."""
    if text.isascii():
        return text.encode("ascii").translate(_WORD_BYTES).decode("ascii").split()
    return WORD.findall(text)


def word_count(text: str) -> int:
    """``len(text.split())`` without making the words, for ASCII text."""
    if text.isascii():
        marks = text.encode("ascii").translate(_SPACE_MARKS)
        return marks.count(b" x") + (marks[:1] == b"x")
    return len(text.split())


class RawRows(Protocol):
    """What :meth:`RowIndex.build` reads: a :class:`~outreach.compose.contacts.ContactFile`, or store rows."""

    columns: list[str]

    @property
    def rows_hint(self) -> int: ...

    def scan(self, observe: Callable[[int, list[str]], None]) -> None: ...


class FirstWords:
    """For each word that starts a name or institution, how many words those have: bit k-1 set
    for k words (bit 7: 8 or more) in two byte slots of a table, picked by two parts of the
    word's hash; a word's counts are the bits both its slots hold (read in
    :meth:`Checker.other_rows_named`). Words that share a slot share their bits, so a word may
    be promised a name that is not there (a lookup that finds nothing), never hide one. Two slots
    a word let the table be half as big for nearly as few false promises as one slot in a table
    twice the size. Sized from the rows expected (at most 4 MB), yet at a million distinct names
    most notes hold a word promised some name.

    So a name of two or more words also sets three bits of ``pairs`` for its first two words (both
    without the dots that end them): a word promised only longer names is looked at only when the
    word after it may be one's second word (:meth:`may_follow`). At most 2 MB: about 0.5% of the
    pairs of a million distinct names' sheet pass by chance (with two bits in 1 MB, 4.5%: one
    everyday pair passing, such as "approach on", sent a third of the rows to the full search)."""

    def __init__(self, expected: int):
        slots = 1 << max(10, min(22, (2 * expected).bit_length()))
        self.mask = slots - 1
        self.slots = bytearray(slots)
        pair_bits = 1 << max(10, min(24, (8 * expected).bit_length()))
        self.pair_mask = pair_bits - 1
        self.pairs = bytearray(pair_bits >> 3)
        self.longest = 0
        self._counts: dict[int, tuple[int, ...]] = {}  # bits -> counts, worked out once each

    def add(self, value_words: list[str]) -> None:
        """A name's or institution's words (at least one), as :func:`words` split it."""
        count, first = len(value_words), value_words[0].rstrip(".")
        digest, bit = hash(first), 1 << (min(count, 8) - 1)
        self.slots[digest & self.mask] |= bit
        self.slots[digest >> 32 & self.mask] |= bit
        if count > 1:
            for place in self._pair_places(first, value_words[1].rstrip(".")):
                self.pairs[place >> 3] |= 1 << (place & 7)
        if count > self.longest:
            self.longest, self._counts = count, {}

    def _pair_places(self, first: str, second: str) -> tuple[int, int, int]:
        digest = hash((first, second))
        return digest & self.pair_mask, digest >> 20 & self.pair_mask, digest >> 40 & self.pair_mask

    def may_follow(self, first: str, second: str) -> bool:
        """Whether a name of two or more words may begin ``first second`` (words without their end dots)."""
        pairs = self.pairs
        return all(pairs[place >> 3] >> (place & 7) & 1 for place in self._pair_places(first, second))

    def counts(self, bits: int) -> tuple[int, ...]:
        """The word counts a slot's ``bits`` stand for."""
        found = self._counts.get(bits)
        if found is None:
            found = tuple(k + 1 for k in range(7) if bits >> k & 1)
            found = self._counts[bits] = (*found, *range(8, self.longest + 1)) if bits & 0x80 else found
        return found


class RowIndex:
    """What the whole file holds, for rules that compare a row with the others.

    Built in the same streaming pass as the address index (``contacts.scan``), in bounded
    memory: each name and institution as a fingerprint with the line and column it first
    appeared on (12 bytes, firstlines.py) and its first word in :class:`FirstWords`; where each
    personal note first appeared (12 bytes a row); and the notes that nearly repeat one of the
    last few to the same program. The rules ask it about the rows it read.
    """

    def __init__(self, columns: list[str], headers: dict[str, str], rows_hint: int = 0):
        self.headers = headers   # every name a cell is read under -> its header
        self._identity_at = [(columns.index(c), number) for number, c in enumerate(IDENTITY_COLUMNS)
                             if c in columns]
        self.identities = Fingerprints(rows_hint * len(self._identity_at))  # value -> line << 4 | column
        self.first_words = FirstWords(rows_hint * len(self._identity_at))
        self._recent: dict[str, None] = {}  # values met lately: most sheets repeat their institutions
        self._note_at = [(i, c) for i, c in enumerate(columns) if is_note_column(c)]
        self.notes: Fingerprints | None = Fingerprints(rows_hint * len(self._note_at)) if self._note_at else None
        self._note_columns = frozenset(column for _, column in self._note_at)
        self._program_at = [columns.index(NOTES_GROUPED_BY)] if NOTES_GROUPED_BY in columns else []
        self._name_at = [columns.index(c) for c in NAME_COLUMNS if c in columns]
        # program -> its last notes (line, column, text, words, word counts); at most MAX_PROGRAMS programs
        self._peers: dict[str, deque[tuple[int, str, str, list[str], Counter]]] = {}
        self.near_notes: dict[tuple[int, str], tuple[int, float]] = {}  # (line, column) -> (line, ratio)

    @classmethod
    def build(cls, contacts: RawRows) -> RowIndex:
        """``contacts``: a CSV file, or rows from the store shaped like one."""
        header = getattr(contacts, "header", None)  # a CSV file's: the headers as the sheet wrote them
        columns = contacts.columns
        index = cls(columns, header.names if header is not None else {c: c for c in columns}, contacts.rows_hint)
        contacts.scan(index.add_row)
        index.identities.freeze()
        if index.notes is not None:
            index.notes.freeze()
        index._recent.clear()
        index._peers.clear()
        return index

    def add_row(self, line: int, row: list[str]) -> None:
        for position, number in self._identity_at:
            if position < len(row):
                self._add_identity(line, _squash(row[position]), number)
        if not self._note_at:
            return
        program = _first_filled(row, self._program_at)
        names = {w.casefold().rstrip(".") for p in self._name_at if p < len(row) for w in words(row[p])} \
            if program else set()
        for position, column in self._note_at:
            if position < len(row):
                key = _note_key(column, row[position])
                if key:
                    self.notes.add(key, line)  # type: ignore[union-attr]
                if program:
                    self._add_peer(program, line, column, row[position], names)

    def _add_identity(self, line: int, value: str, number: int) -> None:
        if len(value) < 3 or value in self._recent:
            return
        if len(self._recent) >= MAX_RECENT:
            self._recent.clear()
        self._recent[value] = None
        self.identities.add(value, line << 4 | number)
        value_words = words(value)
        if value_words:
            self.first_words.add(value_words)

    def _add_peer(self, program: str, line: int, column: str, text: str, names: set[str]) -> None:
        """Compare a note with the last :data:`NEAR_DUPLICATE_PEERS` notes to its program, newest
        first; remember a near repeat."""
        peers = self._peers.pop(program, None)
        if peers is None:
            peers = deque(maxlen=NEAR_DUPLICATE_PEERS)
            if len(self._peers) >= MAX_PROGRAMS:
                del self._peers[next(iter(self._peers))]  # the program not seen for longest
        self._peers[program] = peers
        note_words = [w for w in (w.casefold().rstrip(".") for w in words(text)) if w not in names]
        counts = Counter(note_words)
        if len(note_words) >= NEAR_DUPLICATE_MIN_WORDS:
            for other_line, _, other_text, other_words, other_counts in reversed(peers):
                if other_line == line or _squash(other_text).casefold() == _squash(text).casefold():
                    continue
                ratio = similarity(note_words, other_words, (counts, other_counts))
                if ratio >= NEAR_DUPLICATE:
                    self.near_notes[(line, column)] = (other_line, ratio)
                    break
        peers.append((line, column, text, note_words, counts))

    def first_note(self, column: str, key: str, line: int) -> int | None:
        """The line where the note ``key`` (:func:`_note_key` of ``column``) first appeared, asked by
        the row on ``line``: under a column this index read, that row stored it, so no search is
        needed unless another row stored the same hash (Fingerprints.first_of_own); under another
        name (a header's alias), a search."""
        assert self.notes is not None
        if column in self._note_columns:
            return self.notes.first_of_own(key, line)
        return self.notes.first(key)

    def named(self, phrase: str) -> tuple[int, str] | None:
        """(line, column) where ``phrase`` was first a name or institution, or None."""
        number = self.identities.first(phrase)
        return None if number is None else (number >> 4, IDENTITY_COLUMNS[number & 15])


def _squash(text: str) -> str:
    """White space runs made one space, ends trimmed; printable ASCII with nothing to change (most
    cells) is returned as it is, without splitting it."""
    if text.isascii() and text.isprintable() and "  " not in text and text[:1] != " " and text[-1:] != " ":
        return text
    return " ".join(text.split())


def _first_filled(row: list[str], positions: list[int]) -> str:
    for position in positions:
        value = _squash(row[position]).casefold() if position < len(row) else ""
        if value:
            return value
    return ""


def program_of(fields: dict[str, str]) -> tuple[str, str] | None:
    """(key, as written) of the program a row writes to: its program, institution or hospital."""
    for column in PROGRAM_COLUMNS:
        value = _squash(fields.get(column, ""))
        if value:
            return value.casefold(), value
    return None


def similarity(a: list[str], b: list[str], counts: tuple[Counter, Counter] | None = None) -> float:
    """How alike two notes are, word by word: difflib's ratio, 2 x matching words / all words.

    Words, not characters, so one changed word in a twenty-word note still reads as the copy it
    is (0.95), while notes that share only the usual small words stay far apart. Two upper
    bounds (the lengths, then the words in common, from ``counts`` when the caller has them)
    settle most pairs before difflib is asked (0.0: below :data:`NEAR_DUPLICATE`)."""
    total = len(a) + len(b)
    if not total or 2 * min(len(a), len(b)) < NEAR_DUPLICATE * total:
        return 0.0
    ca, cb = counts or (Counter(a), Counter(b))
    if 2 * sum((ca & cb).values()) < NEAR_DUPLICATE * total:
        return 0.0
    return SequenceMatcher(None, a, b, autojunk=False).ratio()


def _note_key(column: str, value: str) -> str:
    """Notes are compared ignoring case and spacing; short ones ("n/a", "TBD") are not notes."""
    value = _squash(value).casefold()
    return f"{column}\0{value}" if len(value) >= 12 else ""


# What a cell may start (Checker._starts_in): () for nothing, else (whether a name may start and go on
# within it, its first word, its last word if that is promised a longer name).
CellStarts = tuple[()] | tuple[bool, str | None, str | None]


class Checker:
    """Applies every rule to each draft."""

    def __init__(self, template: Template, index: RowIndex | None = None,
                 commitments: dict[str, Commitment] | None = None, sender=None):
        """``commitments``: program key -> the first commitment-style sentence to it; the checker adds
        the file's own as it goes (checkers of A/B variants share one dict). ``sender``: an
        email.headerregistry.Address, or None when none is configured."""
        self.template = template
        self.index = index if index is not None else RowIndex([], {})
        self.sender = sender
        self.required = sorted(template.variables - template.optional - {"email", "contact"})
        self.notes = [name for name in self.required if is_note_column(name)]
        self.scanned = sorted(template.variables - set(IDENTITY_COLUMNS) - {"email", "contact"})
        self.commitments = commitments if commitments is not None else {}
        self.windows = CellWindows.of(template)
        self._hints: dict[str, str] = {}
        # Phrases the index was asked about and does not hold: in a long sheet the first-word table
        # promises a name for some everyday words ("paper", "and"), which then cost one look-up each.
        self._unnamed: dict[str, None] = {}
        self._word_bits: dict[str, int] = {}  # word -> its FirstWords bits, for the words met lately
        self._cells: dict[str, CellStarts] = {}  # cell -> _starts_in's answer, for the cells met lately
        self._split: dict[str, tuple[list[str], list[str]]] = {}  # the current row's cells split in words

    def column_hint(self, name: str) -> str:
        """What to say about a variable the sheet has no column for: the column it most likely
        meant ("the sheet has 'Research Topic' — did you mean research_topic?"), once per name."""
        if name not in self._hints:
            headers = self.index.headers
            meant = closest(name, headers)
            self._hints[name] = (f"the sheet has {headers[meant]!r} — did you mean {meant}?" if meant
                                 else NO_SUCH_COLUMN)
        return self._hints[name]

    def check(self, draft: Draft) -> list[Problem]:
        """Every rule, in this order; the rules that cannot apply to this row are not asked."""
        contact = draft.contact
        fields = contact.fields
        scanned = scan(draft, self.windows)
        problems = []
        if "" in map(fields.get, self.required):
            problems += self.empty_fields(contact)
        if self.notes:
            problems += self.repeated_notes(contact)
        if self.index.near_notes:
            problems += self.near_duplicate_notes(contact)
        problems += self.other_rows_named(contact)
        if scanned.commitments or scanned.questions:
            problems += ranking_language(contact.line, scanned)
            problems += rank_questions(contact.line, scanned)
            problems += self.second_program(contact, scanned)
        problems += self.not_the_senders(draft, scanned.text)
        if draft.kind == "outreach":
            problems += too_long(draft)
        return problems

    def near_duplicate_notes(self, contact: Contact) -> list[Problem]:
        if not self.index.near_notes:
            return []
        problems = []
        for name in self.notes:
            hit = self.index.near_notes.get((contact.line, name))
            if hit is not None:
                problems.append(Problem("warning", contact.line, name,
                                        f"{hit[1]:.0%} the same as the note on line {hit[0]} to the same program "
                                        "(names left out); it reads as copy-pasted: tailor it"))
        return problems

    def second_program(self, contact: Contact, scanned: Scanned) -> list[Problem]:
        """Remember this row's commitment, if any, and say when another program already had one."""
        phrase = first_commitment(scanned)
        program = program_of(contact.fields) if phrase is not None else None
        if phrase is None or program is None:
            return []
        problems = second_commitment(contact.line, program, phrase, self.commitments)
        self.commitments.setdefault(program[0], Commitment(program[1], f"line {contact.line} of this file", phrase))
        return problems

    def not_the_senders(self, draft: Draft, text: str) -> list[Problem]:
        """A placeholder left in, or the example applicant's details under someone else's name, in
        ``text``: the subject and body as :func:`scan` joined them."""
        name, addr = (self.sender.display_name, self.sender.addr_spec) if self.sender else (None, None)
        found = borrowed_details(text, name, addr)
        if not found:
            return []
        whose = "a placeholder" if found[0].startswith("[[") else f"the example applicant's details (not {addr})"
        return [Problem("error", draft.contact.line, None,
                        f"the message still carries {whose}: {', '.join(found)}; put your own in "
                        f"{self.template.path}")]

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
        for name in self.notes:
            key = _note_key(name, contact.fields.get(name, ""))
            first = self.index.first_note(name, key, contact.line) if key else None
            if first is not None and first != contact.line:
                problems.append(Problem("warning", contact.line, name,
                                        f"the same note as line {first}, word for word; tailor it"))
        return problems

    def other_rows_named(self, contact: Contact) -> list[Problem]:
        """Another row's name or institution in this row's cells (the template's own text is
        the same for everyone, so only what the CSV fills in is searched)."""
        index = self.index
        if not len(index.identities):
            return []
        cells = [contact.fields.get(c, "") for c in self.scanned]
        self._split = {}
        starts = list(map(self._starts_in, cells))
        # The usual row: no word of it is promised a name (told in C), or none that can start one here.
        if not any(starts) or not self._may_start_name(cells, starts):
            return []
        # The row's words are its cells' words in turn (no word spans two cells; a phrase may).
        split = [self._split.get(cell) or _cell_words(cell) for cell in cells]
        tokens = list(itertools.chain.from_iterable(cell_tokens for cell_tokens, _ in split))
        stripped = list(itertools.chain.from_iterable(cell_stripped for _, cell_stripped in split))
        bits_of = self._bits_of(stripped)
        found: dict[str, tuple[int, str]] = {}
        unnamed = self._unnamed
        # Only the words that may start a name are visited: picked in C, by their remembered bits.
        for start in itertools.compress(itertools.count(), map(bits_of.__getitem__, stripped)):
            token = stripped[start]
            longer = self._may_go_on(stripped, start)
            for size in index.first_words.counts(bits_of[token]):
                if size > 1 and not longer:
                    break
                phrase = token if size == 1 else " ".join(tokens[start:start + size]).rstrip(".")
                hit = None if phrase in unnamed else index.named(phrase)
                if hit is None:
                    if size == 1:  # the word alone names no one: its promise of a one-word name is dropped
                        bits_of[token] &= ~1
                    if len(unnamed) >= MAX_RECENT:
                        unnamed.clear()
                    unnamed[phrase] = None
                elif hit[0] != contact.line:
                    found.setdefault(phrase, hit)
        if found:  # not a slip when it is this row's own value ("James" may be its first name)
            own = [_squash(contact.fields[c]) for c in IDENTITY_COLUMNS if contact.fields.get(c)]
            own_cells = {_squash(v) for v in contact.fields.values()}
            found = {p: hit for p, hit in found.items() if p not in own_cells and not any(p in v for v in own)}
        return [Problem("warning", contact.line, None,
                        f"mentions {phrase!r}, the {column} of line {line}: a copy-paste slip?")
                for phrase, (line, column) in found.items()]

    def _may_start_name(self, cells: list[str], starts: list[CellStarts]) -> bool:
        """Whether a name may start in the row's ``cells``: in a cell (``starts``, each cell's
        :meth:`_starts_in`), or at a cell's last word, promised a longer name, that the next cell's
        first word may go on (a phrase may span two cells; the row's last word starts no longer name
        than the words left, and a name that short is promised in its own right). A cell with no
        promised word is split for its first word only when such a last word comes before it."""
        trailing = None  # the last word so far, if it is promised a name of two or more words
        for cell, found in zip(cells, starts, strict=True):
            if not found and trailing is None:
                continue  # no name starts in it, and any word of it leaves nothing trailing
            inside, first, last = found or (False, *_first_word(cell), None)
            if inside or (trailing is not None and first is not None
                          and self.index.first_words.may_follow(trailing, first)):
                return True
            if first is not None:
                trailing = last
        return False

    def _starts_in(self, cell: str) -> CellStarts:
        """() if no word of ``cell`` is promised a name; else whether a name may start and go on
        within it: a word promised a one-word name, or a longer one that the next word may go on
        (:meth:`_may_go_on`); the cell's first word, and its last word if that is promised a
        longer name (else None). Remembered by the cell's value (titles, topics and first names
        repeat from row to row)."""
        known = self._cells.get(cell)
        if known is not None:
            return known
        _, stripped = self._split[cell] = _cell_words(cell)  # for this row's search, if it comes to that
        bits_of = self._bits_of(stripped)
        found: CellStarts = ()
        if any(map(bits_of.__getitem__, stripped)):
            inside = any(bits_of[stripped[start]] & 1 or self._may_go_on(stripped, start)
                         for start in itertools.compress(itertools.count(), map(bits_of.__getitem__, stripped)))
            found = (inside, stripped[0], stripped[-1] if bits_of[stripped[-1]] & ~1 else None)
        if len(self._cells) >= MAX_RECENT:
            self._cells.clear()
        self._cells[cell] = found
        return found

    def _may_go_on(self, stripped: list[str], start: int) -> bool:
        """Whether a name of two or more words may start at ``stripped[start]``: the word after it may
        be such a name's second word."""
        return start + 1 < len(stripped) and self.index.first_words.may_follow(stripped[start], stripped[start + 1])

    def _bits_of(self, stripped: list[str]) -> dict[str, int]:
        """Every word's bits in the first-word table (0: it starts no name), remembered by word
        (at most :data:`MAX_WORD_BITS`): a row's words are mostly the sheet's everyday words, so
        only its new ones are hashed here, one at a time. A word found to be no one-word name
        loses that bit here: a million-row sheet's table promises some name to a few everyday
        words of most notes, which then need no search in later rows."""
        known = self._word_bits
        new = set(stripped).difference(known)
        if len(known) + len(new) > MAX_WORD_BITS:
            known.clear()
            new = set(stripped)
        slots, mask = self.index.first_words.slots, self.index.first_words.mask
        for token in new:
            digest = hash(token)  # its two FirstWords slots
            known[token] = slots[digest & mask] & slots[digest >> 32 & mask]
        return known


def _first_word(cell: str) -> tuple[str | None]:
    """A cell's first word without the dots that end it, or None when it has none."""
    tokens = words(cell)
    return (tokens[0].rstrip(".") if tokens else None,)


def _cell_words(cell: str) -> tuple[list[str], list[str]]:
    """A cell's words, and each without the dots that end it."""
    tokens = words(cell)
    return tokens, list(map(str.rstrip, tokens, itertools.repeat(".")))


def too_long(draft: Draft) -> list[Problem]:
    count = word_count(draft.text)
    if count <= COLD_EMAIL_MAX_WORDS:
        return []
    return [Problem("warning", draft.contact.line, None,
                    f"the body is {count} words; cold emails that get answers stay under {COLD_EMAIL_MAX_WORDS}")]


def earlier_commitments(rows) -> dict[str, Commitment]:
    """Program key -> its first commitment, from the store's ``(contact fields, phrase, state, day)`` rows
    (oldest first)."""
    found: dict[str, Commitment] = {}
    for fields, phrase, state, day in rows:
        program = program_of(fields)
        if program is not None:
            found.setdefault(program[0], Commitment(program[1], f"{state} on {day}", phrase))
    return found


def commitment_phrase(draft: Draft) -> str | None:
    """The sentence holding the first ranking-commitment phrase of the subject or body; None when
    there is none. The store records it with the message."""
    return first_commitment(scan(draft))


def first_commitment(scanned: Scanned) -> str | None:
    if not scanned.commitments:
        return None
    match = scanned.commitments[0][0]
    return sentence_around(scanned.text, match.start(), match.end())


def sentence_around(text: str, start: int, end: int, limit: int = 100) -> str:
    """The sentence holding ``text[start:end]``, on one line, at most ``limit`` characters."""
    begin = max(text.rfind(mark, 0, start) for mark in ".!?\n") + 1
    stops = [i for i in (text.find(mark, end) for mark in ".!?\n") if i != -1]
    sentence = " ".join(text[begin:min(stops, default=len(text))].split())
    return sentence if len(sentence) <= limit else sentence[:limit - 3].rstrip() + "..."


def ranking_language(line: int, scanned: Scanned) -> list[Problem]:
    """Commitment language in any message, whatever its Kind: a warning for each shape found."""
    return [Problem("warning", line, None,
                    f"ranking language ({phrase.label}: {match.group(0)!r}); NRMP rules forbid "
                    "statements that read as a commitment")
            for match, phrase in scanned.commitments]


def rank_questions(line: int, scanned: Scanned) -> list[Problem]:
    """Asking a program how it will rank you: an error, since the request itself breaks the Match rules."""
    for match, _ in scanned.questions:
        return [Problem("error", line, None,
                        f"asks for ranking information ({' '.join(match.group(0).split())!r}); asking a "
                        "program where you stand breaks the NRMP Match Participation Agreement: take it out")]
    return []


def second_commitment(line: int, program: tuple[str, str], phrase: str,
                      earlier: dict[str, Commitment]) -> list[Problem]:
    """A commitment-style sentence to ``program`` when another program already had one: an error
    naming the first program and when."""
    others = [c for key, c in earlier.items() if key != program[0]]
    if not others:
        return []
    first = others[0]
    return [Problem("error", line, None,
                    f"says {phrase!r} to {program[1]}, but {first.program} was already told {first.phrase!r} "
                    f"({first.when}); telling two programs they come first is a broken promise to one of them")]
