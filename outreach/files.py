"""Files the tool writes for the user (drafts, reports): whole or not at all."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomically(path: Path, data: bytes) -> None:
    """Write to a temporary file beside ``path`` and rename: a crash never leaves half a draft."""
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
    except OSError as e:
        raise OSError(e.errno, e.strerror, str(path)) from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except OSError as e:  # name the file we were writing (a full disk names none)
        os.unlink(tmp)
        raise OSError(e.errno, e.strerror, str(path)) from None
    except BaseException:
        os.unlink(tmp)
        raise


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
