"""What the trust-path tests share: CLI processes to kill, the store and the servers read back.

The moment of every kill is found by watching a server (a hold reached), never by sleeping.
``finish``, ``kill`` and ``wait_until`` are the send-crash tests' own.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import unicodedata
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

from tests import helpers
from tests import mail_samples as samples
from tests.conftest import ROOT
from tests.deliver.test_followup_e2e import FOLLOW_UP
from tests.deliver.test_send_crash import finish, kill, wait_until

__all__ = ["FOLLOW_UP", "days_later", "finish", "kill", "mailbox_key", "received_by_mailbox", "restore", "run",
           "sent_samples", "sidecars", "snapshot", "spawn", "store_rows", "wait_until", "write_mbox"]


def spawn(ws: Path, *args: str, env: dict | None = None) -> subprocess.Popen:
    """`outreach ARGS` as a real process of this checkout, in the workspace ``ws``."""
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.Popen([sys.executable, "-m", "outreach", *map(str, args)], cwd=ws, env=full_env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def run(ws: Path, *args: str, env: dict | None = None, timeout: float = 30) -> tuple[int, str, str]:
    """`outreach ARGS` run to its end: (exit code, stdout, stderr)."""
    return finish(spawn(ws, *args, env=env), timeout)


def mailbox_key(address: str) -> str:
    """One mailbox however it was typed: case, full-width letters, combining accents, punycode."""
    local, _, domain = address.strip().strip("<>").rpartition("@")
    domain = unicodedata.normalize("NFKC", domain).casefold()
    domain = ".".join(label.encode("idna").decode("ascii") if not label.isascii() else label
                      for label in domain.split("."))
    return f"{unicodedata.normalize('NFKC', local).casefold()}@{domain}"


def received_by_mailbox(server) -> Counter:
    """Mailbox -> how many messages the SMTP server accepted for it (envelope recipients)."""
    return Counter(mailbox_key(rcpt) for message in server.messages for rcpt in message.rcpt_tos)


def sent_samples(server) -> dict[str, samples.Sent]:
    """Recipient -> the message the server received, as ``tests.mail_samples`` answers it."""
    found = {}
    for received in server.messages:
        message = received.message
        to = message["To"].addresses[0].addr_spec
        found[to] = samples.Sent(message["Message-ID"], to, str(message["Subject"]), received.data)
    return found


def store_rows(ws: Path, where: str = "1") -> list[sqlite3.Row]:
    """The store's message rows (campaign, address, step, state, message_id, ...), read directly."""
    with sqlite3.connect(ws / "outreach.db") as db:
        db.row_factory = sqlite3.Row
        return db.execute(f"SELECT * FROM messages WHERE {where} ORDER BY campaign, address, step").fetchall()


SIDECARS = ("-wal", "-shm", "-journal")


def sidecars(store: Path) -> list[Path]:
    """The store's SQLite side files that exist now (not the send lock)."""
    return [p for p in (Path(f"{store}{suffix}") for suffix in SIDECARS) if p.exists()]


def snapshot(store: Path, into: Path) -> None:
    """Copy what a power cut now would leave on disk: the store and its journal or WAL (the
    shared-memory index lives in memory and is rebuilt from the WAL)."""
    into.mkdir()
    for path in [store, *sidecars(store)]:
        if not path.name.endswith("-shm"):
            shutil.copy2(path, into / path.name)


def restore(store: Path, taken: Path) -> None:
    """Put a snapshot back: the store and exactly the side files it had."""
    for path in sidecars(store):
        path.unlink()
    for path in taken.iterdir():
        shutil.copy2(path, store.parent / path.name)


def write_mbox(path: Path, *messages: bytes) -> Path:
    """An mbox file holding ``messages``, as a mail client exports one."""
    return helpers.write_mbox(path, messages)


def days_later(days: float) -> str:
    """An ``OUTREACH_NOW`` value this many days from the real now."""
    return (datetime.now(timezone.utc) + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")
