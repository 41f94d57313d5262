"""Terminal output: colour only on a terminal and never with ``NO_COLOR``; errors to stderr;
and text, never control codes, from data.

Everything a command prints goes through :func:`say`, which shows every character of the
Unicode categories Cc (C0 and C1 controls), Cf (format: bidi embeddings, overrides and isolates,
zero-width spaces and joiners, the BOM, soft hyphens, tags), Zl and Zp (U+2028, U+2029) except
tab and newline as ``\\u001b``: a CSV cell or an incoming subject holding ESC could otherwise
clear the screen, rewrite a line (CR), retitle the window or fake a coloured "sent", and a
right-to-left override could show an address reversed or a zero-width space make two addresses
look alike. (The ``\\uXXXX`` form also keeps JSON valid: it is JSON's own escape, with a
surrogate pair past U+FFFF.) Our own colours survive because :func:`style` does not write escape
codes: it writes markers holding a random per-process token, which :func:`say` turns into
colour *after* escaping, so data cannot forge them.
"""

from __future__ import annotations

import os
import re
import sys

import click

STYLES = {"error": "red", "warning": "yellow", "ok": "green", "note": "cyan"}
ESCAPED = frozenset(("Cc", "Cf", "Zl", "Zp"))  # the Unicode categories shown as \uXXXX (not tab, newline)
# Runs of what may need escaping: all but tab, newline and printable ASCII. A run that Python
# calls printable holds none of ESCAPED and is kept whole; only the others are looked at one by one.
_SUSPECT = re.compile(r"[^\t\n\x20-\x7e]+")
_TOKEN = os.urandom(8).hex()  # not secrets.token_hex: importing secrets costs 2 ms a start
_MARK = re.compile(f"\ue000{_TOKEN}(\\w+)\ue000")
_RESET = "end"


def use_colour(stream=None) -> bool:
    stream = stream or sys.stdout
    return "NO_COLOR" not in os.environ and hasattr(stream, "isatty") and stream.isatty()


def style(text: str, kind: str, *, stream=None) -> str:
    if not use_colour(stream):
        return text
    return f"\ue000{_TOKEN}{kind}\ue000{text}\ue000{_TOKEN}{_RESET}\ue000"


def shown(text: str) -> str:
    """``text`` with every character of the ESCAPED categories (but tab and newline) written as
    ``\\u001b``, as JSON writes it."""
    if _plain(text):
        return text
    return _SUSPECT.sub(_escape_run, text)


_PLAIN_ASCII = bytes(range(0x20, 0x7F)) + b"\t\n"


def _plain(text: str) -> bool:
    """True when nothing in ``text`` needs escaping, told by passes in C: the regular expression
    alone took 90 ms over the 10 MB of a 90,000-contact `status`. Printable characters (which
    include none of ESCAPED), tab and newline are plain; anything else takes the regex's path."""
    if text.isascii():
        return not text.encode("ascii").translate(None, _PLAIN_ASCII)
    return text.replace("\n", " ").replace("\t", " ").isprintable()


def _escape_run(match: re.Match) -> str:
    run: str = match[0]
    if run.isprintable():  # no control, format or separator character: the common case of a name
        return run
    import unicodedata  # a built-in module, loaded only when text needs it

    return "".join(_escaped(c) if unicodedata.category(c) in ESCAPED else c for c in run)


def _escaped(char: str) -> str:
    code = ord(char)
    if code > 0xFFFF:  # JSON's form: a UTF-16 surrogate pair
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
    return f"\\u{code:04x}"


def _colour(match: re.Match) -> str:
    kind = match[1]
    if kind == _RESET:
        return "\x1b[0m"
    return click.style("", fg=STYLES.get(kind), bold=kind == "error", reset=False)


def say(text: str = "", *, err: bool = False, nl: bool = True) -> None:
    text = _MARK.sub(_colour, shown(text))
    colour = use_colour(sys.stderr if err else sys.stdout)
    # Without colour, click strips escape codes from the text (7 ms of its 15 over a 90,000-line
    # status); the text holds none unless we coloured it (shown() escaped the data's own), so that
    # is skipped when a search in C finds no ESC. Either way the bytes written are the same.
    click.echo(text, err=err, nl=nl, color=colour or "\x1b" not in text)


def plural(count: float, word: str, many: str | None = None) -> str:
    """``1 minute``, ``5 replies``, ``1.5 hours``: the count and the word in the right number."""
    if many is None:
        many = word[:-1] + "ies" if word.endswith("y") and word[-2:-1] not in "aeiou" else word + "s"
    number = f"{count:g}" if isinstance(count, float) else str(count)
    return f"{number} {word if count == 1 else many}"
