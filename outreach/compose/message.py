"""A rendered :class:`Draft` becomes an RFC 5322 message, with the standard library only.

The headers that hold user text are encoded and folded by :mod:`outreach.compose.headers`; the
``email`` package writes the rest (MIME structure, Date, Message-ID). The finished message is
parsed back before anyone sees it: if its headers differ from what was rendered, it is refused.
"""

from __future__ import annotations

import email.headerregistry
import email.policy
import functools
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

from outreach.compose import headers
from outreach.compose.templates import Draft, guess_mime_type
from outreach.errors import UserError


class _CachingHeaderRegistry(email.headerregistry.HeaderRegistry):
    """The standard registry, but it makes each header class once: the stock one builds a new
    class on every lookup, which was 40% of the time to build a message."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._classes: dict[str, type] = {}

    def __getitem__(self, name: str) -> type:
        key = name.lower()
        made = self._classes.get(key)
        if made is None:
            made = self._classes[key] = super().__getitem__(name)
        return made


# CRLF on the wire and in .eml files: what RFC 5322 says and what Outlook opens best.
# Lines fold at the advised 78. CPython 3.11's folder drops the space between words when it
# splits a non-ASCII header into several encoded words (measured: 1,056 of 3,000 random long
# non-ASCII subjects lost a space at 78), so the headers that hold user text never go through
# it: headers.py encodes and folds them itself. What the library still folds is ASCII (Message-ID,
# References, MIME parameters, where a non-ASCII file name is RFC 2231, not encoded words).
MAX_BODY_LINE = 78  # the policy's max_line_length: quoted-printable lines too
POLICY = email.policy.SMTP.clone(max_line_length=MAX_BODY_LINE, header_factory=_CachingHeaderRegistry())
# A Message-ID as the email package writes it unchanged: no quoting, nothing it decodes (``=?``).
PLAIN_MESSAGE_ID = re.compile(r"<[A-Za-z0-9!#$%&'*+/^_`{|}~.-]+@[A-Za-z0-9!#$%&'*+/^_`{|}~.-]+>")


def make_message_id(sender: Address) -> str:
    """A unique Message-ID on the sender's domain: what replies will point back to."""
    return f"<{uuid.uuid4().hex}@{sender.domain}>"


def markdown_to_html(text: str) -> str:
    from markdown_it import MarkdownIt  # only Markdown templates pay for the import

    body = MarkdownIt("commonmark", {"html": False}).render(text)
    return f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"></head><body>\n{body}</body></html>\n'


@dataclass(frozen=True)
class Envelope:
    """What a message carries besides its draft and sender: its identity, its date, the thread
    it answers, and whether an .eml is marked as an editable draft (``unsent``, for Outlook)."""

    message_id: str
    date: datetime
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    unsent: bool = False


def build_message(draft: Draft, sender: Address, envelope: Envelope) -> EmailMessage:
    """The MIME message for ``draft``."""
    msg = EmailMessage(policy=POLICY)
    for header in headers.email_headers(draft, sender):
        msg[header.name] = header
    msg["Date"] = format_datetime(envelope.date)
    msg["Message-ID"] = envelope.message_id
    if envelope.in_reply_to:
        msg["In-Reply-To"] = envelope.in_reply_to
        msg["References"] = " ".join((*envelope.references, envelope.in_reply_to))
    if envelope.unsent:
        msg["X-Unsent"] = "1"
    msg.set_content(draft.text, cte=_transfer_encoding(draft.text))
    if draft.markdown:
        msg.add_alternative(markdown_to_html(draft.text), subtype="html")
    for path in draft.attachments:
        maintype, subtype = guess_mime_type(path)
        msg.add_attachment(path.read_bytes(), maintype=maintype, subtype=subtype, filename=path.name)
    refuse_changed_headers(msg, draft, sender)
    return msg


def message_bytes(draft: Draft, sender: Address, envelope: Envelope) -> bytes:
    """``build_message(...).as_bytes()``: the same bytes, written here for the usual message (plain
    text, no attachment, every header proven to read back as rendered, Message-IDs of plain
    characters on lines that need no folding) without the ``email`` package, which spent 1 ms a
    message building and writing it twice. Any other message is built by :func:`build_message`.
    tests/compose/test_message_bytes.py checks that both write the same bytes."""
    raw = _plain_message(draft, sender, envelope)
    if raw is not None:
        return raw
    return build_message(draft, sender, envelope).as_bytes()


def _plain_message(draft: Draft, sender: Address, envelope: Envelope) -> bytes | None:
    """The message's bytes, or None when it is not one this writes (see :func:`message_bytes`)."""
    if draft.markdown or draft.attachments:
        return None
    written = headers.user_headers(draft, sender)
    if any(w.reads_as is None for w in written) or headers.written_problem(draft, sender, written) is not None:
        return None  # build_message parses it back, and says which header changed
    message_id, in_reply_to = envelope.message_id, envelope.in_reply_to
    ours = [f"Date: {_date(envelope.date)}", f"Message-ID: {message_id}"]
    if in_reply_to:
        ids = [message_id, *envelope.references, in_reply_to]
        ours += [f"In-Reply-To: {in_reply_to}", f"References: {' '.join(ids[1:])}"]
        if not all(PLAIN_MESSAGE_ID.fullmatch(each) for each in ids) or any(len(line) > headers.MAX_LINE
                                                                            for line in ours):
            return None  # the email package would quote or fold them
    elif not PLAIN_MESSAGE_ID.fullmatch(message_id) or len(ours[1]) > headers.MAX_LINE:
        return None
    if envelope.unsent:
        ours.append("X-Unsent: 1")
    cte = _transfer_encoding(draft.text)
    lines = [line for header in written for line in header.lines]
    lines += [*ours, 'Content-Type: text/plain; charset="utf-8"', f"Content-Transfer-Encoding: {cte}",
              "MIME-Version: 1.0", ""]
    return "\r\n".join(lines).encode("ascii") + b"\r\n" + _body(draft.text, cte)


@functools.lru_cache(maxsize=4)  # draft writes a batch of messages with one date
def _date(date: datetime) -> str:
    return format_datetime(date)


def _body(text: str, cte: str) -> bytes:
    """The body as the email package encodes it with ``cte`` and writes it: its lines (split at CR,
    LF or CRLF) each ending in CRLF."""
    lines = text.encode("utf-8").splitlines()
    if cte == "7bit":
        return b"\r\n".join(lines) + b"\r\n"  # no line: a blank one
    from email import quoprimime

    encoded = quoprimime.body_encode((b"\n".join(lines) + b"\n").decode("latin-1"), MAX_BODY_LINE)
    return re.sub(r"\r\n|\r|\n", "\r\n", encoded).encode("ascii")


def refuse_changed_headers(msg: EmailMessage, draft: Draft, sender: Address) -> None:
    """The last guard: the bytes, parsed back, have the headers and addresses that were rendered.

    ``Template.render`` makes the same check on the header block, naming the row and column, so
    this only fires if something between rendering and here changed a header."""
    wanted = {**dict.fromkeys(msg.keys()), **headers.expected(draft, sender)}
    changed = headers.round_trip_problem(msg.as_bytes(), wanted)
    if changed:
        raise UserError(f"line {draft.contact.line}: the {changed} header would not read back as written; "
                        "refused, so no cell can add or change a header")


def _transfer_encoding(text: str) -> str:
    """7bit for ASCII, quoted-printable otherwise: readable in raw form, safe through any relay."""
    if text.isascii() and (len(text) <= 998 or max(map(len, text.split("\n"))) <= 998):
        return "7bit"
    return "quoted-printable"
