"""Building tracking stores by hand: sent messages and mailbox events at chosen times.

Follow-up, status and report tests need messages that were sent days ago and replies that came
back later; these helpers write exactly that through the Store's own methods, plus the
``sent_at`` a real send would have recorded.
"""

from __future__ import annotations

import json

from outreach.store import Outgoing, Store


def message_id(campaign: str, address: str, step: int = 0) -> str:
    return f"<{campaign}.{step}.{address.replace('@', '.')}@example.org>"


def add_message(store: Store, campaign: str, address: str, *, sent_at: str | None = "2026-11-10T10:00:00Z",
                step: int = 0, state: str = "sent", contact: dict | None = None, line: int | None = None,
                variant: str | None = None, subject: str = "Prospective collaborator: chest imaging",
                template: str = "templates/outreach.txt", error: str | None = None) -> str:
    """Plan a message and move it to ``state`` (``sent_at`` only when sent). Returns its Message-ID."""
    mid = message_id(campaign, address, step)
    parent = message_id(campaign, address, step - 1) if step else None
    fields = contact or {"email": address, "first_name": "Jo", "last_name": address.split("@")[0].title(),
                         "topic": "chest imaging"}
    store.record("queue", Outgoing(campaign=campaign, address=address, step=step, message_id=mid, template=template,
                                   subject=subject if not step else f"Re: {subject}", recipients=[address],
                                   contact=fields, contact_line=line, transport="smtp", variant=variant,
                                   parent_id=parent))
    force_state(store, mid, state, sent_at=sent_at if state == "sent" else None, error=error)
    return mid


def force_state(store: Store, mid: str, state: str, *, sent_at: str | None = None, error: str | None = None) -> None:
    """Put a message in any state at once, as earlier commands (or a crash) would have left it:
    a test's shortcut past the store's checked moves."""
    store.db.execute("UPDATE messages SET state=?, sent_at=COALESCE(?, sent_at), error=? WHERE message_id=?",
                     (state, sent_at, error, mid))


def add_event(store: Store, mid: str | None, address: str, kind: str, at: str, *, detail=None,
              strength: str = "header", source: str | None = None) -> None:
    if isinstance(detail, dict):
        detail = json.dumps(detail)
    store.add_event(message_id=mid, address=address, kind=kind, source=source or f"test:{kind}:{mid}:{at}",
                    strength=strength, detail=detail, occurred_at=at)


def synced(store: Store, at: str, account: str = "asha.rao@example.org", folder: str = "INBOX") -> None:
    store.db.execute("INSERT OR REPLACE INTO sync_state (account, folder, uidvalidity, last_uid, synced_at) "
                     "VALUES (?,?,?,?,?)", (account, folder, 1, 1, at))
