"""Drafting: rendered rows become drafts, each recorded in the store with its Message-ID.

Where a draft goes is a :class:`DraftTarget`: ``.eml`` files in a folder (:class:`EmlFolder`,
the default) or the account's IMAP Drafts folder (``outreach.mailbox.imap.ImapDrafts``). Everything else
(which rows, which Message-ID, what the store says) is the same code for both.

A draft row can be drafted again (the template changed): it keeps its Message-ID and its file
name (or replaces its IMAP copy), so nothing a mail client or a later ``send`` relies on moves.
A row that has already been sent is never drafted over.
"""

from __future__ import annotations

import re
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from pathlib import Path
from typing import Callable, Iterable, Iterator, Protocol

from outreach import clock
from outreach.account import Account
from outreach.compose.batch import Rendered, Tally
from outreach.compose.checks import commitment_phrase, earlier_commitments
from outreach.compose.contacts import ContactFile
from outreach.compose.interviews import Season
from outreach.compose.message import build_message, make_message_id
from outreach.compose.variants import addresses as variant_addresses
from outreach.compose.variants import assign as assign_variants
from outreach.compose.variants import load_variants, render_variants
from outreach.config import Settings, parse_sender
from outreach.errors import UserError
from outreach.feedback import SILENT, Feedback
from outreach.files import remove_draft_file, write_atomically
from outreach.output import plural
from outreach.track.history import RECENT_DAYS, Past, hold_reason, known_elsewhere
from outreach.store import Store

REDRAFTABLE = ("drafted", "queued")
COMMIT_EVERY = 200  # rows per transaction: drafts are cheap to redo, fsyncs are not


def eml_name(address: str) -> str:
    """``jchen@example.edu.eml``: predictable, safe on every file system, and one per address:
    any other character is written as ``%XX`` (``o'brien@`` -> ``o%27brien@``), so two
    addresses never share a file the way ``o'brien@`` and ``o_brien@`` would with a stand-in."""
    return _escape(address.casefold()) + ".eml"


def _escape(text: str) -> str:
    """Every character outside ``[\\w.@+-]`` as ``%XX``: a file name unique to ``text``."""
    return re.sub(r"[^\w.@+-]", lambda m: "".join(f"%{byte:02X}" for byte in m[0].encode()), text)


@dataclass
class DraftResult:
    written: list[Path | str] = field(default_factory=list)
    already_sent: list[str] = field(default_factory=list)


class DraftTarget(Protocol):
    """Where drafts go. ``put`` stores one and returns where it went (the row's ``draft_path``)."""

    transport: str      # the store's messages.transport: "eml" | "imap"
    unsent: bool        # add X-Unsent: 1 (Outlook opens such an .eml as an editable draft)
    commit_every: int   # rows per store transaction

    def put(self, address: str, message: EmailMessage, *, replace: bool) -> Path | str: ...

    def describe(self) -> str: ...


class EmlFolder:
    """``.eml`` files, one per address, written atomically into ``out_dir``."""

    transport = "eml"
    unsent = True
    commit_every = COMMIT_EVERY

    def __init__(self, out_dir: Path):
        self.out_dir = out_dir
        out_dir.mkdir(parents=True, exist_ok=True)

    def put(self, address: str, message: EmailMessage, *, replace: bool) -> Path:
        path = self.out_dir / eml_name(address)
        write_atomically(path, message.as_bytes())
        return path

    def describe(self) -> str:
        return f"{self.out_dir}/"


def campaign_folder(root: Path, campaign: str) -> Path:
    """``drafts/fall-mentors/``: each campaign's drafts apart, so one never overwrites another's
    (escaped as file names are, and never ``.``, ``..`` or hidden)."""
    name = _escape(campaign)
    return root / ("%2E" + name[1:] if name.startswith(".") else name)


def remove_sent_drafts(store: Store, account: Account | None, sent: list[tuple[str, str]],
                       feedback: Feedback = SILENT) -> tuple[int, list[str]]:
    """Remove the drafts of messages just sent, ``(message_id, draft_path)`` each: an .eml file that
    still holds that Message-ID, or the IMAP draft with it. A draft left behind could be sent a
    second time from a mail client. Returns (how many were removed, the drafts left behind)."""
    removed, left = 0, []
    on_server: dict[str, list[str]] = {}
    for message_id, where in sent:
        if where.startswith("imap:"):
            on_server.setdefault(where[len("imap:"):], []).append(message_id)
            continue
        try:
            removed += remove_draft_file(Path(where), message_id)
        except OSError as e:
            left.append(f"{where} ({e.strerror})")
            continue
        store.forget_draft(message_id)
    if on_server:
        removed += _remove_imap_drafts(store, account, on_server, left, feedback)
    return removed, left


def _remove_imap_drafts(store: Store, account: Account | None, folders: dict[str, list[str]], left: list[str],
                        feedback: Feedback) -> int:
    from outreach.mailbox.imap import ImapSession

    removed = 0
    try:
        if account is None or account.imap is None:
            raise UserError("no IMAP server is configured")
        with ImapSession(account, warn=feedback.warn) as session:
            for folder, message_ids in folders.items():
                with session.guarded(f"removing the sent drafts from {folder}"):
                    removed += session.remove_drafts(folder, message_ids)
                for message_id in message_ids:
                    store.forget_draft(message_id)
    except UserError as e:
        for folder, message_ids in folders.items():
            row = store.by_message_id(message_ids[0])
            if row is not None and row.draft_path:  # this folder was not done
                left.append(f"{plural(len(message_ids), 'draft')} in {folder} ({e})")
    return removed


def drop_suppressed(rows: Iterable[Rendered], suppressed: dict[str, str],
                    skipped: list[tuple[str, str]]) -> Iterator[Rendered]:
    """Rows none of whose recipients (To, Cc, Bcc) is suppressed; the others are appended to
    ``skipped`` (address, reason)."""
    for item in rows:
        recipients = [item.contact.email, *(item.draft.recipients if item.draft else ())]
        blocked = next((r.casefold() for r in recipients if r.casefold() in suppressed), None)
        if item.draft is not None and blocked is not None:
            copy = "" if blocked == item.contact.email.casefold() else f" (Cc/Bcc {blocked})"
            skipped.append((item.contact.email + copy, suppressed[blocked]))
            continue
        yield item


def drop_held(rows: Iterable[Rendered], history: dict[str, list[Past]], held: list[tuple[str, str]],
              **policy) -> Iterator[Rendered]:
    """Rows their history in other campaigns lets this campaign write to (see
    :func:`outreach.track.history.hold_reason`); each held one goes in ``held`` (address, skip reason)."""
    for item in rows:
        pasts = history.get(item.contact.email.casefold()) if item.draft is not None else None
        if pasts:
            reason = hold_reason(pasts, kind=item.draft.kind, **policy)
            if reason:
                held.append((item.contact.email, reason))
                continue
        yield item



def write_drafts(rows: Iterable[Rendered], *, store: Store, sender: Address, campaign: str,
                 template_name: str, out_dir: Path | None = None, target: DraftTarget | None = None,
                 on_row: Callable[[], None] = lambda: None) -> DraftResult:
    """Put one draft per rendered row into ``target`` (default: .eml files in ``out_dir``); record each."""
    if target is None:
        if out_dir is None:
            raise ValueError("write_drafts needs out_dir or target")
        target = EmlFolder(out_dir)
    result = DraftResult()
    pending = 0
    store.db.execute("BEGIN IMMEDIATE")
    try:
        for item in rows:
            on_row()
            draft = item.draft
            if draft is None:
                continue
            address = item.contact.email
            existing = store.get(campaign, address)
            if existing and existing.state not in REDRAFTABLE:
                result.already_sent.append(address)
                continue
            message_id = existing.message_id if existing else make_message_id(sender)
            message = build_message(draft, sender, message_id, datetime.now().astimezone(), unsent=target.unsent)
            where = target.put(address, message, replace=existing is not None)
            store.upsert_message(campaign=campaign, address=address, message_id=message_id,
                       template=item.template_name or template_name, variant=item.variant,
                       subject=draft.subject, recipients=draft.recipients, contact=item.contact.fields,
                       contact_line=item.contact.line, state="drafted", transport=target.transport,
                       draft_path=str(where), kind=draft.kind, commitment=commitment_phrase(draft))
            result.written.append(where)
            pending += 1
            if pending >= target.commit_every:
                store.db.execute("COMMIT")
                store.db.execute("BEGIN IMMEDIATE")
                pending = 0
    finally:
        store.db.execute("COMMIT")  # even when interrupted: what was written stays recorded
    return result


# ---------------------------------------------------------------------------- the command
@contextmanager
def open_target(settings: Settings, *, to_imap: bool, out_dir: Path,
                feedback: Feedback = SILENT) -> Iterator[DraftTarget]:
    """The draft target of a command: the IMAP Drafts folder with ``to_imap``, else ``out_dir``."""
    if not to_imap:
        yield EmlFolder(out_dir)
        return
    from outreach.mailbox.imap import ImapDrafts, ImapSession

    account = Account.load(settings)
    if account.imap is None:
        raise UserError("--imap needs an IMAP server: set OUTREACH_IMAP_HOST (or OUTREACH_PROVIDER) in .env")
    with ImapSession(account, warn=feedback.warn) as session:
        yield ImapDrafts(session)


@dataclass
class DraftRun:
    """What `outreach draft` did."""

    campaign: str
    target: str                  # where the drafts went, in words
    to_imap: bool
    result: DraftResult
    suppressed: list[tuple[str, str]]      # (address, reason) left out
    skipped: list[tuple[str, str]]         # (address or interviewer, reason) the interview log holds back
    held: list[tuple[str, str]]            # (address, skip reason) held back by their history elsewhere
    known: list[tuple[int, str, list]]     # (line, address, history) of contacts known from other campaigns
    split: dict[str, int] | None           # variant -> contacts, for an A/B test
    tally: Tally


def draft_campaign(settings: Settings, template: Path, contacts: Path, *, variants: Iterable[Path] = (),
                   campaign: str | None = None, out_dir: Path = Path("drafts"), to_imap: bool = False,
                   check_dns: bool = False, include_answered: bool = False, include_recent: bool = False,
                   recent_days: int = RECENT_DAYS, feedback: Feedback = SILENT) -> DraftRun:
    """`outreach draft`: check every row first (any error and nothing is written), then write one
    draft per contact to the target and record it; suppressed addresses are left out, and so are
    contacts their history in other campaigns holds back (as `send` would)."""
    if not settings.sender:
        raise UserError("no sender: set OUTREACH_FROM in .env (e.g. OUTREACH_FROM=Asha Rao <asha.rao@example.org>) "
                        "or pass --from")
    sender = parse_sender(settings.sender)
    if to_imap and Account.load(settings).imap is None:  # before any row is rendered
        raise UserError("--imap needs an IMAP server: set OUTREACH_IMAP_HOST (or OUTREACH_PROVIDER) in .env")
    templates = load_variants([template, *variants])
    loaded_contacts = ContactFile(contacts, check_dns=check_dns)
    for note in loaded_contacts.notes:
        feedback.note(note)
    if campaign is None and settings.db.exists():
        campaign = Store(settings.db).campaign_of_pair(template, contacts)
        if campaign is not None and campaign != template.stem:  # the default needs no word
            feedback.note(f"campaign {campaign!r}: {template} and {contacts} were drafted under it "
                          "(give --campaign to start another)")
    campaign = campaign or template.stem
    known = Store(settings.db) if settings.db.exists() else None
    existing = known.variants(campaign) if known else {}
    promised = earlier_commitments(known.commitments(campaign)) if known else {}
    assignment = assign_variants(campaign, variant_addresses(loaded_contacts), list(templates), existing)
    season = Season.from_settings(settings.raw)
    tally = Tally()
    skipped: list[tuple[str, str]] = []
    for item in render_variants(templates, loaded_contacts, assignment, season, promised, sender):
        tally.add(item)
        if item.problems:
            feedback.problems(item, str(contacts))
        if item.skip:
            skipped.append((item.contact.email or item.contact.fields.get("interviewer") or
                            f"line {item.contact.line}", item.skip))
    if tally.with_errors:
        raise UserError(f"errors in {plural(tally.with_errors, 'row')} of {contacts}; nothing was drafted. "
                        f"Fix them and run again (outreach check shows the same list)")
    store = Store(settings.db)
    suppressed: list[tuple[str, str]] = []
    held: list[tuple[str, str]] = []
    history = known_elsewhere(store, variant_addresses(loaded_contacts), campaign)
    elsewhere = [(c.line, c.email, history[c.email.casefold()]) for c in loaded_contacts
                 if c.email and not c.skipped and c.email.casefold() in history]
    rows = drop_suppressed(render_variants(templates, loaded_contacts, assignment, season, promised, sender),
                           store.suppressed(), suppressed)
    rows = drop_held(rows, history, held, now=clock.now(settings.raw), recent_days=recent_days,
                     include_answered=include_answered, include_recent=include_recent)
    with open_target(settings, to_imap=to_imap, out_dir=campaign_folder(out_dir, campaign),
                     feedback=feedback) as target:
        feedback.start("drafting", tally.rows)
        try:
            result = write_drafts(rows, store=store, sender=sender, campaign=campaign,
                                  template_name=str(template), target=target, on_row=feedback.advance)
        finally:
            feedback.finish()
        where = target.describe()
    store.remember_pair(template, contacts, campaign)
    split = None
    if len(templates) > 1:
        counts = Counter(assignment.values())
        split = {name: counts.get(name, 0) for name in templates}
    return DraftRun(campaign, where, to_imap, result, suppressed, skipped, held, elsewhere, split, tally)
