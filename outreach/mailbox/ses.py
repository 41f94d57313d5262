"""Amazon SES notifications: bounces, complaints and deliveries mailed as JSON.

SES describes each outcome as one JSON object (AWS SES Developer Guide, "Amazon SNS notification
contents for Amazon SES"): ``notificationType`` (``eventType`` with event publishing) is
``Bounce``, ``Complaint`` or ``Delivery``; ``mail`` describes the original message (its
``headers`` as name/value pairs, the Message-ID among them, ``commonHeaders``, ``destination``);
``bounce`` has ``bounceType`` (``Permanent``, ``Transient``, ``Undetermined``) and
``bouncedRecipients``, each with ``emailAddress`` and, when SES knows them, ``action``,
``status`` and ``diagnosticCode``; ``complaint`` has ``complainedRecipients`` and
``complaintFeedbackType``; ``delivery`` has ``recipients`` and ``smtpResponse``. An SNS e-mail
subscription mails it from ``no-reply@sns.amazonaws.com`` with the subject "AWS Notification
Message", as the body: bare (``email``), or as the string ``Message`` of SNS's own envelope
(``email-json``). Fields not named here are ignored, as AWS asks of parsers.

Pure: a message's sender, subject and body text in, a :class:`Notice` (or None) out;
:mod:`outreach.mailbox.classify` turns it into a verdict.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

SENDER = re.compile(r"@(?:[\w-]+\.)*(?:amazonses\.com|amazonaws\.com)$", re.IGNORECASE)
SUBJECT = "AWS Notification Message"
KINDS = {"bounce": "bounce", "complaint": "complaint", "delivery": "delivered"}
# sendmail breaks a line longer than its limit (990 octets) with "!" and a new line; a JSON
# document on one line arrives that way through some relays.
_BROKEN_LINE = re.compile(r"!\r?\n ?")
_ENHANCED = re.compile(r"\b([245]\.\d{1,3}\.\d{1,3})\b")


@dataclass(frozen=True)
class Notice:
    """One SES notification: ``kind`` is bounce, complaint or delivered."""

    kind: str
    bounce_type: str = ""                 # Permanent | Transient | Undetermined (bounces)
    recipients: tuple[str, ...] = ()      # who bounced, complained or received it
    status: str | None = None
    diagnostic: str | None = None
    feedback_type: str | None = None      # complaints
    message_ids: tuple[str, ...] = ()     # the original's Message-ID header
    destination: tuple[str, ...] = ()     # the original's envelope recipients


def looks_like_notification(sender: str, subject: str) -> bool:
    """Headers alone: an SES notification mailed by SNS (worth reading the body of)."""
    return bool(SENDER.search(sender)) and " ".join(subject.split()) == SUBJECT


def parse_notification(sender: str, subject: str, text: str) -> Notice | None:
    """The notification in a message's body, or None when it holds none."""
    if not looks_like_notification(sender, subject):
        return None
    data = _json_object(text)
    if isinstance(data, dict) and isinstance(data.get("Message"), str):  # SNS's envelope (email-json)
        data = _json_object(data["Message"])
    if not isinstance(data, dict):
        return None
    kind = KINDS.get(str(data.get("notificationType") or data.get("eventType") or "").lower())
    if kind is None:
        return None
    mail = _mapping(data.get("mail"))
    ids = tuple(value for header in _records(mail.get("headers"))
                if str(header.get("name", "")).lower() == "message-id"
                for value in re.findall(r"<[^<>\s]+>", str(header.get("value", ""))))
    common_id = str(_mapping(mail.get("commonHeaders")).get("messageId") or "")
    ids += tuple(i for i in re.findall(r"<[^<>\s]+>", common_id) if i not in ids)
    destination = tuple(str(a) for a in mail.get("destination") or () if isinstance(a, str))
    if kind == "bounce":
        return _bounce(_mapping(data.get("bounce")), ids, destination)
    if kind == "complaint":
        complaint = _mapping(data.get("complaint"))
        return Notice("complaint", recipients=_addresses(complaint.get("complainedRecipients")),
                      feedback_type=str(complaint.get("complaintFeedbackType") or "abuse"),
                      message_ids=ids, destination=destination)
    delivery = _mapping(data.get("delivery"))
    response = str(delivery.get("smtpResponse") or "")
    code = _ENHANCED.search(response)
    return Notice("delivered", recipients=tuple(str(a) for a in delivery.get("recipients") or ()
                                                if isinstance(a, str)),
                  status=code.group(1) if code else "2.0.0", diagnostic=response or None, message_ids=ids,
                  destination=destination)


def _bounce(bounce: dict, ids: tuple[str, ...], destination: tuple[str, ...]) -> Notice:
    """A bounce. Only ``Permanent`` is about the address: a ``Transient`` one (a full mailbox, a
    message too large, content refused) and an ``Undetermined`` one get RFC 3463's "persistent
    transient failure", 4.0.0, when SES gives no status, so that they suppress nobody."""
    recipients = _records(bounce.get("bouncedRecipients"))
    bounce_type = str(bounce.get("bounceType") or "Undetermined")
    statuses = [m.group(1) for r in recipients if (m := _ENHANCED.search(str(r.get("status") or "")))]
    status = statuses[0] if statuses else (None if bounce_type == "Permanent" else "4.0.0")
    diagnostic = next((str(r["diagnosticCode"]).split(";", 1)[-1].strip() for r in recipients
                       if r.get("diagnosticCode")), None)
    return Notice("bounce", bounce_type, _addresses(recipients), status, diagnostic, message_ids=ids,
                  destination=destination)


def _json_object(text: str) -> object:
    """The first JSON object in ``text`` (a mailed body may have a signature after it)."""
    start = text.find("{")
    if start < 0:
        return None
    for candidate in (text[start:], _BROKEN_LINE.sub("", text[start:])):
        try:
            return json.JSONDecoder().raw_decode(candidate)[0]
        except ValueError:
            continue
    return None


def _mapping(value: object) -> dict:
    return value if isinstance(value, dict) else {}


def _records(value: object) -> list[dict]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _addresses(value: object) -> tuple[str, ...]:
    return tuple(str(item["emailAddress"]) for item in _records(value) if item.get("emailAddress"))
