"""Drafting: rendered rows become ``.eml`` files, each recorded in the store with its Message-ID.

A draft row can be drafted again (the template changed): it keeps its Message-ID and its file
name, so nothing a mail client or a later ``send`` relies on moves. A row that has already been
sent is never drafted over.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from email.headerregistry import Address
from pathlib import Path
from typing import Callable, Iterable

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
    written: list[Path] = field(default_factory=list)
    already_sent: list[str] = field(default_factory=list)


def write_drafts(rows: Iterable[Rendered], *, store: Store, sender: Address, campaign: str,
                 template_name: str, out_dir: Path, on_row: Callable[[], None] = lambda: None) -> DraftResult:
    """Write one ``.eml`` per rendered row into ``out_dir`` and record each in ``store``."""
    out_dir.mkdir(parents=True, exist_ok=True)
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
            message = build_message(draft, sender, message_id, datetime.now().astimezone(), unsent=True)
            path = out_dir / eml_name(address)
            write_atomically(path, message.as_bytes())
            store.plan(campaign=campaign, address=address, message_id=message_id,
                       template=item.template_name or template_name, variant=item.variant,
                       subject=draft.subject, recipients=draft.recipients, contact=item.contact.fields,
                       contact_line=item.contact.line, state="drafted", transport="eml", draft_path=str(path))
            result.written.append(path)
            pending += 1
            if pending >= COMMIT_EVERY:
                store.db.execute("COMMIT")
                store.db.execute("BEGIN IMMEDIATE")
                pending = 0
    finally:
        store.db.execute("COMMIT")  # even when interrupted: what was written stays recorded
    return result
