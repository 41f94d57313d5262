"""Where each conversation stands: who is due a follow-up, who is not and why, status rows.

The rules (one pure function, :func:`next_action`, shared by ``followup`` and ``status``): a
contact is due a follow-up when the first message was sent, nothing bounced, nobody replied (a
reply to any message of the thread, or any reply from that address since the first message),
the address is not suppressed, fewer than ``max_followups`` follow-ups were sent, and the last
message left at least ``after`` ago. A thank-you note (its template's Kind) is never followed up:
reminding an interviewer of a thank-you reads as pressure. An auto-reply announcing a return date postpones the
follow-up to the day after that date. An auto-reply is never a reply. A bounce or complaint that
named the address but quoted none of our Message-IDs (anyone can write one) stops nothing: it is
shown beside the next action, with the `outreach mark` that confirms it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple

from outreach.clock import (
    EPOCH,
    QUARTER_HOUR,
    local_date,
    local_day,
    parse_day,
    parse_time,
    quarter_date,
    stamp_hour,
    start_of_day,
    usable,
    within_the_hour,
)
from outreach.store import ThreadRow
from outreach.store.outcomes import CONFIRMING_MARK, describe_suppression, is_refusal
from outreach.store.reports import EXPIRED, NO_EVENTS, NO_FOLLOWUP_EVENTS, NOBODY, ThreadReads, merge_events
from outreach.store.states import IN_DOUBT

# Action kinds: what the user (or the tool) should do next about one contact.
DUE = "follow-up"      # a follow-up is due now: `followup` will write it
WAIT = "wait"          # due later (not old enough, or out of office)
NONE = "none"          # nothing: replied, bounced, suppressed, or enough follow-ups
SEND = "send"          # the first message is drafted or queued, not sent
CHECK = "check"        # the outcome of sending is unknown: look in the Sent folder
RETRY = "retry"        # the first message failed


class Action(NamedTuple):
    kind: str
    text: str
    due: datetime | None = None
    reason: str = ""   # a short key for summaries: replied, bounced, not-yet, out-of-office, ...


UNKNOWN_TIME = "the store does not say when"


def replied(thread: ThreadRow) -> str | None:
    """The local date the contact answered (to this thread, or to anything since it began), or
    :data:`UNKNOWN_TIME`; None if they did not. A reply, or a thread's start, at a time the
    store cannot read counts as an answer: when unsure whether a person answered, no reminder."""
    if thread.first_reply_at is not None:   # '' too: a reply at a time the store cannot read
        return local_day(thread.first_reply_at) or UNKNOWN_TIME
    if thread.last_reply_any is not None:
        any_reply, started = parse_time(thread.last_reply_any), parse_time(thread.sent_at)
        if any_reply is None or started is None:
            return UNKNOWN_TIME
        if any_reply >= started:
            return local_date(any_reply).isoformat()
    return None


UNCONFIRMED_WORDS = {"unconfirmed-bounce": "bounce report", "unconfirmed-complaint": "spam complaint"}
SETTLED = ("replied", "bounced", "suppressed")  # reasons after which an unconfirmed report no longer matters


def next_action(thread: ThreadRow, now: datetime, after: timedelta, max_followups: int) -> Action:
    """What should happen next for one contact, and when."""
    action = _next_action(thread, now, after, max_followups)
    if thread.unconfirmed and action.reason not in SETTLED:
        return action._replace(text=f"{action.text}; unconfirmed {UNCONFIRMED_WORDS[thread.unconfirmed]} (no "
                                    f"Message-ID of ours): `outreach mark {thread.address} "
                                    f"{CONFIRMING_MARK[thread.unconfirmed]}` to confirm")
    return action


def _next_action(thread: ThreadRow, now: datetime, after: timedelta, max_followups: int) -> Action:
    stop = _reason_to_stop(thread)
    if stop is not None:
        text, reason = stop
        if thread.last_step > 0 and thread.last_state in ("drafted", "queued"):
            text += "; delete the unsent follow-up draft"  # drafted before the answer came
        return Action(NONE, text, reason=reason)
    if thread.state != "sent":
        if thread.state in ("drafted", "queued"):
            return Action(SEND, f"send the {thread.state} message", reason=thread.state)
        if thread.state == "claimed":
            return Action(SEND, "being sent, or an interrupted send: run send again", reason="queued")
        if thread.state in IN_DOUBT:
            return Action(CHECK, "check your Sent folder: whether it left is unknown", reason="uncertain")
        error = f" ({thread.last_error})" if thread.last_error else ""
        return Action(RETRY, f"sending failed: fix it and send again{error}", reason="failed")
    if thread.kind == "thank-you":
        return Action(NONE, "none: a thank-you note is not followed up", reason="thank-you")
    pending = thread.last_step > 0 and thread.last_state != "sent"
    if pending and thread.last_state in IN_DOUBT:
        return Action(CHECK, "check your Sent folder: whether the follow-up left is unknown", reason="uncertain")
    if thread.followups_sent >= max_followups:
        times = "once" if thread.followups_sent == 1 else f"{thread.followups_sent} times"
        return Action(NONE, f"none: followed up {times}, no reply yet" if thread.followups_sent
                      else "none: follow-ups are off", reason="enough")
    last_sent = _time(thread.last_sent_at if thread.last_sent_at is not None else thread.sent_at)
    if last_sent is None:  # a hand-made or edited store: no date to count from, so no follow-up
        return Action(CHECK, f"sent, but {UNKNOWN_TIME}; no follow-up is planned", reason="no-sent-time")
    due = last_sent + after
    back_on, away = parse_day(thread.back_on), None  # away: the return date, when it postpones the follow-up
    if back_on is not None and (back := start_of_day(back_on + timedelta(days=1))) > due:
        due, away = back, back_on
    due_on = local_date(due).isoformat()
    if now < due:
        if away is not None:
            return Action(WAIT, f"waiting: out of office until {away.isoformat()}", due, "out-of-office")
        return Action(WAIT, f"follow-up due {due_on}", due, "not-yet")
    if pending:
        what = {"drafted": "follow-up drafted, not sent", "queued": "follow-up queued, not sent",
                "failed": "follow-up failed to send; run followup again"}.get(
                    thread.last_state, f"follow-up {thread.last_state}, not sent")
        return Action(DUE, what, due, "pending")
    return Action(DUE, f"follow-up due now (since {due_on})", due, "due")


def _reason_to_stop(thread: ThreadRow) -> tuple[str, str] | None:
    """(text, reason) when nothing more may be sent to this contact: refused, answered, unreachable."""
    if thread.suppressed and is_refusal(thread.suppressed):
        return f"none: {describe_suppression(thread.suppressed)}", "suppressed"
    answered = replied(thread)
    if answered:
        return f"none: replied {answered}" if answered != UNKNOWN_TIME else f"none: replied ({answered})", "replied"
    if thread.bounced == EXPIRED:  # Gmail's "gave up after 2 days": Action failed, Status 4.4.7
        gave_up = "the receiving server gave up retrying (4.x.x status); the address may be fine"
        return f"none: not delivered: {gave_up}", "bounced"
    if thread.bounced:
        return "none: bounced; check the address", "bounced"
    if thread.suppressed:  # e.g. a hard bounce in another campaign
        return f"none: {describe_suppression(thread.suppressed)} (suppressed)", "suppressed"
    return None


def _time(text: str | None) -> datetime | None:
    """parse_time's fast path: the store's own ``...Z`` timestamps (100,000 rows for a status).
    A time outside the usable years (a hand-edited 9999-12-31) is no time, as in parse_time."""
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return parse_time(text)
    return usable(value)


# -- choosing --------------------------------------------------------------------------------
@dataclass
class Selection:
    due: list[ThreadRow] = field(default_factory=list)
    not_due: dict[str, int] = field(default_factory=dict)   # reason -> count
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (address, why not now), for --dry-run
    withdraw: list[tuple[ThreadRow, str]] = field(default_factory=list)  # unsent follow-ups no longer wanted
    next_due: datetime | None = None                        # the soonest later follow-up

    def summary(self) -> str:
        labels = {"replied": "replied", "bounced": "bounced", "suppressed": "suppressed",
                  "enough": "already followed up", "not-yet": "not due yet", "out-of-office": "out of office",
                  "drafted": "first message not sent", "queued": "first message not sent",
                  "uncertain": "sending outcome unknown", "failed": "first message failed",
                  "thank-you": "thank-you notes (never followed up)", "no-sent-time": "send time unknown"}
        counts: dict[str, int] = {}
        for reason, count in self.not_due.items():
            label = labels.get(reason, reason)
            counts[label] = counts.get(label, 0) + count
        parts = [f"{count} {label}" for label, count in counts.items()]
        text = f"{len(self.due)} due a follow-up"
        if parts:
            text += "; not now: " + ", ".join(parts)
        if self.next_due:
            text += f" (next due {local_date(self.next_due).isoformat()})"
        return text


def select(threads: Iterable[ThreadRow], now: datetime, after: timedelta, max_followups: int) -> Selection:
    selection = Selection()
    for thread in threads:
        action = next_action(thread, now, after, max_followups)
        if action.kind == DUE:
            selection.due.append(thread)
            continue
        selection.not_due[action.reason] = selection.not_due.get(action.reason, 0) + 1
        selection.skipped.append((thread.address, action.text))
        if action.text.endswith("delete the unsent follow-up draft"):
            selection.withdraw.append((thread, action.text.split(";")[0].removeprefix("none: ")))
        if action.kind == WAIT and action.due and (selection.next_due is None or action.due < selection.next_due):
            selection.next_due = action.due
    return selection


# -- status ------------------------------------------------------------------------------------
class StatusRow(NamedTuple):
    campaign: str
    line: int | None
    address: str
    state: str          # of the latest message: "sent", "drafted", "follow-up 1 sent", ...
    last_event: str     # "reply 2026-11-12", or ""
    next_action: str
    action: str         # the action's kind: follow-up, wait, none, send, check, retry
    due: datetime | None  # when a follow-up is or will be due


def status_rows(threads: Iterable[ThreadRow], now: datetime, after: timedelta, max_followups: int):
    """Each contact's state, last event and next action, for ``outreach status --json``."""
    row = tuple.__new__  # StatusRow's own __new__ is a Python function: one call fewer for each of 100,000
    for t in threads:
        action = next_action(t, now, after, max_followups)
        yield row(StatusRow, (t.campaign, t.contact_line, t.address, *_state_and_event(t), action.text, action.kind,
                              action.due))


def _state_and_event(t: ThreadRow) -> tuple[str, str]:
    """The latest message's state ("sent", "follow-up 1 sent") and the last event ("reply 2026-11-12", or "")."""
    state = t.state if t.last_step == 0 else f"follow-up {t.last_step} {t.last_state}"
    return state, _event_text(t.last_event)


def _event_text(last_event: str | None) -> str:
    """``2026-11-12T10:00:00Z reply`` -> ``reply 2026-11-12``; "" for no event."""
    if not last_event:
        return ""
    when, _, kind = last_event.partition(" ")
    return f"{kind} {when[:10]}"


# -- the status table ------------------------------------------------------------------------
End = tuple[str, str, str, str]
"""A status line after its number and address: (state, last event, next action, the action's
kind). Contacts share them: a few thousand for 90,000."""


class StatusBlock(NamedTuple):
    """A campaign's status lines, column by column. Columns, not an object for each line: none of
    them for the garbage collector to follow again at each full collection (a named tuple for
    each of 90,000 lines, which it never stops following, cost ``status`` a tenth of its time).
    Each line's end is its place in ``ends``: counting and looking up a number costs a tenth of
    hashing a tuple of four texts, which the table did twice for each of 90,000 lines (10 ms)."""

    campaign: str
    lines: list[int | None]   # the contacts' lines in the sheet
    addresses: list[str]
    answers: list[int]        # each line's end: an index into ``ends``
    ends: list[End]           # the ends of every block of one :func:`status_lines`, each once (or so)


def status_lines(reads: ThreadReads, now: datetime, after: timedelta,
                 max_followups: int) -> Iterator[StatusBlock]:
    """Each campaign's status lines, for ``outreach status``: the table of :func:`status_rows`,
    without reading each of 100,000 threads in full.

    The rules reach most threads through a few small values and one time: the first message's
    state, error and Kind, what :func:`_shared_part` keeps of the rest of the thread, and the
    send time the follow-up is counted from, through the follow-up's due time alone: by the due
    time's local date (:func:`quarter_date`: one for each quarter hour) and by whether it has
    come. So :func:`next_action` answers once for each (those values, local date of the due time,
    come or not) and the threads that share them share their line's end. The due time is counted
    in whole seconds from the store's own timestamps (``2026-11-14T09:30:17Z``: the hour parsed
    once, minutes and seconds looked up); any other thread, or a timestamp written otherwise, or
    an ``after`` with a fraction of a second, or a quarter hour with two local dates, is read in
    full and answered by :func:`next_action`."""
    after_seconds = after // timedelta(seconds=1) if not after.microseconds else None
    not_yet = (now - EPOCH) // timedelta(seconds=1)   # now < a due time in whole seconds <=> this < it
    hours = _DueHours(after_seconds or 0, not_yet)     # "2026-11-14T09" -> what sends in that hour are due
    within = within_the_hour()
    ends: list[End] = []
    shared: dict[tuple, int] = {}   # key -> its answer's index in ends
    events, people = reads.events, reads.people
    for campaign in reads.campaigns:
        followed = reads.followups.get(campaign, {})
        block = StatusBlock(campaign, [], [], [], ends)
        for first in reads.first_messages(campaign):
            address, line, state, sent_at, error, row_id, kind = first
            shape: tuple | None
            if row_id not in events and address not in people and address not in followed:
                shape, stamp = (), sent_at   # nothing on record but the first message: most threads
            else:
                shape, stamp = _shared_part(events.get(row_id), people.get(address), followed.get(address), sent_at)
            key: tuple | None
            if shape is None or after_seconds is None:
                key = None
            elif stamp is None:
                key = (state, error, kind, shape)
            elif (hour := hours[stamp[:13]]) is None or (seconds := within.get(stamp[13:])) is None:
                key = None
            else:
                due, day, waiting = hour   # the hour's, unless its sends differ: then this one's
                if day is None:
                    day = quarter_date((due + seconds) // QUARTER_HOUR)
                if waiting is None:
                    waiting = not_yet < due + seconds
                key = (state, error, kind, shape, day, waiting) if day is not None else None
            answer = shared.get(key) if key is not None else None
            if answer is None:
                thread = reads.thread(campaign, first, followed)
                action = next_action(thread, now, after, max_followups)
                answer = len(ends)
                ends.append((*_state_and_event(thread), action.text, action.kind))
                if key is not None:
                    shared[key] = answer
            block.lines.append(line)
            block.addresses.append(address)
            block.answers.append(answer)
        yield block


_UNSHARED = (None, None)


def _shared_part(events: tuple | None, person: tuple | None, followups: list | None,
                 sent_at: str | None) -> tuple[tuple | None, str | None]:
    """What the rules read of a thread beyond its first message's state, error and Kind: (its
    follow-ups' step, state, count sent and error; its bounce; its suppression; its first reply's
    local date; its last event's text), and the send time its follow-up is counted from (the last
    follow-up's, else the first message's), from :class:`ThreadReads`' lookups.

    A thread with a reason to stop (a reply, a bounce, a suppression) comes without a send time:
    the rules stop before they count a due time, so its answer does not depend on one.

    :data:`_UNSHARED` when its answer depends on more: a return date, an unconfirmed report (its
    text names the address), a reply only to another message (compared with this one's send time
    to the second), a reply time the look-ups cannot read."""
    if followups is None:
        steps, stamp = None, sent_at
    else:
        last_step, last_state, sent, last_sent, last_error = followups[:5]
        steps = (last_step, last_state, sent, last_error if last_state != "sent" else None)
        stamp = last_sent if last_sent is not None else sent_at
        if followups[5:10] != NO_FOLLOWUP_EVENTS:   # the follow-ups' events are the thread's too
            events = merge_events(events or NO_EVENTS, followups[5:10])
    first_reply, bounced, back_on, last_event, unconfirmed = events or NO_EVENTS
    last_reply_any, suppressed = person or NOBODY
    if back_on is not None or unconfirmed is not None:
        return _UNSHARED
    reply_day = None
    if first_reply is not None:
        if (reply_day := local_day(first_reply)) is None:
            return _UNSHARED
    elif last_reply_any is not None:
        return _UNSHARED
    if reply_day is not None or bounced or suppressed:
        stamp = None
    return (steps, bounced, suppressed, reply_day, _event_text(last_event)), stamp


class _DueHours(dict[str, tuple | None]):
    """An hour as the store writes it (``2026-11-14T09``) -> (the due time of a send at its start,
    in seconds since the epoch; the local date of every due time of the sends in that hour, or
    None when they have two or a quarter hour has none; whether all of them are still to come,
    True or False, or None when now falls among them). None for any other text, or outside the
    usable years. Most hours answer for all their sends: no quarter hour's date to look up, no
    sum, for each of 90,000 (20 ms)."""

    def __init__(self, after_seconds: int, not_yet: int) -> None:
        super().__init__()
        self.after_seconds, self.not_yet = after_seconds, not_yet

    def __missing__(self, hour: str) -> tuple | None:
        if (start := stamp_hour(hour)) is None:
            self[hour] = None
            return None
        due, last = start + self.after_seconds, start + self.after_seconds + 3599
        days = {quarter_date(quarter) for quarter in range(due // QUARTER_HOUR, last // QUARTER_HOUR + 1)}
        day = days.pop() if len(days) == 1 else None
        waiting = True if self.not_yet < due else False if self.not_yet >= last else None
        answer = self[hour] = (due, day, waiting)
        return answer


def format_status(blocks: Iterable[StatusBlock], styler=None) -> str:
    """The status table: :func:`format_block` of each campaign's lines."""
    return "\n".join(format_block(block, styler) for block in blocks)


def format_block(block: StatusBlock, styler=None) -> str:
    """A campaign's plain table, with a one-line count of next actions on top. ``status`` prints
    each campaign's as it comes: one 10 MB text for 90,000 contacts, and its copies on the way
    out, cost 13,000 page faults more than ten of 1 MB, whose memory is used again (30 ms).

    ``styler(text, kind)`` colours; None (no terminal) skips the call for each of 100,000 rows.
    The counts and widths are taken over the lines' shared ends (a few hundred), and the columns
    padded with ``ljust``: a width given inside an f-string costs more than the rest of the line."""
    colours = {DUE: "warning", CHECK: "error", RETRY: "error", SEND: "note"}
    labels = {DUE: "follow-up due", WAIT: "waiting", NONE: "nothing to do", SEND: "to send",
              CHECK: "to check", RETRY: "failed"}
    campaign, lines, addresses, answers, ends = block
    shared = Counter(answers)   # in the order each answer first appears, as the lines
    counts: Counter[str] = Counter()
    states: Counter[str] = Counter()
    for answer, n in shared.items():
        state, _, _, kind = ends[answer]
        counts[kind] += n
        states[state] += n
    by_state = ", ".join(f"{n} {state}" for state, n in sorted(states.items(), key=lambda kv: -kv[1]))
    summary = ", ".join(f"{n} {labels.get(k, k)}" for k, n in sorted(counts.items(), key=lambda kv: -kv[1]))
    header = f"{campaign}: {by_state}; next: {summary}"
    width = max(len("address"), *map(len, addresses))
    state_width = max(len("state"), *map(len, states))
    event_width = max(len("last event"), *(len(ends[answer][1]) for answer in shared))
    columns = (f"  {'line':>5}  {'address':<{width}}  {'state':<{state_width}}  "
               f"{'last event':<{event_width}}  next action")
    out = [styler(header, "note") if styler else header, styler(columns, "note") if styler else columns]
    rests = {answer: f"{state.ljust(state_width)}  {(event or '-').ljust(event_width)}  "
                     f"{styler(text, colours[kind]) if styler and kind in colours else text}"
             for answer in shared for state, event, text, kind in (ends[answer],)}
    numbers = _NUMBERS
    for line, address, answer in zip(lines, addresses, answers, strict=True):
        out.append(f"  {numbers[line]}  {address.ljust(width)}  {rests[answer]}")
    return "\n".join(out)


class _LineNumbers(dict[int | None, str]):
    """A sheet's line number as the table's first column (``   12``, ``    -`` for none), made once
    for each number: the campaigns' sheets share them (``str`` and ``rjust`` for each of 90,000
    lines cost 14 ms). Kept for the first 65,536 numbers asked, so memory stays bounded."""

    def __missing__(self, line: int | None) -> str:
        text = str(line).rjust(5) if line else "    -"
        if len(self) < 65_536:
            self[line] = text
        return text


_NUMBERS = _LineNumbers()
