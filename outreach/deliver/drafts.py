"""Drafting: rendered rows become drafts, each recorded in the store with its Message-ID first.

Which rows get a draft is the gate's decision (:mod:`outreach.track.gate`), as for a send. Where
a draft goes is a :class:`DraftTarget`: ``.eml`` files in a folder (:class:`EmlFolder`, the
default) or the account's IMAP Drafts folder (``outreach.mailbox.imap.ImapDrafts``). Everything
else (which Message-ID, what the store says) is the same code for both.

A draft's row (its Message-ID, and where the draft goes) is committed *before* its bytes go
anywhere, so that a crash never leaves a draft the store does not know: a re-draft then
replaces it (same Message-ID, same file name, or the IMAP copy with that Message-ID removed)
instead of adding a second one a mail client could send. The whole run holds the outbox lock,
so a send of the same campaign cannot run meanwhile.
"""

from __future__ import annotations

import gc
import hashlib
import os
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from outreach import clock
from outreach.compose.batch import STRICT, Rendered, Tally, as_chosen, left_out
from outreach.compose.checks import commitment_phrase, earlier_commitments
from outreach.compose.contacts import ContactFile, Problem
from outreach.compose.interviews import Season
from outreach.compose.message import Envelope, make_message_id, message_bytes
from outreach.compose.templates import Draft
from outreach.compose.variants import addresses as variant_addresses
from outreach.compose.variants import assign as assign_variants
from outreach.compose.variants import load_variants, render_variants, variables_of
from outreach.config import Settings, allows_test_domains, parse_sender
from outreach.errors import UserError
from outreach.feedback import SILENT, Feedback
from outreach.files import remove_draft_file, write_atomically
from outreach.options import DraftOptions
from outreach.output import plural
from outreach.store import Outgoing, Store
from outreach.store.lock import OutboxLock, open_outbox
from outreach.track.gate import Gate, ask_for
from outreach.track.history import Past, history

if TYPE_CHECKING:
    from outreach.account import Account

# Rows recorded per transaction before their files are written. Each commit is synced (journal and
# database) and writes again every index page its rows touched: rows with random Message-IDs touch
# most of them, so fewer, larger commits write less (docs/performance.md, "draft").
COMMIT_EVERY = 1000
HELD_ROWS = 20_000  # rows kept from the check pass to be written (about 3 KB each); a longer sheet is rendered again
FROZEN_EVERY = 1000  # held rows between two gc.freeze() calls: see draft_campaign
DRAFTS = "drafts"   # the workspace's folder for .eml drafts when --out names none
KEPT_PATHS = 4 * COMMIT_EVERY  # .eml paths an EmlFolder remembers: a batch's, not a million rows'
MAX_NAME_BYTES = 255  # a file or folder name on ext4, APFS, NTFS and most other file systems
SHORTENED_HEAD_BYTES = 100  # what a name too long for that keeps of its start


def eml_name(address: str) -> str:
    """``jchen@example.edu.eml``: predictable, safe on every file system, and one per address
    (see :func:`file_name`)."""
    return file_name(address.casefold(), ".eml")


def file_name(text: str, suffix: str = "") -> str:
    """``text`` as one file or folder name, the same on every run and unique to ``text``: every
    character outside ``[\\w.@+-]`` is written as ``%XX`` (``o'brien@`` -> ``o%27brien@``, so it
    never meets ``o_brien@``), a leading ``.`` too (never hidden, never ``..``). A name longer
    than file systems take (a local part of 64 ``/``, a campaign of 200 ``é``) keeps its first
    100 bytes, then ``~`` and a hash of the whole text: ``~`` is ``%7E`` in every other name, so
    a shortened name never meets one that was not, and names that fitted before are unchanged."""
    name = re.sub(r"[^\w.@+-]", lambda m: "".join(f"%{byte:02X}" for byte in m[0].encode()), text)
    if name.startswith("."):
        name = "%2E" + name[1:]
    if len((name + suffix).encode()) <= MAX_NAME_BYTES:
        return name + suffix
    head = name.encode()[:SHORTENED_HEAD_BYTES].decode(errors="ignore")
    return f"{head}~{hashlib.sha256(text.encode()).hexdigest()[:20]}{suffix}"


class DraftTarget(Protocol):
    """Where drafts go. ``where`` says where a draft will go (recorded before it is written);
    ``put`` writes it there (``raw``, the message's bytes); False when it was there already."""

    transport: str      # the store's messages.transport: "eml" | "imap"
    unsent: bool        # add X-Unsent: 1 (Outlook opens such an .eml as an editable draft)
    commit_every: int   # rows recorded per store transaction before their drafts are written

    def where(self, key: str) -> str: ...

    def put(self, key: str, raw: bytes, message_id: str, *, replace: bool) -> bool: ...

    def describe(self) -> str: ...


class EmlFolder:
    """``.eml`` files, one per address, written atomically into ``out_dir``. A re-draft leaves a
    file alone when it holds the same message but for its Date: nothing changed, nothing is
    written (a mail client or a sync tool watching the folder sees no change)."""

    transport = "eml"
    unsent = True
    commit_every = COMMIT_EVERY

    def __init__(self, out_dir: Path):
        self.out_dir = out_dir
        self._folder = os.path.join(str(out_dir), "")  # with its separator: a path is this and a name
        self._paths: dict[str, str] = {}  # key -> path of the batch being written: asked for when recorded and written
        out_dir.mkdir(parents=True, exist_ok=True)

    def where(self, key: str) -> str:
        path = self._paths.get(key)
        if path is None:  # str(out_dir / name), without a Path a row
            if len(self._paths) >= KEPT_PATHS:
                self._paths.clear()
            path = self._paths[key] = self._folder + eml_name(key)
        return path

    def put(self, key: str, raw: bytes, message_id: str, *, replace: bool) -> bool:
        path = self.where(key)
        if replace and same_but_date(path, raw):
            return False
        write_atomically(path, raw)
        return True

    def describe(self) -> str:
        return f"{self.out_dir}/"


DATE_LINE = re.compile(rb"Date: [\x20-\x7e]*\r\n")


def same_but_date(path: str | os.PathLike[str], raw: bytes) -> bool:
    """The file at ``path`` holds the message ``raw`` but for the text of its Date line."""
    try:
        with open(path, "rb", buffering=0) as f:  # one read of the whole file, no buffer object
            old = f.readall()
    except OSError:
        return False
    if old == raw:
        return True
    start = raw.find(b"\r\nDate: ", 0, raw.find(b"\r\n\r\n")) + 2  # a header's first line, never a body's
    end = raw.find(b"\r\n", start) + 2
    if start < 2:
        return False
    head, tail = raw[:start], raw[end:]
    return (len(old) > len(head) + len(tail) and old.startswith(head) and old.endswith(tail)
            and DATE_LINE.fullmatch(old, start, len(old) - len(tail)) is not None)


def campaign_folder(out_dir: Path | None, campaign: str, workspace: Path) -> Path:
    """``drafts/fall-mentors/``: each campaign's drafts apart, so one never overwrites another's,
    in ``out_dir`` (``--out``) or else ``drafts/`` in the workspace.

    Refused when a link takes it out of the folder the user named with ``--out``, or out of the
    workspace when they named none: a shared workspace whose ``drafts/fall-mentors`` is a link
    to ``~/.ssh`` must not make ``draft`` write there."""
    folder = (out_dir if out_dir is not None else Path(os.path.relpath(workspace / DRAFTS))) / file_name(campaign)
    root = (out_dir if out_dir is not None else workspace).resolve()
    real = folder.resolve()
    if not real.is_relative_to(root):
        named = f"the folder given with --out ({out_dir})" if out_dir is not None else "the workspace"
        raise UserError(f"{folder} leads to {real}, outside {named}: drafts are not written through a link "
                        "that leaves it; remove the link, or give the folder you mean with --out")
    return folder


def stored_draft_path(where: str, workspace: Path) -> str:
    """Where a draft is, as the store keeps it: an .eml file inside the workspace relative to the
    workspace (a command run from another folder still finds it, and the workspace may move),
    one elsewhere absolute; ``imap:FOLDER`` as it is."""
    if where.startswith("imap:"):
        return where
    path, root = os.path.abspath(where), str(workspace)  # as Path.relative_to, without making Paths a row
    if path == root:
        return "."
    inside = root if root.endswith(os.sep) else root + os.sep
    return path[len(inside):] if path.startswith(inside) else path


def _account(settings: Settings) -> Account:
    """The account's servers, for drafts in or from an IMAP folder: its module (with ssl) is
    imported here, not by every ``draft`` to files, which never needs it."""
    from outreach.account import Account

    return Account.load(settings)


class StoredPaths:
    """:func:`stored_draft_path` for a run's drafts, each folder's stored form made once:
    ``os.path.abspath`` asks the system for the working directory at every call, a system call a
    row. A name that is not a plain file name (``..``, or none) takes the long way.
    tests/deliver/test_stored_paths.py holds it to :func:`stored_draft_path`."""

    def __init__(self, workspace: Path):
        self.workspace = workspace
        self._folders: dict[str, str] = {}

    def __call__(self, where: str) -> str:
        folder, name = os.path.split(where)
        if where.startswith("imap:") or name in ("", ".", ".."):
            return stored_draft_path(where, self.workspace)
        stored = self._folders.get(folder)
        if stored is None:
            stored = self._folders[folder] = stored_draft_path(folder or os.curdir, self.workspace)
        if stored == ".":
            return name
        path = os.path.join(stored, name)
        return "." if path == str(self.workspace) else path  # a folder outside it, then the workspace itself


def take_outbox(store: Store, command: str, settings: Settings, warn: Callable[[str], None]) -> OutboxLock:
    """The outbox lock, with what a dead holder left settled (:func:`outreach.store.lock.open_outbox`),
    and then the drafts of sent messages that were never removed: a run killed between the server's
    250 and removing the draft left it, ready to be sent a second time from a mail client (or one
    that could not be removed then: it is tried once more, and a draft still left is named)."""
    lock = open_outbox(store, command, warn)
    try:
        owed = store.sent_with_drafts()
        if owed:
            account = _account(settings) if any(where.startswith("imap:") for _, where in owed) else None
            _, left, _ = remove_drafts(account, owed, settings.folder)
            for where in left:
                warn(f"{where}: the draft of a message that was sent could not be removed; delete it, "
                     "or it could be sent twice")
            with store.transaction():  # tried, and told: not again at every command
                for message_id, _ in owed:
                    store.forget_draft(message_id)
    except BaseException:
        lock.release()
        raise
    return lock


def draft_remover(settings: Settings, feedback: Feedback = SILENT) -> Callable[[list[tuple[str, str]]], None]:
    """What removes the drafts that a re-draft to another place replaces (``(message_id,
    draft_path)`` each), for :func:`write_drafts`; one that cannot be removed is a warning."""
    def remove(drafts: list[tuple[str, str]]) -> None:
        imap = any(where.startswith("imap:") for _, where in drafts)
        _, left, _ = remove_drafts(_account(settings) if imap else None, drafts, settings.folder, feedback)
        for where in left:
            feedback.warn(f"{where}: the earlier draft of a message drafted again elsewhere could not be removed; "
                          "delete it, or it could be sent twice")
    return remove


def remove_sent_drafts(store: Store, account: Account | None, sent: list[tuple[str, str]], workspace: Path,
                       feedback: Feedback = SILENT) -> tuple[int, list[str]]:
    """Remove the drafts of messages sent, ``(message_id, draft_path)`` each (:func:`remove_drafts`),
    and forget those that went: a draft left behind could be sent a second time from a mail
    client. Returns (how many were removed, the drafts left behind)."""
    removed, left, done = remove_drafts(account, sent, workspace, feedback)
    for message_id in done:
        store.forget_draft(message_id)
    return removed, left


def remove_drafts(account: Account | None, drafts: list[tuple[str, str]], workspace: Path,
                  feedback: Feedback = SILENT) -> tuple[int, list[str], list[str]]:
    """Remove drafts, ``(message_id, draft_path)`` each: an .eml file that still holds that
    Message-ID (a relative path is in ``workspace``), or the IMAP draft with it. Returns (how many
    were removed, the drafts left behind, the Message-IDs whose drafts are gone)."""
    removed, left, done = 0, [], []
    on_server: dict[str, list[str]] = {}
    for message_id, where in drafts:
        if where.startswith("imap:"):
            on_server.setdefault(where[len("imap:"):], []).append(message_id)
            continue
        try:
            removed += remove_draft_file(workspace / where, message_id)
        except OSError as e:
            left.append(f"{where} ({e.strerror})")
            continue
        done.append(message_id)
    if on_server:
        removed += _remove_imap_drafts(account, on_server, left, done, feedback)
    return removed, left, done


def _remove_imap_drafts(account: Account | None, folders: dict[str, list[str]], left: list[str], done: list[str],
                        feedback: Feedback) -> int:
    from outreach.mailbox.imap import ImapSession

    removed = 0
    finished: list[str] = []
    try:
        if account is None or account.imap is None:
            raise UserError("no IMAP server is configured")
        with ImapSession(account, warn=feedback.warn) as session:
            for folder, message_ids in folders.items():
                with session.guarded(f"removing the sent drafts from {folder}"):
                    removed += session.remove_drafts(folder, message_ids)
                finished.append(folder)
                done += message_ids
    except UserError as e:
        for folder, message_ids in folders.items():
            if folder not in finished:
                left.append(f"{plural(len(message_ids), 'draft')} in {folder} ({e})")
    return removed


@dataclass
class ToDraft:
    """A rendered row the gate let through, with the row it will be recorded as."""

    outgoing: Outgoing
    draft: Draft                  # its message is built when written
    previous_state: str | None
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()


def write_drafts(items: Iterable[ToDraft], *, store: Store, sender: Address, target: DraftTarget,
                 remove: Callable[[list[tuple[str, str]]], None], on_row: Callable[[], None] = lambda: None
                 ) -> tuple[list[str], int]:
    """Record each draft's row (Message-ID and where it goes) and commit, then write the draft;
    ``target.commit_every`` rows at a time. Returns where each went, and how many of them already
    held the same message and were left as they were (so the user is not told they were written).

    A message drafted before in another place (files, then ``--imap``; another ``--out``) has its
    earlier draft removed first, by ``remove`` (:func:`draft_remover`), while the store still
    names it: the row keeps one draft, and a copy it no longer names would outlive the send."""
    written: list[str] = []
    unchanged = 0
    batch: list[ToDraft] = []

    def flush() -> None:
        nonlocal unchanged
        earlier = store.drafts_of([item.outgoing.message_id for item in batch])
        moved = [(item.outgoing.message_id, was) for item in batch
                 if (was := earlier.get(item.outgoing.message_id)) not in (None, item.outgoing.draft_path)]
        if moved:
            remove(moved)
        with store.transaction():  # a row that moved meanwhile (sent by hand, found by sync) is not drafted over
            done = store.record_all("draft", [item.outgoing for item in batch])
        now = datetime.now().astimezone()  # the Date of the batch's drafts, all written within moments
        for item, recorded in zip(batch, done, strict=True):
            if not recorded:
                continue
            message_id = item.outgoing.message_id
            raw = message_bytes(item.draft, sender, Envelope(message_id, now, in_reply_to=item.in_reply_to,
                                                             references=item.references, unsent=target.unsent))
            key = draft_key(item.outgoing.address, item.outgoing.step)
            unchanged += not target.put(key, raw, message_id, replace=item.previous_state is not None)
            written.append(target.where(key))
        batch.clear()

    for item in items:
        on_row()
        batch.append(item)
        if len(batch) >= target.commit_every:
            flush()
    if batch:
        flush()
    return written, unchanged


def draft_key(address: str, step: int) -> str:
    """What a draft target names a draft by: the address, or ``ADDRESS.followupN`` for a follow-up
    (the file ``ADDRESS.followupN.eml``)."""
    return address if step == 0 else f"{address}.followup{step}"


# ---------------------------------------------------------------------------- the command
@contextmanager
def open_target(settings: Settings, *, to_imap: bool, out_dir: Path | None, campaign: str,
                feedback: Feedback = SILENT) -> Iterator[DraftTarget]:
    """The draft target of a command: the IMAP Drafts folder with ``to_imap``, else the campaign's
    folder of ``.eml`` files (:func:`campaign_folder`)."""
    if not to_imap:
        yield EmlFolder(campaign_folder(out_dir, campaign, settings.folder))
        return
    from outreach.mailbox.imap import ImapDrafts, ImapSession

    account = _account(settings)
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
    written: list[str]
    unchanged: int                         # of those written, how many already held the same message (left alone)
    held: list[tuple[str, str, str]]       # (address or interviewer, the gate's reason, in words) left out
    known: list[tuple[int, str, list[Past]]]  # (line, address, history) of contacts known from other campaigns
    notes: list[str]                       # the gate's notes: shown, holding nothing
    split: dict[str, int] | None           # variant -> contacts, for an A/B test
    tally: Tally


def draft_campaign(settings: Settings, options: DraftOptions, feedback: Feedback = SILENT) -> DraftRun:
    """`outreach draft`: check every row first (any error and nothing is written), then, holding
    the outbox lock, ask the gate about each contact and write one draft per contact it lets
    through, each recorded before it is written. The rows written are those the check rendered,
    held in memory; a sheet of more than :data:`HELD_ROWS` rows is rendered again instead (and
    not checked again).

    The held rows live to the end, and Python's cyclic collector would walk all of them again at
    each full collection (three in 10,000 rows, about a tenth of the draft's CPU): they are frozen
    out of its sight as they come (``gc.freeze``, every :data:`FROZEN_EVERY` rows and once the
    check is done), and given back to it when the draft ends."""
    try:
        return _draft_campaign(settings, options, feedback)
    finally:
        gc.unfreeze()


def _draft_campaign(settings: Settings, options: DraftOptions, feedback: Feedback) -> DraftRun:
    sheet = options.sheet
    if not settings.sender:
        raise UserError("no sender: set OUTREACH_FROM in .env (e.g. OUTREACH_FROM=Asha Rao <asha.rao@example.org>) "
                        "or pass --from")
    sender = parse_sender(settings.sender)
    if options.to_imap and _account(settings).imap is None:  # before any row is rendered
        raise UserError("--imap needs an IMAP server: set OUTREACH_IMAP_HOST (or OUTREACH_PROVIDER) in .env")
    test_domains = allows_test_domains(settings.raw)
    templates = load_variants([sheet.template, *sheet.variants], test_domains=test_domains)
    contacts = ContactFile(sheet.contacts, check_dns=sheet.check_dns, test_domains=test_domains)
    for note in contacts.notes + contacts.unused_notes(variables_of(templates)):
        feedback.note(note)
    known = Store(settings.db) if settings.db.exists() else None
    campaign = sheet.campaign
    if campaign is None and known is not None:
        campaign = known.campaign_of_pair(sheet.template, sheet.contacts)
        if campaign is not None and campaign != sheet.template.stem:  # the default needs no word
            feedback.note(f"campaign {campaign!r}: {sheet.template} and {sheet.contacts} were drafted under it "
                          "(give --campaign to start another)")
    campaign = campaign or sheet.template.stem
    promised = earlier_commitments(known.commitments(campaign)) if known else {}
    # One template: every row gets it, and the addresses are listed by the check pass (no pass of their own).
    addresses = variant_addresses(contacts) if len(templates) > 1 else []
    assignment = assign_variants(campaign, addresses, list(templates), known.variants(campaign) if known else {})
    season = Season.from_settings(settings.raw)
    tally = Tally()
    left: dict[int, list[Problem]] = {}  # --skip-warnings: the first warning of each row it leaves out
    held: list[Rendered] | None = []     # the rows as checked, to be written: none once there are too many
    for item in as_chosen(render_variants(templates, contacts, assignment, season, promised, sender), sheet.warnings):
        tally.add(item)
        if len(templates) == 1 and item.contact.email and not item.contact.skipped:
            addresses.append(item.contact.email)
        if item.problems:
            feedback.problems(item, str(sheet.contacts))
            if left_out(item, sheet.warnings):
                left[item.contact.line] = item.warnings[:1]
        if held is not None:
            held.append(item)
            if len(held) > HELD_ROWS:
                held = None
            elif len(held) % FROZEN_EVERY == 0:
                gc.freeze()
    feedback.end_problems()
    if tally.with_errors:
        raise UserError(f"errors in {plural(tally.with_errors, 'row')} of {sheet.contacts}"
                        f"{STRICT if sheet.warnings == 'strict' else ''}; nothing was drafted. "
                        f"Fix them and run again (outreach check shows the same list)")
    gc.freeze()
    store = Store(settings.db)
    lock = take_outbox(store, "draft", settings, feedback.warn)
    try:
        gate = Gate(store, options.consent, clock.now(settings.raw))
        gate.refresh(addresses)
        run = DraftRun(campaign, "", options.to_imap, [], 0, [], [], [], None, tally)
        rows = held if held is not None else render_variants(templates, contacts, assignment, season, found=left)
        with open_target(settings, to_imap=options.to_imap, out_dir=options.out_dir, campaign=campaign,
                         feedback=feedback) as target:
            feedback.start("drafting", tally.rows)
            try:
                chosen = _through_gate(rows, gate, campaign, target, sender, run, settings.folder, sheet.warnings)
                run.written, run.unchanged = write_drafts(chosen, store=store, sender=sender, target=target,
                                           remove=draft_remover(settings, feedback), on_row=feedback.advance)
            finally:
                feedback.finish()
            run.target = target.describe()
        store.remember_pair(sheet.template, sheet.contacts, campaign)
    finally:
        lock.release()
    if len(templates) > 1:
        counts = Counter(assignment.values())
        run.split = {name: counts.get(name, 0) for name in templates}
    return run


def _through_gate(rows: Iterable[Rendered], gate: Gate, campaign: str, target: DraftTarget, sender: Address,
                  run: DraftRun, workspace: Path, warnings: str = "keep") -> Iterator[ToDraft]:
    """The rows the gate lets be drafted, as :class:`ToDraft`; the others go in ``run.held`` with
    the reason, and every contact's history elsewhere in ``run.known``. A row with warnings that
    the person chose to leave out (``--skip-warnings``) is held before the gate is asked."""
    stored_path = StoredPaths(workspace)
    for item in rows:
        address = item.contact.email
        if address and not item.contact.skipped and (pasts := history(gate.person(address), campaign)):
            run.known.append((item.contact.line, address, pasts))
        if item.draft is None and not item.skip:
            continue  # an error, or a repeated address: reported by the first pass
        if left_out(item, warnings):
            first = item.warnings[0]
            run.held.append((address, "warnings", "left out by --skip-warnings: "
                             + (f'column "{first.field}": ' if first.field else "") + first.text))
            continue
        decision = gate.decide(ask_for(item, campaign, sending=False))
        if decision.notes:
            run.notes += [n for n in decision.notes if n not in run.notes]
        if not decision.go:
            assert decision.reason is not None
            who = address or item.contact.fields.get("interviewer") or f"line {item.contact.line}"
            why = decision.in_words
            if decision.reason == "suppressed-copy":  # "dr0@... (Cc/Bcc chair@...): opted out"
                copy, _, why = why.partition(": ")
                who = f"{who} ({copy})"
            run.held.append((who, decision.reason, why))
            continue
        draft = item.draft
        assert draft is not None
        message_id = decision.message_id or make_message_id(sender)
        outgoing = Outgoing(campaign=campaign, address=address, message_id=message_id,
                            template=item.template_name or "", subject=draft.subject, recipients=draft.recipients,
                            contact=item.contact.fields, contact_line=item.contact.line, transport=target.transport,
                            variant=item.variant, kind=draft.kind, commitment=commitment_phrase(draft),
                            draft_path=stored_path(target.where(draft_key(address, 0))))
        yield ToDraft(outgoing, draft, decision.previous_state)
