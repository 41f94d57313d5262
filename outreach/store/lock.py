"""The outbox lock: one command at a time creates or changes outgoing messages, and whoever
takes the lock next settles what a dead holder left behind.

``draft``, ``send``, ``followup`` and ``resolve`` hold it for their whole run and plan only after
:func:`open_outbox` has recovered (so a message cut off by a crash is ``uncertain`` before anyone
decides about it); ``sync`` takes it for a moment, when it is free, to recover the same way.

The lock is an OS lock on ``<store>.lock`` beside the real store file (symbolic links and
relative paths resolved, so that two paths to one store share one lock). The file also holds the
holder's record: a first line of JSON (process, command, start, and ``finished`` once it let go)
and a line for each message it began to send (written, with an fsync, before DATA). If the
holder died, the next one checks them against the store: a message the lock says began but the
store shows as never begun means the store file is not the one the run wrote to (an older copy
put back, a backup or sync tool that copied the file alone). Such messages become uncertain when
the store has them; when it does not know them at all, nothing goes until the person has looked
(see :func:`open_outbox`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Self

from outreach import json_text
from outreach.clock import iso
from outreach.errors import UserError
from outreach.output import plural
from outreach.store.messages import Messages
from outreach.store.states import MOVES

BEGAN = "began "


@dataclass
class Record:
    """What the lock file says about its last holder."""

    info: dict = field(default_factory=dict)
    began: list[str] = field(default_factory=list)   # Message-IDs whose DATA it began

    @property
    def died(self) -> bool:
        return bool(self.info) and self.info.get("finished") is None

    def describe(self) -> str:
        if not self.info:
            return "an earlier outreach command"
        return (f"the last outreach {self.info.get('command', 'command')} (process {self.info.get('pid', '?')}, "
                f"started {self.info.get('started', '?')})")


class OutboxLock:
    """``with OutboxLock(path, "send") as lock:`` — or :func:`open_outbox`, which also recovers."""

    def __init__(self, store_path: Path, command: str):
        # The real file, not the path we were given: a symlink, `./outreach.db` and an absolute
        # path to one store must all meet at one lock, or two sends would both run.
        self.path = Path(f"{os.path.realpath(store_path)}.lock")
        self.command = command
        self.fd: int | None = None
        self.previous = Record()

    def acquire(self, *, wait: bool = True) -> bool:
        """Take the lock; when another command holds it, refuse in one sentence (or, with
        ``wait=False``, return False). The holder's record is read, not yet replaced: see :meth:`begin`."""
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as e:
            raise UserError(f"{self.path}: cannot create the outbox lock beside the tracking store "
                            f"({e.strerror or e}); the folder must be writable") from None
        try:
            _lock(fd)
        except OSError:
            holder = _read(fd).info
            os.close(fd)
            if not wait:
                return False
            who = f" ({holder.get('command', 'send')}, process {holder['pid']})" if "pid" in holder else ""
            raise UserError(f"another outreach command{who} is writing messages on {self.path.with_suffix('')}; "
                            "wait for it to finish") from None
        self.fd = fd
        self.previous = _read(fd)
        return True

    def begin(self) -> None:
        """Write this run's record (the previous one has been dealt with)."""
        try:
            self._write({"pid": os.getpid(), "command": self.command, "started": _now(), "finished": None})
        except OSError as e:  # a full disk: nothing goes without a record of this run
            self.release(clean=False)
            raise UserError(f"{self.path}: cannot write the outbox lock ({e.strerror or e}); "
                            "nothing was sent") from None

    def note_begin(self, message_id: str) -> None:
        """Remember, beside the store, that this run is about to send this message. No fsync: a
        killed process loses nothing the OS was given, and after a power cut the store's own
        ``sending`` (synced) is the record; this one is for a store file put back later."""
        assert self.fd is not None
        os.lseek(self.fd, 0, os.SEEK_END)
        os.write(self.fd, f"{BEGAN}{message_id}\n".encode())

    def release(self, *, clean: bool = True) -> None:
        if self.fd is None:
            return
        try:
            if clean:
                info = _read(self.fd).info
                self._write({**info, "finished": _now()})
        except OSError:
            pass  # the lock goes with the close all the same; the next run treats this one as dead
        finally:
            os.close(self.fd)  # closing releases the lock
            self.fd = None

    def _write(self, info: dict) -> None:
        assert self.fd is not None
        os.lseek(self.fd, 0, os.SEEK_SET)
        os.ftruncate(self.fd, 0)
        os.write(self.fd, json.dumps(info).encode() + b"\n")
        os.fsync(self.fd)

    def __enter__(self) -> Self:
        if self.fd is None:  # not already taken by open_outbox
            self.acquire()
            self.begin()
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def open_outbox(store: Messages, command: str, warn: Callable[[str], None]) -> OutboxLock:
    """Take the outbox lock and settle what a dead holder left: its claims checked against the
    store, its cut-off messages made uncertain, its unused claims queued again."""
    lock = OutboxLock(store.path, command)
    lock.acquire()
    try:
        settle(store, lock.previous, lock.path, warn)
        lock.begin()
    except BaseException:
        lock.release(clean=False)
        raise
    return lock


def recover_if_free(store: Messages, warn: Callable[[str], None]) -> None:
    """For readers that decide (``sync``): recover now if no command holds the lock; if one does,
    it is alive, and what it left ``sending`` is its own business."""
    lock = OutboxLock(store.path, "sync")
    if not lock.acquire(wait=False):
        return
    try:
        settle(store, lock.previous, lock.path, warn)
    finally:
        lock.release(clean=False)


def settle(store: Messages, previous: Record, lock_path: Path, warn: Callable[[str], None]) -> None:
    """What a dead holder left: messages it began that this store does not show as begun are made
    uncertain (or, unknown to the store, stop everything); then ``sending`` becomes uncertain and
    unused claims go back to the queue (every commit is durable, so a claimed row never began DATA)."""
    if previous.died and previous.began:
        states = store.states_of(previous.began)
        unknown = [m for m in previous.began if m not in states]
        if unknown:
            raise UserError(
                f"{store.path} does not know {plural(len(unknown), 'message')} that {previous.describe()} began "
                f"to send before it died (such as {unknown[0]}): this is not the store that run wrote to (an older "
                f"copy put back?). Nothing was sent; restore the store that run used, or check your Sent folder for "
                f"those messages and then delete {lock_path} to go on")
        lost = [m for m, state in states.items() if state in MOVES["lost"].sources]
        with store.transaction():
            for message_id in lost:
                store.must_move("lost", message_id, error="the store lost its record of this send (an older copy of "
                                                           "the file?); check your Sent folder")
        if lost:
            warn(f"{previous.describe()} began to send {plural(len(lost), 'message')} that this store shows as never "
                 "sent (an older copy of the file?); they are now 'uncertain': check your Sent folder")
    uncertain, _ = store.recover()
    if uncertain:
        warn(f"{previous.describe()} stopped during {plural(uncertain, 'message')}; "
             "their outcome is now 'uncertain': check your Sent folder")


def _now() -> str:
    return iso(datetime.now(UTC)) or ""


def _lock(fd: int) -> None:
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]  # Windows only
        return
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)


def _read(fd: int) -> Record:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        chunks = []
        while chunk := os.read(fd, 1 << 16):
            chunks.append(chunk)
        first, *rest = b"".join(chunks).decode("utf-8", "replace").split("\n")
        info = json_text.loads(first) if first.strip() else {}
    except (OSError, ValueError):
        return Record()
    began = [line[len(BEGAN):] for line in rest if line.startswith(BEGAN)]
    return Record(info if isinstance(info, dict) else {}, began)
