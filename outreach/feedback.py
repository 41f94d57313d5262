"""What a stage tells the person while it works: notes, warnings, row problems and progress.

Stages never print. They take a :class:`Feedback` and call it; the CLI passes one that writes
to the terminal (``outreach.cli.common.Terminal``); a test or a script passes its own, or
gets :data:`SILENT`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # pragma: no cover
    from outreach.compose.batch import Rendered


class Feedback(Protocol):
    def note(self, text: str) -> None: ...

    def warn(self, text: str) -> None: ...

    def problems(self, item: Rendered, source: str) -> None:
        """A rendered row with problems; ``source`` names where the row came from (a CSV path)."""

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

    def problems(self, item: Rendered, source: str) -> None:
        pass

    def start(self, label: str, total: int) -> None:
        pass

    def advance(self, count: int = 1) -> None:
        pass

    def finish(self) -> None:
        pass


SILENT = Silent()
