"""One send at a time per store, and what a crashed run left behind.

The lock is an OS lock on ``<store>.lock`` beside the real store file (symbolic links and
relative paths resolved, so that two paths to one store share one lock), a file that also
records which process holds it and on which boot of the machine: the next run reads that to
decide whether a message left ``claimed`` may go back to the queue (same boot: every commit
after the claim survived) or must become ``uncertain`` (see
:meth:`outreach.store.Store.recover_interrupted`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

from outreach.clock import iso
from outreach.errors import UserError
from outreach.store import Store


def boot_id() -> str | None:
    """An identifier of this boot of the machine, or None when the platform does not tell."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip() or None
    except OSError:
        pass
    if sys.platform == "darwin":
        try:
            out = subprocess.run(["sysctl", "-n", "kern.boottime"], capture_output=True, text=True, timeout=5)
            return out.stdout.split("}")[0].strip() or None
        except (OSError, subprocess.SubprocessError):
            return None
    return None


class SendLock:
    """One send at a time per store: an OS lock on ``<store>.lock``, which also records the run.

    The file says which process holds it and on which boot of the machine; the next run reads
    that to decide what a crash left behind (see :meth:`Store.recover_interrupted`).
    """

    def __init__(self, store_path: Path):
        # The real file, not the path we were given: a symlink, `./outreach.db` and an absolute
        # path to one store must all meet at one lock, or two sends would both run.
        self.path = Path(f"{os.path.realpath(store_path)}.lock")
        self.fd: int | None = None
        self.previous: dict | None = None

    def acquire(self) -> "SendLock":
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as e:
            raise UserError(f"{self.path}: cannot create the send lock beside the tracking store "
                            f"({e.strerror or e}); the folder must be writable") from None
        try:
            _lock(fd)
        except OSError:
            holder = _read_json(fd)
            os.close(fd)
            pid = f" (process {holder['pid']})" if holder and "pid" in holder else ""
            raise UserError(f"another outreach send is running on {self.path.with_suffix('')}{pid}; "
                            "wait for it to finish") from None
        self.fd = fd
        self.previous = _read_json(fd)
        try:
            self._write({"pid": os.getpid(), "boot": boot_id(), "started": iso(datetime.now(timezone.utc)),
                         "finished": None})
        except OSError as e:  # a full disk: nothing is sent without a record of this run
            self.release()
            raise UserError(f"{self.path}: cannot write the send lock ({e.strerror or e}); "
                            "nothing was sent") from None
        return self

    def release(self) -> None:
        if self.fd is None:
            return
        try:
            info = _read_json(self.fd) or {}
            self._write({**info, "finished": iso(datetime.now(timezone.utc))})
        except OSError:
            pass  # the lock goes with the close all the same; the next run treats this one as a crash
        finally:
            os.close(self.fd)  # closing releases the lock
            self.fd = None

    def _write(self, info: dict) -> None:
        assert self.fd is not None
        data = json.dumps(info).encode()
        os.lseek(self.fd, 0, os.SEEK_SET)
        os.ftruncate(self.fd, 0)
        os.write(self.fd, data)
        os.fsync(self.fd)

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()


def _lock(fd: int) -> None:
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        return
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)


def _read_json(fd: int) -> dict | None:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        data = os.read(fd, 4096)
        info = json.loads(data) if data else None
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) else None


def recover(store: Store, previous: dict | None) -> tuple[int, int]:
    """Settle what the previous run left behind; returns (uncertain, requeued)."""
    current = boot_id()
    same_boot = bool(previous and current and previous.get("boot") == current)
    return store.recover_interrupted(claims_untouched=same_boot)
