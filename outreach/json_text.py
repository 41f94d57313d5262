"""JSON read from text this process did not just write: a store that may have been edited by
hand, a lock file, a token command's output, a mail server's challenge.

Python's parser recurses once per nested bracket, so text nested a few thousand deep raises
RecursionError, which no ``except ValueError`` around ``json.loads`` catches: a hand-edited
store would stop `status` with an internal error. :func:`loads` refuses it as it refuses any
other text that is not JSON."""

from __future__ import annotations

import json
from typing import Any


def loads(text: str | bytes, **options: Any) -> Any:
    """``json.loads(text, **options)``; ValueError for text nested too deeply to parse."""
    try:
        return json.loads(text, **options)
    except RecursionError:
        raise ValueError("JSON nested too deeply to read") from None
