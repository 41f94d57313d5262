"""Outcomes: what the store's events mean, and how suppressions read.

An event's ``kind`` says what came back. Sync records ``reply``, ``auto-reply``, ``bounce``,
``delayed`` and ``complaint`` (``unconfirmed-bounce`` and ``unconfirmed-complaint`` for reports
that do not point at a message of ours); ``outreach mark`` records outcomes that arrived another way
(``replied``, ``declined``, ``accepted``, ``referred``, ``opted-out``, ``bounced``) with
strength ``manual``. Every consumer reads the kinds through the groups below, so an
out-of-office is never a reply and a "delayed" notice is never a bounce. Pure: the store
imports these groups, and :mod:`outreach.track.marks` writes marks.
"""

from __future__ import annotations

from collections.abc import Iterable

from outreach.errors import UserError

# A human answered (any of these ends the follow-up sequence and counts as "replied").
REPLY_KINDS = ("reply", "replied", "declined", "accepted", "referred", "opted-out")
# The message did not arrive. "delayed" is a warning from a relay, not a bounce.
BOUNCE_KINDS = ("bounce", "bounced")
AUTO_REPLY_KINDS = ("auto-reply",)
# A bounce or complaint that names an address we wrote to but points at none of our messages
# (no Message-ID of ours quoted, no In-Reply-To/References): anyone who knows the list can write
# one, so it is kept under its own kind, in none of the groups here, until the user confirms it
# with the mark named beside it.
UNCONFIRMED_REPORTS = {"bounce": ("unconfirmed-bounce", "bounced"),
                       "complaint": ("unconfirmed-complaint", "opted-out")}
UNCONFIRMED_KINDS = tuple(kind for kind, _ in UNCONFIRMED_REPORTS.values())
CONFIRMING_MARK = dict(UNCONFIRMED_REPORTS.values())  # unconfirmed kind -> the mark that confirms it
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
