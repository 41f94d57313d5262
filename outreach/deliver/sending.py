"""Sending a campaign: plan it, let the user confirm it, send it, remember every step.

The store is keyed by (campaign, address): a row that was sent is never sent again, so the
same command can be re-run after any failure. Each message's row moves

    queued --claim--> claimed --before DATA--> sending --250--> sent
                                                      \\--5xx--> failed      (4xx: back to queued)

``claimed`` is committed with an fsync for a few messages at a time; ``sending`` and ``sent`` are
committed for every message in WAL mode without an fsync, which survives a killed process but
not a power cut. At the start of the next run (under the lock) a row left in ``sending`` becomes
``uncertain``; a row left ``claimed`` goes back to the queue when the machine has not restarted
since (so every commit after the claim is known to have survived), and becomes ``uncertain``
otherwise. Nothing uncertain is sent again unless the user says so. docs/sending-design.md
explains why.
"""

from __future__ import annotations

import signal
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone, tzinfo
from email.utils import format_datetime
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator

from outreach import clock
from outreach.account import Account, Secret, Server
from outreach.clock import iso, parse_time
from outreach.compose.batch import Rendered, Tally, render_rows
from outreach.compose.checks import commitment_phrase, earlier_commitments
from outreach.compose.contacts import ContactFile, Problem
from outreach.compose.interviews import Season
from outreach.compose.message import build_message, make_message_id
from outreach.compose.templates import Template
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
    SMTPTransport,
    TransportError,
)
from outreach.deliver.windows import SendWindow, opens_at, zone_column
from outreach.errors import UserError
from outreach.track.history import RECENT_DAYS, Past, hold_reason, known_elsewhere
from outreach.store import MessageRow, Store
from outreach.zones import parse_zone

if TYPE_CHECKING:  # pragma: no cover
    from outreach.mailbox.imap import SentCopies

CLAIM_SECONDS = 0.5     # claim (and fsync) about this much sending time at once ...
MAX_CLAIM = 50          # ... but never more messages than this
MAX_REFUSED_IN_A_ROW = 5

SKIP_REASONS = {
    "sent": "already sent",
    "uncertain": "uncertain: the last attempt was cut off during DATA (check your Sent folder)",
    "failed": "refused by the server before (--retry-failed to try again)",
    "suppressed": "on the suppression list (bounced or asked not to be contacted)",
    "duplicate": "a repeated address in the CSV",
    "busy": "being sent by another run right now",
    "not_yet": "interview not over yet (a later run sends them)",
    "no_contact": "the program's policy says no post-interview contact",
    "suppressed-copy": "a Cc or Bcc recipient is on the suppression list",
    "bounced-elsewhere": "bounced or opted out in another campaign: never written to again",
    "answered-elsewhere": "replied or declined in another campaign (--include-answered to write anyway)",
    "recent-elsewhere": "written to in another campaign within --recent-days (--include-recent to send anyway)",
}


# ---------------------------------------------------------------------------------- plan
@dataclass
class Item:
    """A contact to send to now, with the Message-ID it goes out with."""

    rendered: Rendered
    message_id: str
    previous_state: str | None
    in_reply_to: str | None = None        # a follow-up: the message it answers ...
    references: tuple[str, ...] = ()      # ... and the thread before it
    draft_path: str | None = None         # its draft (.eml path or "imap:FOLDER"), removed once sent

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
    skipped: dict[str, list[str]] = field(default_factory=dict)
    uncertain: list[MessageRow] = field(default_factory=list)
    tally: Tally = field(default_factory=Tally)
    with_problems: list[Rendered] = field(default_factory=list)
    known: list[tuple[int, str, list[Past]]] = field(default_factory=list)  # (line, address, history elsewhere)
    window_used: int = 0
    cap_resume: datetime | None = None
    held: list[Rendered] = field(default_factory=list)     # rows the interview log holds back, with .skip
    window: SendWindow | None = None
    waiting: list[Waiting] = field(default_factory=list)  # outside their window; sorted, soonest first
    home_zone_lines: list[int] = field(default_factory=list)  # no time_zone: the window is on the user's clock
    home_zone: tzinfo = timezone.utc                          # the user's zone, to show times in

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
        return {name: names.count(name) for name in dict.fromkeys(names)}

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


def make_plan(template: Template, contacts: ContactFile, store: Store, account: Account, *, campaign: str,
              pacing: Pacing, limit: int | None = None, resend_uncertain: bool = False,
              retry_failed: bool = False, locked: bool = True, now: datetime | None = None,
              variants: dict | None = None, assignment: dict[str, str] | None = None,
              season: Season | None = None, window: SendWindow | None = None,
              home: tzinfo = timezone.utc, include_answered: bool = False, include_recent: bool = False,
              recent_days: int = RECENT_DAYS) -> Plan:
    """Render and check every row, and decide for each contact: send now, later, wait for its
    window, or skip (and why).

    With ``variants`` (name -> (path, template), see :mod:`outreach.compose.variants`) each row is rendered
    with the template ``assignment`` gives its address, and records that variant. A thank-you
    template follows the interview log read against ``season`` (default: from the account's settings).
    With ``window``, a contact is sent to only while the window is open on the clock of its
    ``time_zone`` cell (``home``, the user's zone, when the cell is empty; an unreadable zone is an
    error on that row). A contact the store knows from another campaign may be held by that
    history (:mod:`outreach.track.history`)."""
    now = now or datetime.now(timezone.utc)
    season = season or Season.from_settings(account.settings.raw)
    plan = Plan(campaign, template.path, account, account_key(account), pacing, window=window)
    candidates: list[Item] = []
    zones: dict[str, tuple[tzinfo, str]] = {}
    promised = earlier_commitments(store.commitments(campaign))
    history = known_elsewhere(store, (c.email for c in contacts if c.email), campaign)
    today = clock.now(account.settings.raw)  # OUTREACH_NOW may move it, unlike the daily cap's clock

    def history_hold(rendered: Rendered, pasts: list[Past] | None) -> str | None:
        draft = rendered.draft
        assert draft is not None
        if any(r.casefold() != rendered.contact.email.casefold() and store.suppression(r) for r in draft.recipients):
            return "suppressed-copy"
        if not pasts:
            return None
        return hold_reason(pasts, kind=draft.kind, now=today, recent_days=recent_days,
                           include_answered=include_answered, include_recent=include_recent)

    sender = account.sender
    rows = (render_variants(variants, contacts, assignment or {}, season, promised, sender) if variants
            else render_rows(template, contacts, season=season, commitments=promised, sender=sender))
    for rendered in rows:
        if window is not None and not rendered.errors and rendered.contact.email not in zones:
            zones[rendered.contact.email] = contact_zone(rendered, home)
        plan.tally.add(rendered)
        if rendered.problems:
            plan.with_problems.append(rendered)
        if rendered.errors:
            continue
        address = rendered.contact.email
        if rendered.skip:
            key = "not_yet" if rendered.skip.startswith("not yet") else "no_contact"
            plan.skipped.setdefault(key, []).append(address or rendered.contact.fields.get("interviewer", ""))
            plan.held.append(rendered)
            continue
        if rendered.draft is None:
            plan.skipped.setdefault("duplicate", []).append(address)
            continue
        pasts = history.get(address.casefold())
        if pasts:
            plan.known.append((rendered.contact.line, address, pasts))
        row = store.get(campaign, address)
        state = row.state if row else None
        reason = None
        if state == "sent":
            reason = "sent"
        elif state == "uncertain" and not resend_uncertain:
            reason = "uncertain"
        elif state in ("sending", "claimed"):
            reason = "busy" if not locked else "uncertain"
        elif state == "failed" and not retry_failed:
            reason = "failed"
        elif store.suppression(address):
            reason = "suppressed"
        elif state in (None, "drafted"):  # a queued row was confirmed by the user already
            reason = history_hold(rendered, pasts)
        if reason:
            if reason != "uncertain":
                plan.skipped.setdefault(reason, []).append(address)
            continue
        message_id = row.message_id if row else make_message_id(account.sender)
        item = Item(rendered, message_id, state, draft_path=row.draft_path if row else None)
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
    plan.uncertain = [r for r in store.messages(campaign) if r.state in ("uncertain", "sending", "claimed")
                      and not (resend_uncertain and r.state == "uncertain"
                               and any(i.message_id == r.message_id for i in candidates))]
    times = window_times(store, plan.account_key, now)
    plan.window_used = len(times)
    room = cap_room(times, pacing.cap, now)
    take = len(candidates)
    if limit is not None and limit < take:
        take, plan.later_reason = limit, "--limit"
    if room is not None and room < take:
        take, plan.later_reason = room, "daily cap"
        plan.cap_resume = resume_at(times, pacing.cap, now) if room == 0 else None
    plan.items, plan.later = candidates[:take], candidates[take:]
    return plan


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
    return [parse_time(t) for t in store.sent_times(key, iso(now - WINDOW))]


def record_plan(plan: Plan, store: Store) -> None:
    """Write the confirmed plan: every row to send is queued (one transaction)."""
    with store.transaction():
        for item in plan.items:
            if item.previous_state in ("failed", "uncertain"):
                store.requeue(item.message_id, (item.previous_state,))
            draft = item.rendered.draft
            assert draft is not None
            store.upsert_message(campaign=plan.campaign, address=item.address, message_id=item.message_id,
                       template=item.rendered.template_name or str(plan.template), variant=item.rendered.variant,
                       subject=draft.subject, recipients=draft.recipients,
                       contact=item.rendered.contact.fields, contact_line=item.line, state="queued",
                       transport="smtp", account=plan.account_key, kind=draft.kind,
                       commitment=commitment_phrase(draft))


# ---------------------------------------------------------------------------------- send
@dataclass
class Result:
    sent: list[tuple[Item, str]] = field(default_factory=list)        # (item, partial refusals or "")
    failed: list[tuple[Item, str]] = field(default_factory=list)
    deferred: list[tuple[Item, str]] = field(default_factory=list)
    uncertain: list[tuple[Item, str]] = field(default_factory=list)
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
        return len(self.sent) + len(self.failed) + len(self.deferred) + len(self.uncertain)


class _RowJournal:
    """What the transport tells us about one message, committed to its row at once."""

    def __init__(self, store: Store, message_id: str):
        self.store, self.message_id, self.started = store, message_id, False

    def sending(self) -> None:
        self.store.set_state(self.message_id, "sending")
        self.started = True

    def not_sent(self) -> None:
        self.store.set_state(self.message_id, "claimed")
        self.started = False


def claim_size(interval: float) -> int:
    if interval >= CLAIM_SECONDS:
        return 1
    if interval <= 0:
        return MAX_CLAIM
    return max(1, min(MAX_CLAIM, int(CLAIM_SECONDS / interval)))


def send_plan(plan: Plan, store: Store, transport: SMTPTransport, *, stop: threading.Event,
              on_message: Callable[[Item, str, str], None] = lambda item, status, detail: None,
              on_accepted: Callable[[Item, bytes], None] = lambda item, data: None,
              result: Result | None = None) -> Result:
    """Send every item of a recorded plan, in order, paced; never raises for a server's answer.

    ``on_accepted`` gets each message the server accepted, as the bytes that went out.
    ``result`` is filled in as messages go, so a caller still has it after a KeyboardInterrupt."""
    result = result if result is not None else Result()
    result.planned += len(plan.items)
    sender = plan.account.sender
    pacer = Pacer(plan.pacing.rate, plan.pacing.jitter)
    per_claim = claim_size(pacer.interval)
    claimed: set[str] = set()
    prepared: dict[int, bytes] = {}  # the next message, built while the server handled this one
    refused_in_a_row = 0
    started = time.monotonic()
    store.set_synchronous("NORMAL")
    try:
        for index, item in enumerate(plan.items):
            if stop.is_set():
                result.interrupted = True
                break
            wait = pacer.delay()
            if wait > 0 and stop.wait(wait):
                result.interrupted = True
                break
            if item.message_id not in claimed:
                batch = [i.message_id for i in plan.items[index:index + per_claim]]
                store.claim(batch)
                claimed.update(batch)
            data = prepared.pop(index, None)
            data = data if data is not None else serialize(item, sender)
            if index + 1 < len(plan.items):
                def prepare(nxt=plan.items[index + 1], at=index + 1):
                    try:
                        prepared[at] = serialize(nxt, sender)
                    except Exception:  # noqa: BLE001 - built again (and raised) when its turn comes
                        pass
            else:
                prepare = None
            pacer.started()
            status, detail = _send_one(item, data, sender, store, transport, prepare, on_accepted)
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
    finally:
        store.release_claims()
        store.set_synchronous("FULL")
        result.connections = transport.connections
        transport.close()
        result.seconds = time.monotonic() - started
    result.not_reached = result.planned - result.attempted
    return result


def serialize(item: Item, sender) -> bytes:
    """The message as it goes on the wire, without its Date (stamped when it leaves)."""
    draft = item.rendered.draft
    assert draft is not None
    message = build_message(draft, sender, item.message_id, datetime.now().astimezone(),
                            in_reply_to=item.in_reply_to, references=item.references)
    del message["Bcc"]   # Bcc recipients are in the envelope only
    del message["Date"]  # stamped at send time, however long ago this was built
    return message.as_bytes()


def stamp(data: bytes) -> bytes:
    """Put the Date header on (header order does not matter in RFC 5322)."""
    return b"Date: " + format_datetime(datetime.now().astimezone()).encode() + b"\r\n" + data


def _send_one(item: Item, data: bytes, sender, store: Store, transport: SMTPTransport,
              while_waiting: Callable[[], None] | None,
              on_accepted: Callable[[Item, bytes], None]) -> tuple[str, str]:
    draft = item.rendered.draft
    assert draft is not None
    journal = _RowJournal(store, item.message_id)
    wire = stamp(data)
    try:
        outcome = transport.send(sender.addr_spec, draft.recipients, wire, journal, while_waiting)
    except KeyboardInterrupt:
        transport.abort()
        if journal.started:
            store.set_state(item.message_id, "uncertain", error="interrupted during DATA")
        raise
    if outcome.status == SENT:
        partial = "; ".join(f"{r}: {t}" for r, t in outcome.refused.items())
        store.set_state(item.message_id, "sent", error=f"refused recipients: {partial}" if partial else None)
        on_accepted(item, wire)
        return SENT, partial
    if outcome.status == FAILED:
        store.set_state(item.message_id, "failed", error=outcome.reply)
    elif outcome.status == UNCERTAIN:
        store.set_state(item.message_id, "uncertain", error=outcome.reply)
    else:  # deferred by the server (4xx) or abandoned by the user: still to send
        store.set_state(item.message_id, "claimed", error=f"deferred: {outcome.reply}")
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
