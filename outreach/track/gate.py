"""The one gate: may this message be drafted, or leave, now? If not, why not.

Every message that may be drafted (``.eml`` or IMAP) or sent (``send``, ``followup``, a resend
of an uncertain one) is decided here and nowhere else, from the person's whole history in the
store (:class:`outreach.store.people.Person`: every campaign, this one included, marks, replies,
auto-replies, bounces, suppressions) and the user's explicit word (:class:`outreach.options.Consent`). Plans
and dry runs show the reasons it gives; senders ask it again for each small batch right before
claiming it, so that a reply or a mark recorded meanwhile stops the message.

The rules, first match wins:

1. The message's own record: already sent; being sent or cut off during a send (uncertain, only
   resent with ``--resend-uncertain``); refused by the server (a first message is retried only
   with ``--retry-failed``; a follow-up is planned again).
2. The address is suppressed (opted out, complained, a hard bounce quoting our Message-ID): never.
3. A Cc or Bcc recipient is suppressed: never.
4. The address bounced (a report tied to one of our messages, or the user's mark): never. A
   report that only names the address (anyone can forge one) is recorded as unconfirmed,
   shown, and holds nothing.
5. The interview log holds the row back (not yet over, or the program asks for no contact).
6. A thank-you note is never followed up.
7. The person answered (a reply, a fresh message, or a mark) in this campaign: nothing more goes
   to them in it; a first message only with ``--include-answered``, a follow-up never. A
   follow-up also stops for an answer anywhere since its thread began.
8. First messages of cold outreach: an answer in another campaign holds them (``--include-answered``);
   so does a message written to them in another campaign within ``recent_days`` (``--include-recent``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from outreach.addresses import address_key
from outreach.clock import parse_time
from outreach.options import Consent
from outreach.store import Store
from outreach.store.outcomes import (
    BOUNCE_KINDS,
    CONFIRMING_MARK,
    REPLY_KINDS,
    UNCONFIRMED_KINDS,
    describe_suppression,
)
from outreach.store.people import Heard, Person
from outreach.store.states import CLAIMED, FAILED, SENDING, SENT, UNCERTAIN, WRITTEN

if TYPE_CHECKING:
    from outreach.compose.batch import Rendered

# Why a message is held, in words: the keys appear in plans, dry runs and --json.
REASONS = {
    "sent": "already sent",
    "busy": "being sent by another run right now",
    "uncertain": "uncertain: the last attempt was cut off during DATA (check your Sent folder)",
    "failed": "refused by the server before (send --retry-failed to try again)",
    "suppressed": "on the suppression list (bounced or asked not to be contacted)",
    "suppressed-copy": "a Cc or Bcc recipient is on the suppression list",
    "bounced": "the address bounced: never written to again",
    "not_yet": "interview not over yet (a later run sends them)",
    "no_contact": "the program's policy says no post-interview contact",
    "thank-you": "a thank-you note is never followed up",
    "answered": "answered in this campaign: nothing more is sent to them in it",
    "answered-elsewhere": "replied or declined in another campaign (--include-answered to write anyway)",
    "recent-elsewhere": "written to in another campaign within --recent-days (--include-recent to send anyway)",
    "duplicate": "a repeated address in the CSV",
    "no-address": "no address in the sheet",
    "warnings": "with warnings, left out by --skip-warnings (never asked of the gate)",
}


@dataclass(frozen=True)
class Ask:
    """One message the caller would draft or send."""

    campaign: str
    address: str                  # the recipient's identity
    step: int = 0                 # 0 the first message, 1.. follow-ups
    kind: str = "outreach"        # the template's Kind: outreach | thank-you | follow-up
    copies: tuple[str, ...] = ()  # the other envelope recipients (Cc, Bcc)
    sending: bool = True          # False: a draft
    schedule: str | None = None   # the interview log's hold, in words ("not yet: ...", "no contact: ...")


def ask_for(rendered: Rendered, campaign: str, *, sending: bool = True) -> Ask:
    """The gate's question for a rendered first message (``draft`` and ``send`` both ask it)."""
    draft = rendered.draft
    address = rendered.contact.email
    copies = tuple(r for r in draft.recipients if r != address) if draft else ()  # identities, both
    return Ask(campaign, address, 0, draft.kind if draft else "thank-you", copies, sending, rendered.skip)


@dataclass(frozen=True)
class Decision:
    reason: str | None            # a key of REASONS, or None: it may go now
    previous_state: str | None    # of the message's own row, if it has one
    message_id: str | None        # of that row: a message keeps its Message-ID
    draft_path: str | None
    notes: tuple[str, ...] = ()   # worth showing, holding nothing (an address-only bounce report)
    detail: str = ""              # the hold in words, where the reason alone says too little

    @property
    def in_words(self) -> str:
        return self.detail or REASONS.get(self.reason or "", "")

    @property
    def go(self) -> bool:
        return self.reason is None


def decide(ask: Ask, person: Person, consent: Consent, now: datetime,
           suppressed_copy: tuple[str, str] | None = None) -> Decision:
    """The gate itself: pure, from the person's history as the store has it now.
    ``suppressed_copy``: (address, reason) of a Cc or Bcc recipient on the suppression list."""
    own = person.message(ask.campaign, ask.step)
    reason = _reason(ask, person, consent, now, own.state if own else None, suppressed_copy)
    detail = ""
    if reason == "suppressed" and person.suppressed:
        detail = f"{describe_suppression(person.suppressed)} (on the suppression list)"
    elif reason == "suppressed-copy" and suppressed_copy:
        detail = f"Cc/Bcc {suppressed_copy[0]}: {describe_suppression(suppressed_copy[1])}"
    elif reason in ("not_yet", "no_contact") and ask.schedule:
        detail = ask.schedule
    if own is None:
        return Decision(reason, None, None, None, _notes(person), detail)
    return Decision(reason, own.state, own.message_id, own.draft_path, _notes(person), detail)


def _reason(ask: Ask, person: Person, consent: Consent, now: datetime, state: str | None,
            suppressed_copy: tuple[str, str] | None) -> str | None:
    if state == SENT:
        return "sent"
    if state in (CLAIMED, SENDING):
        return "busy"
    if state == UNCERTAIN and not (consent.resend_uncertain and ask.sending):
        return "uncertain"
    if state == FAILED and ask.step == 0 and not consent.retry_failed:
        return "failed"
    if person.suppressed:
        return "suppressed"
    if suppressed_copy:
        return "suppressed-copy"
    if any(h.kind in BOUNCE_KINDS for h in person.heard):
        return "bounced"
    if ask.schedule:
        return "not_yet" if ask.schedule.startswith("not yet") else "no_contact"
    if ask.step > 0 and _thread_kind(person, ask.campaign) == "thank-you":
        return "thank-you"
    answers = [h for h in person.heard if h.kind in REPLY_KINDS]
    if any(h.campaign == ask.campaign for h in answers) and (ask.step > 0 or not consent.include_answered):
        return "answered"
    if ask.step > 0:
        return "answered" if _answered_in_thread(person, ask.campaign, answers) else None
    if ask.kind == "thank-you":
        return None  # an interview is a new conversation: older history shows, but holds nothing
    if answers and not consent.include_answered:
        return "answered-elsewhere"
    if not consent.include_recent and _written_recently(person, ask.campaign, now, consent.recent_days):
        return "recent-elsewhere"
    return None


def _thread_kind(person: Person, campaign: str) -> str | None:
    first = person.message(campaign, 0)
    return first.kind if first else None


def _answered_in_thread(person: Person, campaign: str, answers: list[Heard]) -> bool:
    """An answer from the address since the thread's first message was sent. An answer, or a
    start, at a time the store cannot read counts: when unsure whether a person answered, no reminder."""
    first = person.message(campaign, 0)
    if first is None or first.state != SENT:
        return False
    began = parse_time(first.when)
    return any(began is None or (at := parse_time(h.at)) is None or at >= began for h in answers)


def _written_recently(person: Person, campaign: str, now: datetime, days: int) -> bool:
    since = now - timedelta(days=days)
    for written in person.written:
        if written.campaign != campaign and written.state in WRITTEN and written.when:
            when = parse_time(written.when)
            if when is not None and when >= since:
                return True
    return False


def _notes(person: Person) -> tuple[str, ...]:
    """An unconfirmed report (it names the address but points at no message of ours) holds nothing:
    anyone who knows the list could forge one. It is shown, with the mark that confirms it."""
    kinds = dict.fromkeys(h.kind for h in person.heard if h.kind in UNCONFIRMED_KINDS)
    return tuple(f"a {kind.removeprefix('unconfirmed-')} report names {person.address} but points at no message "
                 f"of ours (it may be forged); `outreach mark {person.address} {CONFIRMING_MARK[kind]}` confirms it"
                 for kind in kinds)


@dataclass
class Gate:
    """The gate over a store: reads people in bulk, then decides each message.

    ``refresh`` reads the given people again (right before a claim): the decision must rest on
    the store as it is then, not as it was when the plan was shown."""

    store: Store
    consent: Consent
    now: datetime
    _people: dict[str, Person] = field(default_factory=dict)
    _suppressed: dict[str, str] | None = None

    def load(self, addresses: Iterable[str]) -> None:
        self._people.update(self.store.people(addresses))

    def refresh(self, addresses: Iterable[str]) -> None:
        self._suppressed = None
        self.load(addresses)

    def person(self, address: str) -> Person:
        key = address_key(address)
        if key not in self._people:
            self.load([key])
        return self._people[key]

    def decide(self, ask: Ask) -> Decision:
        if self._suppressed is None:
            self._suppressed = self.store.suppressed()
        copies = (address_key(c) for c in ask.copies)
        own = address_key(ask.address)
        copy = next(((c, self._suppressed[c]) for c in copies if c != own and c in self._suppressed), None)
        return decide(ask, self.person(ask.address), self.consent, self.now, copy)

