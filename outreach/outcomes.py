"""Outcomes: what the store's events mean, manual marks, and the suppression list.

An event's ``kind`` says what came back. Sync records ``reply``, ``auto-reply``, ``bounce``,
``delayed`` and ``complaint``; ``outreach mark`` records outcomes that arrived another way
(``replied``, ``declined``, ``accepted``, ``referred``, ``opted-out``, ``bounced``) with
strength ``manual``. Every consumer reads the kinds through the groups below, so an
out-of-office is never a reply and a "delayed" notice is never a bounce.

Changing one's mind: marks are facts that accumulate ("replied", later "declined"); the newest
mark is the contact's current manual outcome. A wrong mark is taken back with ``--undo``, which
deletes that mark (and, for ``opted-out``, the suppression it added).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Iterable, Iterator

from outreach.addresses import AddressValidator, EmailNotValidError
from outreach.clock import iso
from outreach.errors import UserError

if TYPE_CHECKING:  # pragma: no cover
    from outreach.batch import Rendered
    from outreach.store import Store

# A human answered (any of these ends the follow-up sequence and counts as "replied").
REPLY_KINDS = ("reply", "replied", "declined", "accepted", "referred", "opted-out")
# The message did not arrive. "delayed" is a warning from a relay, not a bounce.
BOUNCE_KINDS = ("bounce", "bounced")
AUTO_REPLY_KINDS = ("auto-reply",)
# Never write to these addresses again, in any campaign.
SUPPRESS_KINDS = ("complaint", "opted-out")

OUTCOMES = ("replied", "declined", "accepted", "referred", "opted-out", "bounced")
_ALIASES = {"reply": "replied", "answered": "replied", "decline": "declined", "accept": "accepted",
            "refer": "referred", "opted_out": "opted-out", "opt-out": "opted-out", "optout": "opted-out",
            "opted out": "opted-out", "unsubscribed": "opted-out", "bounce": "bounced"}
MARK_PREFIX = "mark:"


def sql_list(kinds: Iterable[str]) -> str:
    """``('reply', 'replied')`` for an SQL ``IN``: the kinds are constants of this module."""
    return "(" + ", ".join(f"'{k}'" for k in kinds) + ")"


def normalize_outcome(text: str) -> str:
    key = " ".join(text.strip().casefold().split())
    outcome = _ALIASES.get(key, key)
    if outcome not in OUTCOMES:
        raise UserError(f"{text!r} is not an outcome this tool records (use one of {', '.join(OUTCOMES)})")
    return outcome


def normalize_address(text: str) -> str:
    try:
        return AddressValidator()(text.strip()).casefold()
    except EmailNotValidError as e:
        raise UserError(f"{text!r} is not a valid address: {e}") from None


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


def mark(store: "Store", address: str, outcome: str, *, campaign: str | None, at: datetime,
         note: str | None = None, undo: bool = False) -> MarkResult:
    """Record (or with ``undo`` take back) a manual outcome for ``address``."""
    address, outcome = normalize_address(address), normalize_outcome(outcome)
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
            if outcome == "opted-out" and not store.has_event(address, "opted-out"):
                store.unsuppress(address, "opted-out")
        else:
            message_id = store.latest_message_id(campaign, address) if campaign else None
            changed = store.add_event(message_id=message_id, address=address, kind=outcome, source=source,
                                      strength="manual", detail=note, occurred_at=iso(at))
            if outcome == "opted-out":
                store.suppress(address, "opted-out", iso(at))
        suppressed = address in store.suppressed()
    return MarkResult(address, outcome, campaign, changed, suppressed)


def drop_suppressed(rows: Iterable["Rendered"], suppressed: dict[str, str],
                    skipped: list[tuple[str, str]]) -> Iterator["Rendered"]:
    """Rows whose address is not suppressed; the others are appended to ``skipped`` (address, reason)."""
    for item in rows:
        address = item.contact.email.casefold()
        if item.draft is not None and address in suppressed:
            skipped.append((item.contact.email, suppressed[address]))
            continue
        yield item


def describe_suppression(reason: str) -> str:
    """A suppression reason in words: ``opted-out``, ``complaint: ...`` or ``bounce 5.1.1: ...`` (sync)."""
    for prefix, words in (("opted-out", "opted out"), ("complaint", "complained (spam report)"),
                          ("bounce", "the address bounced")):
        if reason.startswith(prefix):
            return words
    return reason


def is_refusal(reason: str) -> bool:
    """The person said no (an opt-out or a complaint), as opposed to a dead address."""
    return reason.startswith(("opted-out", "complaint"))
