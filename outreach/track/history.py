"""A contact's history in the other campaigns, in words: what `check`, `draft` and `send` list
beside a contact the store already knows ("fall-mentors, written 2026-11-14, replied").

Whether that history holds a message back is the gate's decision (:mod:`outreach.track.gate`);
this module only describes it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from outreach.store.outcomes import BOUNCE_KINDS, REPLY_KINDS, SUPPRESS_KINDS
from outreach.store.people import People, Person
from outreach.store.states import WRITTEN

# Outcomes, most telling first: a contact's history in a campaign reads as the first that applies.
_OUTCOME_OF_KIND = [(SUPPRESS_KINDS, "opted out"), (BOUNCE_KINDS, "bounced"), (("declined",), "declined"),
                    (tuple(k for k in REPLY_KINDS if k not in (*SUPPRESS_KINDS, "declined")), "replied")]


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


def history(person: Person, campaign: str) -> list[Past]:
    """The person's history in campaigns other than ``campaign``, latest first."""
    latest: dict[str, tuple[str, str | None]] = {}
    for written in person.written:
        if written.campaign == campaign:
            continue
        state, when = latest.get(written.campaign, (None, None))
        if state is None or (written.state in WRITTEN, written.when or "") >= (state in WRITTEN, when or ""):
            latest[written.campaign] = (written.state, written.when)
    pasts = []
    for camp, (state, when) in latest.items():
        kinds = {h.kind for h in person.heard if h.campaign == camp}
        pasts.append(Past(camp, state, when, _outcome(kinds, state)))
    return sorted(pasts, key=lambda p: p.when or "", reverse=True)


def _outcome(kinds: set[str], state: str) -> str:
    for group, outcome in _OUTCOME_OF_KIND:
        if kinds & set(group):
            return outcome
    return "no answer yet" if state in WRITTEN else "not sent"


def known_elsewhere(store: People, addresses: Iterable[str], campaign: str) -> dict[str, list[Past]]:
    """address (identity) -> its history in campaigns other than ``campaign``, for those that have one."""
    return {address: pasts for address, person in store.people(addresses).items()
            if (pasts := history(person, campaign))}
