"""Small builders shared by the tests: files written the way users' tools write them."""

from __future__ import annotations

import mailbox
from collections.abc import Iterable
from pathlib import Path

MENTOR_TEMPLATE = """\
Subject: Prospective IMG collaborator interested in {{ topic }} radiology research

Dear Dr. {{ last_name }},

I read your work on {{ topic }} at {{ institution }}. {{ note }}

Best regards,
Asha Rao
"""

HEADER = "email,first_name,last_name,institution,topic,note"
ROWS = [
    "jchen@example.edu,Jia,Chen,Stanford University,neuroradiology,Your stroke triage paper changed how I read CTs.",
    "m.okafor@example.edu,Musa,Okafor,Johns Hopkins,MSK,I enjoyed your RSNA talk on cartilage mapping.",
    "p.shah@example.org,Priya,Shah,Mayo Clinic,breast imaging,Your tomosynthesis cohort is the one I cite most.",
]


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


def contacts_csv(directory: Path, rows=ROWS, header=HEADER, name="contacts.csv", encoding="utf-8") -> Path:
    return write(directory / name, "\n".join([header, *rows]) + "\n", encoding)


def template_file(directory: Path, text: str = MENTOR_TEMPLATE, name="mentor.txt") -> Path:
    return write(directory / "templates" / name, text)


def write_mbox(path: Path, messages: Iterable[bytes]) -> Path:
    """An mbox file holding ``messages``, as a mail client exports one."""
    box = mailbox.mbox(path, create=True)
    try:
        for raw in messages:
            box.add(raw)
    finally:
        box.close()
    return path


class OnTerminal:
    """The CLI as a person runs it: a subprocess whose standard input, output and error are one
    pseudo-terminal. ``expect`` reads until a text appears (never a sleep); ``answer`` types a line."""

    def __init__(self, *args: str, cwd: Path, env: dict | None = None):
        import os
        import pty
        import subprocess
        import sys

        root = Path(__file__).resolve().parent.parent
        self.leader, follower = pty.openpty()
        self.process = subprocess.Popen([sys.executable, "-m", "outreach", *map(str, args)], cwd=cwd,
                                        env={**os.environ, "PYTHONPATH": str(root), **(env or {})},
                                        stdin=follower, stdout=follower, stderr=follower, start_new_session=True)
        os.close(follower)
        self.seen = ""      # everything the terminal showed
        self.unread = ""    # what expect has not consumed yet

    def _read(self, timeout: float) -> bool:
        import os
        import select

        ready, _, _ = select.select([self.leader], [], [], timeout)
        if not ready:
            return False
        try:
            chunk = os.read(self.leader, 4096).decode("utf-8", "replace").replace("\r\n", "\n")
        except OSError:        # the process closed the terminal
            return False
        self.seen += chunk
        self.unread += chunk
        return bool(chunk)

    def expect(self, text: str, timeout: float = 15) -> str:
        """Wait until ``text`` is shown; returns what was shown up to and including it."""
        import time

        deadline = time.monotonic() + timeout
        while text not in self.unread:
            if not self._read(max(0.0, deadline - time.monotonic())) and \
                    (time.monotonic() >= deadline or self.process.poll() is not None):
                raise AssertionError(f"{text!r} never appeared; the terminal showed:\n{self.seen}")
        before, _, self.unread = self.unread.partition(text)
        return before + text

    def answer(self, line: str) -> None:
        import os

        os.write(self.leader, line.encode() + b"\n")

    def finish(self, timeout: float = 30) -> int:
        """Read to the end; the exit code."""
        import os

        while self._read(timeout):
            pass
        code = self.process.wait(timeout)
        os.close(self.leader)
        return code
