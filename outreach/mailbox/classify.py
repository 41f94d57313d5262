"""What an incoming message is: a reply, an auto-reply, a bounce (permanent or delayed), a
complaint, or something else. Pure: a parsed message in, a :class:`Verdict` out.

Order matters, because the signals overlap: a delivery report carries ``Auto-Submitted`` too, and
an out-of-office message carries ``In-Reply-To`` like a reply. So reports (RFC 3464 delivery
status, RFC 5965 abuse feedback) are looked at first, then the auto-reply signals (RFC 3834
``Auto-Submitted``, the ``X-Autoreply`` family, ``Precedence``, out-of-office subjects in a dozen
languages), and only what is left and points at a thread counts as a reply.

Delivery reports are read with the standard library's parser, which splits
``message/delivery-status`` into its RFC 3464 field blocks, with a text fallback for the
encodings it leaves whole (base64 parts, ``message/global-delivery-status``). Amazon SES's JSON
notifications (:mod:`outreach.mailbox.ses`) and Microsoft's JMRP complaints have readers of their
own. Bounces in no standard format (classic Exim, qmail, old Exchange) go to ``flufl.bounce``,
Mailman's detectors, and mail systems' own notices are believed with evidence beyond the
sender; the returned copy of the original message, when there is one, gives its Message-ID.
The formats known, and the corpus they were measured on: docs/mailbox-design.md.

Messages are ``email.message.Message`` objects parsed with the ``compat32`` policy: it is what
flufl.bounce expects, it tolerates broken mail, and it is several times faster on headers.
"""

from __future__ import annotations

import contextlib
import html as html_module
import re
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from email import policy
from email.errors import MessageError
from email.header import decode_header, make_header
from email.message import Message
from email.parser import BytesHeaderParser, BytesParser, HeaderParser
from email.utils import collapse_rfc2231_value, getaddresses, parseaddr, parsedate_to_datetime

from outreach.addresses import address_key
from outreach.clock import usable
from outreach.mailbox import ses

KINDS = ("reply", "auto-reply", "bounce", "delayed", "complaint", "other")

_PARSER = BytesParser(policy=policy.compat32)
_HEADER_PARSER = BytesHeaderParser(policy=policy.compat32)
_TEXT_HEADER_PARSER = HeaderParser(policy=policy.compat32)
MAX_TEXT = 20_000  # characters of body text looked at for dates and diagnostics


def parse_message(raw: bytes) -> Message:
    return _PARSER.parsebytes(raw)


def parse_headers(raw: bytes) -> Message:
    return _HEADER_PARSER.parsebytes(raw)


_FIELD_NAME = re.compile(r"[\041-\071\073-\176]+:")  # the feed parser's field name, never a line's whole start


def screening_headers(raw: bytes) -> Message:
    """The header fields of a header block, enough to screen the message (``sync.screen``).

    ``sync`` screens every message of a mailbox and most are not about us: the email parser
    reading each block line by line was a quarter of a cold sync. A plain block (ASCII, CRLF
    line ends, every line a field or the continuation of one) is split here into the very
    (name, value) pairs ``compat32``'s parser makes, folding kept; anything else (8-bit bytes,
    a stray CR or LF, a line the parser would take for the body, an mbox ``From `` line) goes to
    the parser itself. Only the header fields are read: use :func:`parse_headers` for the rest.
    """
    fields = _plain_fields(raw)
    if fields is None:
        return parse_headers(raw)
    msg = _ScreenedFields(policy=policy.compat32)
    for name, value in fields:
        msg.set_raw(name, value)
    msg.first = {}
    for name, value in reversed(fields):
        msg.first[name.lower()] = value
    return msg


class _ScreenedFields(Message):
    """A plain block's fields (str values, as compat32 hands them out): ``get`` looks a field up
    instead of walking the list, screening asks for a dozen of them."""

    first: dict[str, str]

    def get(self, name, failobj=None):
        return self.first.get(name.lower(), failobj)


def _plain_fields(raw: bytes) -> list[tuple[str, str]] | None:
    if not raw.isascii():
        return None
    fields: list[tuple[str, str]] = []
    name, value = "", ""
    for line in raw.decode("ascii").split("\r\n"):
        if not line:
            break  # the blank line that ends the header block
        if "\r" in line or "\n" in line:
            return None
        if line[0] in " \t":
            if not name:
                return None  # a continuation with no field: the parser notes a defect
            value += line + "\r\n"
            continue
        if not _FIELD_NAME.match(line):
            return None  # the parser would read this line as the start of the body
        if name:
            fields.append((name, value.rstrip("\r\n")))
        name, _, value = line.partition(":")
        value = (value + "\r\n").lstrip(" \t")
    if name:
        fields.append((name, value.rstrip("\r\n")))
    return fields


@dataclass(frozen=True)
class Verdict:
    """What a message is and the evidence for it.

    ``failed`` are the recipients a bounce or complaint is about; ``original_ids`` the
    Message-IDs of the original message found inside a report or a returned copy;
    ``thread_ids`` the message's own In-Reply-To and References, nearest first.
    """

    kind: str
    reason: str
    sender: str = ""
    subject: str = ""
    message_id: str | None = None
    written_at: datetime | None = None  # its Date header, else its arrival (see date_of)
    thread_ids: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()
    original_ids: tuple[str, ...] = ()
    original_recipients: tuple[str, ...] = ()
    status: str | None = None
    diagnostic: str | None = None
    until: date | None = None
    fresh: bool = False   # "other" only: a person's own message that answers nothing in particular

    @property
    def is_report(self) -> bool:
        return self.kind in ("bounce", "delayed", "complaint")


# ----------------------------------------------------------------------------------- headers
def raw_header(msg: Message, name: str) -> str:
    """A header's value as a string, "" if absent."""
    value = msg.get(name)
    return "" if value is None else _text(value)


def raw_headers(msg: Message, name: str) -> list[str]:
    return [_text(v) for v in msg.get_all(name, [])]


def _text(value) -> str:
    """compat32 hands out a ``Header`` for a value with 8-bit bytes in it: an address with a
    Unicode domain (RFC 6532), or text in a legacy charset. Its bytes are read as UTF-8, which
    the first is, and what cannot be read becomes U+FFFD (as ``str()`` of it would)."""
    if isinstance(value, str):
        return value
    try:
        chunks = decode_header(value)
    except (ValueError, LookupError, UnicodeError, MessageError):
        return str(value)
    return "".join(chunk.decode("utf-8" if charset in (None, "unknown-8bit") else charset, "replace")
                   if isinstance(chunk, bytes) else chunk for chunk, charset in chunks)


def header_text(msg: Message, name: str) -> str:
    """A header's value with RFC 2047 words decoded and line folding removed ("" if absent)."""
    value = raw_header(msg, name)
    if not value:
        return ""
    if "=?" in value:
        with contextlib.suppress(ValueError, LookupError, UnicodeError, MessageError):
            value = str(make_header(decode_header(value)))
    return " ".join(value.split())


MESSAGE_ID = re.compile(r"<[^<>\s]+>")


def message_ids(value: str | None) -> list[str]:
    """``<a@b>`` tokens in a header value, in order (comments and junk between them ignored)."""
    return MESSAGE_ID.findall(value or "")


def thread_ids(msg: Message) -> tuple[str, ...]:
    """In-Reply-To, then References from the newest to the oldest, without repeats."""
    ids = message_ids(raw_header(msg, "In-Reply-To")) + message_ids(raw_header(msg, "References"))[::-1]
    return tuple(dict.fromkeys(ids))


def own_message_id(msg: Message) -> str | None:
    ids = message_ids(raw_header(msg, "Message-ID"))
    return ids[0] if ids else None


_SIMPLE_ADDRESS = re.compile(r'^(?:[^<>"(),;:\\]*<)?([^\s<>"(),;:\\@]+@[^\s<>"(),;:\\@]+)>?$')


def address_of(value: str | None) -> str:
    """The addr-spec of a header value, as its identity (outreach.addresses; "" if none).

    ``Name <a@b>`` and bare ``a@b`` (nearly every From line) take a regular expression; quoted
    names, comments and groups go to the standard library's parser, which is ten times slower.
    """
    value = (value or "").strip()
    simple = _SIMPLE_ADDRESS.match(value)
    found = simple.group(1) if simple else parseaddr(value)[1].strip()
    return address_key(found) if found else ""


def sender_of(msg: Message) -> str:
    return address_of(raw_header(msg, "From")) or address_of(raw_header(msg, "Sender"))


# A Date this far after the message arrived, or this far before, is a wrong clock.
CLOCK_AHEAD, CLOCK_BEHIND = timedelta(days=1), timedelta(days=30)


def date_of(msg: Message, arrived: datetime | None = None) -> datetime | None:
    """When the message was written: its Date header if it can be used, else ``arrived`` (the
    server's arrival time, IMAP's INTERNALDATE, when known). A Date that cannot be read, lies
    outside the years the tool uses (clock.usable: an out-of-office dated 9999 would overflow the
    return-date arithmetic) or, beside a known arrival, more than a day after it or 30 days before
    it (a wrong clock) is not used."""
    try:
        written = usable(parsedate_to_datetime(raw_header(msg, "Date")))
    except (TypeError, ValueError, IndexError, OverflowError):
        written = None
    if written is not None and arrived is not None and not arrived - CLOCK_BEHIND <= written <= arrived + CLOCK_AHEAD:
        written = None
    return written or arrived


# ----------------------------------------------------------------------------------- subjects
_PREFIX = re.compile(
    r"^\s*(?:re|aw|sv|vs|antw|antwort|ref|rif|res|odp|ynt|απ|отв|ответ|回复|回覆|答复|fw|fwd|wg|tr|rv|enc|"
    r"automatic reply|auto(?:matic)? response|auto ?reply|autoreply|auto|automatische antwort|"
    r"réponse automatique|respuesta automática|risposta automatica|resposta automática|automatisch antwoord|"
    r"out of (?:the )?office(?: reply)?|abwesenheitsnotiz|undeliverable|unzustellbar|non remis|"
    r"delivery delayed|zustellung verzögert)"
    r"\s*(?:\[\d+\]|\(\d+\))?\s*[:：]\s*",
    re.IGNORECASE,
)
_REPLY_PREFIX = re.compile(r"^\s*(?:re|aw|sv|vs|antw|antwort|ref|rif|res|odp|ynt|απ|отв|ответ|回复|回覆|答复)"
                           r"\s*(?:\[\d+\]|\(\d+\))?\s*[:：]", re.IGNORECASE)


def base_subject(subject: str) -> str:
    """The subject without reply, forward and auto-reply prefixes, whitespace collapsed, casefolded."""
    previous = None
    while previous != subject:
        previous, subject = subject, _PREFIX.sub("", subject, count=1)
    return " ".join(subject.split()).casefold()


def is_reply_subject(subject: str) -> bool:
    return bool(_REPLY_PREFIX.match(subject))


# --------------------------------------------------------------------------------- auto-reply
OUT_OF_OFFICE = re.compile(
    r"out of (?:the )?office|out-of-office|\booo\b|automatic reply|auto(?:matic)?[- ]?(?:reply|response|answer)|"
    r"autoreply|^\s*auto\s*:|away from (?:the|my) (?:office|desk)|on (?:annual |parental |maternity |paternity |"
    r"sick )?leave|on vacation|vacation (?:reply|response|message)|"
    r"abwesenheit|automatische antwort|außer haus|nicht im büro|"        # German
    r"réponse automatique|absent(?:e)? du bureau|\babsence\b|"           # French
    r"respuesta automática|fuera de (?:la )?oficina|\bausente\b|"        # Spanish
    r"risposta automatica|fuori (?:sede|ufficio)|\bassente\b|"           # Italian
    r"resposta automática|fora do escritório|"                           # Portuguese
    r"automatisch antwoord|\bafwezig\b|"                                 # Dutch
    r"\bautosvar\b|frånvaro|fravær|poza biurem|odpowiedź automatyczna|"  # Nordic, Polish
    r"автоответ|автоматический ответ|otomatik yanıt|"                    # Russian, Turkish
    r"自动回复|自動回覆|自動応答|자동 응답",                                  # Chinese, Japanese, Korean
    re.IGNORECASE,
)
AUTO_HEADERS = ("X-Autoreply", "X-Autorespond", "X-Autoresponder", "X-Autoreply-From")
AUTO_PRECEDENCE = ("auto_reply", "bulk", "junk")


def auto_reply_reason(msg: Message) -> tuple[str, bool] | None:
    """Why the headers say a machine wrote the message, and whether they say it *answers* one.

    ``(reason, True)``: an automatic response (``Auto-Submitted: auto-replied``, the
    ``X-Autoreply`` family, ``Precedence: auto_reply``, an out-of-office subject).
    ``(reason, False)``: machine-made but not necessarily an answer (``auto-generated``,
    ``Precedence: bulk/junk``): newsletters say that too, so it takes a thread to count.
    """
    found: list[tuple[str, bool]] = []
    submitted = header_text(msg, "Auto-Submitted").lower()
    if submitted and not submitted.startswith("no"):
        found.append((f"Auto-Submitted: {submitted}", submitted.startswith("auto-replied")))
    for name in AUTO_HEADERS:
        value = header_text(msg, name).lower()
        if msg.get(name) is not None and value not in ("no", "false", "0"):
            found.append((f"{name}: {value or '(empty)'}", True))
    match = OUT_OF_OFFICE.search(header_text(msg, "Subject"))
    if match:
        found.append((f"out-of-office subject ({match.group(0).strip()!r})", True))
    precedence = header_text(msg, "Precedence").lower()
    if precedence in AUTO_PRECEDENCE:
        found.append((f"Precedence: {precedence}", precedence == "auto_reply"))
    if not found:
        return None
    return found[0][0], any(answers for _, answers in found)


# ----------------------------------------------------------------------------------- bounces
DAEMON = re.compile(r"^(?:mailer[-_]?daemon|post[-_.]?master|mail[-_]?daemon|mdaemon|mail\.?delivery)\b",
                    re.IGNORECASE)
DAEMON_NAME = re.compile(r"mail delivery (?:system|subsystem|service)|mailer[- ]daemon|postmaster", re.IGNORECASE)
BOUNCE_SUBJECT = re.compile(
    r"undeliver(?:ed|able)|delivery (?:status notification|failure|has failed|failed|delayed|incomplete|problem)|"
    r"returned mail|returned to sender|mail delivery (?:failed|failure)|failure notice|non[- ]?delivery|"
    r"could not be delivered|message not delivered|delayed mail|warning: message .* delayed|"
    r"nicht zustellbar|unzustellbar|zustellung (?:fehlgeschlagen|verzögert)|non remis|non distribuable|"
    r"no se pudo entregar|no entregado|non recapitabile|onbestelbaar",
    re.IGNORECASE,
)
DELAY_TEXT = re.compile(
    r"\bdelay(?:ed)?\b|has not (?:yet )?been delivered|not yet been delivered|will (?:continue|be) re-?tr(?:y|ied)|"
    r"still (?:being )?retr(?:y|ied)|will retry|no action is required|verzögert|retardé|retrasad",
    re.IGNORECASE,
)
STATUS = re.compile(r"\b([45]\.\d{1,3}\.\d{1,3})\b")  # RFC 3463 enhanced codes of failures
SMTP_REPLY = re.compile(r"\b[45]\d\d[ -]\S.*")
RETURNED_MESSAGE_ID = re.compile(r"^[ \t>]*Message-I[Dd][ \t]*:[ \t]*(<[^<>\s]+>)", re.IGNORECASE | re.MULTILINE)
RETURNED_TO = re.compile(r"^[ \t>]*To[ \t]*:[ \t]*(.+)$", re.IGNORECASE | re.MULTILINE)
HEADERS_TYPES = ("text/rfc822-headers", "message/rfc822-headers", "message/global-headers")
MESSAGE_TYPES = ("message/rfc822", "message/global")
DSN_TYPES = ("message/delivery-status", "message/global-delivery-status")
ENVELOPE_ID_FIELDS = ("Original-Envelope-Id", "X-Original-Message-ID")  # the latter: Gmail's
# RFC 3464's Action values that mean the message will not arrive; "expired" is SendGrid's word
# for a delivery that was retried until it gave up.
FAILED_ACTIONS = ("failed", "error", "expired")
# Microsoft's feedback loop (JMRP) returns the message a recipient marked as junk as
# message/rfc822, and names that recipient in this header of the returned copy.
JMRP_RECIPIENT = "X-HmXmrOriginalRecipient"
JMRP_SUBJECT = re.compile(r"^\s*complaint about message from\b", re.IGNORECASE)


def from_mail_system(msg: Message) -> bool:
    """From a mail system, as bounces outside RFC 3464 are: a mailer daemon or postmaster (by
    address or name), the null sender ``From: <>``, or a bounce subject sent with the null
    envelope sender (``Return-Path: <>``, RFC 5321 4.5.5: what notifications are sent with).

    Anyone can write ``X-Failed-Recipients`` or bounce-like text; only these senders are
    believed when a report has no ``message/delivery-status`` part to say who failed."""
    raw_from = raw_header(msg, "From")
    if _may_name_a_mail_system(raw_from):
        name, address = parseaddr(raw_from)
        if DAEMON.match(address) or DAEMON_NAME.search(name) or (not address and "<>" in raw_from):
            return True
    return _null_return_path(msg) and bool(BOUNCE_SUBJECT.search(header_text(msg, "Subject")))


def _may_name_a_mail_system(raw_from: str) -> bool:
    """False only when ``raw_from`` cannot name a mail system, without the address parser (slow,
    and every message of a sync is screened): DAEMON and DAEMON_NAME match only text holding
    "daemon", "master" or "delivery", which parseaddr keeps whole, unless quoting, an escape or a
    comment splits or hides a word (and, in ASCII: ``re.IGNORECASE`` also takes U+017F for "s")."""
    lowered = raw_from.lower()
    return not lowered.isascii() or any(word in lowered for word in ("daemon", "master", "delivery", "<>", '"', "\\",
                                                                     "("))


def _null_return_path(msg: Message) -> bool:
    return raw_header(msg, "Return-Path").strip() == "<>"


def looks_like_bounce(msg: Message, sender: str | None = None) -> bool:
    """Headers alone say this may be a delivery report or complaint (worth fetching the body for).
    ``sender``: the message's :func:`sender_of`, when the caller has it already."""
    if _may_be_a_report(msg) and msg.get_content_type() == "multipart/report":
        return True
    if raw_header(msg, "X-Failed-Recipients"):
        return True
    if from_mail_system(msg):
        return True
    subject = header_text(msg, "Subject")
    sender = sender_of(msg) if sender is None else sender
    if ses.looks_like_notification(sender, subject) or JMRP_SUBJECT.search(subject):
        return True
    if BOUNCE_SUBJECT.search(subject):
        null_sender = raw_header(msg, "Return-Path").strip() in ("<>", "")
        return null_sender or msg.get("Auto-Submitted") is not None
    return False


def _may_be_a_report(msg: Message) -> bool:
    """False only when the Content-Type cannot be multipart/report, without parsing it (every
    message of a sync is screened): its type is a piece of the value, lowercased, so a value
    whose lowercase holds no "report" cannot name it. A value that is not text (a ``Header``,
    for 8-bit bytes) is left to ``get_content_type``."""
    value = msg.get("Content-Type")
    return not isinstance(value, str) or "report" in value.lower()


def _decoded_text(part: Message) -> str:
    """A leaf part's text, decoded as well as its (possibly broken) headers allow."""
    try:
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            payload = str(part.get_payload()).encode("utf-8", "replace")
    except (ValueError, LookupError, UnicodeError, MessageError):
        return ""
    try:
        return payload.decode(part.get_content_charset() or "utf-8", "replace")
    except (LookupError, ValueError, UnicodeError):
        return payload.decode("utf-8", "replace")


def _field_blocks(part: Message) -> list[Message]:
    """The RFC 3464 field blocks of a delivery-status part (or RFC 5965 fields of a feedback report)."""
    payload = part.get_payload()
    encoded = str(part.get("Content-Transfer-Encoding", "")).strip().lower() in ("base64", "quoted-printable")
    if isinstance(payload, list) and not encoded:
        return [block for block in payload if isinstance(block, Message)]
    if isinstance(payload, list):  # the parser split encoded text into "blocks": undo that, then decode
        payload = "\n\n".join(block.as_string() for block in payload if isinstance(block, Message))
        original, part = part, Message()
        part["Content-Transfer-Encoding"] = original["Content-Transfer-Encoding"]
        part.set_payload(payload)
    text = _decoded_text(part).replace("\r\n", "\n")
    return [_TEXT_HEADER_PARSER.parsestr(block.strip() + "\n") for block in re.split(r"\n[ \t]*\n", text)
            if block.strip()]


def _typed_address(value: str | None) -> str:
    """``rfc822; a@b`` -> ``a@b`` (the address type is optional in practice)."""
    value = " ".join((value or "").split())
    if ";" in value:
        value = value.split(";", 1)[1]
    return address_of(value)


def _walk_leaves(msg: Message):
    """Every part, not descending into returned messages (their text is not the report's)."""
    stack = [msg]
    while stack:
        part = stack.pop(0)
        ctype = part.get_content_type()
        if part.is_multipart() and not ctype.startswith("message/"):
            stack[:0] = [p for p in part.get_payload() if isinstance(p, Message)]
        else:
            yield part


def _returned_headers(msg: Message) -> list[Message]:
    """The original message's headers, from each text/rfc822-headers or message/rfc822 part."""
    found = []
    for part in _walk_leaves(msg):
        ctype = part.get_content_type()
        if ctype in MESSAGE_TYPES:
            payload = part.get_payload()
            if isinstance(payload, list) and payload and isinstance(payload[0], Message):
                found.append(payload[0])
            elif isinstance(payload, (str, bytes)):
                found.append(_TEXT_HEADER_PARSER.parsestr(_decoded_text(part)))
        elif ctype in HEADERS_TYPES:
            found.append(_TEXT_HEADER_PARSER.parsestr(_decoded_text(part).lstrip()))
    return found


def _text_parts(msg: Message) -> str:
    """The text of the message's own parts, and of a multipart part whose boundary could not be
    read (a Content-Type folded without indentation leaves it one unsplit piece of text)."""
    texts, size = [], 0
    for part in _walk_leaves(msg):
        unsplit = part.get_content_maintype() == "multipart" and isinstance(part.get_payload(), str)
        if unsplit or (part.get_content_maintype() == "text" and part.get_content_type() not in HEADERS_TYPES):
            text = _decoded_text(part)
            if part.get_content_type() == "text/html":
                text = html_to_text(text)
            texts.append(text)
            size += len(text)
            if size > MAX_TEXT:
                break
    return "\n".join(texts)[:MAX_TEXT * 2]


def html_to_text(html: str) -> str:
    html = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", html)
    html = re.sub(r"(?i)<br\s*/?>|</p>|</div>|</tr>|</li>", "\n", html)
    return html_module.unescape(re.sub(r"<[^>]+>", " ", html))


def _original(msg: Message, text: str) -> tuple[list[str], list[str]]:
    """(Message-IDs, recipients) of the original message a report returns or quotes."""
    ids, recipients = [], []
    for headers in _returned_headers(msg):
        ids += message_ids(raw_header(headers, "Message-ID"))
        recipients += [address_key(a) for _, a in getaddresses(raw_headers(headers, "To") + raw_headers(headers, "Cc"))
                       if a]
    if not ids:  # a copy quoted in the text (Exim: "------ This is a copy of the message ...")
        ids = RETURNED_MESSAGE_ID.findall(text)
        recipients += [address_key(a) for value in RETURNED_TO.findall(text) for _, a in getaddresses([value]) if a]
    own = set(message_ids(raw_header(msg, "Message-ID")))
    return [i for i in dict.fromkeys(ids) if i not in own], list(dict.fromkeys(recipients))


def _delivery_status(msg: Message) -> Verdict | None:
    """The RFC 3464 verdict: bounce, delayed, "other" when every recipient was delivered, or None."""
    failed: list[str] = []
    delayed: list[str] = []
    statuses: list[str] = []
    diagnostics: list[str] = []
    envelope_ids: list[str] = []
    fine: list[str] = []
    fine_statuses: list[str] = []
    for part in _walk_leaves(msg):
        if part.get_content_type() not in DSN_TYPES:
            continue
        for block in _field_blocks(part):
            envelope_ids.extend(raw_header(block, name).strip() for name in ENVELOPE_ID_FIELDS
                                if raw_header(block, name))
            action = header_text(block, "Action").lower()
            recipient = (_typed_address(raw_header(block, "Original-Recipient"))
                         or _typed_address(raw_header(block, "Final-Recipient")))
            if not action or not recipient:
                continue
            if action.startswith(FAILED_ACTIONS):
                failed.append(recipient)
            elif action.startswith("delayed"):
                delayed.append(recipient)
            else:
                fine.append(f"{recipient} {action}")  # delivered, relayed, expanded
                fine_statuses.append(header_text(block, "Status").split(" ")[0])
                continue
            statuses.append(header_text(block, "Status").split(" ")[0])
            diagnostics.append(header_text(block, "Diagnostic-Code"))
    if not (failed or delayed):
        if not fine:
            return None
        success = next((s for s in fine_statuses if s.startswith("2.")), "2.0.0")
        return Verdict("other", f"a delivery report that says all is well ({', '.join(fine)})", status=success)
    status = next((s for s in statuses if s), None)
    diagnostic = next((d.split(";", 1)[-1].strip() for d in diagnostics if d), None)
    kind = "bounce" if failed else "delayed"
    recipients = tuple(dict.fromkeys(failed or delayed))
    why = f"delivery status notification: Action {'failed' if failed else 'delayed'}"
    ids = [*envelope_ids, *[f"<{e}>" for e in envelope_ids if not e.startswith("<")]]
    return Verdict(kind, why + (f", Status {status}" if status else ""), failed=recipients, status=status,
                   diagnostic=diagnostic, original_ids=tuple(ids))


def _flufl_failures(msg: Message) -> tuple[list[str], list[str]]:
    """(temporary, permanent) failed recipients by Mailman's detectors; nothing if they choke."""
    import logging

    from flufl.bounce import all_failures

    # flufl.bounce logs a detector's crash at ERROR before re-raising it; we catch those (a miss,
    # not a failure), so keep the log off the user's terminal.
    log = logging.getLogger("flufl.bounce")
    if log.propagate:
        log.addHandler(logging.NullHandler())
        log.propagate = False
    try:
        temporary, permanent = all_failures(msg)
    except Exception:  # noqa: BLE001 - heuristic detectors on hostile input: a miss, not a crash
        return [], []

    def clean(found):
        return sorted({address_of(a.decode("ascii", "replace")) for a in found} - {""})

    return clean(temporary), clean(permanent)


def _report_type(msg: Message) -> str:
    """A multipart/report's report-type, lower-cased ("" if none; RFC 2231 forms collapsed)."""
    value = msg.get_param("report-type")
    return collapse_rfc2231_value(value).lower() if value else ""


def _bounce(msg: Message) -> Verdict | None:
    """A delivery report in any shape, or None when this is not one."""
    report = msg.get_content_type() == "multipart/report"
    report_type = _report_type(msg) if report else ""
    if report_type == "feedback-report":
        return _complaint(msg)
    if report_type == "disposition-notification":
        return None  # a read receipt: not a delivery problem
    if (notice := _ses_notification(msg)) is not None:
        return notice
    if not report and (complaint := _jmrp_complaint(msg)) is not None:
        return complaint
    dsn = _delivery_status(msg) if report or any(p.get_content_type() in DSN_TYPES for p in _walk_leaves(msg)) \
        else None
    if dsn is not None and dsn.kind == "other":
        return dsn
    if dsn is None and not (looks_like_bounce(msg) and from_mail_system(msg)):
        return None  # X-Failed-Recipients or bounce text from a person or a forger: not a report
    text = _text_parts(msg)
    ids, returned_to = _original(msg, text)
    if dsn is not None:  # RFC 3464 says who failed and how; the rest only adds the original's ids
        diagnostic = dsn.diagnostic or _diagnostic(text)
        return Verdict(dsn.kind, dsn.reason + _diagnostic_suffix(diagnostic), failed=dsn.failed,
                       status=dsn.status, diagnostic=diagnostic,
                       original_ids=tuple(dict.fromkeys([*ids, *dsn.original_ids])),
                       original_recipients=tuple(returned_to))
    temporary, permanent = _flufl_failures(msg)
    exim = [address_of(a) for _, a in getaddresses(raw_headers(msg, "X-Failed-Recipients"))]
    subject = header_text(msg, "Subject")
    status = (STATUS.search(text) or [None, None])[1]
    delayed = (bool(temporary) and not permanent and not exim) or (
        not permanent and not exim and (bool(DELAY_TEXT.search(subject)) or bool(DELAY_TEXT.search(text[:3000]))))
    if status and status.startswith("5"):
        delayed = False
    # flufl.bounce's wording heuristics can take the quoted original's Message-ID for an address
    quoted_ids = {i.casefold() for i in ids}
    failed = tuple(a for a in dict.fromkeys([*permanent, *[a for a in exim if a], *temporary])
                   if f"<{a}>".casefold() not in quoted_ids)
    # Evidence beyond the sender: who failed, the original's Message-ID, or a bounce subject over
    # a quoted copy of the original (its To), or a 5xx reply in a message that answers a thread
    # (Apache James, as Verizon's gateways run it, sends "Re: <subject>" with In-Reply-To).
    refusal = SMTP_REPLY.search(text)
    answers_thread = bool(thread_ids(msg)) and refusal is not None and refusal.group(0).startswith("5")
    returned = bool(returned_to) and bool(BOUNCE_SUBJECT.search(subject))
    if not (failed or ids or returned or report or answers_thread) and not (
            BOUNCE_SUBJECT.search(subject) and DAEMON.match(sender_of(msg))):
        return None  # nothing to go on but a word in the subject: a person can write that too
    diagnostic = _diagnostic(text)
    source = "X-Failed-Recipients" if exim else "bounce text (flufl.bounce)" if (temporary or permanent) \
        else "bounce subject and sender"
    kind = "delayed" if delayed else "bounce"
    why = f"{'delay warning' if delayed else 'non-delivery report'} ({source})"
    if status:
        why += f", Status {status}"
    return Verdict(kind, why + _diagnostic_suffix(diagnostic), failed=failed, status=status, diagnostic=diagnostic,
                   original_ids=tuple(ids), original_recipients=tuple(returned_to))


def _ses_notification(msg: Message) -> Verdict | None:
    """An Amazon SES notification mailed by SNS (:mod:`outreach.mailbox.ses`), as a verdict."""
    sender, subject = sender_of(msg), header_text(msg, "Subject")
    if not ses.looks_like_notification(sender, subject):
        return None
    notice = ses.parse_notification(sender, subject, _text_parts(msg))
    if notice is None:
        return None
    failed = tuple(address_key(a) for a in notice.recipients)
    destination = tuple(address_key(a) for a in notice.destination)
    if notice.kind == "delivered":
        return Verdict("other", f"a delivery notification (Amazon SES): delivered to {', '.join(failed)}",
                       status=notice.status, original_ids=notice.message_ids, original_recipients=destination)
    if notice.kind == "complaint":
        return Verdict("complaint", f"abuse report (Amazon SES complaint, {notice.feedback_type})", failed=failed,
                       original_ids=notice.message_ids, original_recipients=destination,
                       diagnostic=f"Feedback-Type: {notice.feedback_type}")
    why = f"non-delivery report (Amazon SES, {notice.bounce_type} bounce)"
    if notice.status:
        why += f", Status {notice.status}"
    return Verdict("bounce", why + _diagnostic_suffix(notice.diagnostic), failed=failed, status=notice.status,
                   diagnostic=notice.diagnostic, original_ids=notice.message_ids, original_recipients=destination)


def _jmrp_complaint(msg: Message) -> Verdict | None:
    """Microsoft's feedback loop (JMRP) in its own format: not a multipart/report, the message
    marked as junk returned as message/rfc822, the complaining recipient named by its
    X-HmXmrOriginalRecipient header. Believed only with JMRP's subject ("complaint about message
    from <IP>") or from Microsoft's consumer mail domains."""
    subject, sender = header_text(msg, "Subject"), sender_of(msg)
    if not (JMRP_SUBJECT.search(subject) or sender.endswith(("@hotmail.com", "@outlook.com", "@live.com",
                                                             "@msn.com"))):
        return None
    for headers in _returned_headers(msg):
        recipient = address_of(raw_header(headers, JMRP_RECIPIENT))
        if recipient:
            ids = [i for i in message_ids(raw_header(headers, "Message-ID")) if i != own_message_id(msg)]
            to = [address_key(a) for _, a in getaddresses(raw_headers(headers, "To")) if a]
            return Verdict("complaint", f"abuse report (Microsoft JMRP, {JMRP_RECIPIENT})", failed=(recipient,),
                           original_ids=tuple(ids), original_recipients=tuple(to), diagnostic="Feedback-Type: abuse")
    return None


def _diagnostic(text: str) -> str | None:
    match = SMTP_REPLY.search(text)
    return " ".join(match.group(0).split())[:200] if match else None


def _diagnostic_suffix(diagnostic: str | None) -> str:
    return f": {diagnostic[:120]}" if diagnostic else ""


def _complaint(msg: Message) -> Verdict:
    """An RFC 5965 abuse report (ARF): a recipient marked our message as spam."""
    fields: dict[str, str] = {}
    for part in _walk_leaves(msg):
        if part.get_content_type() == "message/feedback-report":
            for block in _field_blocks(part):
                for name, value in block.items():
                    fields.setdefault(name.lower(), " ".join(str(value).split()))
    text = _text_parts(msg)
    ids, returned_to = _original(msg, text)
    rcpt = address_of(fields.get("original-rcpt-to", "")) or next(
        (found for headers in _returned_headers(msg) if (found := address_of(raw_header(headers, JMRP_RECIPIENT)))),
        "")  # Microsoft's JMRP in ARF form may name the recipient only there
    failed = (rcpt,) if rcpt else tuple(returned_to[:1])
    feedback = fields.get("feedback-type", "abuse")
    where = fields.get("reported-domain") or fields.get("user-agent") or ""
    return Verdict("complaint", f"abuse report (ARF Feedback-Type: {feedback}{', ' + where if where else ''})",
                   failed=failed, original_ids=tuple(ids), original_recipients=tuple(returned_to),
                   diagnostic=f"Feedback-Type: {feedback}")


# ------------------------------------------------------------------------------ return dates
MONTHS = {
    # English
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4, "apr": 4, "may": 5,
    "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8, "september": 9, "sept": 9, "sep": 9,
    "october": 10, "oct": 10, "november": 11, "nov": 11, "december": 12, "dec": 12,
    # German
    "januar": 1, "jänner": 1, "februar": 2, "märz": 3, "maerz": 3, "mai": 5, "juni": 6, "juli": 7,
    "oktober": 10, "okt": 10, "dezember": 12, "dez": 12,
    # French
    "janvier": 1, "février": 2, "fevrier": 2, "mars": 3, "avril": 4, "juin": 6, "juillet": 7, "août": 8,
    "aout": 8, "septembre": 9, "octobre": 10, "novembre": 11, "décembre": 12, "decembre": 12,
    # Spanish
    "enero": 1, "febrero": 2, "marzo": 3, "abril": 4, "mayo": 5, "junio": 6, "julio": 7, "agosto": 8,
    "septiembre": 9, "setiembre": 9, "octubre": 10, "noviembre": 11, "diciembre": 12,
    # Italian
    "gennaio": 1, "febbraio": 2, "aprile": 4, "maggio": 5, "giugno": 6, "luglio": 7, "settembre": 9,
    "ottobre": 10, "dicembre": 12,
    # Portuguese
    "janeiro": 1, "fevereiro": 2, "março": 3, "maio": 5, "junho": 6, "julho": 7, "setembro": 9,
    "outubro": 10, "novembro": 11, "dezembro": 12,
    # Dutch
    "januari": 1, "februari": 2, "maart": 3, "mei": 5, "augustus": 8,
}
WEEKDAYS = {
    "monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4, "saturday": 5, "sunday": 6,
    "montag": 0, "dienstag": 1, "mittwoch": 2, "donnerstag": 3, "freitag": 4, "samstag": 5, "sonntag": 6,
    "lundi": 0, "mardi": 1, "mercredi": 2, "jeudi": 3, "vendredi": 4, "samedi": 5, "dimanche": 6,
    "lunes": 0, "martes": 1, "miércoles": 2, "miercoles": 2, "jueves": 3, "viernes": 4, "sábado": 5,
    "domingo": 6,
}
_MONTH = "|".join(sorted(map(re.escape, MONTHS), key=len, reverse=True))
_ORDINAL = r"(?:st|nd|rd|th|er|e|º|°|\.)?"
DATE_PATTERNS = [
    ("iso", re.compile(r"\b(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})\b")),
    ("numeric", re.compile(r"\b(?P<a>\d{1,2})(?P<sep>[./-])(?P<b>\d{1,2})(?:(?P=sep)(?P<y>\d{4}|\d{2})\b|\.(?!\d))")),
    ("day-month", re.compile(rf"\b(?P<d>\d{{1,2}}){_ORDINAL}\s*(?:de\s+|of\s+)?(?P<mon>{_MONTH})\b\.?"
                             rf"(?:,?\s*(?:de\s+)?(?P<y>\d{{4}})\b)?", re.IGNORECASE)),
    ("month-day", re.compile(rf"\b(?P<mon>{_MONTH})\b\.?\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\b"
                             rf"(?:,?\s*(?P<y>\d{{4}})\b)?", re.IGNORECASE)),
]
WEEKDAY = re.compile(r"\b(" + "|".join(sorted(map(re.escape, WEEKDAYS), key=len, reverse=True)) + r")\b",
                     re.IGNORECASE)
# Words after which a date is the return date (or the last day away), and how far before the
# date they may stand. English first: its triggers also decide month/day order for 01/02/2027.
TRIGGERS_EN = re.compile(
    r"\b(?:until|till|til|through|thru|back (?:in the office |at work |at my desk )?(?:on|by)?|"
    r"return(?:ing)?(?: to the office| to work)?(?: on)?|returns?(?: on)?|available again(?: on| from)?|"
    r"resume(?: on)?|away to)\b", re.IGNORECASE)
TRIGGERS_OTHER = re.compile(
    r"\b(?:bis(?: einschließlich| einschliesslich| zum| am)?|zurück(?: am| ab)?|wieder (?:im büro |erreichbar )?"
    r"(?:am|ab)|ab dem|"                                              # German
    r"jusqu['’]?(?:au|à)|de retour(?: le| à partir du)?|retour le|à partir du|"  # French
    r"hasta(?: el)?|regreso(?: el)?|de vuelta(?: el)?|volveré(?: el)?|a partir del|"  # Spanish
    r"fino al|rientro(?: il)?|rientrerò(?: il)?|"                     # Italian
    r"até(?: o dia| dia)?|retorno(?: em| no dia)?|"                   # Portuguese
    r"tot en met|tot|terug op)\b", re.IGNORECASE)
RANGE = re.compile(r"^\s*(?:-|–|—|to|bis|au|al|à|a|hasta|until|till|through)\s*$", re.IGNORECASE)
# The end of a range whose start is not a date on its own: "from the 5th to 12 January".
RANGE_END = re.compile(r"(?:\bto|\bbis|\bau|\bal|\ba|-|–|—)\s*$", re.IGNORECASE)
TRIGGER_REACH = 40


def _resolve(day: int, month: int, year: int | None, reference: date) -> date | None:
    if year is not None and year < 100:
        year += 2000
    try:
        value = date(year or reference.year, month, day)
    except ValueError:
        return None
    if year is None and value < reference - timedelta(days=30):
        try:
            value = value.replace(year=value.year + 1)
        except ValueError:
            return None
    return value


def _dates(text: str, reference: date, us_order: bool) -> list[tuple[int, int, date]]:
    """(start, end, date) of every date written in ``text``."""
    found: dict[int, tuple[int, int, date]] = {}
    for kind, pattern in DATE_PATTERNS:
        for m in pattern.finditer(text):
            if any(s <= m.start() < e for s, e, _ in found.values()):
                continue
            g = m.groupdict()
            year = int(g["y"]) if g.get("y") else None
            if kind == "iso":
                value = _resolve(int(g["d"]), int(g["m"]), year, reference)
            elif kind == "numeric":
                a, b = int(g["a"]), int(g["b"])
                if g["sep"] == "/" and us_order and b <= 31 and a <= 12:
                    a, b = b, a
                if g["sep"] != "." and year is None:
                    continue  # 3/4 or 3-4 without a year: a fraction or a range, not a date
                value = _resolve(a, b, year, reference)
            else:
                value = _resolve(int(g["d"]), MONTHS[g["mon"].lower()], year, reference)
            if value is not None:
                found[m.start()] = (m.start(), m.end(), value)
    return sorted(found.values())


def return_date(text: str, reference: date) -> date | None:
    """The date an out-of-office message says its writer is back (or away until), or None.

    A date counts when a trigger word stands just before it ("until", "back on", "bis zum",
    "jusqu'au", "hasta el", ...) or when it ends a range ("from 5 to 12 January"). Dates without
    a year take the next occurrence after the message; 01/02/2027 is read month first when the
    trigger is English, day first otherwise. A weekday ("back on Monday") is the next such day.
    """
    text = text[:MAX_TEXT]
    triggers = [(m.end(), True) for m in TRIGGERS_EN.finditer(text)]
    triggers += [(m.end(), False) for m in TRIGGERS_OTHER.finditer(text)]
    us_order = any(english for _, english in triggers) and not any(not english for _, english in triggers)
    dates = _dates(text, reference, us_order)
    earliest = reference - timedelta(days=1)
    for index, (start, end, value) in enumerate(dates):
        if value < earliest or value > reference + timedelta(days=400):
            continue
        preceded = any(0 <= start - t <= TRIGGER_REACH and not _date_between(dates, t, start) for t, _ in triggers)
        if not (preceded or RANGE_END.search(text[max(0, start - 6):start])):
            continue
        # "until 5 January - 12 January": the end of a range wins.
        if index + 1 < len(dates) and RANGE.match(text[end:dates[index + 1][0]]) and dates[index + 1][2] >= value:
            return dates[index + 1][2]
        return value
    for m in WEEKDAY.finditer(text):
        if any(0 <= m.start() - t <= 12 for t, _ in triggers):
            days = (WEEKDAYS[m.group(1).lower()] - reference.weekday()) % 7 or 7
            return reference + timedelta(days=days)
    return None


def _date_between(dates, start: int, end: int) -> bool:
    return any(start <= s and e <= end for s, e, _ in dates)


# ---------------------------------------------------------------------------------- classify
OPENING = 300  # characters of the body where an out-of-office notice states itself
SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n\s*\n")


def _out_of_office_text(msg: Message, written: datetime | None) -> tuple[str, bool] | None:
    """An out-of-office notice sent without auto-reply headers (some servers and plug-ins do).

    Both must stand in the body's first two sentences: an out-of-office phrase and a return
    date ("Thank you for your email. I am out of the office until 15 January"). A person's reply
    that mentions a trip later on, or without a date, is still a reply: when unsure, the safer
    reading is that they answered."""
    opening = " ".join(SENTENCE_END.split(body_text(msg).lstrip()[:OPENING], maxsplit=2)[:2])
    phrase = OUT_OF_OFFICE.search(opening)
    if not phrase:
        return None
    sent = (written or datetime.now(UTC)).date()
    if return_date(opening, sent) is None:
        return None
    return f"out-of-office text in the body ({phrase.group(0).strip()!r}, with a return date)", True


def body_text(msg: Message) -> str:
    """The readable text of a message: its text parts, HTML stripped, capped."""
    return _text_parts(msg)


def classify(msg: Message, arrived: datetime | None = None) -> Verdict:
    """Classify a parsed message (headers only is enough for replies; reports need the body).
    ``arrived``: when the server received it, if known (see :func:`date_of`)."""
    subject = header_text(msg, "Subject")
    # What every verdict carries from the headers; each outcome below replaces kind and reason.
    seen = Verdict("other", "", sender=sender_of(msg), subject=subject, message_id=own_message_id(msg),
                   written_at=date_of(msg, arrived), thread_ids=thread_ids(msg))
    report = _bounce(msg)
    if report is not None:
        return replace(report, sender=seen.sender, subject=subject, message_id=seen.message_id,
                       written_at=seen.written_at, thread_ids=seen.thread_ids)
    auto = auto_reply_reason(msg) or _out_of_office_text(msg, seen.written_at)
    if auto:
        reason, answers = auto
        if answers or seen.thread_ids or is_reply_subject(subject):
            sent = (seen.written_at or datetime.now(UTC)).date()
            until = return_date(f"{subject}\n{body_text(msg)}", sent)
            return replace(seen, kind="auto-reply", reason=reason, until=until)
        return replace(seen, reason=f"machine-made ({reason}) and not an answer to anything")
    if msg.get_content_type() == "multipart/report":
        kind = _report_type(msg) or "unknown"
        return replace(seen, reason=f"a {kind} report (read receipt or notification), not a reply")
    if seen.thread_ids:
        header = "In-Reply-To" if message_ids(raw_header(msg, "In-Reply-To")) else "References"
        return replace(seen, kind="reply", reason=f"written by a person ({header} points to a thread)")
    if is_reply_subject(subject):
        return replace(seen, kind="reply", reason="written by a person (a reply subject, no thread headers)")
    return replace(seen, reason="a person's new message, in no thread: a reply when it is from someone you wrote to",
                   fresh=True)
