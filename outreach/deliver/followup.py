"""Follow-ups: the threaded message each due contact gets, drafted or sent.

The command holds the outbox lock from the start, so a follow-up cut off by a crash is
``uncertain`` before anyone is chosen. It reads the mailbox first (over IMAP, always), so a reply
that arrived a minute ago holds that person. Who is due by time is :mod:`outreach.track.threads`;
whether each follow-up may go is the gate's (:mod:`outreach.track.gate`), asked when the plan is
made and again right before each claim. This module renders the follow-up for each due thread
(``In-Reply-To``/``References`` pointing at the last message), writes it as a draft, or makes a
send plan that goes through the same paced, recorded path as ``send``.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.headerregistry import Address
from pathlib import Path
from typing import Self

from outreach.clock import human_date, local_date, parse_duration, parse_time
from outreach.clock import now as clock_now
from outreach.compose.batch import Rendered
from outreach.compose.checks import Checker, RowIndex
from outreach.compose.contacts import Contact, Problem
from outreach.compose.message import make_message_id
from outreach.compose.templates import RenderError, Template
from outreach.config import Settings, allows_test_domains, parse_sender
from outreach.deliver import sending
from outreach.deliver.drafts import (
    ToDraft,
    draft_key,
    draft_remover,
    open_target,
    stored_draft_path,
    take_outbox,
    write_drafts,
)
from outreach.deliver.session import SendSession, load_account
from outreach.errors import UserError
from outreach.feedback import SILENT, Feedback
from outreach.mailbox.sync import View, fresh_view, imap_configured, require_recent
from outreach.options import Consent, FollowupOptions
from outreach.store import MessageRow, Outgoing, Store, ThreadRow, open_existing
from outreach.store.lock import OutboxLock
from outreach.track.gate import Ask, Gate
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

    @property
    def ask(self) -> Ask:
        draft = self.rendered.draft
        copies = tuple(r for r in draft.recipients if r.casefold() != self.original.address) if draft else ()
        return Ask(self.original.campaign, self.original.address, self.step, "follow-up", copies)

    def outgoing(self, transport: str, account: str | None = None, draft_path: str | None = None) -> Outgoing:
        """The row this follow-up is recorded as."""
        draft = self.rendered.draft
        assert draft is not None
        original = self.original
        return Outgoing(campaign=original.campaign, address=original.address, step=self.step,
                        message_id=self.message_id, parent_id=self.in_reply_to, template=self.template,
                        variant=original.variant, subject=draft.subject, recipients=draft.recipients,
                        contact=original.contact, contact_line=original.contact_line, transport=transport,
                        account=account, draft_path=draft_path, kind=draft.kind)


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
    for messages, contact in zip(threads, contacts, strict=True):
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

    @property
    def rows_hint(self) -> int:
        return len(self.contacts)

    def scan(self, observe) -> None:
        for contact in self.contacts:
            observe(contact.line, [contact.fields.get(name, "") for name in self.columns])


# -- sending -----------------------------------------------------------------------------------
def send_plan(planned: list[Planned], store: Store, gate: Gate, account, pacing, campaign: str, template: Path,
              now: datetime) -> sending.Plan:
    """A :class:`outreach.deliver.sending.Plan` for follow-ups: threaded items the gate lets go,
    within the daily cap."""
    plan = sending.Plan(campaign, template, account, sending.account_key(account), pacing)
    items = []
    for p in planned:
        plan.tally.add(p.rendered)
        decision = gate.decide(p.ask)
        if not decision.go:
            assert decision.reason is not None
            plan.skipped.setdefault(decision.reason, []).append(p.original.address)
            continue
        items.append(sending.Item(p.rendered, p.message_id, p.previous_state, p.ask, in_reply_to=p.in_reply_to,
                                  references=p.references, draft_path=decision.draft_path))
    sending.fill(plan, items, store, now)
    return plan


# -- the command -------------------------------------------------------------------------------
@dataclass
class FollowupRun:
    """`outreach followup` up to writing: who is due, who is not and why, what the mailbox said.
    Holds the outbox lock (none on a dry run) until :meth:`close`."""

    store: Store
    campaign: str
    template_path: Path
    template: Template
    now: datetime
    after: timedelta
    max_followups: int
    selection: Selection
    gate: Gate
    view: View
    lock: OutboxLock | None = None
    withdraw: list[tuple[str, str, str]] = field(default_factory=list)  # (address, why, draft path or "")

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self.lock is not None:
            self.lock.release()
            self.lock = None

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


def prepare_followups(settings: Settings, options: FollowupOptions, *, dry_run: bool = False,
                      feedback: Feedback = SILENT) -> FollowupRun:
    """Take the outbox lock (and settle a crashed run) before anything is chosen, read the mailbox
    (over IMAP: always, a dry run too; otherwise a recent offline sync is required, except for a dry
    run, which says how old it is), and choose who is due."""
    now = clock_now(settings.raw)
    after = parse_duration(options.after, "--after")
    template = Template(options.template, test_domains=allows_test_domains(settings.raw))
    store = open_existing(settings, campaign=options.campaign)
    lock = None if dry_run else take_outbox(store, "followup", settings, feedback.warn)
    try:
        if not (dry_run or options.no_sync or imap_configured(settings)):
            require_recent(store, settings, now)
        view = fresh_view(store, settings, now, read=not options.no_sync, feedback=feedback)
        if template.kind != "follow-up":
            feedback.note(f"{options.template} is a {template.kind} template, not Kind: follow-up")
        selection = select(store.threads(options.campaign), now, after, options.max_followups)
        gate = Gate(store, Consent(), now)
        gate.refresh(t.address for t in selection.due)
    except BaseException:
        if lock is not None:
            lock.release()
        raise
    run = FollowupRun(store, options.campaign, options.template, template, now, after, options.max_followups,
                      selection, gate, view, lock)
    for thread, why in selection.withdraw:
        row = store.get(thread.campaign, thread.address, thread.last_step)
        run.withdraw.append((thread.address, why, row.draft_path if row and row.draft_path else ""))
    return run


def draft_followups(settings: Settings, run: FollowupRun, planned: list[Planned], options: FollowupOptions,
                    feedback: Feedback = SILENT) -> tuple[list[str], int, str, list[tuple[str, str]]]:
    """Write the follow-ups the gate lets through as drafts; returns (where each went, how many of
    those were left unchanged, the target in words, (address, reason) of each held back)."""
    sender = parse_sender(settings.sender or "")
    held: list[tuple[str, str]] = []
    with open_target(settings, to_imap=options.to_imap, out_dir=options.out_dir, campaign=run.campaign,
                     feedback=feedback) as target:
        items = []
        for p in planned:
            decision = run.gate.decide(p.ask)
            if not decision.go:
                held.append((p.original.address, decision.reason or ""))
                continue
            draft = p.rendered.draft
            assert draft is not None  # errors stopped the command before this
            where = stored_draft_path(target.where(draft_key(p.original.address, p.step)), settings.folder)
            items.append(ToDraft(p.outgoing(target.transport, draft_path=where), draft, p.previous_state,
                                 p.in_reply_to, p.references))
        written, unchanged = write_drafts(items, store=run.store, sender=sender, target=target,
                                          remove=draft_remover(settings, feedback))
        return written, unchanged, target.describe(), held


class FollowupSendSession(SendSession):
    """`followup --send`: the same lock, pacing, cap and journal as `send`, for threaded items."""

    def __init__(self, *args, planned: list[Planned], **kwargs):
        super().__init__(*args, **kwargs)
        self.planned = {p.message_id: p for p in planned}

    def queue(self) -> None:
        with self.store.transaction():
            for item in self.plan.items:
                planned = self.planned[item.message_id]
                move = "retry" if planned.previous_state == "failed" else "queue"
                self.store.record(move, planned.outgoing("smtp", account=self.plan.account_key))


def open_followup_send(settings: Settings, run: FollowupRun, planned: list[Planned], *, rate: str | None
                       ) -> FollowupSendSession:
    """The send session of `followup --send`, under the lock the run already holds."""
    account = load_account(settings)
    pacing = sending.resolve_pacing(account, rate=rate, jitter=None, daily_cap=None)
    plan = send_plan(planned, run.store, run.gate, account, pacing, run.campaign, run.template_path, run.now)
    plan.mailbox = run.view.text
    resume = f"outreach followup {shlex.quote(run.campaign)} --template {shlex.quote(str(run.template_path))} --send"
    return FollowupSendSession(run.store, account, plan, run.gate, lock=run.lock, resume=resume, planned=planned,
                               workspace=settings.folder)
