"""A rendered :class:`Draft` becomes an RFC 5322 message, with the standard library only.

The headers that hold user text are encoded and folded by :mod:`outreach.compose.headers`; the
``email`` package writes the rest (MIME structure, Date, Message-ID). The finished message is
parsed back before anyone sees it: if its headers differ from what was rendered, it is refused.
"""

from __future__ import annotations

import email.headerregistry
import email.policy
import uuid
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
POLICY = email.policy.SMTP.clone(max_line_length=78, header_factory=_CachingHeaderRegistry())


def make_message_id(sender: Address) -> str:
    """A unique Message-ID on the sender's domain: what replies will point back to."""
    return f"<{uuid.uuid4().hex}@{sender.domain}>"


def markdown_to_html(text: str) -> str:
    from markdown_it import MarkdownIt  # only Markdown templates pay for the import

    body = MarkdownIt("commonmark", {"html": False}).render(text)
    return f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"></head><body>\n{body}</body></html>\n'


def build_message(
    draft: Draft,
    sender: Address,
    message_id: str,
    date: datetime,
    *,
    in_reply_to: str | None = None,
    references: tuple[str, ...] = (),
    unsent: bool = False,
) -> EmailMessage:
    """The MIME message for ``draft``. ``unsent`` marks an .eml as an editable draft (Outlook)."""
    msg = EmailMessage(policy=POLICY)
    for header in headers.email_headers(draft, sender):
        msg[header.name] = header
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = message_id
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
        msg["References"] = " ".join((*references, in_reply_to))
    if unsent:
        msg["X-Unsent"] = "1"
    msg.set_content(draft.text, cte=_transfer_encoding(draft.text))
    if draft.markdown:
        msg.add_alternative(markdown_to_html(draft.text), subtype="html")
    for path in draft.attachments:
        maintype, subtype = guess_mime_type(path)
        msg.add_attachment(path.read_bytes(), maintype=maintype, subtype=subtype, filename=path.name)
    refuse_changed_headers(msg, draft, sender)
    return msg


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
    return "7bit" if text.isascii() and all(len(line) <= 998 for line in text.split("\n")) else "quoted-printable"
