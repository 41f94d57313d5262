"""What the store already knows of the people found: written to, replied, bounced, opted out.

Read only, and only from a store that exists (discover never creates one). The words are
history's (:mod:`outreach.track.history`), the same that `check` lists beside a known contact,
so that nobody found on PubMed is written to twice by accident.
"""

from __future__ import annotations

from collections.abc import Iterable

from outreach.store.outcomes import describe_suppression
from outreach.store.people import People
from outreach.track.history import history


def known_people(store: People | None, addresses: Iterable[str]) -> dict[str, str]:
    """address (identity) -> what happened with it, for the addresses the store has a history of."""
    if store is None:
        return {}
    found = {}
    for address, person in store.people(addresses).items():
        words = [past.describe() for past in history(person, campaign="")]
        if person.suppressed:
            words.insert(0, f"never write: {describe_suppression(person.suppressed)}")
        if words:
            found[address] = "; ".join(words)
    return found
