"""Terminal output: colour only on a terminal and never with ``NO_COLOR``; errors to stderr."""

from __future__ import annotations

import os
import sys

import click

STYLES = {"error": "red", "warning": "yellow", "ok": "green", "note": "cyan"}


def use_colour(stream=None) -> bool:
    stream = stream or sys.stdout
    return "NO_COLOR" not in os.environ and hasattr(stream, "isatty") and stream.isatty()


def style(text: str, kind: str, *, stream=None) -> str:
    if not use_colour(stream):
        return text
    return click.style(text, fg=STYLES.get(kind), bold=kind == "error")


def say(text: str = "", *, err: bool = False) -> None:
    click.echo(text, err=err, color=use_colour(sys.stderr if err else sys.stdout))
