"""What a stage tells the person while it works: notes, warnings, row problems and progress.

Stages never print. They take a :class:`Feedback` and call it; the CLI passes one that writes
to the terminal (``outreach.cli.common.Terminal``); a test or a script passes its own, or
gets :data:`SILENT`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # pragma: no cover
    from outreach.compose.contacts import Contact, Problem


class Row(Protocol):
    """A row with problems, as a stage tells it: a rendered row (``compose.batch.Rendered``), or a
    row of an interview log that cannot be dated."""

    @property
    def contact(self) -> Contact: ...

    @property
    def problems(self) -> list[Problem]: ...

    @property
    def skip(self) -> str | None: ...


class Feedback(Protocol):
    def note(self, text: str) -> None: ...

    def warn(self, text: str) -> None: ...

    def problems(self, item: Row, source: str) -> None:
        """A rendered row with problems; ``source`` names where the row came from (a CSV path)."""

    def end_problems(self) -> None:
        """Every row's problems were given: a terminal shows what it held back, identical
        problems of many rows once (:mod:`outreach.compose.findings`)."""

    def start(self, label: str, total: int) -> None:
        """A long step begins: ``total`` units of work (rows, messages)."""

    def advance(self, count: int = 1) -> None: ...

    def finish(self) -> None: ...


class Silent:
    """Feedback for code that is not a terminal (a script, a test): says nothing, keeps nothing.

    It holds no state, so one instance (:data:`SILENT`) is a safe default argument: a default
    that collected notes would collect every call's notes for the life of the process.
    """

    def note(self, text: str) -> None:
        pass

    def warn(self, text: str) -> None:
        pass

    def problems(self, item: Row, source: str) -> None:
        pass

    def end_problems(self) -> None:
        pass

    def start(self, label: str, total: int) -> None:
        pass

    def advance(self, count: int = 1) -> None:
        pass

    def finish(self) -> None:
        pass


SILENT = Silent()
