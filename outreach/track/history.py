"""A contact's history across campaigns: one person, one history.

A new campaign over an old list must not write "I am an IMG interested in your research" again
to someone who replied to the last one, or who heard from the user last week. ``known_elsewhere``
reads what the store knows about each address in the *other* campaigns, and ``hold_reason`` says
whether this campaign may write to them (the send plan's skip reasons, and draft's).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterable

from outreach.clock import parse_time
from outreach.store.outcomes import BOUNCE_KINDS, REPLY_KINDS, SUPPRESS_KINDS
from outreach.store import Store

RECENT_DAYS = 30                      # written to this recently in another campaign: held
WRITTEN = ("sent", "uncertain", "sending", "claimed")   # may have reached the person
ANSWERED = ("replied", "declined")    # for cold outreach: skipped unless the user includes them

# Outcomes, most telling first: a contact's history in a campaign reads as the first that applies.
_OUTCOME_OF_KIND = [(SUPPRESS_KINDS, "opted out"), (BOUNCE_KINDS, "bounced"), (("declined",), "declined"),
                    (tuple(k for k in REPLY_KINDS if k not in SUPPRESS_KINDS + ("declined",)), "replied")]


@dataclass(frozen=True)
class Past:
    """What happened with one address in one other campaign."""

    campaign: str
    state: str          # of the latest message there: drafted, sent, failed, ...
    when: str | None    # UTC ISO: when it was last sent there, else last planned
    outcome: str        # opted out | bounced | declined | replied | no answer yet | not sent

    @property
    def written(self) -> bool:
        return self.state in WRITTEN

    def describe(self) -> str:
        verb = "written" if self.written else self.state
        when = f" {self.when[:10]}" if self.when else ""
        return f"{self.campaign}, {verb}{when}, {self.outcome}"


def known_elsewhere(store: Store, addresses: Iterable[str], campaign: str) -> dict[str, list[Past]]:
    """address (casefolded) -> its history in campaigns other than ``campaign``, latest first."""
    wanted = {a.casefold() for a in addresses if a}
    if not wanted:
        return {}
    latest: dict[tuple[str, str], tuple[str, str | None]] = {}
    campaign_of: dict[str, tuple[str, str]] = {}
    for message_id, camp, address, state, when in store.other_campaigns(campaign):
        if address not in wanted:
            continue
        campaign_of[message_id] = (camp, address)
        key = (camp, address)
        state_now, when_now = latest.get(key, (None, None))
        if state_now is None or (state in WRITTEN, when or "") >= (state_now in WRITTEN, when_now or ""):
            latest[key] = (state, when)
    kinds: dict[tuple[str, str], set[str]] = {}
    for message_id, kind in store.event_kinds(list(campaign_of)):
        kinds.setdefault(campaign_of[message_id], set()).add(kind)
    history: dict[str, list[Past]] = {}
    for (camp, address), (state, when) in latest.items():
        outcome = _outcome(kinds.get((camp, address), set()), state)
        history.setdefault(address, []).append(Past(camp, state, when, outcome))
    for pasts in history.values():
        pasts.sort(key=lambda p: p.when or "", reverse=True)
    return history


def _outcome(kinds: set[str], state: str) -> str:
    for group, outcome in _OUTCOME_OF_KIND:
        if kinds & set(group):
            return outcome
    return "no answer yet" if state in WRITTEN else "not sent"


def hold_reason(pasts: list[Past], *, kind: str | None, now: datetime, recent_days: int = RECENT_DAYS,
                include_answered: bool = False, include_recent: bool = False) -> str | None:
    """The skip reason (a key of the send plan's SKIP_REASONS) for a contact with this history,
    or None when this campaign may write to them. A thank-you note is never held by history
    (the interview happened); a bounced or opted-out address is never written to."""
    outcomes = {p.outcome for p in pasts}
    if outcomes & {"bounced", "opted out"}:
        return "bounced-elsewhere"
    if kind == "thank-you":
        return None
    if outcomes & set(ANSWERED) and not include_answered:
        return "answered-elsewhere"
    since = now - timedelta(days=recent_days)
    if not include_recent and any(p.written and p.when and parse_time(p.when) >= since for p in pasts):
        return "recent-elsewhere"
    return None
