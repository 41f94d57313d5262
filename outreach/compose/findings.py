"""The problems of many rows, identical ones told once: "29 rows: undefined variable 'topic'".

A renamed column makes every row fail the same way, and 29 copies of one sentence hide the row
with a different problem. :class:`Findings` groups problems by (severity, column, text) while
the rows stream past, keeping for each group its count, its first few lines and its last one:
memory grows with the number of *different* problems, not with the rows, and is capped
(:data:`MAX_GROUPS`): past the cap, what was gathered is handed back to be shown and gathering
starts again, so a million rows each with its own bad address still stream.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

MAX_GROUPS = 1_000      # different problems held at once (rows held back are each their own)
EXAMPLE_LINES = 5       # lines named for a group


@dataclass
class Group:
    """One problem and the rows that have it."""

    severity: str            # "error", "warning", "note", or "skipped" (a row held back, and why)
    column: str | None
    text: str
    label: str               # who the first row is for (its address)
    lines: list[int] = field(default_factory=list)   # the first EXAMPLE_LINES
    count: int = 0
    last: int = 0

    def add(self, line: int) -> None:
        self.count += 1
        self.last = line
        if len(self.lines) < EXAMPLE_LINES:
            self.lines.append(line)

    @property
    def line(self) -> int:
        return self.lines[0]

    def rows(self) -> str:
        """``5 rows: lines 2-6`` or ``29 rows: lines 2, 4, 9, 11, 12 and 24 more``."""
        if self.last - self.line + 1 == self.count:
            return f"{self.count} rows: lines {self.line}-{self.last}"
        shown = ", ".join(map(str, self.lines))
        more = self.count - len(self.lines)
        return f"{self.count} rows: lines {shown}" + (f" and {more} more" if more else "")


class Findings:
    """Problems gathered row by row and handed out grouped (see the module's docstring)."""

    def __init__(self, limit: int = MAX_GROUPS):
        self.limit = limit
        self._groups: dict[tuple[str, str | None, str, int], Group] = {}

    def add(self, line: int, label: str, problems: Iterable[tuple[str, str | None, str]]) -> list[Group]:
        """A row's problems, each (severity, column, text). Returns what must be shown now: [], or,
        once the cap is reached, everything gathered so far."""
        full = []
        for severity, column, text in problems:
            key = (severity, column, text, line if severity == "skipped" else 0)  # who is held back: each named
            group = self._groups.get(key)
            if group is None:
                if len(self._groups) >= self.limit:
                    full += self.drain()
                group = self._groups[key] = Group(severity, column, text, label)
            group.add(line)
        return full

    def drain(self) -> list[Group]:
        """Everything gathered, and start again: the problems of many rows first (the template or
        the sheet is wrong), then each row's own, in line order."""
        groups = list(self._groups.values())
        self._groups.clear()
        return [g for g in groups if g.count > 1] + [g for g in groups if g.count == 1]
