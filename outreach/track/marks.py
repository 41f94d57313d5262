"""Manual marks: outcomes that arrived another way (a phone call, a hallway, another inbox).

Marks are facts that accumulate ("replied", later "declined"); the newest mark is the
contact's current manual outcome. ``opted-out`` and ``bounced`` also put the address on the
suppression list: ``bounced`` is how the user confirms a delivery report that named the address
but quoted none of our Message-IDs (sync records those without suppressing, since anyone can
forge one). A wrong mark is taken back with ``undo``, which deletes that mark and the
suppression it added. What each kind means is in :mod:`outreach.store.outcomes`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from outreach.addresses import InvalidAddress, identity
from outreach.clock import iso
from outreach.errors import UserError
from outreach.store import Store
from outreach.store.outcomes import MARK_PREFIX, normalize_outcome


def normalize_address(text: str, *, test_domains: bool = False) -> str:
    """The address's identity, however it is typed (the store keys by it)."""
    try:
        return identity(text, test_domains=test_domains)
    except InvalidAddress as e:
        raise UserError(f"{text!r} is not a valid address: {e}") from None


SUPPRESSING = ("opted-out", "bounced")  # marks that also put the address on the suppression list


def mark_source(campaign: str, address: str, outcome: str) -> str:
    """The event's ``source``: unique, so marking the same outcome twice records it once."""
    return f"{MARK_PREFIX}{campaign}:{address}:{outcome}"


@dataclass(frozen=True)
class MarkResult:
    address: str
    outcome: str
    campaign: str | None   # None: the address has no message in the store (an opt-out only)
    changed: bool          # False: it was already marked (or, with undo, was not marked)
    suppressed: bool       # the address is on the suppression list afterwards


def mark(store: Store, address: str, outcome: str, *, campaign: str | None, at: datetime,
         note: str | None = None, undo: bool = False, test_domains: bool = False) -> MarkResult:
    """Record (or with ``undo`` take back) a manual outcome for ``address`` (``test_domains``:
    OUTREACH_ALLOW_TEST_DOMAINS)."""
    address, outcome = normalize_address(address, test_domains=test_domains), normalize_outcome(outcome)
    campaigns = store.campaigns_of(address)
    if campaign is not None and campaign not in campaigns:
        known = f"it is in {', '.join(campaigns)}" if campaigns else "no message to it is in the store"
        raise UserError(f"{address} has no message in campaign {campaign!r} ({known})")
    if campaign is None and len(campaigns) > 1:
        raise UserError(f"{address} is in several campaigns ({', '.join(campaigns)}); say which with --campaign")
    if campaign is None and campaigns:
        campaign = campaigns[0]
    if campaign is None and outcome != "opted-out":
        raise UserError(f"no message to {address} is in the store; check the address "
                        "(only opted-out can be recorded for someone never written to)")
    source = mark_source(campaign or "", address, outcome)
    with store.transaction():
        if undo:
            changed = store.delete_event(source)
            if outcome in SUPPRESSING and not store.has_event(address, outcome):
                store.unsuppress(address, outcome)
        else:
            message_id = store.latest_message_id(campaign, address) if campaign else None
            changed = store.add_event(message_id=message_id, address=address, kind=outcome, source=source,
                                      strength="manual", detail=note, occurred_at=iso(at))
            if outcome in SUPPRESSING:
                store.suppress(address, outcome, iso(at))
        suppressed = address in store.suppressed()
    return MarkResult(address, outcome, campaign, changed, suppressed)
