"""A send session: one run of `send` (or `followup --send`), from the lock to the last message.

:func:`open_campaign` takes the outbox lock, settles what a crashed run left, reads the mailbox
when people of this sheet were written to or drafted to before (so a reply that just arrived
holds them), and makes the plan, asking the gate about every contact; the caller shows
``session.plan``, asks the person, calls :meth:`SendSession.prepare_secret` before asking (so a
missing password stops the run before the question), then :meth:`SendSession.send`. Closing the
session releases the lock.
Nothing here prints: the caller does, from the plan and the :class:`outreach.deliver.sending.Result`.
"""

from __future__ import annotations

import shlex
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Self

from outreach.account import Account, Secret
from outreach.clock import now as clock_now
from outreach.compose.batch import STRICT
from outreach.compose.contacts import ContactFile
from outreach.compose.variants import addresses as variant_addresses
from outreach.compose.variants import load_variants, variables_of
from outreach.config import Settings, allows_test_domains
from outreach.deliver import sending
from outreach.deliver.drafts import take_outbox
from outreach.deliver.windows import RunningClock, resolve_window
from outreach.errors import UserError
from outreach.feedback import SILENT, Feedback
from outreach.mailbox.sync import fresh_view
from outreach.options import SendOptions
from outreach.output import plural
from outreach.store import Store
from outreach.store.lock import OutboxLock
from outreach.track.gate import Gate
from outreach.zones import user_zone


def load_account(settings: Settings) -> Account:
    account = Account.load(settings)
    if account.smtp is None:
        raise UserError("no SMTP server: set OUTREACH_PROVIDER (gmail, outlook, ...) or OUTREACH_SMTP_HOST in .env")
    return account


WAIT_TICK = 1.0   # seconds between two updates of the live line of `send --wait`


class SendSession:
    """A plan ready to send, holding the store's lock (none on a dry run)."""

    def __init__(self, store: Store, account: Account, plan: sending.Plan, gate: Gate, *, lock: OutboxLock | None,
                 resume: str, workspace: Path, scratch: tempfile.TemporaryDirectory | None = None,
                 clock: Callable[[], datetime] | None = None, replan: Callable[[], sending.Plan] | None = None):
        self.store, self.account, self.plan, self.gate, self.lock = store, account, plan, gate, lock
        self.workspace = workspace      # where the .eml drafts the store names by relative paths are
        self.resume = resume            # the command that sends what this run leaves
        self._scratch = scratch         # a dry run's throwaway store, when there was none
        self._secret: Callable[[], Secret] | None = None
        self.clock = clock or (lambda: datetime.now(UTC))
        self._replan = replan           # the plan again, at the clock's new time (for --wait)
        self.pair: tuple[Path, Path] | None = None  # (template, contacts), remembered once sent

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self.lock is not None:
            self.lock.release()
            self.lock = None
        if self._scratch is not None:
            self.store.close()
            self._scratch.cleanup()
            self._scratch = None

    def prepare_secret(self, warn: Callable[[str], None]) -> None:
        """Get the secret now (a password command, the keyring), so that a missing one stops us
        before the person is asked anything."""
        self._secret = sending.secret_source(self.account, self.plan.server, warn)
        if self.plan.server.security != "none":
            self._secret()

    def queue(self) -> None:
        """Write the confirmed plan: every message to send becomes a queued row."""
        sending.queue_plan(self.plan, self.store)
        if self.pair is not None:
            self.store.remember_pair(*self.pair, self.plan.campaign)

    def send(self, *, on_message: Callable[[sending.Item, str, str], None] = lambda item, status, detail: None,
             on_first_interrupt: Callable[[], None] = lambda: None, wait: bool = False,
             on_wait: Callable[[sending.Waiting | None, datetime, datetime], None] = lambda nxt, at, now: None
             ) -> sending.Result:
        """Queue the plan and send it, paced; Ctrl-C once finishes the current message and stops.

        With ``wait``, stay: sleep until the next contact's window opens (or the daily cap has room),
        plan again at that time and send what is due, until no one is waiting. Each round goes through
        the same queued -> claimed -> sending -> sent journal under the same lock, and nothing is
        claimed while waiting, so a kill during the wait loses nothing and sends nothing twice.
        ``on_wait(next waiting, when, now)`` is called about every second of the wait."""
        if self._secret is None:
            self.prepare_secret(lambda text: None)
        assert self._secret is not None
        result = sending.Result()
        with sending.graceful_interrupts(on_first_interrupt) as stop:
            self._send_round(stop, on_message, result)
            while wait and not (result.interrupted or result.stopped or result.fatal):
                at = self.next_moment()
                if at is None:
                    break
                if not self._sleep_until(at, stop, on_wait):
                    result.interrupted = True
                    break
                if not self._plan_again(result):
                    break
                self._send_round(stop, on_message, result)
        return result

    def _send_round(self, stop, on_message, result: sending.Result) -> None:
        self.queue()
        if not self.plan.items:
            return
        assert self._secret is not None
        accepted: list[tuple[str, bytes]] = []
        keep = (lambda item, data: accepted.append((item.message_id, data))) if self.account.save_sent else \
            (lambda item, data: None)
        transport = sending.make_transport(self.account, self._secret, wait=lambda seconds: not stop.wait(seconds))
        already = len(result.sent)
        try:
            claimer = sending.Claimer(self.store, self.gate, self.lock)
            sending.send_plan(self.plan, claimer, transport, stop=stop, on_message=on_message,
                              on_accepted=keep, result=result)
        except KeyboardInterrupt:
            result.interrupted = True
            result.not_reached = result.planned - result.attempted
        self.remove_drafts(result, result.sent[already:])
        if accepted:
            self.file_in_sent(accepted, result)

    def remove_drafts(self, result: sending.Result, sent: list) -> None:
        """The drafts of the messages just sent go: each could otherwise be sent again by hand."""
        from outreach.deliver.drafts import remove_sent_drafts

        drafts = [(item.message_id, item.draft_path) for item, _ in sent if item.draft_path]
        if drafts:
            removed, left = remove_sent_drafts(self.store, self.account, drafts, self.workspace)
            result.drafts_removed += removed
            result.drafts_left += left

    def file_in_sent(self, accepted: list[tuple[str, bytes]], result: sending.Result) -> None:
        """A copy of each accepted message in the IMAP Sent folder, after each round (one login,
        and no IMAP connection idling through the pacing or a --wait). A failure is the result's
        warning only: the messages left and are recorded as sent, so nothing is sent again."""
        # imapclient is loaded only when there is a copy to file
        from outreach.mailbox.imap import save_sent_copies

        copies = save_sent_copies(self.account, accepted)
        result.sent_copies = copies if result.sent_copies is None else result.sent_copies.add(copies)

    def next_moment(self) -> datetime | None:
        """When something left by this plan may go: the soonest window, or the daily cap's room."""
        moments = [self.plan.waiting[0].opens] if self.plan.waiting else []
        if self.plan.later and self.plan.later_reason == "daily cap":
            moments.append(sending.cap_resume_time(self.store, self.plan, self.clock()) or self.clock())
        return min(moments, default=None)

    def _sleep_until(self, at: datetime, stop, on_wait) -> bool:
        """Wait for ``at`` on the session's clock, telling ``on_wait``; False when interrupted."""
        nxt = self.plan.waiting[0] if self.plan.waiting and self.plan.waiting[0].opens <= at else None
        while (left := (at - self.clock()).total_seconds()) > 0:
            on_wait(nxt, at, self.clock())
            if stop.wait(min(left, WAIT_TICK)):
                return False
        return True

    def _plan_again(self, result: sending.Result) -> bool:
        assert self._replan is not None
        self.plan = self._replan()
        if self.plan.tally.with_errors:
            result.stopped = (f"errors in {plural(self.plan.tally.with_errors, 'row')} of the contacts file now; "
                              "stopped (outreach check lists them)")
            return False
        return True

    def cap_resume(self) -> datetime | None:
        """After a run cut short by the daily cap: when the next message may go."""
        return sending.cap_resume_time(self.store, self.plan, self.clock())


def open_campaign(settings: Settings, options: SendOptions, feedback: Feedback = SILENT) -> SendSession:
    """`outreach send`, up to the question: render and check every row (any error and nothing is
    sent), then plan who gets a message now, later, or never, and why (the gate's reasons).
    Without a campaign, the one this template and contact list were drafted or sent under, else
    the template's name."""
    sheet = options.sheet
    account = load_account(settings)
    pace = options.pace
    pacing = sending.resolve_pacing(account, rate=pace.rate, jitter=pace.jitter, daily_cap=pace.daily_cap)
    send_window = resolve_window(settings.raw, options.timing.window, options.timing.weekdays)
    clock = RunningClock(clock_now(settings.raw))
    test_domains = allows_test_domains(settings.raw)
    templates = load_variants([sheet.template, *sheet.variants], test_domains=test_domains)
    contacts = ContactFile(sheet.contacts, check_dns=sheet.check_dns, test_domains=test_domains)
    for note in contacts.notes + contacts.unused_notes(variables_of(templates)):
        feedback.note(note)
    scratch = None
    if options.dry_run and not settings.db.exists():  # changes nothing, not even by creating the store
        scratch = tempfile.TemporaryDirectory(prefix="outreach-dry-run-")
        store = Store(Path(scratch.name) / settings.db.name)
    else:
        store = Store(settings.db)
    campaign = sheet.campaign
    if campaign is None:
        campaign = store.campaign_of_pair(sheet.template, sheet.contacts)
        if campaign is not None and campaign != sheet.template.stem:  # the default needs no word
            feedback.note(f"campaign {campaign!r}: {sheet.template} and {sheet.contacts} were drafted or sent "
                          "under it (give --campaign to start another)")
    campaign = campaign or sheet.template.stem
    lock = None if options.dry_run else take_outbox(store, "send", settings, feedback.warn)
    gate = Gate(store, options.consent, clock())
    sources = sending.Sources(campaign, templates, contacts, account, pacing, pace.limit, send_window,
                              user_zone(settings.raw), sheet.warnings)
    session = SendSession(store, account, sending.Plan(campaign, sheet.template, account, "", pacing), gate,
                          lock=lock, resume=resume_command(sheet.template, sheet.contacts, campaign),
                          workspace=settings.folder,
                          scratch=scratch, clock=clock, replan=lambda: sending.make_plan(sources, store, gate, clock()))
    session.pair = (sheet.template, sheet.contacts)
    try:
        view = fresh_view(store, settings, clock(), read=not (options.dry_run or options.no_sync),
                          needed=store.written_or_drafted(variant_addresses(contacts)), feedback=feedback)
        session.plan = sending.make_plan(sources, store, gate, clock())
        session.plan.mailbox = view.text
        for item in session.plan.with_problems:
            feedback.problems(item, str(sheet.contacts))
        feedback.end_problems()
        if session.plan.tally.with_errors:
            raise UserError(f"errors in {plural(session.plan.tally.with_errors, 'row')} of {sheet.contacts}"
                            f"{STRICT if sheet.warnings == 'strict' else ''}; nothing was sent. Fix them and run "
                            "again (outreach check shows the same list)")
    except BaseException:
        session.close()
        raise
    return session


def resume_command(template: Path, contacts: Path, campaign: str) -> str:
    command = f"outreach send {shlex.quote(str(template))} {shlex.quote(str(contacts))}"
    return command + (f" --campaign {shlex.quote(campaign)}" if campaign != template.stem else "")
