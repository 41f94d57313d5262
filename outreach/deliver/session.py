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
from datetime import datetime
from pathlib import Path
from typing import Callable

from outreach.account import Account, Secret
from outreach.compose.contacts import ContactFile
from outreach.compose.variants import addresses as variant_addresses
from outreach.compose.variants import assign as assign_variants
from outreach.compose.variants import load_variants, variant_name
from outreach.config import Settings
from outreach.deliver import sending
from outreach.deliver.lock import SendLock, recover
from outreach.errors import UserError
from outreach.feedback import Feedback, Quiet
from outreach.track.store import Store


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
        feedback.warn(f"the last send stopped during {uncertain} message(s); they are now 'uncertain'")
    return lock


class SendSession:
    """A plan ready to send, holding the store's lock (none on a dry run)."""

    def __init__(self, store: Store, account: Account, plan: sending.Plan, *, lock: SendLock | None,
                 resume: str, scratch: tempfile.TemporaryDirectory | None = None):
        self.store, self.account, self.plan, self.lock = store, account, plan, lock
        self.resume = resume            # the command that sends what this run leaves
        self._scratch = scratch         # a dry run's throwaway store, when there was none
        self._secret: Callable[[], Secret] | None = None

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

    def send(self, *, on_message: Callable[[sending.Item, str, str], None] = lambda item, status, detail: None,
             on_first_interrupt: Callable[[], None] = lambda: None) -> sending.Result:
        """Queue the plan and send it, paced; Ctrl-C once finishes the current message and stops."""
        if self._secret is None:
            self.prepare_secret(lambda text: None)
        assert self._secret is not None
        self.queue()
        result = sending.Result()
        with sending.graceful_interrupts(on_first_interrupt) as stop:
            transport = sending.make_transport(self.account, self._secret, wait=lambda seconds: not stop.wait(seconds))
            try:
                sending.send_plan(self.plan, self.store, transport, stop=stop, on_message=on_message, result=result)
            except KeyboardInterrupt:
                result.interrupted = True
                result.not_reached = len(self.plan.items) - result.attempted
        return result

    def cap_resume(self) -> datetime | None:
        """After a run cut short by the daily cap: when the next message may go."""
        return sending.cap_resume_time(self.store, self.plan)


def open_campaign(settings: Settings, template: Path, contacts: Path, *, campaign: str | None = None,
                  variants: tuple[Path, ...] = (), dry_run: bool = False, limit: int | None = None,
                  rate: str | None = None, jitter: float | None = None, daily_cap: int | None = None,
                  resend_uncertain: bool = False, retry_failed: bool = False, check_dns: bool = False,
                  feedback: Feedback = Quiet()) -> SendSession:
    """`outreach send`, up to the question: render and check every row (any error and nothing is
    sent), then plan who gets a message now, later, or never, and why."""
    account = load_account(settings)
    pacing = sending.resolve_pacing(account, rate=rate, jitter=jitter, daily_cap=daily_cap)
    templates = load_variants([template, *variants])
    loaded_template = templates[variant_name(template)][1]
    loaded_contacts = ContactFile(contacts, check_dns=check_dns)
    for note in loaded_contacts.notes:
        feedback.note(note)
    campaign = campaign or template.stem
    scratch = None
    if dry_run and not settings.db.exists():  # changes nothing, not even by creating the store
        scratch = tempfile.TemporaryDirectory(prefix="outreach-dry-run-")
        store = Store(Path(scratch.name) / settings.db.name)
    else:
        store = Store(settings.db)
    lock = None if dry_run else lock_and_recover(store, feedback)
    session = SendSession(store, account, sending.Plan(campaign, template, account, "", pacing), lock=lock,
                          resume=resume_command(template, contacts, campaign), scratch=scratch)
    try:
        assignment = assign_variants(campaign, variant_addresses(loaded_contacts), list(templates),
                                     store.variants(campaign))
        session.plan = sending.make_plan(
            loaded_template, loaded_contacts, store, account, campaign=campaign, pacing=pacing, limit=limit,
            resend_uncertain=resend_uncertain, retry_failed=retry_failed, locked=lock is not None,
            variants=templates, assignment=assignment)
        for item in session.plan.with_problems:
            feedback.problems(item, str(contacts))
        if session.plan.tally.with_errors:
            raise UserError(f"{session.plan.tally.with_errors} row(s) of {contacts} have errors; nothing was sent. "
                            "Fix them and run again (outreach check shows the same list)")
    except BaseException:
        session.close()
        raise
    return session


def resume_command(template: Path, contacts: Path, campaign: str) -> str:
    command = f"outreach send {shlex.quote(str(template))} {shlex.quote(str(contacts))}"
    return command + (f" --campaign {shlex.quote(campaign)}" if campaign != template.stem else "")
