"""A message's states, and the only moves between them.

::

    (new) | failed ──draft──> drafted ──queue──> queued ──claim──> claimed ──begin──> sending ──accepted──> sent
                                          ^  └<─release── claimed <──back─── sending (a 4xx: not sent)
                       failed ──retry─────┤             claimed | sending ──refused──> failed
                    uncertain ──resend────┘                       sending ──cut_off──> uncertain
          drafted | uncertain ──confirm──> sent   (the mailbox or the user says it left)

Every change of a message's state is one of these moves, made by :meth:`Messages.move` (or, for
a move that also writes the message's content, :meth:`Messages.record`) as a conditional
``UPDATE ... WHERE state IN (from)``: a move whose row is not in a ``from`` state changes
nothing and says so. That is what makes a claim safe: a message whose claim changed no row is
not sent. ``sending`` is committed before DATA begins, so a crash leaves it there and the next
command holding the outbox lock turns it into ``uncertain``, which nothing sends again without
the user's word (``--resend-uncertain``, ``outreach resolve``).
"""

from __future__ import annotations

from dataclasses import dataclass

DRAFTED, QUEUED, CLAIMED, SENDING = "drafted", "queued", "claimed", "sending"
SENT, FAILED, UNCERTAIN = "sent", "failed", "uncertain"
STATES = (DRAFTED, QUEUED, CLAIMED, SENDING, SENT, FAILED, UNCERTAIN)

# May have reached the person: the states a "written to" history counts.
WRITTEN = (SENT, UNCERTAIN, SENDING, CLAIMED)
# The outcome of the send is not known (sending: only while no process holds the outbox lock).
IN_DOUBT = (SENDING, UNCERTAIN)


@dataclass(frozen=True)
class Move:
    name: str
    sources: tuple[str | None, ...]   # None: the row does not exist yet
    target: str


MOVES = {move.name: move for move in (
    Move("draft", (None, DRAFTED, QUEUED, FAILED), DRAFTED),  # a (re)draft of what has not left
    Move("queue", (None, DRAFTED, QUEUED), QUEUED),         # confirmed for sending
    Move("retry", (FAILED,), QUEUED),                       # --retry-failed, or a follow-up planned again
    Move("resend", (UNCERTAIN,), QUEUED),                   # --resend-uncertain, `resolve ... unsent`
    Move("claim", (QUEUED,), CLAIMED),                      # reserved by the run that holds the lock
    Move("release", (CLAIMED,), QUEUED),                    # the run ends without using the claim
    Move("begin", (CLAIMED,), SENDING),                     # committed just before DATA
    Move("back", (SENDING, CLAIMED), CLAIMED),              # DATA known not to have been accepted (4xx)
    Move("accepted", (SENDING,), SENT),                     # the server's final 250
    Move("refused", (CLAIMED, SENDING), FAILED),            # a 5xx
    Move("cut_off", (SENDING,), UNCERTAIN),                 # interrupted during DATA, or found so after a crash
    Move("confirm", (DRAFTED, UNCERTAIN), SENT),            # the Sent folder, a reply, or the user says it left
    Move("lost", (DRAFTED, QUEUED, CLAIMED), UNCERTAIN),    # a dead run began it, the store file forgot (lock.py)
)}


class StateError(RuntimeError):
    """A move that had to succeed found its message in another state: a bug, never the user's doing."""
