"""A send session: one run of `send` (or `followup --send`), from the lock to the last message.

:func:`open_campaign` locks the store, settles what a crashed run left, and makes the plan; the
caller shows ``session.plan``, asks the person, calls :meth:`SendSession.prepare_secret` before
asking (so a missing password stops the run before the question), then :meth:`SendSession.send`.
Closing the session releases the lock. Nothing here prints: the caller does, from the plan and
the :class:`outreach.deliver.sending.Result`.
"""

from __future__ import annotations

import shlex
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from outreach.account import Account, Secret
from outreach.clock import now as clock_now
from outreach.compose.contacts import ContactFile
from outreach.compose.variants import addresses as variant_addresses
from outreach.compose.variants import assign as assign_variants
from outreach.compose.variants import load_variants, variant_name
from outreach.config import Settings
from outreach.deliver import sending
from outreach.deliver.lock import SendLock, recover
from outreach.deliver.windows import RunningClock, resolve_window
from outreach.errors import UserError
from outreach.feedback import SILENT, Feedback
from outreach.output import plural
from outreach.track.history import RECENT_DAYS
from outreach.store import Store
from outreach.zones import user_zone


def load_account(settings: Settings) -> Account:
    account = Account.load(settings)
    if account.smtp is None:
        raise UserError("no SMTP server: set OUTREACH_PROVIDER (gmail, outlook, ...) or OUTREACH_SMTP_HOST in .env")
    return account


def lock_and_recover(store: Store, feedback: Feedback) -> SendLock:
    """Take the store's send lock and settle a crashed run (its cut-off messages become uncertain)."""
    lock = SendLock(store.path).acquire()
    try:
        uncertain, _ = recover(store, lock.previous)
    except BaseException:
        lock.release()
        raise
    if uncertain:
        feedback.warn(f"the last send stopped during {plural(uncertain, 'message')}; their outcome is now 'uncertain'")
    return lock


WAIT_TICK = 1.0   # seconds between two updates of the live line of `send --wait`


class SendSession:
    """A plan ready to send, holding the store's lock (none on a dry run)."""

    def __init__(self, store: Store, account: Account, plan: sending.Plan, *, lock: SendLock | None,
                 resume: str, scratch: tempfile.TemporaryDirectory | None = None,
                 clock: Callable[[], datetime] | None = None, replan: Callable[[], sending.Plan] | None = None):
        self.store, self.account, self.plan, self.lock = store, account, plan, lock
        self.resume = resume            # the command that sends what this run leaves
        self._scratch = scratch         # a dry run's throwaway store, when there was none
        self._secret: Callable[[], Secret] | None = None
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        self._replan = replan           # the plan again, at the clock's new time (for --wait)
        self.pair: tuple[Path, Path] | None = None  # (template, contacts), remembered once sent

    def __enter__(self) -> "SendSession":
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
        sending.record_plan(self.plan, self.store)
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
            sending.send_plan(self.plan, self.store, transport, stop=stop, on_message=on_message,
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
            removed, left = remove_sent_drafts(self.store, self.account, drafts)
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


def open_campaign(settings: Settings, template: Path, contacts: Path, *, campaign: str | None = None,
                  variants: tuple[Path, ...] = (), dry_run: bool = False, limit: int | None = None,
                  rate: str | None = None, jitter: float | None = None, daily_cap: int | None = None,
                  resend_uncertain: bool = False, retry_failed: bool = False, check_dns: bool = False,
                  window: str | None = None, weekdays: bool | None = None,
                  include_answered: bool = False, include_recent: bool = False, recent_days: int = RECENT_DAYS,
                  feedback: Feedback = SILENT) -> SendSession:
    """`outreach send`, up to the question: render and check every row (any error and nothing is
    sent), then plan who gets a message now, later, or never, and why. Without ``campaign``, the
    campaign this template and contact list were drafted or sent under, else the template's name."""
    account = load_account(settings)
    pacing = sending.resolve_pacing(account, rate=rate, jitter=jitter, daily_cap=daily_cap)
    send_window = resolve_window(settings.raw, window, weekdays)
    home = user_zone(settings.raw)
    clock = RunningClock(clock_now(settings.raw))
    templates = load_variants([template, *variants])
    loaded_template = templates[variant_name(template)][1]
    loaded_contacts = ContactFile(contacts, check_dns=check_dns)
    for note in loaded_contacts.notes:
        feedback.note(note)
    scratch = None
    if dry_run and not settings.db.exists():  # changes nothing, not even by creating the store
        scratch = tempfile.TemporaryDirectory(prefix="outreach-dry-run-")
        store = Store(Path(scratch.name) / settings.db.name)
    else:
        store = Store(settings.db)
    if campaign is None:
        campaign = store.campaign_of_pair(template, contacts)
        if campaign is not None and campaign != template.stem:  # the default needs no word
            feedback.note(f"campaign {campaign!r}: {template} and {contacts} were drafted or sent under it "
                          "(give --campaign to start another)")
    campaign = campaign or template.stem
    lock = None if dry_run else lock_and_recover(store, feedback)

    def plan_now() -> sending.Plan:
        assignment = assign_variants(campaign, variant_addresses(loaded_contacts), list(templates),
                                     store.variants(campaign))
        plan = sending.make_plan(
            loaded_template, loaded_contacts, store, account, campaign=campaign, pacing=pacing, limit=limit,
            resend_uncertain=resend_uncertain, retry_failed=retry_failed, locked=lock is not None,
            variants=templates, assignment=assignment, now=clock(), window=send_window, home=home,
            include_answered=include_answered, include_recent=include_recent, recent_days=recent_days)
        plan.home_zone = home
        return plan

    session = SendSession(store, account, sending.Plan(campaign, template, account, "", pacing), lock=lock,
                          resume=resume_command(template, contacts, campaign), scratch=scratch,
                          clock=clock, replan=plan_now)
    session.pair = (template, contacts)
    try:
        session.plan = plan_now()
        for item in session.plan.with_problems:
            feedback.problems(item, str(contacts))
        if session.plan.tally.with_errors:
            raise UserError(f"errors in {plural(session.plan.tally.with_errors, 'row')} of {contacts}; nothing was sent. "
                            "Fix them and run again (outreach check shows the same list)")
    except BaseException:
        session.close()
        raise
    return session


def resume_command(template: Path, contacts: Path, campaign: str) -> str:
    command = f"outreach send {shlex.quote(str(template))} {shlex.quote(str(contacts))}"
    return command + (f" --campaign {shlex.quote(campaign)}" if campaign != template.stem else "")
