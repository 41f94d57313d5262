"""Sending a campaign: plan it, let the user confirm it, send it, remember every step.

Who may get a message is the gate's decision (:mod:`outreach.track.gate`), asked for every row
when the plan is made and again for each small batch right before it is claimed. The store is
keyed by (campaign, address): a row that was sent is never sent again, so the same command can
be re-run after any failure. Each message's row moves (:mod:`outreach.store.states`)

    queued --claim--> claimed --begin (before DATA)--> sending --250--> sent
                                                              \\--5xx--> failed      (4xx: back to claimed)

Every move is a commit that is in the store's own file when it returns (a rollback journal,
synced). A claim that changes no row means that message is not sent. A run that dies leaves
``sending`` behind, which the next command holding the outbox lock turns into ``uncertain``;
nothing uncertain is sent again unless the user says so. docs/sending-design.md explains why.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from email.utils import format_datetime
from pathlib import Path
from typing import TYPE_CHECKING

from outreach.account import Account, Secret, Server
from outreach.clock import iso, parse_time
from outreach.compose.batch import Rendered, Tally, as_chosen, left_out
from outreach.compose.checks import commitment_phrase, earlier_commitments
from outreach.compose.contacts import ContactFile, Problem
from outreach.compose.interviews import Season
from outreach.compose.message import Envelope, build_message, make_message_id
from outreach.compose.templates import Template
from outreach.compose.variants import addresses as variant_addresses
from outreach.compose.variants import assign as assign_variants
from outreach.compose.variants import render_variants
from outreach.deliver.pacing import (
    DEFAULT_RATE,
    WINDOW,
    Pacer,
    cap_room,
    parse_rate,
    resume_at,
)
from outreach.deliver.smtp import (
    ABANDONED,
    DEFERRED,
    FAILED,
    SENT,
    UNCERTAIN,
    SenderRefused,
    SMTPTransport,
    TransportError,
)
from outreach.deliver.windows import SendWindow, opens_at, zone_column
from outreach.errors import UserError
from outreach.store import MessageRow, Outgoing, Store, states
from outreach.store.lock import OutboxLock
from outreach.track.gate import Ask, Gate, ask_for
from outreach.track.history import Past, history
from outreach.zones import parse_zone

if TYPE_CHECKING:  # pragma: no cover
    from outreach.mailbox.imap import SentCopies

CLAIM_SECONDS = 0.5     # claim (and fsync) about this much sending time at once ...
MAX_CLAIM = 50          # ... but never more messages than this
MAX_REFUSED_IN_A_ROW = 5

# ---------------------------------------------------------------------------------- plan
@dataclass
class Item:
    """A contact to send to now, with the Message-ID it goes out with, and what the gate was asked."""

    rendered: Rendered
    message_id: str
    previous_state: str | None
    ask: Ask                              # asked again right before the claim
    in_reply_to: str | None = None        # a follow-up: the message it answers ...
    references: tuple[str, ...] = ()      # ... and the thread before it
    draft_path: str | None = None         # its draft (.eml path or "imap:FOLDER"), removed once sent

    def outgoing(self, campaign: str, template: str, account: str) -> Outgoing:
        """The row this message is queued as."""
        draft = self.rendered.draft
        assert draft is not None
        return Outgoing(campaign=campaign, address=self.address, step=self.ask.step, message_id=self.message_id,
                        parent_id=self.in_reply_to, template=self.rendered.template_name or template,
                        variant=self.rendered.variant, subject=draft.subject, recipients=draft.recipients,
                        contact=self.rendered.contact.fields, contact_line=self.line, transport="smtp",
                        account=account, kind=draft.kind, commitment=commitment_phrase(draft))

    @property
    def address(self) -> str:
        return self.rendered.contact.email

    @property
    def line(self) -> int:
        return self.rendered.contact.line


@dataclass
class Waiting:
    """A contact whose send window is closed now: when it opens (UTC), and on which clock."""

    item: Item
    opens: datetime
    zone: tzinfo
    zone_name: str          # as the CSV wrote it; "" when it gave none (the user's zone)


@dataclass
class Pacing:
    rate: float               # messages per minute; UNLIMITED for none
    rate_source: str
    jitter: float             # seconds
    cap: int | None           # per rolling 24 hours
    cap_source: str


@dataclass
class Plan:
    campaign: str
    template: Path
    account: Account
    account_key: str
    pacing: Pacing
    items: list[Item] = field(default_factory=list)
    later: list[Item] = field(default_factory=list)       # over --limit or the daily cap
    later_reason: str = ""
    skipped: dict[str, list[str]] = field(default_factory=dict)   # the gate's reason -> addresses
    notes: list[str] = field(default_factory=list)                # the gate's notes: shown, holding nothing
    uncertain: list[MessageRow] = field(default_factory=list)
    tally: Tally = field(default_factory=Tally)
    with_problems: list[Rendered] = field(default_factory=list)
    known: list[tuple[int, str, list[Past]]] = field(default_factory=list)  # (line, address, history elsewhere)
    mailbox: str = ""                                      # how fresh the store's view of the mailbox is, in words
    window_used: int = 0
    cap_resume: datetime | None = None
    held: list[Rendered] = field(default_factory=list)     # rows the interview log holds back, with .skip
    window: SendWindow | None = None
    waiting: list[Waiting] = field(default_factory=list)  # outside their window; sorted, soonest first
    home_zone_lines: list[int] = field(default_factory=list)  # no time_zone: the window is on the user's clock
    home_zone: tzinfo = UTC                          # the user's zone, to show times in

    @property
    def server(self) -> Server:
        assert self.account.smtp is not None
        return self.account.smtp

    @property
    def drafted(self) -> int:
        return sum(1 for i in self.items if i.previous_state == "drafted")

    @property
    def left_over(self) -> int:
        """Queued by an earlier run that stopped (deferred, interrupted, capped)."""
        return sum(1 for i in self.items if i.previous_state == "queued")

    @property
    def split(self) -> dict[str, int] | None:
        """variant -> contacts to write to (now or later), for an A/B test; None without one."""
        names = [item.rendered.variant for item in self.items + self.later]
        if len(set(names)) < 2:
            return None
        return {name or "": names.count(name) for name in dict.fromkeys(names)}

    def estimate_seconds(self) -> float:
        return Pacer(self.pacing.rate, self.pacing.jitter).estimate(len(self.items))


def account_key(account: Account) -> str:
    """The sending account, as recorded for the daily cap: the SMTP login."""
    assert account.smtp is not None
    return account.smtp.user.casefold()


def resolve_pacing(account: Account, *, rate: str | None, jitter: float | None, daily_cap: int | None) -> Pacing:
    """Command line over environment/.env over the provider preset over the defaults."""
    raw = account.settings.raw
    preset = raw.get("provider", "").lower()
    if rate is not None:
        per_minute, rate_source = parse_rate(rate), "--rate"
    elif account.rate is not None:
        rate_source = "OUTREACH_RATE" if "rate" in raw else f"the {preset} preset"
        per_minute = parse_rate(account.rate, rate_source)
    else:
        per_minute, rate_source = DEFAULT_RATE, "default"
    if jitter is None:
        try:
            jitter = float(raw.get("jitter", "0"))
        except ValueError:
            raise UserError(f"OUTREACH_JITTER={raw['jitter']!r} is not a number of seconds") from None
    if jitter < 0:
        raise UserError("the jitter must be zero or more seconds")
    if daily_cap is not None:
        cap, cap_source = (daily_cap or None), "--daily-cap"
    elif account.daily_cap is not None:
        cap = account.daily_cap
        cap_source = "OUTREACH_DAILY_CAP" if "daily_cap" in raw else f"the {preset} preset"
    else:
        cap, cap_source = None, "none set"
    return Pacing(per_minute, rate_source, jitter, cap, cap_source)


@dataclass
class Sources:
    """What a campaign's plan is made from, loaded once for a run (and each round of --wait)."""

    campaign: str
    templates: dict[str, tuple[Path, Template]]   # variant name -> (path, template); the first is the main one
    contacts: ContactFile
    account: Account
    pacing: Pacing
    limit: int | None = None
    window: SendWindow | None = None
    home: tzinfo = UTC                    # the user's zone: a row without time_zone is on this clock
    warnings: str = "keep"                # rows with warnings: keep, skip (left out), strict (errors)

    @property
    def template(self) -> Template:
        return next(iter(self.templates.values()))[1]


def make_plan(sources: Sources, store: Store, gate: Gate, now: datetime) -> Plan:
    """Render and check every row, and ask the gate about each contact: send now, later, wait
    for its window, or skip (and why).

    Each row is rendered with the template its A/B variant assignment gives it (stable, see
    :mod:`outreach.compose.variants`). A thank-you template follows the interview log read
    against the account's season settings. With a window, a contact is sent to only while the
    window is open on the clock of its ``time_zone`` cell (the user's zone when it is empty; an
    unreadable zone is an error on that row)."""
    account, window = sources.account, sources.window
    plan = Plan(sources.campaign, sources.template.path, account, account_key(account), sources.pacing,
                window=window,                home_zone=sources.home)
    candidates: list[Item] = []
    zones: dict[str, tuple[tzinfo, str]] = {}
    gate.refresh(variant_addresses(sources.contacts))
    for rendered in render_campaign(sources, store, account.sender, Season.from_settings(account.settings.raw)):
        if window is not None and not rendered.errors and rendered.contact.email not in zones:
            zones[rendered.contact.email] = contact_zone(rendered, sources.home)
        plan.tally.add(rendered)
        if rendered.problems:
            plan.with_problems.append(rendered)
        if rendered.errors:
            continue
        address = rendered.contact.email
        if rendered.draft is None and not rendered.skip:
            plan.skipped.setdefault("duplicate" if address else "no-address", []).append(
                address or f"line {rendered.contact.line}")
            continue
        if left_out(rendered, sources.warnings):  # the person's choice, before the gate is asked
            plan.skipped.setdefault("warnings", []).append(address)
            continue
        person = gate.person(address) if address else None
        if person is not None and (pasts := history(person, sources.campaign)):
            plan.known.append((rendered.contact.line, address, pasts))
        decision = gate.decide(ask_for(rendered, sources.campaign))
        plan.notes += [n for n in decision.notes if n not in plan.notes]
        if not decision.go:
            assert decision.reason is not None
            if rendered.skip:
                plan.held.append(rendered)
            if decision.reason != "uncertain":  # listed with the other uncertain ones
                plan.skipped.setdefault(decision.reason, []).append(
                    address or rendered.contact.fields.get("interviewer", ""))
            continue
        item = Item(rendered, decision.message_id or make_message_id(account.sender), decision.previous_state,
                    ask_for(rendered, sources.campaign), draft_path=decision.draft_path)
        if window is not None:
            zone, zone_name = zones[address]
            if not zone_name:
                plan.home_zone_lines.append(item.line)
            opens = opens_at(window, zone, now)
            if opens > now:
                plan.waiting.append(Waiting(item, opens, zone, zone_name))
                continue
        candidates.append(item)
    plan.waiting.sort(key=lambda waiting: waiting.opens)
    resent = {i.message_id for i in candidates if i.previous_state == states.UNCERTAIN}
    plan.uncertain = [r for r in store.messages(sources.campaign) if r.state in (*states.IN_DOUBT, states.CLAIMED)
                      and r.message_id not in resent]
    fill(plan, candidates, store, now, sources.limit)
    return plan


def fill(plan: Plan, candidates: list[Item], store: Store, now: datetime, limit: int | None = None) -> None:
    """Split ``candidates`` into what goes now and what is left for later, by ``--limit`` and the
    daily cap (every campaign's messages from this account in the last 24 hours count)."""
    times = window_times(store, plan.account_key, now)
    plan.window_used = len(times)
    cap = plan.pacing.cap
    take = len(candidates)
    if limit is not None and limit < take:
        take, plan.later_reason = limit, "--limit"
    if cap is not None and (room := cap_room(times, cap, now)) is not None and room < take:
        take, plan.later_reason = room, "daily cap"
        plan.cap_resume = resume_at(times, cap, now) if room == 0 else None
    plan.items, plan.later = candidates[:take], candidates[take:]


def render_campaign(sources: Sources, store: Store, sender, season: Season) -> Iterator[Rendered]:
    """Every row rendered with its variant's template and checked, knowing what was already
    promised to which program (the NRMP rule)."""
    assignment = assign_variants(sources.campaign, variant_addresses(sources.contacts), list(sources.templates),
                                 store.variants(sources.campaign))
    promised = earlier_commitments(store.commitments(sources.campaign))
    return as_chosen(render_variants(sources.templates, sources.contacts, assignment, season, promised, sender),
                     sources.warnings)


def contact_zone(rendered: Rendered, home: tzinfo) -> tuple[tzinfo, str]:
    """The zone of a row's ``time_zone`` cell and its text, or ``(home, "")`` when it is empty; an
    unreadable zone becomes an error on the row, so that nothing is sent at a guessed hour."""
    column = zone_column(rendered.contact.fields)
    text = rendered.contact.fields.get(column, "").strip()
    if not text:
        return home, ""
    try:
        return parse_zone(text), text
    except ValueError as e:
        rendered.problems.append(Problem("error", rendered.contact.line, column,
                                         f"{e}; the send window needs the contact's zone"))
        return home, text


def window_times(store: Store, key: str, now: datetime) -> list[datetime]:
    return [moment for t in store.sent_times(key, iso(now - WINDOW)) if (moment := parse_time(t)) is not None]


def queue_plan(plan: Plan, store: Store) -> None:
    """Write the confirmed plan: every message to send becomes a queued row (one transaction).
    A row that moved meanwhile (found sent in the mailbox) is not queued, so it cannot be claimed."""
    with store.transaction():
        for item in plan.items:
            move = {states.FAILED: "retry", states.UNCERTAIN: "resend"}.get(item.previous_state or "", "queue")
            store.record(move, item.outgoing(plan.campaign, str(plan.template), plan.account_key))


# ---------------------------------------------------------------------------------- send
@dataclass
class Result:
    sent: list[tuple[Item, str]] = field(default_factory=list)        # (item, partial refusals or "")
    failed: list[tuple[Item, str]] = field(default_factory=list)
    deferred: list[tuple[Item, str]] = field(default_factory=list)
    uncertain: list[tuple[Item, str]] = field(default_factory=list)
    held: list[tuple[Item, str]] = field(default_factory=list)        # (item, the gate's reason) at the claim
    not_reached: int = 0
    planned: int = 0                      # messages the run set out to send (over every round of --wait)
    drafts_removed: int = 0               # drafts of the messages sent, removed so they cannot go twice
    drafts_left: list[str] = field(default_factory=list)   # ... and those that could not be removed
    interrupted: bool = False
    stopped: str | None = None            # why the batch stopped early, one sentence
    fatal: TransportError | None = None
    seconds: float = 0.0
    connections: int = 0
    sent_copies: SentCopies | None = None   # the copies filed in the IMAP Sent folder, when there is one

    @property
    def attempted(self) -> int:
        return len(self.sent) + len(self.failed) + len(self.deferred) + len(self.uncertain) + len(self.held)


class _RowJournal:
    """What the transport tells us about one message, committed to its row at once (and, before
    DATA, noted in the outbox lock too: the witness that outlives a store file put back)."""

    def __init__(self, store: Store, message_id: str, lock: OutboxLock | None):
        self.store, self.message_id, self.lock, self.started = store, message_id, lock, False

    def sending(self) -> None:
        self.store.must_move("begin", self.message_id)
        if self.lock is not None:
            self.lock.note_begin(self.message_id)
        self.started = True

    def not_sent(self) -> None:
        self.store.must_move("back", self.message_id)
        self.started = False


@dataclass
class Claimer:
    """Claims the next few messages of a run: the gate is asked once more, on the store as it is
    now, then the store's claim (only queued rows move); a message is sent only if both said yes."""

    store: Store
    gate: Gate
    lock: OutboxLock | None

    def claim(self, items: list[Item], result: Result) -> set[str]:
        self.gate.refresh(item.address for item in items)
        allowed = []
        for item in items:
            decision = self.gate.decide(item.ask)
            if decision.go:
                allowed.append(item)
            else:
                result.held.append((item, decision.reason or ""))
        return set(self.store.claim([item.message_id for item in allowed]))


def claim_size(interval: float) -> int:
    if interval >= CLAIM_SECONDS:
        return 1
    if interval <= 0:
        return MAX_CLAIM
    return max(1, min(MAX_CLAIM, int(CLAIM_SECONDS / interval)))


def send_plan(plan: Plan, claimer: Claimer, transport: SMTPTransport, *, stop: threading.Event,
              on_message: Callable[[Item, str, str], None] = lambda item, status, detail: None,
              on_accepted: Callable[[Item, bytes], None] = lambda item, data: None,
              result: Result | None = None) -> Result:
    """Send every item of a queued plan, in order, paced; never raises for a server's answer.

    Items are claimed a few at a time (:class:`Claimer`); one the claim did not take is skipped.
    ``on_accepted`` gets each message the server accepted, as the bytes that went out.
    ``result`` is filled in as messages go, so a caller still has it after a KeyboardInterrupt."""
    store = claimer.store
    result = result if result is not None else Result()
    result.planned += len(plan.items)
    sender = plan.account.sender
    pacer = Pacer(plan.pacing.rate, plan.pacing.jitter)
    per_claim = claim_size(pacer.interval)
    decided: set[str] = set()       # asked and claimed (or refused) already
    claimed: set[str] = set()
    prepared: dict[str, bytes] = {}  # the next message, built while the server handled this one
    refused_in_a_row = 0
    started = time.monotonic()
    try:
        for index, item in enumerate(plan.items):
            if item.message_id in decided and item.message_id not in claimed:
                continue  # held or not claimed: never sent
            if stop.is_set():
                result.interrupted = True
                break
            wait = pacer.delay()
            if wait > 0 and stop.wait(wait):
                result.interrupted = True
                break
            if item.message_id not in decided:
                batch = [i for i in plan.items[index:index + per_claim] if i.message_id not in decided]
                claimed |= claimer.claim(batch, result)
                decided.update(i.message_id for i in batch)
                if item.message_id not in claimed:
                    continue
            data = prepared.pop(item.message_id, None)
            data = data if data is not None else serialize(item, sender)
            following = next((i for i in plan.items[index + 1:] if i.message_id not in decided
                              or i.message_id in claimed), None)
            prepare = None
            if following is not None:
                def prepare(nxt: Item = following) -> None:
                    with contextlib.suppress(Exception):  # built again (and raised) when its turn comes
                        prepared[nxt.message_id] = serialize(nxt, sender)
            pacer.started()
            status, detail = _send_one(item, data, sender, _RowJournal(store, item.message_id, claimer.lock),
                                       transport, prepare, on_accepted)
            on_message(item, status, detail)
            getattr(result, status if status != ABANDONED else "deferred").append((item, detail))
            if status == ABANDONED:
                result.interrupted = True
                break
            refused_in_a_row = refused_in_a_row + 1 if status in (FAILED, DEFERRED) else 0
            if refused_in_a_row >= MAX_REFUSED_IN_A_ROW:
                result.stopped = (f"the server refused {refused_in_a_row} messages in a row (last: {detail}); "
                                  "stopped to protect the account")
                break
    except TransportError as e:
        result.fatal = e
        result.stopped = str(e)
        if isinstance(e, SenderRefused) and e.earlier:
            requeue_refused(store, result, e.earlier)
    finally:
        store.release_claims()
        result.connections = transport.connections
        transport.close()
        result.seconds = time.monotonic() - started
    result.not_reached = result.planned - result.attempted
    return result


def requeue_refused(store: Store, result: Result, count: int) -> None:
    """The last ``count`` messages marked failed were refused because of the sender, as the one
    after them showed: they go back to the queue (failed --retry--> queued), out of the failures."""
    for item, _ in result.failed[-count:]:
        store.must_move("retry", item.message_id, error=None)
    del result.failed[-count:]


def serialize(item: Item, sender) -> bytes:
    """The message as it goes on the wire, without its Date (stamped when it leaves)."""
    draft = item.rendered.draft
    assert draft is not None
    message = build_message(draft, sender, Envelope(item.message_id, datetime.now().astimezone(),
                                                    in_reply_to=item.in_reply_to, references=item.references))
    del message["Bcc"]   # Bcc recipients are in the envelope only
    del message["Date"]  # stamped at send time, however long ago this was built
    return message.as_bytes()


def stamp(data: bytes) -> bytes:
    """Put the Date header on (header order does not matter in RFC 5322)."""
    return b"Date: " + format_datetime(datetime.now().astimezone()).encode() + b"\r\n" + data


def _send_one(item: Item, data: bytes, sender, journal: _RowJournal, transport: SMTPTransport,
              while_waiting: Callable[[], None] | None,
              on_accepted: Callable[[Item, bytes], None]) -> tuple[str, str]:
    draft = item.rendered.draft
    assert draft is not None
    store = journal.store
    wire = stamp(data)
    try:
        outcome = transport.send(sender.addr_spec, draft.recipients, wire, journal, while_waiting)
    except KeyboardInterrupt:
        transport.abort()
        if journal.started:
            store.must_move("cut_off", item.message_id, error="interrupted during DATA")
        raise
    if outcome.status == SENT:
        partial = "; ".join(f"{r}: {t}" for r, t in outcome.refused.items())
        store.must_move("accepted", item.message_id, error=f"refused recipients: {partial}" if partial else None)
        on_accepted(item, wire)
        return SENT, partial
    if outcome.status == FAILED:
        store.must_move("refused", item.message_id, error=outcome.reply)
    elif outcome.status == UNCERTAIN:
        store.must_move("cut_off", item.message_id, error=outcome.reply)
    else:  # deferred by the server (4xx) or abandoned by the user: still to send, by a later run
        store.must_move("back", item.message_id, error=f"deferred: {outcome.reply}")
    return outcome.status, outcome.reply


def cap_resume_time(store: Store, plan: Plan, now: datetime) -> datetime | None:
    """After a run cut short by the daily cap: when the next message may go."""
    if plan.pacing.cap is None:
        return None
    return resume_at(window_times(store, plan.account_key, now), plan.pacing.cap, now)


# ------------------------------------------------------------------------- interruption
@contextmanager
def graceful_interrupts(on_first: Callable[[], None]) -> Iterator[threading.Event]:
    """Ctrl-C (or SIGTERM) once: set the event, finish the current message, stop. Twice: abandon it."""
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def handler(signum, frame):
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        on_first()

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def secret_source(account: Account, server: Server, warn: Callable[[str], None]) -> Callable[[], Secret]:
    """The secret for each login: a password is asked for once; an OAuth2 token is fetched anew
    for every new connection (tokens expire within the hour)."""
    cache: list[Secret] = []

    def get() -> Secret:
        if cache and cache[0].kind == "password":
            return cache[0]
        secret = account.secret(server, warn if not cache else (lambda text: None))
        cache[:] = [secret]
        return secret

    return get


def make_transport(account: Account, secret: Callable[[], Secret], wait: Callable[[float], bool]) -> SMTPTransport:
    raw = account.settings.raw
    assert account.smtp is not None

    def number(key: str, default: float) -> float:
        try:
            value = float(raw.get(key, default))
        except ValueError:
            raise UserError(f"OUTREACH_{key.upper()}={raw[key]!r} is not a number") from None
        if value < 0:
            raise UserError(f"OUTREACH_{key.upper()}={raw[key]!r} must not be negative")
        return value

    from outreach.deliver import smtp

    return SMTPTransport(account.smtp, account.ssl_context(), secret,
                         timeout=number("smtp_timeout", smtp.DEFAULT_TIMEOUT) or smtp.DEFAULT_TIMEOUT,
                         attempts=int(number("smtp_attempts", smtp.DEFAULT_ATTEMPTS)),
                         retry_delay=number("smtp_retry_delay", smtp.DEFAULT_RETRY_DELAY), wait=wait)


def local_time(moment: datetime) -> str:
    local = moment.astimezone()
    return local.strftime("%Y-%m-%d %H:%M %Z").strip()
