"""`outreach resolve`: the user checked the Sent folder and says whether an uncertain message left.

It holds the outbox lock and settles a dead run first, like every command that changes outgoing
messages, so a message a crash left ``sending`` a moment ago can be resolved at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from outreach.account import Account
from outreach.config import Settings, allows_test_domains
from outreach.deliver.drafts import remove_sent_drafts, take_outbox
from outreach.errors import UserError
from outreach.store import open_existing
from outreach.track.marks import normalize_address


@dataclass
class Resolved:
    address: str
    campaign: str
    drafts_removed: int = 0
    drafts_left: list[str] = field(default_factory=list)


def resolve_uncertain(settings: Settings, address: str, campaign: str | None, *, delivered: bool,
                      warn: Callable[[str], None]) -> Resolved:
    """Record an uncertain message as sent (its draft then goes) or put it back to be sent."""
    store = open_existing(settings)
    with take_outbox(store, "resolve", settings, warn):
        rows = store.in_doubt(normalize_address(address, test_domains=allows_test_domains(settings.raw)), campaign)
        if not rows:
            raise UserError(f"{address} has no uncertain message" + (f" in campaign {campaign!r}" if campaign else ""))
        if len(rows) > 1:
            raise UserError(f"{address} is uncertain in {len(rows)} messages "
                            f"({', '.join(f'{r.campaign} step {r.step}' for r in rows)}); add --campaign")
        row = rows[0]
        with store.transaction():
            if delivered:
                store.must_move("confirm", row.message_id, at=row.updated_at)
            else:
                store.must_move("resend", row.message_id)
        done = Resolved(row.address, row.campaign)
        if delivered and row.draft_path:
            account = Account.load(settings) if row.draft_path.startswith("imap:") else None
            done.drafts_removed, done.drafts_left = remove_sent_drafts(store, account,
                                                                       [(row.message_id, row.draft_path)],
                                                                       settings.folder)
    return done
