"""What a stage tells the person while it works: notes, warnings, row problems and progress.

Stages never print. They take a :class:`Feedback` and call it; the CLI passes one that writes
to the terminal (``outreach.cli.common.Terminal``), while a test or a script can pass
:class:`Quiet`, which keeps the notes and warnings in lists.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # pragma: no cover
    from outreach.compose.batch import Rendered


class Feedback(Protocol):
    def note(self, text: str) -> None: ...

    def warn(self, text: str) -> None: ...

    def problems(self, item: "Rendered", source: str) -> None:
        """A rendered row with problems; ``source`` names where the row came from (a CSV path)."""

    def start(self, label: str, total: int) -> None:
        """A long step begins: ``total`` units of work (rows, messages)."""

    def advance(self, count: int = 1) -> None: ...

    def finish(self) -> None: ...


class Quiet:
    """Feedback for code that is not a terminal: remembers what was said, shows nothing."""

    def __init__(self) -> None:
        self.notes: list[str] = []
        self.warnings: list[str] = []
        self.rows_with_problems: list["Rendered"] = []

    def note(self, text: str) -> None:
        self.notes.append(text)

    def warn(self, text: str) -> None:
        self.warnings.append(text)

    def problems(self, item: "Rendered", source: str) -> None:
        self.rows_with_problems.append(item)

    def start(self, label: str, total: int) -> None:
        pass

    def advance(self, count: int = 1) -> None:
        pass

    def finish(self) -> None:
        pass
