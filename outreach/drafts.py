"""Drafting: rendered rows become drafts, each recorded in the store with its Message-ID.

Where a draft goes is a :class:`DraftTarget`: ``.eml`` files in a folder (:class:`EmlFolder`,
the default) or the account's IMAP Drafts folder (``outreach.imap.ImapDrafts``). Everything else
(which rows, which Message-ID, what the store says) is the same code for both.

A draft row can be drafted again (the template changed): it keeps its Message-ID and its file
name (or replaces its IMAP copy), so nothing a mail client or a later ``send`` relies on moves.
A row that has already been sent is never drafted over.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from email.headerregistry import Address
from pathlib import Path
from email.message import EmailMessage
from typing import Callable, Iterable, Protocol

from outreach.batch import Rendered
from outreach.message import build_message, make_message_id
from outreach.store import Store

REDRAFTABLE = ("drafted", "queued")
COMMIT_EVERY = 200  # rows per transaction: drafts are cheap to redo, fsyncs are not


def eml_name(address: str) -> str:
    """``jchen@example.edu.eml``: predictable, one per address, safe on every file system."""
    return re.sub(r"[^\w.@+-]", "_", address.casefold()) + ".eml"


def write_atomically(path: Path, data: bytes) -> None:
    """Write to a temporary file beside ``path`` and rename: a crash never leaves half a draft."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


@dataclass
class DraftResult:
    written: list[Path | str] = field(default_factory=list)
    already_sent: list[str] = field(default_factory=list)


class DraftTarget(Protocol):
    """Where drafts go. ``put`` stores one and returns where it went (the row's ``draft_path``)."""

    transport: str      # the store's messages.transport: "eml" | "imap"
    unsent: bool        # add X-Unsent: 1 (Outlook opens such an .eml as an editable draft)
    commit_every: int   # rows per store transaction

    def put(self, address: str, message: EmailMessage, *, replace: bool) -> Path | str: ...

    def describe(self) -> str: ...


class EmlFolder:
    """``.eml`` files, one per address, written atomically into ``out_dir``."""

    transport = "eml"
    unsent = True
    commit_every = COMMIT_EVERY

    def __init__(self, out_dir: Path):
        self.out_dir = out_dir
        out_dir.mkdir(parents=True, exist_ok=True)

    def put(self, address: str, message: EmailMessage, *, replace: bool) -> Path:
        path = self.out_dir / eml_name(address)
        write_atomically(path, message.as_bytes())
        return path

    def describe(self) -> str:
        return f"{self.out_dir}/"


def write_drafts(rows: Iterable[Rendered], *, store: Store, sender: Address, campaign: str,
                 template_name: str, out_dir: Path | None = None, target: DraftTarget | None = None,
                 on_row: Callable[[], None] = lambda: None) -> DraftResult:
    """Put one draft per rendered row into ``target`` (default: .eml files in ``out_dir``); record each."""
    if target is None:
        if out_dir is None:
            raise ValueError("write_drafts needs out_dir or target")
        target = EmlFolder(out_dir)
    result = DraftResult()
    pending = 0
    store.db.execute("BEGIN IMMEDIATE")
    try:
        for item in rows:
            on_row()
            draft = item.draft
            if draft is None:
                continue
            address = item.contact.email
            existing = store.get(campaign, address)
            if existing and existing.state not in REDRAFTABLE:
                result.already_sent.append(address)
                continue
            message_id = existing.message_id if existing else make_message_id(sender)
            message = build_message(draft, sender, message_id, datetime.now().astimezone(), unsent=target.unsent)
            where = target.put(address, message, replace=existing is not None)
            store.plan(campaign=campaign, address=address, message_id=message_id, template=template_name,
                       subject=draft.subject, recipients=draft.recipients, contact=item.contact.fields,
                       contact_line=item.contact.line, state="drafted", transport=target.transport,
                       draft_path=str(where))
            result.written.append(where)
            pending += 1
            if pending >= target.commit_every:
                store.db.execute("COMMIT")
                store.db.execute("BEGIN IMMEDIATE")
                pending = 0
    finally:
        store.db.execute("COMMIT")  # even when interrupted: what was written stays recorded
    return result
