"""Reading the mailbox: match incoming mail to the messages we sent and record what it says.

Three sources share one pipeline: an IMAP account (incremental by UIDVALIDITY and UID), an mbox
file, a Maildir folder. For each incoming message:

1. **screen** its headers: could it be ours at all? Only a message that points at one of our
   Message-IDs, comes from an address we wrote to, or looks like a delivery report goes further;
   over IMAP nothing else is downloaded beyond those headers.
2. **classify** it (:mod:`outreach.mailbox.classify`, pure): reply, auto-reply, bounce, delayed,
   complaint, other.
3. **match** it to a message in the store: by In-Reply-To/References ("header"), by the original
   Message-ID inside a delivery report ("dsn"), by the failed recipient of a report ("address"),
   or by sender address plus a reply subject ("subject"). Any other mail a person sends from an
   address we wrote to, after our message, is an answer too ("address": "Your email about
   neuroradiology", no thread headers): when unsure whether someone answered, do not write again.
   Addresses are compared by their identity (:mod:`outreach.addresses`): a reply from
   ``Jane@univé.fr`` matches the message sent to ``jane@xn--univ-epa.fr``.
4. **record** one event, keyed by the incoming message's own Message-ID, so the same mail seen
   again (another folder, a rescan after a UIDVALIDITY change, an mbox export of the same
   account) is counted once. Hard bounces and complaints also suppress the address, when they
   point at our message ("dsn" or "header"). One matched by the failed address alone could be
   forged by anyone who knows the list: it is recorded as ``unconfirmed-bounce`` or
   ``unconfirmed-complaint``, shown, and suppresses nothing until the user confirms it
   (``outreach mark ADDRESS bounced``).

Reconciliation rides along: a message left ``sending``/``uncertain`` by a crash, or a draft the
user sent by hand, is marked ``sent`` when its Message-ID turns up in the Sent folder (or in an
export), or when a reply or report points at it.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from email.message import Message
from pathlib import Path
from typing import Self

from outreach.addresses import address_key
from outreach.clock import describe_age, iso, parse_duration, parse_time
from outreach.config import Settings, parse_sender
from outreach.errors import UserError
from outreach.feedback import SILENT, Feedback
from outreach.files import remove_draft_file
from outreach.mailbox.classify import (
    Verdict,
    base_subject,
    classify,
    date_of,
    is_reply_subject,
    looks_like_bounce,
    own_message_id,
    parse_headers,
    parse_message,
    raw_header,
    screening_headers,
    sender_of,
    thread_ids,
)
from outreach.store import Store
from outreach.store.lock import recover_if_free
from outreach.store.messages import damaged_row, stored_json
from outreach.store.outcomes import CONFIRMING_MARK, UNCONFIRMED_REPORTS
from outreach.store.states import IN_DOUBT, MOVES

UNCERTAIN_STATES = IN_DOUBT   # the outcome of a send is not known
UNCONFIRMED_STATES = MOVES["confirm"].sources  # uncertain, or a draft that may have been sent by hand
RECORDED_KINDS = ("reply", "auto-reply", "bounce", "delayed", "complaint")
POINTS_AT_OURS = ("dsn", "header")  # match strengths that tie a report to a message we sent
# Mail that arrived this long before our first message cannot answer it (clock skew allowance).
SLACK = timedelta(days=2)
# A message whose creation time the store cannot read (a hand-edited row) counts as written long
# ago: any mail may answer it, and none is skipped as older than it.
LONG_AGO = datetime.fromtimestamp(0, UTC)
CHUNK = 500  # UIDs per FETCH: one round trip, a bounded response and a progress step
# The chunks read are recorded together, in one transaction, about once a second (each commit
# waits for the disk twice), or sooner when the header blocks and bodies they hold pass HELD bytes.
COMMIT_EVERY = 1.0
HELD = 16 * 1024 * 1024


# ------------------------------------------------------------------------------------ index
@dataclass
class SentMessage:
    message_id: str
    campaign: str
    address: str
    step: int
    subject: str
    recipients: tuple[str, ...]
    state: str
    created_at: datetime

    @property
    def base_subject(self) -> str:
        return base_subject(self.subject)


class Index:
    """The store's messages, keyed the ways incoming mail can point at them."""

    def __init__(self, rows: Iterable[SentMessage], own_addresses: Iterable[str] = (), damaged: Iterable[str] = ()):
        self.damaged = list(damaged)  # what a hand-edited store holds that could not be read, in words
        self.by_id: dict[str, SentMessage] = {}
        self.by_address: dict[str, list[SentMessage]] = {}
        self.own = {address_key(a) for a in own_addresses if a}
        for row in rows:
            self.by_id[row.message_id.casefold()] = row
            for address in {row.address, *row.recipients}:
                self.by_address.setdefault(address_key(address), []).append(row)
        earliest = min((r.created_at for r in self.by_id.values()), default=None)
        self.since: date | None = (earliest - SLACK).date() if earliest else None

    @classmethod
    def from_store(cls, store: Store, own_addresses: Iterable[str] = ()) -> Index:
        rows, damaged = [], []
        for r in store.mailbox_rows():
            recipients = stored_json(r["recipients"], list)
            if recipients is None:
                damaged.append(str(damaged_row(dict(r), "recipients", "mail is matched to it by its address only")))
            rows.append(SentMessage(r["message_id"], r["campaign"], r["address"], r["step"], r["subject"],
                                    tuple(address_key(a) for a in recipients or [r["address"]]), r["state"],
                                    parse_time(r["created_at"]) or LONG_AGO))
        return cls(rows, own_addresses, damaged)

    def __bool__(self) -> bool:
        return bool(self.by_id)

    def get(self, message_id: str) -> SentMessage | None:
        return self.by_id.get(message_id.casefold())

    def points_here(self, ids: Iterable[str]) -> bool:
        return any(i.casefold() in self.by_id for i in ids)


# --------------------------------------------------------------------------------- matching
SKIP, HEADERS, FULL = "skip", "headers", "full"


def screen(headers: Message, index: Index) -> str:
    """SKIP: cannot be ours. HEADERS: the headers decide. FULL: the body is needed too."""
    own_id = own_message_id(headers)
    if own_id and index.get(own_id):
        return HEADERS  # our own message (Sent, a Bcc to self): it proves the message left
    sender = sender_of(headers)
    if sender in index.own:
        return SKIP  # what the user wrote; never a reply to the user
    if looks_like_bounce(headers, sender):
        return FULL
    if not (index.points_here(thread_ids(headers)) or sender in index.by_address):
        return SKIP
    return FULL  # the body too: an out-of-office notice may say so only there


@dataclass(frozen=True)
class Match:
    sent: SentMessage
    strength: str  # header | dsn | address | subject
    how: str


def match(verdict: Verdict, index: Index) -> Match | None:
    """The message of ours ``verdict`` is about, and how we know; None if it is not about ours."""
    if verdict.is_report:
        for message_id in verdict.original_ids:
            if sent := index.get(message_id):
                return Match(sent, "dsn", "the original Message-ID inside the report")
    for position, message_id in enumerate(verdict.thread_ids):
        if sent := index.get(message_id):
            return Match(sent, "header", "In-Reply-To" if position == 0 else "References")
    if verdict.is_report:
        for address in (*verdict.failed, *verdict.original_recipients):
            if sent := _latest(index.by_address.get(address, ()), verdict.written_at):
                return Match(sent, "address", f"the failed recipient {address}")
        return None
    rows = index.by_address.get(verdict.sender)
    if not rows:
        return None
    subject = base_subject(verdict.subject)
    if verdict.fresh:
        if sent := _latest_before(rows, verdict.written_at):
            return Match(sent, "address", "a new message from the address we wrote to")
        return None
    if verdict.kind == "reply" and is_reply_subject(verdict.subject):
        candidates = [r for r in rows if r.base_subject == subject]
    elif verdict.kind == "auto-reply":
        candidates = [r for r in rows if r.base_subject and r.base_subject in subject]
    else:
        return None
    if sent := _latest(candidates, verdict.written_at):
        return Match(sent, "subject", "the sender's address and the subject")
    return None


FRESH_REPLY = "written by a person: a new message from the address we wrote to (no thread headers, any subject)"


def judge(msg: Message, index: Index | None, arrived: datetime | None = None) -> tuple[Verdict, Match | None]:
    """What an incoming message is and which message of ours it is about: the one answer that
    `sync` records and `classify` shows. Classified, then matched (no store or an empty one:
    nothing to match); mail from the user's own address and kinds never recorded match
    nothing; a person's fresh message (no thread headers) that matches someone we wrote to is
    their reply (issue 10: when unsure whether someone answered, do not write again)."""
    verdict = classify(msg, arrived)  # may raise: see one_message
    if not index or verdict.sender in index.own or (verdict.kind not in RECORDED_KINDS and not verdict.fresh):
        return verdict, None
    found = match(verdict, index)
    if found is not None and verdict.fresh:
        verdict = replace(verdict, kind="reply", reason=FRESH_REPLY)
    return verdict, found


def _latest(rows: Iterable[SentMessage], before: datetime | None) -> SentMessage | None:
    """The most recent of ``rows`` created before ``before`` (with the clock-skew allowance)."""
    limit = (before or datetime.now(UTC)) + SLACK
    candidates = [r for r in rows if r.created_at <= limit]
    return max(candidates, key=lambda r: (r.created_at, r.step), default=None)


def _latest_before(rows: Iterable[SentMessage], arrived: datetime | None) -> SentMessage | None:
    """The latest of ``rows`` written before the message ``arrived`` (mail the person sent before
    we wrote to them is not an answer), a message that went out before one only drafted."""
    candidates = [r for r in rows if arrived is None or r.created_at <= arrived]
    return max(candidates, key=lambda r: (r.state == "sent", r.created_at, r.step), default=None)


def event_source(msg: Message) -> str:
    """The key that makes an incoming message count once wherever it is seen."""
    own_id = own_message_id(msg)
    if own_id:
        return f"message-id:{own_id}"
    digest = hashlib.sha256()
    for name in ("From", "To", "Date", "Subject", "In-Reply-To", "References"):
        digest.update(f"{name}:{' '.join(raw_header(msg, name).split())}\n".encode("utf-8", "replace"))
    return f"digest:{digest.hexdigest()[:32]}"


# -------------------------------------------------------------------------------- recording
@dataclass
class Recorded:
    """One matched incoming message and what was done with it."""

    kind: str
    address: str
    campaign: str
    message_id: str
    strength: str
    how: str
    sender: str
    subject: str
    reason: str
    where: str
    until: date | None = None
    failed: tuple[str, ...] = ()
    status: str | None = None
    new: bool = True
    suppressed: list[str] = field(default_factory=list)

    def as_json(self) -> dict:
        return {"kind": self.kind, "address": self.address, "campaign": self.campaign,
                "message_id": self.message_id, "strength": self.strength, "matched_by": self.how,
                "from": self.sender, "subject": self.subject, "reason": self.reason, "where": self.where,
                "until": self.until.isoformat() if self.until else None, "failed": list(self.failed),
                "status": self.status, "new": self.new, "suppressed": self.suppressed}


@dataclass
class Report:
    """What a sync did, for the command line to print."""

    sources: list[dict] = field(default_factory=list)
    events: list[Recorded] = field(default_factory=list)
    confirmed: list[dict] = field(default_factory=list)
    uncertain: list[dict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    unreadable: list[dict] = field(default_factory=list)  # skipped: {"folder", "uid"} or {"file", "number"}
    scanned: int = 0
    stats: dict = field(default_factory=dict)

    @property
    def new_events(self) -> list[Recorded]:
        return [e for e in self.events if e.new]

    def as_json(self) -> dict:
        return {"sources": self.sources, "events": [e.as_json() for e in self.events],
                "confirmed_sent": self.confirmed, "still_uncertain": self.uncertain, "warnings": self.warnings,
                "notes": self.notes, "unreadable": self.unreadable, "scanned": self.scanned, "stats": self.stats}


class Recorder:
    """Classify, match and record incoming messages in the store (the caller holds the transaction)."""

    def __init__(self, store: Store, index: Index, report: Report):
        self.store, self.index, self.report = store, index, report

    def handle(self, msg: Message, where: str, arrived: datetime | None = None, *,
               draft: bool = False) -> Recorded | None:
        """``draft``: the copy is flagged as a draft (IMAP \\Draft, Maildir D), which proves nothing."""
        own_id = own_message_id(msg)
        if own_id and (ours := self.index.get(own_id)):
            if not (draft or is_draft_copy(msg)):
                self._confirm(ours, date_of(msg, arrived), f"found in {where}")
            return None
        verdict, found = judge(msg, self.index, arrived)
        if found is None:
            return None
        sent = found.sent
        occurred = verdict.written_at or arrived
        detail: dict[str, object] = {"from": verdict.sender, "subject": verdict.subject, "reason": verdict.reason,
                                     "matched_by": found.how, "where": where}
        if verdict.failed:
            detail["failed"] = list(verdict.failed)
        if verdict.status:
            detail["status"] = verdict.status
        if verdict.diagnostic:
            detail["diagnostic"] = verdict.diagnostic
        if verdict.until:  # also in events.until; readers of detail find it here too
            detail["until"] = verdict.until.isoformat()
        kind = verdict.kind
        if kind in UNCONFIRMED_REPORTS and found.strength not in POINTS_AT_OURS:
            kind = UNCONFIRMED_REPORTS[kind][0]
        recorded = Recorded(kind, sent.address, sent.campaign, sent.message_id, found.strength, found.how,
                            verdict.sender, verdict.subject, verdict.reason, where, verdict.until, verdict.failed,
                            verdict.status)
        recorded.new = self.store.add_event(
            message_id=sent.message_id, address=sent.address, kind=kind, source=event_source(msg),
            strength=found.strength, detail=detail, occurred_at=iso(occurred),
            until=verdict.until.isoformat() if verdict.until else None)
        if recorded.new and kind in CONFIRMING_MARK:
            self._unconfirmed(verdict, kind, sent)
        elif recorded.new:
            recorded.suppressed = self._suppress(verdict, sent)
        if found.strength in ("header", "dsn") and sent.state in UNCONFIRMED_STATES:
            self._confirm(sent, None, f"{verdict.kind} from {verdict.sender or 'a mail server'} points at it")
        self.report.events.append(recorded)
        return recorded

    def _unconfirmed(self, verdict: Verdict, kind: str, sent: SentMessage) -> None:
        """Say that a report naming our address but pointing at none of our messages suppressed
        nobody, and how to confirm it."""
        address = next((a for a in verdict.failed if a in {sent.address, *sent.recipients}), sent.address)
        self.report.warnings.append(
            f"a {verdict.kind} report names {address} but quotes none of our Message-IDs (anyone can write one): "
            f"recorded, nobody suppressed; if it is real, run `outreach mark {address} {CONFIRMING_MARK[kind]}`")

    def _suppress(self, verdict: Verdict, sent: SentMessage) -> list[str]:
        """Hard bounces and complaints stop further mail to the address.

        Not suppressed: delays, and 5.7.x refusals (policy, spam filtering: about the sender or
        the content, not the address), and expiries after retries (4.x.x with Action failed).
        Nor anyone when the report names only strangers: anyone can forge a report that quotes
        our Message-ID, so it is recorded (and shown) but stops no mail by itself.
        """
        if verdict.kind == "complaint":
            reason = f"complaint: {verdict.reason}"
        elif verdict.kind == "bounce" and not (verdict.status or "5").startswith(("4", "5.7")):
            reason = f"bounce {verdict.status or ''}: {verdict.diagnostic or verdict.reason}".replace("  ", " ")
        else:
            return []
        ours = {sent.address, *sent.recipients}
        if verdict.failed and not ours & set(verdict.failed):
            self.report.warnings.append(
                f"a {verdict.kind} report about the message to {sent.address} names only "
                f"{', '.join(verdict.failed)}; forged, misdirected or a forwarding address, so nobody was suppressed")
            return []
        addresses = [a for a in verdict.failed if a in ours] or [sent.address]
        return [a for a in addresses if self.store.suppress(a, reason[:300])]

    def _confirm(self, sent: SentMessage, when: datetime | None, evidence: str) -> None:
        if sent.state not in UNCONFIRMED_STATES:
            return
        if self.store.move("confirm", sent.message_id, at=iso(when)):
            self.report.confirmed.append({"message_id": sent.message_id, "address": sent.address,
                                          "campaign": sent.campaign, "was": sent.state, "evidence": evidence,
                                          "draft_removed": self._remove_draft(sent.message_id)})
            sent.state = "sent"

    def _remove_draft(self, message_id: str) -> bool:
        """A message sent by hand from its .eml draft: the file goes, so it cannot be sent twice.
        (A mail client deletes its own IMAP draft when it sends it.)"""
        row = self.store.by_message_id(message_id)
        if row is None or not row.draft_path or row.draft_path.startswith("imap:"):
            return False
        try:
            removed = remove_draft_file(Path(row.draft_path), message_id)
        except OSError as e:
            self.report.warnings.append(f"{row.draft_path}: the draft of a sent message could not be removed "
                                        f"({e.strerror}); delete it")
            return False
        self.store.forget_draft(message_id)
        return removed


def is_draft_copy(msg: Message) -> bool:
    """A copy of one of ours that is a draft, not a sent message: an .eml draft (X-Unsent) or a
    Gmail export's draft (X-Gmail-Labels: Drafts)."""
    labels = [label.strip().lower() for label in raw_header(msg, "X-Gmail-Labels").split(",")]
    return raw_header(msg, "X-Unsent").strip() == "1" or "drafts" in labels


@contextmanager
def one_message(report: Report, index: Index, where: str, location: dict, store: Store | None = None):
    """Read, screen, classify and record one incoming message, or skip it as unreadable.

    A message the parser or classifier cannot handle (multiparts nested 1,000 deep, a header
    that trips the email package) is counted in ``report.unreadable`` with where it is, and
    skipped; with ``store``, what it had written is undone (a savepoint). The sync goes on and
    its position moves past it, so one stranger's message cannot stop every later sync.
    The block may put the message's headers in ``seen["headers"]`` to name its sender.
    Failures of the store itself (a full disk) are not the message's fault and go on up.
    """
    seen: dict = {}
    if store is not None:
        store.db.execute("SAVEPOINT one_message")
    try:
        yield seen
    except sqlite3.Error:
        raise
    except Exception as e:  # noqa: BLE001 - whatever a hostile message makes the parser raise
        if store is not None:
            store.db.execute("ROLLBACK TO one_message")
            store.db.execute("RELEASE one_message")
        _skip_unreadable(report, index, where, location, e, seen.get("headers"), store)
    else:
        if store is not None:
            store.db.execute("RELEASE one_message")


def _skip_unreadable(report: Report, index: Index, where: str, location: dict, error: Exception,
                     headers: Message | None, store: Store | None) -> None:
    problem = "nested too deeply" if isinstance(error, RecursionError) else f"{type(error).__name__}: {error}"
    problem = " ".join(problem.split())[:200]
    try:
        sender = sender_of(headers) if headers is not None else ""
    except Exception:  # noqa: BLE001 - the headers themselves may be what failed
        sender = ""
    report.unreadable.append({**location, "where": where, "error": problem, "from": sender or None})
    text = f"{where}: could not be read ({problem}); it was skipped"
    sent = _latest(index.by_address.get(sender, ()), None) if sender not in index.own else None
    if sent is not None and store is not None:
        _record_unreadable_answer(store, report, sent, sender, where, problem, headers)
        text += (f". It is from {sender}, whom you wrote to, so it counts as an answer and no follow-up goes to "
                 "them; read it in your mail client")
    report.warnings.append(text)


def _record_unreadable_answer(store: Store, report: Report, sent: SentMessage, sender: str, where: str,
                              problem: str, headers: Message | None) -> None:
    """Mail from someone we wrote to is an answer, even when it cannot be read: when unsure
    whether a person answered, do not send them a reminder."""
    source = f"unreadable:{where}"
    if headers is not None:
        with suppress(Exception):  # the headers may be what could not be read
            source = event_source(headers)
    how = "mail from the contact's address (unreadable)"
    reason = f"could not be read ({problem}); mail from a contact counts as an answer"
    recorded = Recorded("reply", sent.address, sent.campaign, sent.message_id, "address", how, sender, "", reason,
                        where)
    recorded.new = store.add_event(message_id=sent.message_id, address=sent.address, kind="reply", source=source,
                                   strength="address", detail={"from": sender, "reason": reason, "where": where,
                                                               "matched_by": how})
    report.events.append(recorded)


# ------------------------------------------------------------------------------------ files
class MessageFile:
    """The messages in ``path``: an .eml file, an mbox file or a Maildir folder, read lazily.

    ``len()`` is cheap (mbox builds its table of contents without keeping messages); iterating
    yields (label, raw bytes) one message at a time, so a multi-gigabyte export is fine.
    """

    def __init__(self, path: Path):
        import mailbox  # the standard library's; only file syncs pay for its import

        self.path = path
        self.box: mailbox.Mailbox | None = None
        self.maildir: mailbox.Maildir | None = None
        self.keys: list[str] = []  # of the messages in the box; [] for a single message file
        self.is_maildir = path.is_dir()
        if self.is_maildir:
            if not all((path / sub).is_dir() for sub in ("cur", "new")):
                raise UserError(f"{path}: is a folder but not a Maildir (no cur/ and new/ inside)")
            self.box = self.maildir = mailbox.Maildir(path, factory=None, create=False)
            self.keys = sorted(self.box.keys())
            return
        try:
            with open(path, "rb") as f:
                head = f.read(5)
        except OSError as e:
            raise UserError(f"{path}: cannot be read ({e.strerror})") from None
        if head == b"From ":
            self.box = mailbox.mbox(path, factory=None, create=False)
            self.keys = list(self.box.keys())

    def __len__(self) -> int:
        return len(self.keys) if self.box is not None else 1

    def __iter__(self) -> Iterator[tuple[str, bytes]]:
        for label, raw, _ in self.items():
            yield label, raw

    def items(self) -> Iterator[tuple[str, bytes, str | None]]:
        """(label, raw bytes, key) of each message."""
        if self.box is None:
            yield str(self.path), self.path.read_bytes(), None
            return
        for number, key in enumerate(self.keys, start=1):
            yield f"{self.path}#{number}", self.box.get_bytes(key), key

    def is_draft(self, key: str | None) -> bool:
        """Maildir's D flag (mbox has no draft flag: its D means deleted)."""
        if self.maildir is not None and key is not None:
            return "D" in self.maildir.get_message(key).get_flags()
        return False

    def close(self) -> None:
        if self.box is not None:
            self.box.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def read_messages(path: Path) -> Iterator[tuple[str, bytes]]:
    """(label, raw bytes) of every message in ``path`` (see :class:`MessageFile`)."""
    with MessageFile(path) as messages:
        yield from messages


def _header_block(raw: bytes) -> bytes:
    for separator in (b"\r\n\r\n", b"\n\n"):
        end = raw.find(separator)
        if end >= 0:
            return raw[:end + len(separator)]
    return raw


def _start(store: Store, own_addresses: Iterable[str]) -> tuple[Report, Index, Recorder | None]:
    """A report, the index of our messages, and a recorder; no recorder when there is nothing to match."""
    report = Report()
    index = Index.from_store(store, own_addresses)
    report.warnings.extend(index.damaged)
    if not index:
        report.notes.append("the tracking store has no messages yet: nothing to match")
        return report, index, None
    return report, index, Recorder(store, index, report)


def sync_files(store: Store, own_addresses: Iterable[str], paths: list[tuple[str, Path]],
               progress: Feedback = SILENT) -> Report:
    """Read mbox files and Maildirs (``[("mbox", path), ("maildir", path)]``) as a sync would."""
    report, index, recorder = _start(store, own_addresses)
    if recorder is None:
        return report
    for kind, path in paths:
        with MessageFile(path) as messages, store.transaction():
            progress.start(f"reading {path.name}", len(messages))
            matched_before = len(report.events)
            for number, (where, raw, key) in enumerate(messages.items(), start=1):
                location = {"file": str(path), "number": number, **({"key": key} if kind == "maildir" else {})}
                with one_message(report, index, where, location, store) as seen:
                    block = _header_block(raw)
                    screening = seen["headers"] = screening_headers(block)  # names the sender if reading fails
                    decision = screen(screening, index)
                    if decision != SKIP:  # only what may concern us is parsed in full
                        headers = seen["headers"] = parse_headers(block)
                        own_id = own_message_id(headers)
                        draft = bool(own_id and index.get(own_id)) and messages.is_draft(key)
                        recorder.handle(parse_message(raw) if decision == FULL else headers, where, draft=draft)
                progress.advance(1)
            # "as of": the export's own time, so "synced at" never claims mail newer than the file
            store.save_sync_position(kind, str(path.resolve()), 0, len(messages), iso(_mtime(path)))
        progress.finish()
        report.scanned += len(messages)
        report.sources.append({"source": f"{kind}:{path}", "messages": len(messages),
                               "matched": len(report.events) - matched_before})
    report.uncertain = _still_uncertain(store)
    return report


def _mtime(path: Path) -> datetime:
    stamps = [path.stat().st_mtime]
    if path.is_dir():
        stamps += [(path / sub).stat().st_mtime for sub in ("cur", "new") if (path / sub).exists()]
    return datetime.fromtimestamp(max(stamps), UTC)


# ------------------------------------------------------------------------------------- IMAP
def sync_imap(store: Store, session, own_addresses: Iterable[str], *, extra_folders: Iterable[str] = (),
              full: bool = False, progress: Feedback = SILENT) -> Report:
    """Read INBOX, the spam folder and ``extra_folders`` incrementally; reconcile with Sent."""
    report, index, recorder = _start(store, own_addresses)
    if recorder is None:
        return report
    extra_folders = list(extra_folders)
    with session.guarded("listing folders"):
        folders = ["INBOX"]
        drafts = session.existing_drafts_folder() if extra_folders else None
        for name in [session.junk_folder(), *extra_folders]:
            if not name or name in folders:
                continue
            if name == drafts:
                report.warnings.append(f"{name!r} holds drafts, not mail received; it was skipped")
            elif session.has_folder(name):
                folders.append(name)
            else:
                report.warnings.append(f"no folder {name!r} on {session.server.host}; it was skipped")
    for folder in folders:
        try:
            with session.guarded(f"reading {folder}"):
                _sync_folder(store, session, index, recorder, folder, full, progress, report)
        except UserError as refused:  # one folder the server will not open: go on with the others
            if not getattr(refused, "recoverable", False):
                raise
            progress.finish()
            report.warnings.append(str(refused))
    with session.guarded("looking in the Sent folder"):
        _reconcile(store, session, index, report)
    report.uncertain = _still_uncertain(store)
    report.stats = {"bytes_received": session.stats.bytes_received, "bytes_sent": session.stats.bytes_sent,
                    "headers_fetched": session.stats.headers_fetched,
                    "bodies_fetched": session.stats.bodies_fetched}
    return report


def _sync_folder(store: Store, session, index: Index, recorder: Recorder, folder: str, full: bool,
                 progress: Feedback, report: Report) -> None:
    uidvalidity, uidnext = session.examine(folder)
    position = store.sync_position(session.key, folder)
    rescan = full or position is None or position[0] != uidvalidity
    last = 0 if rescan or position is None else position[1]
    entry = {"source": f"imap:{folder}", "uidvalidity": uidvalidity, "rescan": bool(position and rescan),
             "messages": 0, "matched": 0}
    report.sources.append(entry)
    if uidnext is not None and uidnext - 1 <= last:
        with store.transaction():
            store.save_sync_position(session.key, folder, uidvalidity, last)
        return
    uids = session.uids_after(last, index.since)
    entry["messages"] = len(uids)
    matched_before = len(report.events)
    progress.start(f"reading {folder}", len(uids))
    chunks = [uids[start:start + CHUNK] for start in range(0, len(uids), CHUNK)]
    held: list[ReadChunk] = []  # read, not recorded yet
    held_bytes, due = 0, time.monotonic() + COMMIT_EVERY
    try:
        for read in _read_ahead(session, chunks, folder, index, report):
            held.append(read)
            held_bytes += _size(read)
            progress.advance(len(read[0]))
            if time.monotonic() >= due or held_bytes > HELD:
                batch, held = held, []
                _record_chunks(store, session.key, folder, uidvalidity, recorder, index, report, batch)
                held_bytes, due = 0, time.monotonic() + COMMIT_EVERY
    finally:  # what was read is recorded before a lost connection (or anything else) is reported
        if held:
            _record_chunks(store, session.key, folder, uidvalidity, recorder, index, report, held)
    progress.finish()
    top = max([last, *uids, (uidnext - 1) if uidnext else 0])
    with store.transaction():
        store.save_sync_position(session.key, folder, uidvalidity, top)
    report.scanned += len(uids)
    entry["matched"] = len(report.events) - matched_before


Decisions = dict[int, tuple[str, Message]]  # uid -> FULL or HEADERS, and the headers
# A chunk's UIDs, and for the messages screening kept: what FETCH said, the decision, the bodies
ReadChunk = tuple[list[int], dict, Decisions, dict[int, bytes]]


def _size(read: ReadChunk) -> int:
    """The bytes of header blocks and bodies a chunk read holds until it is recorded."""
    _, kept, _, bodies = read
    return sum(len(item.headers) for item in kept.values()) + sum(map(len, bodies.values()))


def _record_chunks(store: Store, account: str, folder: str, uidvalidity: int, recorder: Recorder, index: Index,
                   report: Report, chunks: list[ReadChunk]) -> None:
    """Record the messages of ``chunks`` that screening kept, and the position after the last
    chunk, in one transaction."""
    with store.transaction():
        for chunk, fetched, decisions, bodies in chunks:
            for uid in chunk:
                if uid not in decisions:
                    continue  # skipped, expunged since the search, or its headers were unreadable
                decision, headers = decisions[uid]
                where = f"{folder} uid {uid}"
                with one_message(report, index, where, {"folder": folder, "uid": uid}, store) as seen:
                    seen["headers"] = headers
                    msg = parse_message(bodies[uid]) if decision == FULL and uid in bodies else headers
                    recorder.handle(msg, where, fetched[uid].arrived, draft=fetched[uid].draft)
        store.save_sync_position(account, folder, uidvalidity, chunks[-1][0][-1])


def _read_ahead(session, chunks: list[list[int]], folder: str, index: Index, report: Report) -> Iterator[ReadChunk]:
    """Each chunk with its headers, what screening decided and the bodies it needs; the next
    chunk's headers are asked for before this one is screened and recorded.

    The server then prepares them while the client works, instead of each waiting for the
    other (a cold sync's wall clock was the client's CPU plus the server's). The bodies of a
    chunk are asked for once the next chunk's headers have been read, and the chunk after that
    is asked for before this one is yielded to be recorded. A lost connection is raised when an
    answer is wanted: the caller records the chunks yielded so far, the one being screened is
    read again next time. Only the messages screening kept are yielded with their headers."""
    if not chunks:
        return
    fetched = session.ask_headers(chunks[0]).take()
    asked = session.ask_headers(chunks[1]) if len(chunks) > 1 else None
    for number, chunk in enumerate(chunks):
        decisions: Decisions = {}
        for uid, item in fetched.items():
            with one_message(report, index, f"{folder} uid {uid}", {"folder": folder, "uid": uid}):
                decision = screen(screening_headers(item.headers), index)
                if decision != SKIP:  # only what may concern us is parsed in full: most of a mailbox is not
                    decisions[uid] = (decision, parse_headers(item.headers))
        upcoming = asked.take() if asked is not None else {}
        bodies = session.fetch_bodies([uid for uid, (d, _) in decisions.items() if d == FULL])
        asked = session.ask_headers(chunks[number + 2]) if number + 2 < len(chunks) else None
        yield chunk, {uid: fetched[uid] for uid in decisions}, decisions, bodies
        fetched = upcoming


def _reconcile(store: Store, session, index: Index, report: Report) -> None:
    """Look up unconfirmed messages (uncertain sends, drafts) by Message-ID in the Sent folder."""
    waiting = [s for s in index.by_id.values() if s.state in UNCONFIRMED_STATES]
    if not waiting:
        return
    sent_folder = session.sent_folder()
    if sent_folder is None:
        if any(s.state in UNCERTAIN_STATES for s in waiting):
            report.warnings.append(f"no Sent folder on {session.server.host}: uncertain messages cannot be checked")
        return
    found = session.find_message_ids(sent_folder, [s.message_id for s in waiting])
    if not found:
        return
    recorder = Recorder(store, index, report)
    with store.transaction():
        for sent in waiting:
            if sent.message_id in found:
                recorder._confirm(sent, found[sent.message_id], f"found in {sent_folder}")


def _still_uncertain(store: Store) -> list[dict]:
    marks = ",".join("?" * len(UNCERTAIN_STATES))
    rows = store.db.execute(f"SELECT message_id, campaign, address, state FROM messages WHERE state IN ({marks}) "
                            "ORDER BY campaign, address", UNCERTAIN_STATES).fetchall()
    return [dict(r) for r in rows]




# ------------------------------------------------------------------------------ entry points
DEFAULT_SYNC_MAX_AGE = "6h"


def own_addresses(settings: Settings) -> list[str]:
    """Our own address: mail from it is never a reply."""
    return [parse_sender(settings.sender).addr_spec] if settings.sender else []


def extra_folders(settings: Settings) -> list[str]:
    return [f.strip() for f in settings.raw.get("sync_folders", "").split(",") if f.strip()]


def sync_mailbox(settings: Settings, *, mboxes: Iterable[Path] = (), maildirs: Iterable[Path] = (),
                 folders: Iterable[str] = (), full: bool = False, feedback: Feedback = SILENT) -> Report | None:
    """`outreach sync`: read the exports given, or else the IMAP account; None when nothing is
    drafted or sent yet (so there is nothing to match)."""
    mboxes, maildirs, folders = list(mboxes), list(maildirs), list(folders)
    if (mboxes or maildirs) and folders:
        raise UserError("--folder is for IMAP; it cannot be combined with --mbox or --maildir")
    if not settings.db.exists():
        raise UserError(f"{settings.db}: no tracking store here yet; draft or send something first "
                        "(or run this in the workspace folder)")
    store = Store(settings.db)
    if not store.mailbox_rows():
        feedback.note("nothing drafted or sent yet, so nothing to match")
        return None
    recover_if_free(store, feedback.warn)  # a send cut off by a crash is uncertain before it is looked up
    try:
        if mboxes or maildirs:
            paths = [("mbox", p) for p in mboxes] + [("maildir", p) for p in maildirs]
            return sync_files(store, own_addresses(settings), paths, feedback)
        from outreach.account import Account
        from outreach.mailbox.imap import ImapSession

        with ImapSession(Account.load(settings), warn=feedback.warn) as session:
            return sync_imap(store, session, own_addresses(settings),
                             extra_folders=[*extra_folders(settings), *folders], full=full, progress=feedback)
    finally:
        feedback.finish()


def imap_configured(settings: Settings) -> bool:
    return bool(settings.raw.get("imap_host") or settings.raw.get("provider"))


@dataclass
class View:
    """How fresh the store's view of the mailbox is before messages are written: the sync run
    just now (if one ran), and the view in words for plans and dry runs."""

    synced: Report | None
    text: str


def fresh_view(store: Store, settings: Settings, now: datetime, *, read: bool, needed: bool = True,
               feedback: Feedback = SILENT) -> View:
    """Read the mailbox first (IMAP, incremental: about a second) when ``read`` and ``needed``
    (someone to be written to was written or drafted to before), so that a reply that has just
    arrived holds them; otherwise say how old the store's view is (nothing, when not ``needed``). Without IMAP a
    reminder needs a recent offline sync (OUTREACH_SYNC_MAX_AGE, default 6h): see :func:`require_recent`."""
    if read and needed and imap_configured(settings):
        from outreach.account import Account
        from outreach.mailbox.imap import ImapSession

        account = Account.load(settings)
        recover_if_free(store, feedback.warn)
        try:
            with ImapSession(account, warn=feedback.warn) as session:
                report = sync_imap(store, session, [account.sender.addr_spec],
                                   extra_folders=extra_folders(settings), progress=feedback)
        finally:
            feedback.finish()
        return View(report, f"read just now ({account.imap.host if account.imap else 'IMAP'})")
    return View(None, describe_view(store, now) if needed else "")


def describe_view(store: Store, now: datetime) -> str:
    """``last read 3 hours ago`` (IMAP), ``from mail.mbox, written 2 days ago`` (an export), or ``never read``."""
    latest = store.last_read()
    if latest is None:
        return "never read: a reply that arrived is not known (outreach sync)"
    account, folder, synced_at = latest
    age = describe_age(now - (parse_time(synced_at) or now))
    if account in ("mbox", "maildir"):
        return f"from {Path(folder).name}, written {age} ago (outreach sync --{account} to read it again)"
    return f"last read {age} ago"


def require_recent(store: Store, settings: Settings, now: datetime) -> None:
    """A reminder without IMAP: the last offline sync must be recent, or a reply could be missed."""
    max_age = parse_duration(settings.raw.get("sync_max_age", DEFAULT_SYNC_MAX_AGE), "OUTREACH_SYNC_MAX_AGE")
    synced = parse_time(store.last_synced())
    if synced is not None and now - synced <= max_age:
        return
    stale = ("the mailbox has never been synced" if synced is None
             else f"the mailbox was last synced {describe_age(now - synced)} ago")
    raise UserError(f"{stale}, so a recent reply could be missed: run `outreach sync --mbox FILE` or "
                    "`outreach sync --maildir DIR` first, or pass --no-sync to follow up on what the store "
                    "already knows")


@dataclass
class Classified:
    """One message of `outreach classify`: its verdict and the sent message it matches, or why
    it could not be read."""

    label: str
    verdict: Verdict | None = None
    match: Match | None = None
    error: str = ""
    matched_against_store: bool = False

    @property
    def address(self) -> str:
        v = self.verdict
        if v is None:
            return ""
        return v.failed[0] if v.failed else self.match.sent.address if self.match else v.sender


def classify_files(settings: Settings, paths: Iterable[Path]) -> Iterator[Classified]:
    """`outreach classify`: each message in ``paths`` (.eml, mbox, Maildir); nothing is recorded."""
    index = Index.from_store(Store(settings.db), own_addresses(settings)) if settings.db.exists() else None
    for path in paths:
        for label, raw in read_messages(path):
            try:
                verdict, found = judge(parse_message(raw), index)
            except Exception as e:  # noqa: BLE001 - one broken message: say so and go on with the others
                yield Classified(label, error=f"{type(e).__name__}: {e}")
                continue
            yield Classified(label, verdict, found, matched_against_store=index is not None)
