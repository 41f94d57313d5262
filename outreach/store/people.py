"""People: everything the store knows about an address, across every campaign, read in bulk.

This is what the gate (:mod:`outreach.track.gate`) decides from: each message written to the
person (any campaign, any step, any state), each event heard about them (replies, marks,
auto-replies, bounces, complaints) and whether the address is suppressed. Read for a whole
sheet at once (a few queries per 500 addresses), and again for each small batch right before
it is claimed, so that a reply recorded meanwhile by another command is seen.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from outreach.addresses import address_key
from outreach.store.connection import BATCH
from outreach.store.events import Events
from outreach.store.outcomes import SUPPRESS_KINDS
from outreach.store.schema import SUPPRESSION_REASON


@dataclass(frozen=True)
class Written:
    """One message to the person."""

    campaign: str
    step: int
    state: str
    kind: str | None        # the template's Kind
    when: str | None        # UTC ISO: when it was sent, else last changed
    message_id: str
    draft_path: str | None


@dataclass(frozen=True)
class Heard:
    """One event about the person: what came back, or what the user marked."""

    kind: str
    strength: str | None    # how it was matched: header | dsn | subject | address | manual
    at: str                 # UTC ISO
    campaign: str | None    # of the message it is about; None for an opt-out of someone never written to


@dataclass
class Person:
    address: str
    written: list[Written] = field(default_factory=list)
    heard: list[Heard] = field(default_factory=list)
    suppressed: str | None = None   # why the address must never be written to, if it must not

    def message(self, campaign: str, step: int = 0) -> Written | None:
        return next((w for w in self.written if w.campaign == campaign and w.step == step), None)


class People(Events):
    """The bulk reader of people (a part of :class:`outreach.store.Store`)."""

    def people(self, addresses: Iterable[str]) -> dict[str, Person]:
        """address (identity) -> its :class:`Person`, for every address given (known or not)."""
        wanted = list(dict.fromkeys(address_key(a) for a in addresses if a))
        found = {address: Person(address) for address in wanted}
        for start in range(0, len(wanted), BATCH):
            batch = wanted[start:start + BATCH]
            marks = ",".join("?" * len(batch))
            for address, *row in self.db.execute(
                    f"""SELECT address, campaign, step, state, kind, COALESCE(sent_at, updated_at), message_id,
                               draft_path FROM messages WHERE address IN ({marks}) ORDER BY created_at, step""", batch):
                found[address].written.append(Written(*row))
            for address, *row in self.db.execute(
                    f"""SELECT e.address, e.kind, e.strength, COALESCE(e.occurred_at, e.recorded_at), m.campaign
                        FROM events e LEFT JOIN messages m ON m.message_id = e.message_id
                        WHERE e.address IN ({marks}) ORDER BY e.id""", batch):
                found[address].heard.append(Heard(*row))
            for address, reason in self.db.execute(
                    f"SELECT address, {SUPPRESSION_REASON} FROM suppressions WHERE address IN ({marks})", batch):
                found[address].suppressed = reason
        for person in found.values():
            if person.suppressed is None:
                person.suppressed = next((h.kind for h in person.heard if h.kind in SUPPRESS_KINDS), None)
        return found
