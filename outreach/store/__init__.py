"""The store: one SQLite file in the workspace, the tool's memory, used by every stage.

It is made of parts, one module each: :mod:`~outreach.store.schema` (the file, its migrations),
:mod:`~outreach.store.connection` (opening it, transactions), :mod:`~outreach.store.messages`
(what was drafted and sent), :mod:`~outreach.store.states` (a message's states and the only moves
between them), :mod:`~outreach.store.events` (what came back, suppressions, the mailbox
position), :mod:`~outreach.store.people` (everything known about an address, for the gate) and
:mod:`~outreach.store.reports` (status and report queries). :class:`Store` is all of them over
one connection. What each event kind means is in :mod:`~outreach.store.outcomes`.

May import only the support modules at the top of ``outreach``; every stage may import it, and
``compose`` does not (it stays pure).
"""

from __future__ import annotations

from outreach.config import Settings
from outreach.errors import UserError
from outreach.store.connection import Connection
from outreach.store.messages import MessageRow, Messages, Outgoing
from outreach.store.people import People
from outreach.store.reports import Reports, ThreadRow
from outreach.store.schema import trouble

__all__ = ["Connection", "MessageRow", "Outgoing", "Store", "ThreadRow", "open_existing", "trouble"]


class Store(Messages, Reports, People):
    """A connection to the tracking store with every query on it."""


def open_existing(settings: Settings, *, campaign: str | None = None) -> Store:
    """The store, refusing to create one: most commands read what earlier commands recorded.
    With ``campaign``, also refuse a campaign the store does not know."""
    if not settings.db.exists():
        raise UserError(f"{settings.db}: no tracking store here; run this in the workspace where you drafted "
                        "or sent (or set OUTREACH_DB)")
    store = Store(settings.db)
    if campaign is not None:
        store.require_campaign(campaign)
    return store
