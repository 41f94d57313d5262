"""The headers that hold user text (From, To, Cc, Bcc, Reply-To, Subject), encoded and folded here.

Why not the ``email`` package's own folder: CPython 3.11 drops the space between words when it
splits a long non-ASCII header into several encoded words, and its parser decodes any
``=?...?=`` it meets, even one a CSV cell put inside a quoted display name, so a cell could
smuggle a line break into a header. Here every value is literal text: anything that is not plain
printable ASCII (or that contains ``=?``) becomes RFC 2047 encoded words of at most 75
characters, split between words, each carrying the space before it inside the word (decoders
drop the folding white space between encoded words, never a space inside one). Lines are folded
at 78 characters.

What a header reads back as is then known from how it was written (:class:`Written`,
``reads_as``) when every piece of it has only one reading: plain atoms or a quoted string with
no ``=``, ``?``, ``"`` or backslash, encoded words of this module's own making, addr-specs of
plain dot-atoms, folded only between pieces. The pieces are checked as written, not as intended,
so a writer that chose wrongly (a cell's ``=?`` left in a quoted name) proves nothing. A header
it cannot prove goes to :func:`round_trip_problem`, which parses the bytes back as a mail client
will and names the header whose set or addresses changed. tests/compose/test_headers_proof.py
checks on random names and subjects that the proof and the parser agree.
"""

from __future__ import annotations

import base64
import functools
import itertools
import re
import string
from collections.abc import Mapping
from typing import TYPE_CHECKING, NamedTuple, Self

if TYPE_CHECKING:
    from email.headerregistry import Address
    from email.policy import Policy

MAX_LINE = 78        # RFC 5322's advised line length
MAX_WORD = 75        # RFC 2047's limit for one encoded word
ATOMS = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?: [A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
WORDS = re.compile(r"\s*\S+|\s+")   # each word with the white space before it
_ATEXT = r"[A-Za-z0-9!#$%&'*+/^_`{|}~-]"  # RFC 5322 atext less = and ?, so no encoded word hides here
_SPEC = rf"{_ATEXT}+(?:\.{_ATEXT}+)*@{_ATEXT}+(?:\.{_ATEXT}+)*"
_QUOTED = r'"[\x20\x21\x23-\x3c\x3e\x40-\x5b\x5d-\x7e]*"'  # printable, less " = ? and backslash
PLAIN_MAILBOX = re.compile(rf"(?:(?:{_ATEXT}+(?: {_ATEXT}+)*|{_QUOTED}) )?<({_SPEC})>|({_SPEC})")
PROVEN_PHRASE = re.compile(rf"{_ATEXT}+(?: {_ATEXT}+)*|{_QUOTED}")  # a display name with one reading
PROVEN_ATOMS = re.compile(rf"{_ATEXT}+(?: {_ATEXT}+)*")
PROVEN_SPEC = re.compile(_SPEC)
UNFOLD = re.compile(r"\r\n|\r|\n")
Q_SAFE = frozenset(string.ascii_letters + string.digits + "!*+-/")  # RFC 2047 5(3): safe in a phrase
_Q = [chr(b) if chr(b) in Q_SAFE else "_" if b == 0x20 else f"={b:02X}" for b in range(256)]  # each byte, Q-encoded


class Written(NamedTuple):
    """A header as this module writes it: its lines (no line ends) and what any reader reads back
    from it, when the pieces it was written from prove that: the text (Subject) or the addr-specs
    (address headers). ``None`` when they do not: then it is parsed back."""

    name: str
    lines: list[str]
    reads_as: str | tuple[str, ...] | None


class WrittenHeader(str):
    """A header value folded by this module; the ``email`` package writes its lines as they are.

    As a ``str`` it is the text the user wrote (what preview shows and the store records)."""

    name: str
    lines: list[str]

    def __new__(cls, name: str, text: str, lines: list[str]) -> Self:
        value = super().__new__(cls, text)
        value.name, value.lines = name, lines
        return value

    def fold(self, *, policy: Policy) -> str:
        return policy.linesep.join(self.lines) + policy.linesep


def plain(text: str) -> bool:
    """Printable ASCII only (space to tilde): told in C, a regular expression's work."""
    return text.isascii() and text.isprintable()


def needs_encoding(text: str) -> bool:
    return not plain(text) or "=?" in text


def encoded_word(text: str) -> str:
    """``text`` as one UTF-8 encoded word, Q or B, whichever is shorter."""
    data = text.encode("utf-8")
    q = "".join(map(_Q.__getitem__, data))
    b64 = base64.b64encode(data).decode("ascii")
    return f"=?utf-8?q?{q}?=" if len(q) <= len(b64) else f"=?utf-8?b?{b64}?="


@functools.lru_cache(maxsize=1024)  # subjects repeat from row to row (names seldom: a row each)
def encoded_words(text: str, first: int = MAX_WORD, rest: int = MAX_WORD) -> tuple[str, ...]:
    """``text`` as encoded words, the first at most ``first`` characters, the others ``rest``.

    Words stay whole where they fit; a word too long for one encoded word is split between
    characters (never inside a UTF-8 sequence)."""
    result, current, limit = [], "", first
    for token in WORDS.findall(text):
        if len(encoded_word(current + token)) <= limit:
            current += token
            continue
        if current and len(encoded_word(token)) <= rest:  # the word starts the next encoded word
            result.append(encoded_word(current))
            current, limit = token, rest
            continue
        for char in token:
            if current and len(encoded_word(current + char)) > limit:
                result.append(encoded_word(current))
                current, limit = "", rest
            current += char
    if current:
        result.append(encoded_word(current))
    return tuple(result)


def fold(name: str, atoms: list[str]) -> list[str]:
    """``Name: atom atom ...`` in lines of at most 78 characters, folding between atoms.

    An atom is never split; one longer than a line stands alone on its line."""
    lines = [f"{name}: {atoms[0]}" if atoms else f"{name}:"]
    for atom in atoms[1:]:
        if len(lines[-1]) + 1 + len(atom) <= MAX_LINE:
            lines[-1] += f" {atom}"
        else:
            lines.append(f" {atom}")
    return lines


def unstructured(name: str, text: str) -> Written:
    """A Subject: plain words folded at their own white space, or else encoded words (which
    may be split anywhere, so a word too long for one line is encoded too).

    Plain, it reads back as written when the unfolded value is printable ASCII with no ``=?``
    (a reader unfolds it and has nothing to decode); encoded, as the text the words were made of."""
    if not needs_encoding(text):
        short = len(name) + 2 + len(text) <= MAX_LINE
        lines, value, fits = _one_line(name, text) if short else _fold_plain(name, text)
        if fits:
            return Written(name, lines, value if plain(value) and "=?" not in value else None)
    return Written(name, fold(name, list(encoded_words(text, first=MAX_LINE - len(name) - 2))), text)


def _one_line(name: str, text: str) -> tuple[list[str], str, bool]:
    """:func:`_fold_plain` of plain text that fits on the header's first line, as it is but for
    the white space at its ends: no words to fold (subjects differ from row to row as often as
    not, and the cache of :func:`_fold_plain` then misses). tests/compose/test_headers_proof.py
    holds the two to each other."""
    value = text.strip()
    return [f"{name}: {value}"], value, True


@functools.lru_cache(maxsize=4096)  # subjects repeat from row to row
def _fold_plain(name: str, text: str) -> tuple[list[str], str, bool]:
    """Fold before a run of spaces, which unfolding keeps: the text comes back exact. The lines,
    the value they unfold to, and whether each fits in 78 characters."""
    first, *tokens = WORDS.findall(text.strip()) or [""]
    lines = [f"{name}: {first}"]
    for token in tokens:
        if len(lines[-1]) + len(token) > MAX_LINE:
            lines.append(token)
        else:
            lines[-1] += token
    return lines, "".join(lines)[len(name) + 2:], all(len(line) <= MAX_LINE for line in lines)


def phrase(display_name: str, first: int) -> tuple[list[str], bool]:
    """A display name as atoms: bare words, one quoted string, or encoded words (never a quoted
    string with ``=?`` in it: CPython would decode that); and whether what was written has only
    one reading (see the module's docstring)."""
    if not display_name:
        return [], True
    if usual_name(display_name):
        return [display_name], True
    if not needs_encoding(display_name):
        plain = display_name if ATOMS.fullmatch(display_name) else _quoted(display_name)
        if len(plain) <= MAX_WORD:
            return [plain], bool(PROVEN_PHRASE.fullmatch(plain))
    return list(encoded_words(display_name, first=first)), True


def usual_name(display_name: str) -> bool:
    """Bare words that fit in one line's word: written as they are, with only one reading."""
    return len(display_name) <= MAX_WORD and bool(PROVEN_ATOMS.fullmatch(display_name))


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def address_list(name: str, addresses: list[Address]) -> Written:
    """``Name: a <x@y>, b <z@w>``, each display name literal text, folded at 78. It reads back as
    its addr-specs when each is a plain dot-atom address and each name has one reading."""
    atoms, specs, proven = [], [], True
    for index, item in enumerate(addresses):
        first = MAX_LINE - len(name) - 2 if index == 0 else MAX_WORD
        words, plain = phrase(item.display_name, first)
        addr_spec = item.addr_spec
        proven = proven and plain and bool(PROVEN_SPEC.fullmatch(addr_spec))
        specs.append(addr_spec)
        spec = f"<{addr_spec}>" if words else addr_spec
        atoms += [*words, spec + ("," if index < len(addresses) - 1 else "")]
    return Written(name, fold(name, atoms), tuple(specs) if proven else None)


def round_trip_problem(raw: bytes, expected: Mapping[str, str | list[str] | None]) -> str | None:
    """Parse ``raw``'s headers back as a mail client would; the first header that differs, or ``None``.

    ``expected`` maps every header the message should have, in order, to its text (Subject),
    its addr-specs (address headers), or ``None`` (not compared). A header that appears that was
    not written, appears twice, or goes missing, differs too."""
    fields = split_headers(raw)
    names = [n.lower() for n, _ in fields]
    written = [n.lower() for n in expected]
    for found, wanted in itertools.zip_longest(names, written):
        if found != wanted:
            return (found or wanted).title()
    values = dict(zip(names, (value for _, value in fields), strict=True))
    for name, want in expected.items():
        if want is None:
            continue
        if read_back(name, values[name.lower()]) != (want if isinstance(want, str) else tuple(want)):
            return name
    return None


def read_back_problem(written: list[Written], expected: Mapping[str, str | list[str] | None]) -> str | None:
    """:func:`round_trip_problem` for headers this module wrote: the header set and each header's
    reading are taken from what the writing proved; the block is parsed back only when some
    header of it proves nothing."""
    if [w.name for w in written] == list(expected) and all(w.reads_as is not None for w in written):
        for name, _, reads_as in written:
            want = expected[name]
            if want is not None and reads_as != (want if isinstance(want, str) else tuple(want)):
                return name
        return None
    return round_trip_problem(block(written), expected)


def written_problem(draft, sender: Address, written: list[Written] | None = None) -> str | None:
    """The first of a draft's user headers that would not read back as what was meant, written
    as :func:`user_headers` writes them (``written``, when the caller has them already):
    :func:`read_back_problem` without building the expectations when every header proves its
    reading (the usual case)."""
    if written is None:
        if plainly_proven(draft, sender):
            return None
        written = user_headers(draft, sender)
    for header in written:
        if header.reads_as is None:
            return read_back_problem(written, expected(draft, sender))
    if written[0].reads_as != (sender.addr_spec,):
        return "From"
    for header in written[1:-1]:
        addresses = {"To": draft.to, "Cc": draft.cc, "Bcc": draft.bcc, "Reply-To": draft.reply_to}[header.name]
        if header.reads_as != tuple([a.addr_spec for a in addresses]):
            return header.name
    return None if written[-1].reads_as == draft.subject else "Subject"


def plainly_proven(draft, sender: Address) -> bool:
    """Whether every user header of ``draft`` reads back as meant, known without writing it (the
    usual row, twice as fast): a proven From, every address a usual name (or none) and a plain
    addr-spec, as :func:`address_list` proves them (folding never changes a proof), and a subject
    with no white space at its ends that :func:`unstructured` writes as encoded words of this
    module's own making, or plain with nothing to decode (it unfolds to itself). False proves
    nothing: the headers are then written and their proofs read. tests/compose/test_headers_proof.py
    holds this to :func:`written_problem` on written headers, with the real encoder and a weaker one."""
    if sender is not _proven_sender[0]:
        if _sender_header(sender).reads_as != (sender.addr_spec,):
            return False
        _proven_sender[0] = sender  # an Address never changes: proven once a run
    for addresses in (draft.to, draft.cc, draft.bcc, draft.reply_to):
        for item in addresses:
            name = item.display_name
            if (name and not usual_name(name)) or not PROVEN_SPEC.fullmatch(item.addr_spec):
                return False
    subject: str = draft.subject
    if subject != subject.strip():
        return False
    return needs_encoding(subject) or (plain(subject) and "=?" not in subject)


_proven_sender: list[Address | None] = [None]  # the last sender whose From header was proven


def block(written: list[Written]) -> bytes:
    """The headers as they go on the wire, then the blank line that ends them."""
    return "".join(line + "\r\n" for header in written for line in header.lines).encode("ascii") + b"\r\n"


# A header block of printable ASCII, CRLF line ends and folded lines only: what this module writes.
SIMPLE_BLOCK = re.compile(rb"(?:[\x21-\x39\x3b-\x7e]+:[\x20-\x7e]*\r\n(?:[ \t][\x20-\x7e]*\r\n)*)+")


def split_headers(raw: bytes) -> list[tuple[str, str]]:
    """(name, raw value) of each header of ``raw``, as the ``email`` package's compat32 parser
    splits them. A simple block (the usual case) is split here, 20 times faster than building a
    Message; anything else goes to the parser itself, so a stray CR or LF is read as clients do.
    tests/compose/test_headers_split.py checks that both agree."""
    end = raw.find(b"\r\n\r\n")
    head = raw[:end + 2] if end >= 0 else b""
    if not SIMPLE_BLOCK.fullmatch(head):
        import email.policy  # the parser is for what no proof covers: most runs never load it
        from email.parser import BytesHeaderParser

        return BytesHeaderParser(policy=email.policy.compat32).parsebytes(raw).items()
    fields: list[list[str]] = []
    for line in head.decode("ascii").split("\r\n")[:-1]:
        if line[0] in " \t":
            fields[-1][1] += "\r\n" + line
        else:
            name, _, value = line.partition(":")
            fields.append([name, value.lstrip(" \t")])
    return [(name, value) for name, value in fields]


@functools.lru_cache(maxsize=4096)
def read_back(name: str, value: str) -> str | tuple[str, ...] | None:
    """What the ``email`` package's modern parser makes of one raw header: its text, or its
    addr-specs; ``None`` when it chokes on it. Cached: From, and many subjects, repeat.

    A list of plain mailboxes (``Jia Chen <j.chen@example.edu>``: atoms, no quotes, no ``=?``)
    has only one reading, taken without the parser, which costs half a millisecond a header; so
    has a subject of printable ASCII with no ``=?`` (the parser returns it unfolded, as is:
    checked on 28,000 random folded subjects)."""
    unfolded = UNFOLD.sub("", value)
    if name.lower() == "subject":
        if plain(unfolded) and "=?" not in unfolded:  # nothing to decode: shown as it is
            return unfolded
    else:
        specs = _plain_addresses(unfolded)
        if specs is not None:
            return specs
    import email.policy

    try:
        header = email.policy.default.header_fetch_parse(name, value)
        return str(header) if name.lower() == "subject" else tuple(a.addr_spec for a in header.addresses)
    except (ValueError, TypeError, IndexError, AttributeError, LookupError):
        return None


_SENDERS: dict[tuple[str, str], Written] = {}


def _sender_header(sender: Address) -> Written:
    """The From header: the same on every row."""
    key = (sender.display_name, sender.addr_spec)
    written = _SENDERS.get(key)
    if written is None:
        if len(_SENDERS) > 16:
            _SENDERS.clear()
        written = _SENDERS[key] = address_list("From", [sender])
    return written


def _address_lists(draft, sender: Address) -> list[tuple[str, list[Address]]]:
    lists = [("From", [sender]), ("To", draft.to), ("Cc", draft.cc), ("Bcc", draft.bcc),
             ("Reply-To", draft.reply_to)]
    return [(name, addresses) for name, addresses in lists if addresses or name == "To"]


def user_headers(draft, sender: Address) -> list[Written]:
    """From, To, Cc, Bcc, Reply-To and Subject of a ``Draft``, in that order (To always)."""
    return [_sender_header(sender), *_recipients_and_subject(draft)]


def _recipients_and_subject(draft) -> list[Written]:
    """To, Cc, Bcc, Reply-To and Subject, written once a draft: the check pass writes them to
    prove them, and ``draft`` writes the message with them. They are kept on the draft with the
    values they were written from, and written again if those values are not the draft's now."""
    values = (tuple(draft.to), tuple(draft.cc), tuple(draft.bcc), tuple(draft.reply_to), draft.subject)
    if draft.written is not None and draft.written[0] == values:
        kept: list[Written] = draft.written[1]
        return kept
    written = [address_list("To", draft.to)]
    for name, addresses in (("Cc", draft.cc), ("Bcc", draft.bcc), ("Reply-To", draft.reply_to)):
        if addresses:
            written.append(address_list(name, addresses))
    written.append(unstructured("Subject", draft.subject))
    draft.written = (values, written)
    return written


def email_headers(draft, sender: Address) -> list[WrittenHeader]:
    """:func:`user_headers` for the ``email`` package: each its lines, and as a ``str`` the text
    the user wrote."""
    texts = [", ".join(str(a) for a in addresses) for _, addresses in _address_lists(draft, sender)]
    return [WrittenHeader(header.name, text, header.lines)
            for header, text in zip(user_headers(draft, sender), [*texts, draft.subject], strict=True)]


def expected(draft, sender: Address) -> dict[str, str | list[str]]:
    """What :func:`user_headers` must read back as: each list's addr-specs and the subject text."""
    return {**{name: [a.addr_spec for a in addresses] for name, addresses in _address_lists(draft, sender)},
            "Subject": draft.subject}


def _plain_addresses(value: str) -> tuple[str, ...] | None:
    specs = []
    for item in value.split(", "):
        mailbox = PLAIN_MAILBOX.fullmatch(item)
        if mailbox is None:
            return None
        specs.append(mailbox[1] or mailbox[2])
    return tuple(specs)


def header_block(draft, sender: Address) -> bytes:
    """The user headers as they go on the wire, then the blank line that ends them."""
    return block(user_headers(draft, sender))
