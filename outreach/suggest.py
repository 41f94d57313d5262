"""The known name a person most likely meant: a column, a time zone, a command.

Used only once something was not found, so it may be thorough: a name with the same letters
(``Follow-Up`` is ``followup``), then one holding all the typed words, each spelt nearly right
(``London`` is ``Europe/London``, ``topc`` is ``research_topic``), or held by them, then the
closest spelling.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

_SEPARATORS = re.compile(r"[\W_]+")
SPELLING_CUTOFF = 0.75   # difflib's ratio: "intrview_date" is interview_date, "date" is not time_zone
WORD_CUTOFF = 0.8        # one word for another: "topc" is topic, "data" is not date


def _key(text: str) -> str:
    return _SEPARATORS.sub("", text.casefold())


def _words(text: str) -> frozenset[str]:
    return frozenset(filter(None, _SEPARATORS.split(text.casefold())))


def _holds(words: frozenset[str], wanted: frozenset[str]) -> bool:
    """Every wanted word is one of ``words``, or (four letters or more) a close spelling of one."""
    return bool(wanted) and all(
        word in words or (len(word) >= 4 and any(_alike(word, other) for other in words)) for word in wanted)


def _alike(a: str, b: str) -> bool:
    return difflib.SequenceMatcher(None, a, b).ratio() >= WORD_CUTOFF


def closest(typed: str, known: Iterable[str], *, shorter: bool = True, cutoff: float = SPELLING_CUTOFF) -> str | None:
    """The name of ``known`` that ``typed`` most likely meant, or None when none is close.
    ``shorter``: a known name whose words ``typed`` holds counts too (``research_topic`` ->
    ``topic``); not for zones, where "Central Europe" is not "Central"."""
    key = _key(typed)
    if not key:
        return None
    by_key: dict[str, str] = {}
    for name in known:
        by_key.setdefault(_key(name), name)
    by_key.pop("", None)
    if key in by_key:
        return by_key[key]
    words = _words(typed)
    holding = [name for name in by_key.values()
               if _holds(_words(name), words) or (shorter and _holds(words, _words(name)))]
    if holding:
        return max(holding, key=lambda name: difflib.SequenceMatcher(None, key, _key(name)).ratio())
    found = difflib.get_close_matches(key, list(by_key), n=1, cutoff=cutoff)
    return by_key[found[0]] if found else None
