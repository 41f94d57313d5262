"""What the real parts say after a step: what the SMTP server received, what the store records,
which drafts a user could still send by hand. Read-only: observing never changes what it sees."""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path

from tests.model.reference import Delivery, DraftCopy, Model, Row, StoreView, campaign_step


def deliveries(server, model: Model) -> list[Delivery]:
    """Every recipient of every message the server accepted, in the order they arrived."""
    found = []
    for position, received in enumerate(server.messages):
        campaign, step = campaign_step(str(received.message["Subject"]))
        found += [Delivery(position, rcpt, model.person_of(rcpt), campaign, step, received.message_id)
                  for rcpt in received.rcpt_tos]
    return found


def read_store(path: Path) -> StoreView:
    """The store as a fresh reader sees it, read from a copy of the file and its journal (or the WAL
    of an older store): reading the store itself would roll back a killed run's hot journal (or
    checkpoint a WAL) before the next command does, and a lost journal would then lose nothing."""
    if not path.exists():
        return StoreView()
    with tempfile.TemporaryDirectory(prefix="model-store-") as scratch:
        copy = Path(scratch) / path.name
        shutil.copyfile(path, copy)
        for suffix in ("-journal", "-wal"):
            side = path.with_name(path.name + suffix)
            if side.exists():
                shutil.copyfile(side, copy.with_name(copy.name + suffix))
        db = sqlite3.connect(copy)
        try:
            rows = {mid: Row(campaign, address, step, state) for mid, campaign, address, step, state in db.execute(
                "SELECT message_id, campaign, address, step, state FROM messages")}
            events = {source for (source,) in db.execute("SELECT source FROM events")}
            suppressed = {address for (address,) in db.execute("SELECT address FROM suppressions")}
        finally:
            db.close()
    return StoreView(rows, events, suppressed)


def drafts(workspace: Path, mailbox) -> list[DraftCopy]:
    """The .eml drafts under drafts/CAMPAIGN/ and the messages in the IMAP Drafts folder."""
    found = [_draft(str(path.relative_to(workspace)), path.read_bytes())
             for path in sorted(workspace.glob("drafts/*/*.eml"))]
    found += [_draft(f"IMAP Drafts #{n}", raw) for n, raw in enumerate(mailbox.messages("Drafts"), start=1)]
    return found


def _draft(where: str, raw: bytes) -> DraftCopy:
    message = message_from_bytes(raw, policy=default_policy)
    return DraftCopy(where, str(message["Message-ID"]), message["To"].addresses[0].addr_spec, str(message["Subject"]))
