"""A rendered :class:`Draft` becomes an RFC 5322 message, with the standard library only.

The ``email`` package's default policy encodes non-ASCII display names and subjects as RFC 2047
words, folds long headers, and refuses CR/LF in header values, so what we write parses back to
what the user previewed.
"""

from __future__ import annotations

import email.headerregistry
import email.policy
import uuid
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

from outreach.compose.templates import Draft, guess_mime_type


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
# Lines may run to RFC 5322's hard limit of 998 rather than the advised 78: CPython 3.11's folder
# drops the space between words when it splits a non-ASCII header into several encoded words
# (measured: 1,056 of 3,000 random long non-ASCII subjects lost a space at 78, none at 998).
# templates.MAX_HEADER_CHARS keeps every header short enough that it never needs folding.
POLICY = email.policy.SMTP.clone(max_line_length=998, header_factory=_CachingHeaderRegistry())


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
    msg["From"] = sender
    msg["To"] = draft.to
    if draft.cc:
        msg["Cc"] = draft.cc
    if draft.bcc:
        msg["Bcc"] = draft.bcc
    if draft.reply_to:
        msg["Reply-To"] = draft.reply_to
    msg["Subject"] = draft.subject
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
    return msg


def _transfer_encoding(text: str) -> str:
    """7bit for ASCII, quoted-printable otherwise: readable in raw form, safe through any relay."""
    return "7bit" if text.isascii() and all(len(line) <= 998 for line in text.split("\n")) else "quoted-printable"
