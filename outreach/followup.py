"""Follow-ups: who is due one, and the threaded message each gets.

The rules (one pure function, :func:`next_action`, shared by ``followup`` and ``status``): a
contact is due a follow-up when the first message was sent, nothing bounced, nobody replied (a
reply to any message of the thread, or any reply from that address since the first message),
the address is not suppressed, fewer than ``max_followups`` follow-ups were sent, and the last
message left at least ``after`` ago. An auto-reply announcing a return date postpones the
follow-up to the day after that date. An auto-reply is never a reply.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.headerregistry import Address
from pathlib import Path
from typing import Iterable, NamedTuple

from outreach.batch import Rendered
from outreach.checks import Checker, RowIndex
from outreach.clock import describe_age, human_date, local_date, parse_time, start_of_day
from outreach.contacts import Contact, Problem
from outreach.drafts import DraftTarget
from outreach.errors import UserError
from outreach.message import build_message, make_message_id
from outreach.outcomes import describe_suppression, is_refusal
from outreach.store import UNCERTAIN, MessageRow, Store, ThreadRow
from outreach.templates import RenderError, Template

DEFAULT_AFTER = "7d"
DEFAULT_MAX = 1
DEFAULT_SYNC_MAX_AGE = "6h"
UNCERTAIN_STATES = (UNCERTAIN, "uncertain")

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


def replied_at(thread: ThreadRow) -> datetime | None:
    """When the contact answered, if they did: to this thread, or to anything since it began."""
    if thread.first_reply_at:
        return parse_time(thread.first_reply_at)
    if thread.last_reply_any:
        any_reply, started = parse_time(thread.last_reply_any), parse_time(thread.sent_at)
        if any_reply and started and any_reply >= started:
            return any_reply
    return None


def next_action(thread: ThreadRow, now: datetime, after: timedelta, max_followups: int) -> Action:
    """What should happen next for one contact, and when."""
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
        if thread.state in UNCERTAIN_STATES:
            return Action(CHECK, "check your Sent folder: whether it left is unknown", reason="uncertain")
        error = f" ({thread.last_error})" if thread.last_error else ""
        return Action(RETRY, f"sending failed: fix it and send again{error}", reason="failed")
    pending = thread.last_step > 0 and thread.last_state != "sent"
    if pending and thread.last_state in UNCERTAIN_STATES:
        return Action(CHECK, "check your Sent folder: whether the follow-up left is unknown", reason="uncertain")
    if thread.followups_sent >= max_followups:
        times = "once" if thread.followups_sent == 1 else f"{thread.followups_sent} times"
        return Action(NONE, f"none: followed up {times}, no reply yet" if thread.followups_sent
                      else "none: follow-ups are off", reason="enough")
    last_sent = _time(thread.last_sent_at or thread.sent_at)
    due = last_sent + after
    back_on = _date(thread.back_on)
    away = back_on is not None and start_of_day(back_on + timedelta(days=1)) > due
    if away:
        due = start_of_day(back_on + timedelta(days=1))
    due_on = local_date(due).isoformat()
    if now < due:
        if away:
            return Action(WAIT, f"waiting: out of office until {back_on.isoformat()}", due, "out-of-office")
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
    answered = replied_at(thread)
    if answered:
        return f"none: replied {local_date(answered).isoformat()}", "replied"
    if thread.bounced:
        return "none: bounced; check the address", "bounced"
    if thread.suppressed:  # e.g. a hard bounce in another campaign
        return f"none: {describe_suppression(thread.suppressed)} (suppressed)", "suppressed"
    return None


def _time(text: str) -> datetime:
    """parse_time's fast path: the store's own ``...Z`` timestamps (100,000 rows for a status)."""
    try:
        value = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return parse_time(text)
    return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)


def _date(text: str | None):
    if not text:
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError:
        return None


# -- choosing --------------------------------------------------------------------------------
@dataclass
class Selection:
    due: list[ThreadRow] = field(default_factory=list)
    not_due: dict[str, int] = field(default_factory=dict)   # reason -> count
    withdraw: list[tuple[ThreadRow, str]] = field(default_factory=list)  # unsent follow-ups no longer wanted
    next_due: datetime | None = None                        # the soonest later follow-up

    def summary(self) -> str:
        labels = {"replied": "replied", "bounced": "bounced", "suppressed": "suppressed",
                  "enough": "already followed up", "not-yet": "not due yet", "out-of-office": "out of office",
                  "drafted": "first message not sent", "queued": "first message not sent",
                  "uncertain": "sending outcome unknown", "failed": "first message failed"}
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
        if action.text.endswith("delete the unsent follow-up draft"):
            selection.withdraw.append((thread, action.text.split(";")[0].removeprefix("none: ")))
        if action.kind == WAIT and (selection.next_due is None or action.due < selection.next_due):
            selection.next_due = action.due
    return selection


def check_fresh(last_synced: str | None, now: datetime, max_age: timedelta) -> str | None:
    """None when the mailbox was read recently enough; otherwise how stale it is, in words."""
    synced = parse_time(last_synced)
    if synced is None:
        return "the mailbox has never been synced"
    if now - synced > max_age:
        return f"the mailbox was last synced {describe_age(now - synced)} ago"
    return None


# -- writing ---------------------------------------------------------------------------------
@dataclass
class Planned:
    """One follow-up, rendered: the thread it continues and the headers that thread it."""

    thread: list[MessageRow]
    rendered: Rendered
    step: int
    message_id: str
    in_reply_to: str
    references: tuple[str, ...]
    template: str
    previous_state: str | None = None   # of a follow-up row already planned at this step

    @property
    def original(self) -> MessageRow:
        return self.thread[0]


def original_context(original: MessageRow, followups_sent: int) -> dict:
    """What a follow-up template sees as ``original``."""
    sent = parse_time(original.sent_at)
    return {"subject": original.subject, "sent_on": human_date(sent) if sent else "",
            "sent_at": original.sent_at, "date": local_date(sent).isoformat() if sent else "",
            "message_id": original.message_id, "template": original.template, "variant": original.variant,
            "followups_sent": followups_sent}


def contact_of(row: MessageRow) -> Contact:
    """The CSV row the first message was written from, as a :class:`Contact` again."""
    fields = dict(row.contact)
    email = fields.get("email", "").strip()
    return Contact(row.contact_line or 0, fields, email if email.casefold() == row.address else row.address)


def plan_followups(store: Store, template: Template, template_name: str, due: list[ThreadRow],
                   sender: Address) -> list[Planned]:
    """Render and lint a follow-up for each due contact (nothing written yet)."""
    threads = [store.thread(t.campaign, t.address) for t in due]
    contacts = [contact_of(messages[0]) for messages in threads]
    checker = Checker(template, RowIndex.build(_StoredContacts(contacts)))
    planned = []
    for messages, contact in zip(threads, contacts):
        sent = [m for m in messages if m.state == "sent"]
        followups_sent = len(sent) - 1
        step = max(m.step for m in sent) + 1
        existing = next((m for m in messages if m.step == step), None)
        problems = list(contact.problems)
        draft = None
        try:
            draft = template.render(contact, extra={"original": original_context(messages[0], followups_sent)})
        except RenderError as e:
            problems.append(e.problem)
        else:
            problems += checker.check(draft)
            if not draft.subject.casefold().startswith("re:"):
                problems.append(Problem("warning", contact.line, None,
                                        f"the subject {draft.subject!r} does not start with 'Re:'; "
                                        "the follow-up may not show up as part of the conversation"))
        message_id = existing.message_id if existing else make_message_id(sender)
        planned.append(Planned(messages, Rendered(contact, draft, problems), step, message_id,
                               in_reply_to=sent[-1].message_id, references=tuple(m.message_id for m in sent[:-1]),
                               template=template_name, previous_state=existing.state if existing else None))
    return planned


class _StoredContacts:
    """Rows from the store, shaped like a :class:`ContactFile` for :meth:`RowIndex.build`."""

    def __init__(self, contacts: list[Contact]):
        self.contacts = contacts
        self.columns = list(dict.fromkeys(name for c in contacts for name in c.fields))

    def raw_rows(self):
        for contact in self.contacts:
            yield contact.line, [contact.fields.get(name, "") for name in self.columns]


def draft_key(address: str, step: int) -> str:
    """What a draft target names a follow-up by: ``ADDRESS.followupN`` (the file ``ADDRESS.followupN.eml``)."""
    return f"{address}.followup{step}"


def write_followup_drafts(store: Store, planned: list[Planned], sender: Address, target: DraftTarget,
                          now: datetime) -> list:
    """Put each follow-up in ``target`` (``.eml`` files or the IMAP Drafts folder) and record it."""
    written = []
    for item in planned:
        draft = item.rendered.draft
        if draft is None:
            raise UserError(f"{item.original.address}: the follow-up could not be rendered")
        message = build_message(draft, sender, item.message_id, now.astimezone(), in_reply_to=item.in_reply_to,
                                references=item.references, unsent=target.unsent)
        where = target.put(draft_key(item.original.address, item.step), message,
                           replace=item.previous_state is not None)
        # One commit per draft: a draft that exists (on the server too) is always in the store.
        record(store, item, state="drafted", transport=target.transport, draft_path=str(where))
        written.append(where)
    return written


def record(store: Store, item: Planned, *, state: str, transport: str, draft_path: str | None = None,
           account: str | None = None) -> None:
    draft = item.rendered.draft
    original = item.original
    store.plan(campaign=original.campaign, address=original.address, step=item.step,
               message_id=item.message_id, parent_id=item.in_reply_to, template=item.template,
               variant=original.variant, subject=draft.subject, recipients=draft.recipients,
               contact=original.contact, contact_line=original.contact_line, state=state,
               transport=transport, account=account, draft_path=draft_path,
               replaceable=("drafted", "queued", "failed"))



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
    """Each contact's state, last event and next action, for ``outreach status``."""
    for t in threads:
        action = next_action(t, now, after, max_followups)
        state = t.state if t.last_step == 0 else f"follow-up {t.last_step} {t.last_state}"
        event = ""
        if t.last_event:
            when, _, kind = t.last_event.partition(" ")
            event = f"{kind} {when[:10]}"
        yield StatusRow(t.campaign, t.contact_line, t.address, state, event, action.text, action.kind, action.due)


def format_status(rows: list[StatusRow], styler=None) -> str:
    """A plain table per campaign, with a one-line count of next actions on top.

    ``styler(text, kind)`` colours; None (no terminal) skips the call for each of 100,000 rows."""
    out = []
    colours = {DUE: "warning", CHECK: "error", RETRY: "error", SEND: "note"}
    campaign = None
    block: list[StatusRow] = []

    def flush():
        if not block:
            return
        counts: dict[str, int] = {}
        for row in block:
            counts[row.action] = counts.get(row.action, 0) + 1
        labels = {DUE: "follow-up due", WAIT: "waiting", NONE: "nothing to do", SEND: "to send",
                  CHECK: "to check", RETRY: "failed"}
        states: dict[str, int] = {}
        for row in block:
            states[row.state] = states.get(row.state, 0) + 1
        by_state = ", ".join(f"{n} {state}" for state, n in sorted(states.items(), key=lambda kv: -kv[1]))
        summary = ", ".join(f"{n} {labels.get(k, k)}" for k, n in sorted(counts.items(), key=lambda kv: -kv[1]))
        header = f"{block[0].campaign}: {by_state}; next: {summary}"
        out.append(styler(header, "note") if styler else header)
        width = max(len(r.address) for r in block)
        state_width = max(len(r.state) for r in block)
        event_width = max([len(r.last_event) for r in block] + [10])
        for r in block:
            line = f"{r.line:>5}" if r.line else "    -"
            action = styler(r.next_action, colours[r.action]) if styler and r.action in colours else r.next_action
            out.append(f"  {line}  {r.address:<{width}}  {r.state:<{state_width}}  {r.last_event or '-':<{event_width}}"
                       f"  {action}")
        block.clear()

    for row in rows:
        if row.campaign != campaign:
            flush()
            campaign = row.campaign
        block.append(row)
    flush()
    return "\n".join(out)


# -- sending -----------------------------------------------------------------------------------
def send_plan(planned: list[Planned], store: Store, account, pacing, campaign: str, template: Path, now: datetime):
    """A :class:`outreach.sending.Plan` for follow-ups: threaded items, within the daily cap."""
    from outreach import sending
    from outreach.pacing import cap_room, resume_at

    plan = sending.Plan(campaign, template, account, sending.account_key(account), pacing)
    items = []
    for p in planned:
        plan.tally.add(p.rendered)
        items.append(sending.Item(p.rendered, p.message_id, p.previous_state, in_reply_to=p.in_reply_to,
                                  references=p.references))
    times = sending.window_times(store, plan.account_key, now)
    plan.window_used = len(times)
    room = cap_room(times, pacing.cap, now)
    take = len(items)
    if room is not None and room < take:
        take, plan.later_reason = room, "daily cap"
        plan.cap_resume = resume_at(times, pacing.cap, now) if room == 0 else None
    plan.items, plan.later = items[:take], items[take:]
    return plan
