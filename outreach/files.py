"""Files the tool writes for the user (drafts, reports): whole or not at all."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomically(path: str | os.PathLike[str], data: bytes) -> None:
    """Write to a temporary file beside ``path`` and rename: a crash never leaves half a draft.
    Plain ``os`` calls on a ``str`` path: ``draft`` writes thousands of files, and a file object or
    a ``Path`` a file cost more than its few system calls."""
    path = os.fspath(path)
    try:
        fd, tmp = _temporary(path)
    except OSError as e:
        raise OSError(e.errno, e.strerror, path) from None
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except OSError as e:  # name the file we were writing (a full disk names none)
        os.unlink(tmp)
        raise OSError(e.errno, e.strerror, path) from None
    except BaseException:
        os.unlink(tmp)
        raise


def _temporary(path: str) -> tuple[int, str]:
    """A new file beside ``path``, open for writing, only the user's: ``.NAME.PID.tmp`` (made with
    one system call: ``draft`` writes thousands), or a random name when that one is taken or too
    long."""
    folder, name = os.path.split(path)
    tmp = os.path.join(folder, f".{name}.{os.getpid()}.tmp")
    try:
        return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600), tmp
    except OSError:
        return tempfile.mkstemp(dir=folder or ".", prefix=".", suffix=".tmp")


def remove_draft_file(path: Path, message_id: str) -> bool:
    """Delete the .eml draft at ``path`` of a message that was sent, if the file still holds its
    Message-ID (a file the user replaced is theirs). False when there was nothing to delete."""
    try:
        if message_id.encode() not in path.read_bytes()[:16384]:
            return False
        path.unlink()
    except FileNotFoundError:
        return False
    return True
