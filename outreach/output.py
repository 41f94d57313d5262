"""Terminal output: colour only on a terminal and never with ``NO_COLOR``; errors to stderr;
and text, never control codes, from data.

Everything a command prints goes through :func:`say`, which shows every C0 and C1 control
character except tab and newline as ``\\u001b``: a CSV cell or an incoming subject holding ESC
could otherwise clear the screen, rewrite a line (CR), retitle the window or fake a coloured
"sent". (The ``\\uXXXX`` form also keeps JSON valid: it is JSON's own escape.) Our own colours
survive because :func:`style` does not write escape codes: it writes markers holding a random
per-process token, which :func:`say` turns into colour *after* escaping, so data cannot forge
them.
"""

from __future__ import annotations

import os
import re
import secrets
import sys

import click

STYLES = {"error": "red", "warning": "yellow", "ok": "green", "note": "cyan"}
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # all of C0 and C1 but tab and newline
_TOKEN = secrets.token_hex(8)
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
    """``text`` with its control characters (but tab and newline) written as ``\\u001b``."""
    return CONTROL.sub(lambda m: f"\\u{ord(m[0]):04x}", text)


def _colour(match: re.Match) -> str:
    kind = match[1]
    if kind == _RESET:
        return "\x1b[0m"
    return click.style("", fg=STYLES.get(kind), bold=kind == "error", reset=False)


def say(text: str = "", *, err: bool = False, nl: bool = True) -> None:
    text = _MARK.sub(_colour, shown(text))
    click.echo(text, err=err, nl=nl, color=use_colour(sys.stderr if err else sys.stdout))


def plural(count: float, word: str, many: str | None = None) -> str:
    """``1 minute``, ``5 replies``, ``1.5 hours``: the count and the word in the right number."""
    if many is None:
        many = word[:-1] + "ies" if word.endswith("y") and word[-2:-1] not in "aeiou" else word + "s"
    number = f"{count:g}" if isinstance(count, float) else str(count)
    return f"{number} {word if count == 1 else many}"
