"""Follow-ups: the threaded message each due contact gets, drafted or sent.

Who is due is decided in :mod:`outreach.track.threads`; this module renders the follow-up for
each due thread (``In-Reply-To``/``References`` pointing at the last message), writes it as a
draft, or makes a send plan that goes through the same paced, recorded path as ``send``.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.headerregistry import Address
from pathlib import Path

from outreach.clock import human_date, local_date, parse_duration, parse_time
from outreach.clock import now as clock_now
from outreach.compose.batch import Rendered
from outreach.compose.checks import Checker, RowIndex
from outreach.compose.contacts import Contact, Problem
from outreach.compose.message import build_message, make_message_id
from outreach.compose.templates import RenderError, Template
from outreach.config import Settings, parse_sender
from outreach.deliver import sending
from outreach.deliver.drafts import DraftTarget, campaign_folder, open_target
from outreach.deliver.pacing import cap_room, resume_at
from outreach.deliver.session import SendSession, load_account, lock_and_recover
from outreach.errors import UserError
from outreach.feedback import SILENT, Feedback
from outreach.mailbox.sync import Report as SyncReport
from outreach.mailbox.sync import sync_if_stale
from outreach.store import MessageRow, Store, ThreadRow, open_existing
from outreach.track.threads import DUE, Selection, next_action, select


# -- rendering ---------------------------------------------------------------------------------
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
    """The CSV row the first message was written from, as a :class:`Contact` again, addressed to
    the identity the first message went to (however the cell was typed)."""
    return Contact(row.contact_line or 0, dict(row.contact), row.address)


def plan_followups(store: Store, template: Template, template_name: str, due: list[ThreadRow],
                   sender: Address) -> list[Planned]:
    """Render and lint a follow-up for each due contact (nothing written yet)."""
    threads = [store.thread(t.campaign, t.address) for t in due]
    contacts = [contact_of(messages[0]) for messages in threads]
    checker = Checker(template, RowIndex.build(_StoredContacts(contacts)), sender=sender)
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
    store.upsert_message(campaign=original.campaign, address=original.address, step=item.step,
               message_id=item.message_id, parent_id=item.in_reply_to, template=item.template,
               variant=original.variant, subject=draft.subject, recipients=draft.recipients,
               contact=original.contact, contact_line=original.contact_line, state=state,
               transport=transport, account=account, draft_path=draft_path,
               replaceable=("drafted", "queued", "failed"))



# -- sending -----------------------------------------------------------------------------------
def send_plan(planned: list[Planned], store: Store, account, pacing, campaign: str, template: Path, now: datetime):
    """A :class:`outreach.deliver.sending.Plan` for follow-ups: threaded items, within the daily cap."""
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


# -- the command -------------------------------------------------------------------------------
@dataclass
class FollowupRun:
    """`outreach followup` up to writing: who is due, who is not and why, what a sync found."""

    store: Store
    campaign: str
    template_path: Path
    template: Template
    now: datetime
    after: timedelta
    max_followups: int
    selection: Selection
    synced: SyncReport | None = None                   # the sync run first, when the data was stale
    withdraw: list[tuple[str, str, str]] = field(default_factory=list)  # (address, why, draft path or "")

    def due_actions(self) -> list[tuple[str, str]]:
        """(address, what is due) for each due contact, for a dry run."""
        return [(t.address, next_action(t, self.now, self.after, self.max_followups).text)
                for t in self.selection.due]

    def not_due(self) -> list[tuple[str, str, str]]:
        """(address, reason, what `status` says) for each contact of the campaign not due now."""
        actions = ((t.address, next_action(t, self.now, self.after, self.max_followups))
                   for t in self.store.threads(self.campaign))
        return [(address, action.reason, action.text) for address, action in actions if action.kind != DUE]

    def render(self, sender: str | None) -> list[Planned]:
        """A follow-up for each due contact, rendered and linted (nothing written yet)."""
        if not sender:
            raise UserError("no sender: set OUTREACH_FROM in .env or pass --from")
        return plan_followups(self.store, self.template, str(self.template_path), self.selection.due,
                              parse_sender(sender))


def prepare_followups(settings: Settings, campaign: str, template: Path, *, after: str, max_followups: int,
                      no_sync: bool = False, feedback: Feedback = SILENT) -> FollowupRun:
    """Load the template, make sure the mailbox was read recently (syncing first over IMAP), and
    choose who is due a follow-up."""
    now = clock_now(settings.raw)
    after_delta = parse_duration(after, "--after")
    loaded_template = Template(template)
    store = open_existing(settings, campaign=campaign)
    synced = None if no_sync else sync_if_stale(store, settings, now, feedback)
    if loaded_template.kind != "follow-up":
        feedback.note(f"{template} is a {loaded_template.kind} template, not Kind: follow-up")
    selection = select(store.threads(campaign), now, after_delta, max_followups)
    run = FollowupRun(store, campaign, template, loaded_template, now, after_delta, max_followups, selection, synced)
    for thread, why in selection.withdraw:
        row = store.get(thread.campaign, thread.address, thread.last_step)
        run.withdraw.append((thread.address, why, row.draft_path if row and row.draft_path else ""))
    return run


def draft_followups(settings: Settings, run: FollowupRun, planned: list[Planned], *, to_imap: bool,
                    out_dir: Path, feedback: Feedback = SILENT) -> tuple[list, str]:
    """Write the follow-ups as drafts; returns (where each went, the target in words)."""
    sender = parse_sender(settings.sender or "")
    with open_target(settings, to_imap=to_imap, out_dir=campaign_folder(out_dir, run.campaign),
                     feedback=feedback) as target:
        return write_followup_drafts(run.store, planned, sender, target, run.now), target.describe()


class FollowupSendSession(SendSession):
    """`followup --send`: the same lock, pacing, cap and journal as `send`, for threaded items."""

    def __init__(self, *args, planned: list[Planned], **kwargs):
        super().__init__(*args, **kwargs)
        self.planned = {p.message_id: p for p in planned}

    def queue(self) -> None:
        with self.store.transaction():
            for item in self.plan.items:
                planned = self.planned[item.message_id]
                row = self.store.get(self.plan.campaign, planned.original.address, planned.step)
                if row is not None and row.draft_path:
                    item.draft_path = row.draft_path  # removed once the follow-up is sent
                record(self.store, planned, state="queued", transport="smtp", account=self.plan.account_key)


def open_followup_send(settings: Settings, run: FollowupRun, planned: list[Planned], *, rate: str | None,
                       feedback: Feedback = SILENT) -> FollowupSendSession:
    account = load_account(settings)
    pacing = sending.resolve_pacing(account, rate=rate, jitter=None, daily_cap=None)
    lock = lock_and_recover(run.store, feedback)
    try:
        plan = send_plan(planned, run.store, account, pacing, run.campaign, run.template_path, run.now)
    except BaseException:
        lock.release()
        raise
    resume = f"outreach followup {shlex.quote(run.campaign)} --template {shlex.quote(str(run.template_path))} --send"
    return FollowupSendSession(run.store, account, plan, lock=lock, resume=resume, planned=planned)
