"""Incoming mail as real clients and mail servers write it, for classification and sync tests.

Each builder takes the :class:`Sent` message it answers (or reports on) and returns the raw bytes
(CRLF) of the incoming message. The header layouts follow what the named software emits:
header order, Message-ID shapes, ``Thread-Index`` and friends, the MIME structure of delivery
reports, and the wording that heuristic bounce detectors key on. Addresses and hosts are on
reserved example domains.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from email.header import Header
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formatdate

SENDER = "asha.rao@example.org"
SENDER_NAME = "Asha Rao"


@dataclass
class Sent:
    """A message we sent: what replies and reports point back to."""

    message_id: str
    to: str
    subject: str
    raw: bytes
    sender: str = SENDER

    @property
    def headers(self) -> str:
        return self.raw.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace")


def outgoing(to: str, subject: str = "Prospective IMG collaborator interested in stroke radiology research",
             *, message_id: str | None = None, sender: str = SENDER, when: datetime | None = None) -> Sent:
    """Our own message, as outreach would have sent it."""
    message_id = message_id or f"<{uuid.uuid4().hex}@example.org>"
    m = EmailMessage(policy=SMTP)
    m["From"] = f"{SENDER_NAME} <{sender}>"
    m["To"] = to
    m["Subject"] = subject
    m["Date"] = format_datetime(when or datetime.now(timezone.utc) - timedelta(days=3))
    m["Message-ID"] = message_id
    m.set_content("Dear Dr. Chen,\n\nI am an IMG applicant interested in your stroke imaging work.\n\nBest,\nAsha\n")
    return Sent(message_id, to, subject, m.as_bytes(), sender)


def _now(when: datetime | None = None) -> str:
    return format_datetime(when or datetime.now(timezone.utc))


def _join(lines: list[str]) -> bytes:
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def _crlf(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\n", "\r\n")


def _msgid(domain: str) -> str:
    return f"<{uuid.uuid4().hex.upper()}@{domain}>"


def _encoded(subject: str) -> str:
    return subject if subject.isascii() else Header(subject, "utf-8").encode()


# ----------------------------------------------------------------------------------- replies
def gmail_reply(sent: Sent, from_addr: str | None = None, name: str = "Jane Chen",
                body: str = "Hi Asha,\n\nHappy to talk. Are you free Thursday?\n\nJane") -> bytes:
    """Gmail web: References before In-Reply-To, CA...@mail.gmail.com ids, multipart/alternative."""
    from_addr = from_addr or sent.to
    boundary = "000000000000" + uuid.uuid4().hex[:12]
    return _join([
        "MIME-Version: 1.0",
        f"References: {sent.message_id}",
        f"In-Reply-To: {sent.message_id}",
        f"From: {name} <{from_addr}>",
        f"Date: {_now()}",
        f"Message-ID: <CAF{uuid.uuid4().hex}+{uuid.uuid4().hex[:8]}@mail.gmail.com>",
        f"Subject: {_encoded('Re: ' + sent.subject)}",
        f"To: {SENDER_NAME} <{sent.sender}>",
        f'Content-Type: multipart/alternative; boundary="{boundary}"',
        "",
        f"--{boundary}",
        'Content-Type: text/plain; charset="UTF-8"',
        "",
        _crlf(body),
        "",
        f"On Sun, Nov 22, 2026 at 4:00 PM {SENDER_NAME} <{sent.sender}> wrote:",
        "> Dear Dr. Chen,",
        "",
        f"--{boundary}",
        'Content-Type: text/html; charset="UTF-8"',
        "",
        f'<div dir="ltr">{body}</div>',
        "",
        f"--{boundary}--",
    ])


def outlook_reply(sent: Sent, from_addr: str | None = None, *, threading: bool = True,
                  name: str = "Okafor, Michael") -> bytes:
    """Exchange Online / Outlook desktop: "RE:", Thread-Topic/Thread-Index, namprd ids.
    ``threading=False`` drops In-Reply-To and References, as some Outlook paths do."""
    from_addr = from_addr or sent.to
    boundary = f"_000_BY5PR04MB6978{uuid.uuid4().hex[:8].upper()}_"
    host = "BY5PR04MB6978.namprd04.prod.outlook.com"
    lines = [
        f'From: "{name}" <{from_addr}>',
        f"To: {SENDER_NAME} <{sent.sender}>",
        f"Subject: {_encoded('RE: ' + sent.subject)}",
        f"Thread-Topic: {_encoded(sent.subject)}",
        "Thread-Index: AQHZ8k3mYc2x4Lq0S0u3fQ5E6wB1Ww==",
        f"Date: {_now()}",
        f"Message-ID: <{uuid.uuid4().hex.upper()}@{host}>",
    ]
    if threading:
        lines += [f"References: {sent.message_id}", f"In-Reply-To: {sent.message_id}"]
    lines += [
        "Accept-Language: en-US",
        "Content-Language: en-US",
        "X-MS-Has-Attach:",
        "X-MS-TNEF-Correlator:",
        "x-ms-publictraffictype: Email",
        f'Content-Type: multipart/alternative; boundary="{boundary}"',
        "MIME-Version: 1.0",
        "",
        f"--{boundary}",
        'Content-Type: text/plain; charset="us-ascii"',
        "Content-Transfer-Encoding: quoted-printable",
        "",
        "Dear Asha,",
        "",
        "Thank you for reaching out. Please send me your CV.",
        "",
        "Michael",
        "",
        "________________________________",
        f"From: {SENDER_NAME} <{sent.sender}>",
        "Sent: Sunday, November 22, 2026 4:00 PM",
        f"To: {name} <{sent.to}>",
        f"Subject: {sent.subject}",
        "",
        f"--{boundary}",
        'Content-Type: text/html; charset="us-ascii"',
        "Content-Transfer-Encoding: quoted-printable",
        "",
        "<html><body><p>Dear Asha,</p><p>Thank you for reaching out.</p></body></html>",
        "",
        f"--{boundary}--",
    ]
    return _join(lines)


def apple_mail_reply(sent: Sent, from_addr: str | None = None, name: str = "Priya Natarajan") -> bytes:
    """Apple Mail (macOS/iOS): "Message-Id", Mime-Version with the build, X-Mailer, QP text."""
    from_addr = from_addr or sent.to
    return _join([
        "Content-Type: text/plain;",
        "\tcharset=utf-8",
        "Mime-Version: 1.0 (Mac OS X Mail 16.0 \\(3774.300.61.1.2\\))",
        f"Subject: {_encoded('Re: ' + sent.subject)}",
        f"From: {name} <{from_addr}>",
        f"In-Reply-To: {sent.message_id}",
        f"Date: {_now()}",
        "Content-Transfer-Encoding: quoted-printable",
        f"Message-Id: <{str(uuid.uuid4()).upper()}@icloud.com>",
        f"References: <older-thread-{uuid.uuid4().hex[:6]}@example.edu>",
        f" {sent.message_id}",
        f"To: {SENDER_NAME} <{sent.sender}>",
        "X-Mailer: Apple Mail (2.3774.300.61.1.2)",
        "",
        "Hi Asha,",
        "",
        "Yes, I have a project that could use help with image annotation. Let=E2=80=99s talk.",
        "",
        "Priya",
        "",
        f"> On Nov 22, 2026, at 4:00 PM, {SENDER_NAME} <{sent.sender}> wrote:",
        "> =",
    ])


def references_only_reply(sent: Sent, from_addr: str) -> bytes:
    """A reply that carries References but no In-Reply-To (some webmails)."""
    m = EmailMessage(policy=SMTP)
    m["From"] = from_addr
    m["To"] = sent.sender
    m["Subject"] = "Re: " + sent.subject
    m["Date"] = _now()
    m["Message-ID"] = _msgid("webmail.example.net")
    m["References"] = sent.message_id
    m.set_content("Forwarding to my assistant; she will schedule a call.\n")
    return m.as_bytes()


def subject_only_reply(sent: Sent) -> bytes:
    """A reply whose client kept no thread headers: only the address and "Re:" tie it to us."""
    return outlook_reply(sent, threading=False)


# ------------------------------------------------------------------------------ auto-replies
def gmail_vacation(sent: Sent, back: date, name: str = "Jane Chen") -> bytes:
    """Gmail's vacation responder: Auto-Submitted: auto-replied, threaded, English."""
    boundary = "000000000000" + uuid.uuid4().hex[:12]
    when = f"{back:%B} {back.day}, {back.year}"
    return _join([
        "MIME-Version: 1.0",
        f"References: {sent.message_id}",
        f"In-Reply-To: {sent.message_id}",
        f"From: {name} <{sent.to}>",
        f"Date: {_now()}",
        f"Message-ID: <CAF{uuid.uuid4().hex}@mail.gmail.com>",
        f"Subject: {_encoded('Re: ' + sent.subject)}",
        f"To: {sent.sender}",
        "Auto-Submitted: auto-replied",
        f'Content-Type: multipart/alternative; boundary="{boundary}"',
        "",
        f"--{boundary}",
        'Content-Type: text/plain; charset="UTF-8"',
        "",
        f"I'm travelling until {when} with limited access to email.",
        "I will reply when I am back.",
        "",
        f"--{boundary}--",
    ])


def _exchange_ooo(sent: Sent, prefix: str, text: str, *, threading: bool = True) -> bytes:
    host = "DM6PR11MB4545.namprd11.prod.outlook.com"
    lines = [
        f"From: Dr. Example <{sent.to}>",
        f"To: {SENDER_NAME} <{sent.sender}>",
        f"Subject: {_encoded(prefix + sent.subject)}",
        f"Thread-Topic: {_encoded(sent.subject)}",
        "Thread-Index: AQHZ8k3mYc2x4Lq0S0u3fQ5E6wB1W7Aa",
        f"Date: {_now()}",
        f"Message-ID: <{uuid.uuid4().hex.upper()}@{host}>",
    ]
    if threading:
        lines += [f"References: {sent.message_id}", f"In-Reply-To: {sent.message_id}"]
    lines += [
        "Auto-Submitted: auto-generated",
        "X-Auto-Response-Suppress: All",
        f"X-MS-Exchange-Inbox-Rules-Loop: {sent.to}",
        "Content-Language: en-US",
        "Content-Type: text/plain; charset=\"utf-8\"",
        "Content-Transfer-Encoding: 8bit",
        "MIME-Version: 1.0",
        "",
        _crlf(text),
    ]
    return _join(lines)


def outlook_ooo_english(sent: Sent, back: date) -> bytes:
    text = (f"Thank you for your email. I am out of the office until {back:%A}, {back:%B} {back.day}, {back.year} "
            "with limited access to email. For urgent matters please contact the residency office.")
    return _exchange_ooo(sent, "Automatic reply: ", text)


def outlook_ooo_german(sent: Sent, back: date) -> bytes:
    text = (f"Vielen Dank für Ihre Nachricht. Ich bin bis einschließlich {back:%d.%m.%Y} nicht im Büro "
            "und habe nur eingeschränkt Zugriff auf meine E-Mails. In dringenden Fällen wenden Sie sich "
            "bitte an das Sekretariat.")
    return _exchange_ooo(sent, "Automatische Antwort: ", text)


FRENCH_MONTHS = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
                 "novembre", "décembre"]
SPANISH_MONTHS = ["enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre",
                  "noviembre", "diciembre"]


def french_ooo(sent: Sent, back: date) -> bytes:
    """Outlook in French, without thread headers: matched by address and subject."""
    text = (f"Bonjour,\n\nJe suis absente du bureau jusqu'au {back.day} {FRENCH_MONTHS[back.month - 1]} "
            f"{back.year} inclus. Je répondrai à votre message dès mon retour.\n\nCordialement")
    return _exchange_ooo(sent, "Réponse automatique : ", text, threading=False)


def spanish_ooo(sent: Sent, back: date) -> bytes:
    """Zimbra-style: X-Autoreply, Spanish subject and body, threaded."""
    m = EmailMessage(policy=SMTP)
    m["From"] = sent.to
    m["To"] = sent.sender
    m["Subject"] = "Respuesta automática: " + sent.subject
    m["Date"] = _now()
    m["Message-ID"] = _msgid("zimbra.example.es")
    m["In-Reply-To"] = sent.message_id
    m["References"] = sent.message_id
    m["X-Autoreply"] = "yes"
    m.set_content(f"Estaré fuera de la oficina hasta el {back.day} de {SPANISH_MONTHS[back.month - 1]} de {back.year}."
                  " Para asuntos urgentes, escriba a la secretaría.\n")
    return m.as_bytes()


def sieve_vacation(sent: Sent) -> bytes:
    """Dovecot Pigeonhole / Fastmail Sieve vacation: "Auto:" subject, no date stated."""
    m = EmailMessage(policy=SMTP)
    m["From"] = sent.to
    m["To"] = sent.sender
    m["Subject"] = "Auto: " + sent.subject
    m["Date"] = _now()
    m["Message-ID"] = _msgid("mail.example.net")
    m["In-Reply-To"] = sent.message_id
    m["References"] = sent.message_id
    m["Auto-Submitted"] = "auto-replied (vacation)"
    m["Precedence"] = "bulk"
    m["X-Sieve"] = "Pigeonhole Sieve 0.5.19 (4eae2f79)"
    m.set_content("I am on parental leave and will not read email for a while.\n")
    return m.as_bytes()


# ---------------------------------------------------------------------------------- bounces
def _report(head: list[str], boundary: str, parts: list[list[str]], preamble: str = "") -> bytes:
    lines = head + [f'Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"', ""]
    if preamble:
        lines += [preamble, ""]
    for part in parts:
        lines += [f"--{boundary}", *part, ""]
    lines.append(f"--{boundary}--")
    return _join(lines)


def postfix_bounce(sent: Sent, host: str = "mx.example.edu") -> bytes:
    rcpt, boundary = sent.to, f"8A2B3C4D5E.{uuid.uuid4().hex[:10]}/{host}"
    head = [
        "Return-Path: <>",
        f"Received: by {host} (Postfix) id 8A2B3C4D5E; {formatdate()}",
        f"Date: {_now()}",
        f"From: MAILER-DAEMON@{host} (Mail Delivery System)",
        "Subject: Undelivered Mail Returned to Sender",
        f"To: {sent.sender}",
        "Auto-Submitted: auto-replied",
        "MIME-Version: 1.0",
        f"Message-Id: <{uuid.uuid4().hex[:14]}.8A2B3C4D5E@{host}>",
    ]
    notification = ["Content-Description: Notification", "Content-Type: text/plain; charset=us-ascii", "",
                    f"This is the mail system at host {host}.", "",
                    "I'm sorry to have to inform you that your message could not",
                    "be delivered to one or more recipients. It's attached below.", "",
                    "                   The mail system", "",
                    f"<{rcpt}>: host mail.example.edu[192.0.2.10] said: 550 5.1.1",
                    f"    <{rcpt}>: Recipient address rejected: User unknown in local",
                    "    recipient table (in reply to RCPT TO command)"]
    report = ["Content-Description: Delivery report", "Content-Type: message/delivery-status", "",
              f"Reporting-MTA: dns; {host}", "X-Postfix-Queue-ID: 8A2B3C4D5E",
              f"X-Postfix-Sender: rfc822; {sent.sender}", f"Arrival-Date: {formatdate()}", "",
              f"Final-Recipient: rfc822; {rcpt}", f"Original-Recipient: rfc822;{rcpt}", "Action: failed",
              "Status: 5.1.1", "Remote-MTA: dns; mail.example.edu",
              f"Diagnostic-Code: smtp; 550 5.1.1 <{rcpt}>: Recipient address rejected: User",
              "    unknown in local recipient table"]
    returned = ["Content-Description: Undelivered Message Headers", "Content-Type: text/rfc822-headers",
                "Content-Transfer-Encoding: 8bit", "", _crlf(sent.headers)]
    return _report(head, boundary, [notification, report, returned], "This is a MIME-encapsulated message.")


def postfix_delay(sent: Sent, host: str = "mx.example.edu") -> bytes:
    rcpt, boundary = sent.to, f"7C1D2E3F4A.{uuid.uuid4().hex[:10]}/{host}"
    head = [
        "Return-Path: <>",
        f"Date: {_now()}",
        f"From: MAILER-DAEMON@{host} (Mail Delivery System)",
        "Subject: Delayed Mail (still being retried)",
        f"To: {sent.sender}",
        "Auto-Submitted: auto-replied",
        "MIME-Version: 1.0",
        f"Message-Id: <{uuid.uuid4().hex[:14]}.7C1D2E3F4A@{host}>",
    ]
    notification = ["Content-Description: Notification", "Content-Type: text/plain; charset=us-ascii", "",
                    f"This is the mail system at host {host}.", "",
                    "####################################################################",
                    "# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #",
                    "####################################################################", "",
                    "Your message could not be delivered for more than 4 hour(s).",
                    "It will be retried until it is 5 day(s) old.", "",
                    f"<{rcpt}>: connect to mail.example.edu[192.0.2.10]:25: Connection timed out"]
    report = ["Content-Description: Delivery report", "Content-Type: message/delivery-status", "",
              f"Reporting-MTA: dns; {host}", f"Arrival-Date: {formatdate()}", "",
              f"Final-Recipient: rfc822; {rcpt}", f"Original-Recipient: rfc822;{rcpt}", "Action: delayed",
              "Status: 4.4.1", f"Will-Retry-Until: {formatdate()}",
              "Diagnostic-Code: X-Postfix; connect to mail.example.edu[192.0.2.10]:25: Connection timed out"]
    returned = ["Content-Description: Undelivered Message Headers", "Content-Type: text/rfc822-headers", "",
                _crlf(sent.headers)]
    return _report(head, boundary, [notification, report, returned], "This is a MIME-encapsulated message.")


def exim_bounce(sent: Sent, host: str = "mail.example.ac.uk") -> bytes:
    """Classic Exim: no DSN, X-Failed-Recipients, the original quoted after a dashed line."""
    rcpt = sent.to
    return _join([
        "Return-path: <>",
        f"From: Mail Delivery System <Mailer-Daemon@{host}>",
        f"To: {sent.sender}",
        "Subject: Mail delivery failed: returning message to sender",
        f"Message-Id: <E1p2X3Y-0004Zz-{uuid.uuid4().hex[:2].upper()}@{host}>",
        f"Date: {_now()}",
        f"X-Failed-Recipients: {rcpt}",
        "Auto-Submitted: auto-replied",
        "",
        "This message was created automatically by mail delivery software.",
        "",
        "A message that you sent could not be delivered to one or more of its",
        "recipients. This is a permanent error. The following address(es) failed:",
        "",
        f"  {rcpt}",
        "    host mx.example.ac.uk [192.0.2.20]",
        f"    SMTP error from remote mail server after RCPT TO:<{rcpt}>:",
        "    550 5.1.1 User unknown",
        "",
        "------ This is a copy of the message, including all the headers. ------",
        "",
        f"Return-path: <{sent.sender}>",
        f"Received: from [192.0.2.1] by {host} with esmtps id 1p2X3Y-0004Zz-AB; {formatdate()}",
        _crlf(sent.raw.decode("utf-8", "replace")),
    ])


def exim_delay(sent: Sent, host: str = "mail.example.ac.uk") -> bytes:
    """Classic Exim delay warning: no DSN and no Message-ID of the original, only the address."""
    rcpt = sent.to
    return _join([
        "Return-path: <>",
        f"From: Mail Delivery System <Mailer-Daemon@{host}>",
        f"To: {sent.sender}",
        "Subject: Warning: message 1p2X3Y-0004Zz-AB delayed 24 hours",
        f"Message-Id: <E1p2Z9Q-0001Aa-{uuid.uuid4().hex[:2].upper()}@{host}>",
        f"Date: {_now()}",
        "Auto-Submitted: auto-replied",
        "",
        "This message was created automatically by mail delivery software.",
        "A message that you sent has not yet been delivered to one or more of its",
        f"recipients after more than 24 hours on the queue on {host}.",
        "",
        "The message identifier is:     1p2X3Y-0004Zz-AB",
        f"The subject of the message is: {sent.subject}",
        f"The date of the message is:    {formatdate()}",
        "",
        "The address to which the message has not yet been delivered is:",
        "",
        f"  {rcpt}",
        "    Delay reason: SMTP error from remote mail server after RCPT TO:",
        "    451 4.7.1 Greylisted, please try again later",
        "",
        "No action is required on your part. Delivery attempts will continue for",
        "some time, and this warning may be repeated at intervals if the message",
        "remains undelivered. Eventually the mail delivery software will give up,",
        "and when that happens, the message will be returned to you.",
    ])


def exchange_bounce(sent: Sent) -> bytes:
    """Exchange Online NDR: "Undeliverable:", threaded to the original, whole original attached."""
    rcpt, domain = sent.to, sent.to.rsplit("@", 1)[1]
    outer, inner = f"_{uuid.uuid4().hex}_", f"_{uuid.uuid4().hex}_"
    mta = "BN8NAM12HT123.mail.protection.outlook.com"
    head = [
        f"From: Microsoft Outlook <MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@{domain}>",
        f"To: <{sent.sender}>",
        f"Date: {_now()}",
        "Content-Language: en-US",
        f"Message-ID: <{uuid.uuid4()}@{mta}>",
        f"In-Reply-To: {sent.message_id}",
        f"References: {sent.message_id}",
        f"Subject: {_encoded('Undeliverable: ' + sent.subject)}",
        "Auto-Submitted: auto-replied",
        "X-MS-Exchange-Message-Is-Ndr:",
        "MIME-Version: 1.0",
    ]
    human = [f'Content-Type: multipart/alternative; boundary="{inner}"', "",
             f"--{inner}", 'Content-Type: text/plain; charset="us-ascii"', "",
             f"Your message to {rcpt} couldn't be delivered.",
             f"{rcpt.split('@')[0]} wasn't found at {domain}.", "",
             "Action Required                Recipient",
             "Unknown To address", "",
             "Diagnostic information for administrators:",
             f"Remote server returned '550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient {rcpt} "
             "not found by SMTP address lookup'", "",
             f"--{inner}", 'Content-Type: text/html; charset="us-ascii"', "",
             f"<html><body><p>Your message to {rcpt} couldn't be delivered.</p></body></html>", "",
             f"--{inner}--"]
    report = ["Content-Type: message/delivery-status", "",
              f"Reporting-MTA: dns;{mta}", "Received-From-MTA: dns;mail.example.org", f"Arrival-Date: {formatdate()}",
              "", f"Final-Recipient: rfc822;{rcpt}", "Action: failed", "Status: 5.1.10",
              f"Diagnostic-Code: smtp;550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient {rcpt} not found by SMTP "
              "address lookup"]
    original = ["Content-Type: message/rfc822", "", _crlf(sent.raw.decode("utf-8", "replace"))]
    return _report(head, outer, [human, report, original])


def exchange_delay(sent: Sent) -> bytes:
    rcpt, domain = sent.to, sent.sender.rsplit("@", 1)[1]
    boundary = f"_{uuid.uuid4().hex}_"
    mta = "PH0PR11MB4999.namprd11.prod.outlook.com"
    head = [
        f"From: postmaster@{domain}",
        f"To: <{sent.sender}>",
        f"Date: {_now()}",
        f"Message-ID: <{uuid.uuid4()}@{mta}>",
        f"Subject: {_encoded('Delivery delayed:' + sent.subject)}",
        "Auto-Submitted: auto-replied",
        "MIME-Version: 1.0",
    ]
    human = ['Content-Type: text/plain; charset="us-ascii"', "",
             "Delivery is delayed to these recipients or groups:", "", rcpt, "",
             f"Subject: {sent.subject}", "",
             "This message hasn't been delivered yet. Delivery will continue to be attempted.", "",
             "The server will keep trying to deliver this message for the next 1 days, 19 hours and 52 minutes."]
    report = ["Content-Type: message/delivery-status", "", f"Reporting-MTA: dns;{mta}", "",
              f"Final-Recipient: rfc822;{rcpt}", "Action: delayed", "Status: 4.4.7",
              "Diagnostic-Code: smtp;400 4.4.7 Message delayed", f"Will-Retry-Until: {formatdate()}",
              "X-Display-Name: Dr. Example"]
    original = ["Content-Type: text/rfc822-headers", "", _crlf(sent.headers)]
    return _report(head, boundary, [human, report, original])


def gmail_bounce(sent: Sent) -> bytes:
    """Gmail's "Delivery Status Notification (Failure)": related/alternative text, DSN, whole original."""
    rcpt = sent.to
    outer, related, alt = ("000000000000" + uuid.uuid4().hex[:12] for _ in range(3))
    head = [
        "Delivered-To: asha.rao@example.org",
        "Return-Path: <>",
        "From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>",
        f"To: {sent.sender}",
        "Auto-Submitted: auto-replied",
        "Subject: Delivery Status Notification (Failure)",
        f"References: {sent.message_id}",
        f"In-Reply-To: {sent.message_id}",
        f"X-Failed-Recipients: {rcpt}",
        f"Message-ID: <{uuid.uuid4().hex[:8]}.050a0220.{uuid.uuid4().hex[:4]}.0123.GMR@mx.google.com>",
        f"Date: {_now()}",
        "MIME-Version: 1.0",
    ]
    text = [f'Content-Type: multipart/related; boundary="{related}"', "",
            f"--{related}", f'Content-Type: multipart/alternative; boundary="{alt}"', "",
            f"--{alt}", 'Content-Type: text/plain; charset="UTF-8"', "", "",
            "** Address not found **", "",
            f"Your message wasn't delivered to {rcpt} because the address couldn't be found, or is unable to "
            "receive mail.", "", "Learn more here: https://support.google.com/mail/?p=NoSuchUser", "",
            "The response was:", "",
            "The email account that you tried to reach does not exist. Please try double-checking the recipient's "
            "email address for typos or unnecessary spaces.", "",
            f"--{alt}", 'Content-Type: text/html; charset="UTF-8"', "",
            f"<html><body><h1>Address not found</h1><p>Your message wasn't delivered to {rcpt}</p></body></html>",
            "", f"--{alt}--", "", f"--{related}", 'Content-Type: image/png; name="icon.png"',
            "Content-Transfer-Encoding: base64", "Content-ID: <icon.png>", "", "iVBORw0KGgoAAAANSUhEUgAAAAEAAAAB",
            "", f"--{related}--"]
    report = ["Content-Type: message/delivery-status", "", "Reporting-MTA: dns; googlemail.com",
              f"Received-From-MTA: dns; {sent.sender}", f"Arrival-Date: {formatdate()}",
              f"X-Original-Message-ID: {sent.message_id}", "", f"Final-Recipient: rfc822; {rcpt}",
              "Action: failed", "Status: 5.1.1",
              f"Remote-MTA: dns; mx.{rcpt.split('@')[1]}. (192.0.2.30, the server for the domain.)",
              "Diagnostic-Code: smtp; 550-5.1.1 The email account that you tried to reach does not exist.",
              f"Last-Attempt-Date: {formatdate()}"]
    original = ["Content-Type: message/rfc822", "", _crlf(sent.raw.decode("utf-8", "replace"))]
    return _report(head, outer, [text, report, original])


def gmail_delay(sent: Sent) -> bytes:
    rcpt = sent.to
    outer = "000000000000" + uuid.uuid4().hex[:12]
    head = [
        "From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>",
        f"To: {sent.sender}",
        "Auto-Submitted: auto-replied",
        "Subject: Delivery Status Notification (Delay)",
        f"References: {sent.message_id}",
        f"In-Reply-To: {sent.message_id}",
        f"Message-ID: <{uuid.uuid4().hex[:8]}.170a0220.{uuid.uuid4().hex[:4]}.1a2b.GMR@mx.google.com>",
        f"Date: {_now()}",
        "MIME-Version: 1.0",
    ]
    text = ['Content-Type: text/plain; charset="UTF-8"', "", "** Message not delivered yet **", "",
            f"There was a temporary problem delivering your message to {rcpt}. Gmail will retry for 46 more hours. "
            "You'll be notified if the delivery fails permanently.", "", "The response was:", "",
            "The recipient server did not accept our requests to connect."]
    report = ["Content-Type: message/delivery-status", "", "Reporting-MTA: dns; googlemail.com",
              f"Arrival-Date: {formatdate()}", f"X-Original-Message-ID: {sent.message_id}", "",
              f"Final-Recipient: rfc822; {rcpt}", "Action: delayed", "Status: 4.4.1",
              "Diagnostic-Code: smtp; The recipient server did not accept our requests to connect.",
              f"Last-Attempt-Date: {formatdate()}", f"Will-Retry-Until: {formatdate()}"]
    original = ["Content-Type: text/rfc822-headers", "", _crlf(sent.headers)]
    return _report(head, outer, [text, report, original])


def qmail_bounce(sent: Sent, host: str = "mail.example.net") -> bytes:
    """qmail's QSBMF: plain text, no DSN; the original follows a dashed line."""
    return _join([
        "Return-Path: <>",
        f"Date: {_now()}",
        f"From: MAILER-DAEMON@{host}",
        f"To: {sent.sender}",
        "Subject: failure notice",
        "",
        f"Hi. This is the qmail-send program at {host}.",
        "I'm afraid I wasn't able to deliver your message to the following addresses.",
        "This is a permanent error; I've given up. Sorry it didn't work out.",
        "",
        f"<{sent.to}>:",
        "Sorry, no mailbox here by that name. (#5.1.1)",
        "",
        "--- Below this line is a copy of the message.",
        "",
        _crlf(sent.raw.decode("utf-8", "replace")),
    ])


def arf_complaint(sent: Sent) -> bytes:
    """An RFC 5965 feedback report, as a mailbox provider's feedback loop sends it."""
    boundary = f"arf-{uuid.uuid4().hex[:10]}"
    return _join([
        "From: Mailbox Feedback Loop <feedback@fbl.example.com>",
        "To: <abuse@example.org>",
        "Subject: Email Feedback Report for IP 192.0.2.1",
        f"Date: {_now()}",
        f"Message-ID: <{uuid.uuid4().hex}@fbl.example.com>",
        "MIME-Version: 1.0",
        f'Content-Type: multipart/report; report-type=feedback-report; boundary="{boundary}"',
        "",
        f"--{boundary}",
        "Content-Type: text/plain; charset=us-ascii",
        "",
        "This is an email abuse report for an email message received from IP 192.0.2.1.",
        "",
        f"--{boundary}",
        "Content-Type: message/feedback-report",
        "",
        "Feedback-Type: abuse",
        "User-Agent: ExampleFBL/1.0",
        "Version: 1",
        f"Original-Mail-From: <{sent.sender}>",
        f"Original-Rcpt-To: <{sent.to}>",
        f"Arrival-Date: {formatdate()}",
        "Reported-Domain: example.org",
        "Source-IP: 192.0.2.1",
        "",
        f"--{boundary}",
        "Content-Type: message/rfc822",
        "",
        _crlf(sent.raw.decode("utf-8", "replace")),
        f"--{boundary}--",
    ])


# ------------------------------------------------------- formats outside RFC 3464 (issue 16.15)
# Each is built from the format's published or documented structure, not from a captured sample.
def ses_notification(sent: Sent, kind: str = "Bounce", *, bounce_type: str = "Permanent", envelope: bool = False,
                     event_publishing: bool = False) -> bytes:
    """Amazon SES's JSON notification (SES Developer Guide, "Amazon SNS notification contents"), as
    an SNS e-mail subscription mails it: bare, or inside SNS's envelope (email-json)."""
    import json

    mail = {"timestamp": "2026-11-14T09:00:00.000Z", "source": sent.sender, "messageId": "0100018c-ses-id-000000",
            "destination": [sent.to], "headersTruncated": False,
            "headers": [{"name": "From", "value": f"{SENDER_NAME} <{sent.sender}>"},
                        {"name": "To", "value": sent.to}, {"name": "Message-ID", "value": sent.message_id},
                        {"name": "Subject", "value": sent.subject}],
            "commonHeaders": {"from": [sent.sender], "to": [sent.to], "messageId": sent.message_id,
                              "subject": sent.subject}}
    detail: dict = {
        "Bounce": {"bounce": {"bounceType": bounce_type, "bounceSubType": "General",
                              "timestamp": "2026-11-14T09:00:01Z", "feedbackId": "0100018c-feedback-000000",
                              "reportingMTA": "dsn; a1-2.smtp-out.amazonses.com",
                              "bouncedRecipients": [{"emailAddress": sent.to, "action": "failed", "status": "5.1.1",
                                                     "diagnosticCode": "smtp; 550 5.1.1 user unknown"}]
                              if bounce_type == "Permanent" else [{"emailAddress": sent.to}]}},
        "Complaint": {"complaint": {"complainedRecipients": [{"emailAddress": sent.to}],
                                    "timestamp": "2026-11-14T10:00:00Z", "feedbackId": "0100018c-feedback-000001",
                                    "complaintFeedbackType": "abuse", "userAgent": "ExampleMail/1.0"}},
        "Delivery": {"delivery": {"timestamp": "2026-11-14T09:00:01Z", "processingTimeMillis": 912,
                                  "recipients": [sent.to], "smtpResponse": "250 2.6.0 Message received",
                                  "reportingMTA": "a1-2.smtp-out.amazonses.com"}},
    }[kind]
    notification = {"eventType" if event_publishing else "notificationType": kind, "mail": mail, **detail,
                    "aFieldAddedLater": {"ignored": True}}
    body = json.dumps(notification)
    if envelope:
        body = json.dumps({"Type": "Notification", "MessageId": str(uuid.uuid4()),
                           "TopicArn": "arn:aws:sns:us-east-1:123456789012:ses-outcomes", "Message": body,
                           "Timestamp": "2026-11-14T09:00:02.000Z", "SignatureVersion": "1"}, indent=2)
    return _join([
        f"Return-Path: <0100018c-{uuid.uuid4().hex[:8]}-000000@amazonses.com>",
        "From: AWS Notifications <no-reply@sns.amazonaws.com>",
        f"To: {sent.sender}",
        f"Date: {_now()}",
        f"Message-ID: <0100018c-{uuid.uuid4().hex}-000000@email.amazonses.com>",
        "Subject: AWS Notification Message",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=UTF-8",
        "Content-Transfer-Encoding: 7bit",
        "",
        body,
        "",
        "--",
        "If you wish to stop receiving notifications from this topic, please click or visit the link below to "
        "unsubscribe: https://sns.us-east-1.amazonaws.com/unsubscribe.html",
    ])


def jmrp_complaint(sent: Sent) -> bytes:
    """Microsoft's Junk Mail Reporting Program in its own format: not multipart/report, the message a
    recipient marked as junk returned as message/rfc822 with X-HmXmrOriginalRecipient naming them."""
    boundary = f"jmrp_{uuid.uuid4().hex[:12]}"
    return _join([
        "From: staff@hotmail.com",
        "To: abuse@example.org",
        "Subject: complaint about message from 192.0.2.25",
        f"Date: {_now()}",
        f"Message-ID: <{uuid.uuid4().hex}@jmrp.example.com>",
        "MIME-Version: 1.0",
        f'Content-Type: multipart/mixed; boundary="{boundary}"',
        "",
        f"--{boundary}",
        "Content-Type: message/rfc822",
        "Content-Disposition: inline",
        "",
        f"X-HmXmrOriginalRecipient: <{sent.to}>",
        "X-Reporter-IP: 192.0.2.77",
        _crlf(sent.raw.decode("utf-8", "replace")),
        f"--{boundary}--",
    ])


def sendgrid_expired(sent: Sent) -> bytes:
    """An RFC 3464 report whose Action is SendGrid's "expired": retried until it gave up, no Status."""
    boundary = f"sg-{uuid.uuid4().hex[:10]}"
    head = ["Return-Path: <>", "From: MAILER-DAEMON@relay.example.net (Mail Delivery System)",
            f"To: {sent.sender}", "Subject: Undelivered Mail Returned to Sender", f"Date: {_now()}",
            f"Message-ID: <{uuid.uuid4().hex}@relay.example.net>", "MIME-Version: 1.0"]
    text = ["Content-Type: text/plain", "", "The message could not be delivered in time."]
    report = ["Content-Type: message/delivery-status", "", "X-SendGrid-QueueID: 515172155", "",
              f"Final-Recipient: rfc822; {sent.to}", f"Original-Recipient: rfc822; {sent.to}", "Action: expired",
              "Status: ", "Diagnostic-Code: Connection timed out"]
    original = ["Content-Type: message/rfc822", "", _crlf(sent.raw.decode("utf-8", "replace"))]
    return _report(head, boundary, [text, report, original])


def apache_james_bounce(sent: Sent) -> bytes:
    """Apache James's bounce as SMS/MMS gateways run it: from post_master, "Re:" the subject with
    In-Reply-To, "Error message below:" and the SMTP reply, no copy and no failed address."""
    return _join([
        "From: post_master@gateway.example.net",
        f"To: {sent.sender}",
        f"Message-ID: <{uuid.uuid4().hex}.JavaMail.james@gateway.example.net>",
        f"In-Reply-To: {sent.message_id}",
        f"Subject: Re:{sent.subject}",
        "MIME-Version: 1.0",
        f"Date: {_now()}",
        "Content-Type: text/plain; charset=us-ascii",
        "",
        "Error: Invalid user address",
        "",
        "Error message below:",
        "550 - Requested action not taken: no such user here",
        "",
        "Message details:",
    ])


def null_sender_notice(sent: Sent) -> bytes:
    """A filtering gateway's own notice (m-FILTER's shape): From and Return-Path both the null
    sender, "failure notice", the server's reply and the original's headers in the text."""
    return _join([
        "Return-Path: <>",
        "X-Mailer: m-FILTER",
        f"Message-Id: <{uuid.uuid4().hex[:12]}.0000@filter.example.co.jp>",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=us-ascii",
        "From: <>",
        f"To: {sent.sender}",
        f"Date: {_now()}",
        "Subject: failure notice",
        "",
        "This message was created automatically by the mail filter.",
        "Sending to the following address failed:",
        sent.to,
        "",
        "-------server message",
        f"550 {sent.to}... No such user",
        "",
        "-------SMTP command",
        "DATA",
        "",
        "-------original mail info",
        f"From: {sent.sender}",
        f"Subject: {sent.subject}",
        f"Message-ID: {sent.message_id}",
    ])


def opensmtpd_bounce(sent: Sent, host: str = "mx.example.net") -> bytes:
    """OpenSMTPD's bounce: "Mailer Daemon" by name, one "address: reason" line per recipient, then a
    copy of the original's headers (here without its Message-ID, as older releases copied them)."""
    return _join([
        "Return-Path: <>",
        f"From: Mailer Daemon <MAILER-DAEMON@{host}>",
        f"To: {sent.sender}",
        "Subject: Delivery status notification: error",
        f"Message-Id: <{uuid.uuid4().hex[:16]}@{host}>",
        f"Date: {_now()}",
        "Content-Type: text/plain; charset=us-ascii",
        "",
        "Hi!",
        "",
        "This is the MAILER-DAEMON, please DO NOT REPLY to this email.",
        "",
        "An error has occurred while attempting to deliver a message for the following list of recipients:",
        "",
        f"{sent.to}: Envelope expired",
        "",
        "Below is a copy of the original message:",
        "",
        f"Subject: {sent.subject}",
        f"From: {SENDER_NAME} <{sent.sender}>",
        f"To: <{sent.to}>",
    ])


def mmsc_ndr(sent: Sent) -> bytes:
    """A mobile carrier's MMS gateway non-delivery report: an administrator's name, the null
    Return-Path, "Undeliverable Message", the original's From/To/Subject quoted in the text."""
    boundary = "----=mmsc" + uuid.uuid4().hex[:8]
    return _join([
        "Return-Path: <>",
        "From: MMSC NDR Administrator <sysadmin@mms.example.net>",
        f"To: {sent.sender}",
        "Subject: Undeliverable Message",
        f"Message-ID: <{uuid.uuid4().int}@mms.example.net>",
        f"Date: {_now()}",
        f'Content-Type: multipart/mixed; boundary="{boundary}"',
        "",
        f"--{boundary}",
        "Content-Type: text/plain; charset=US-ASCII",
        "",
        "Message could not be delivered to mobile.",
        "Error: No valid recipients for this MM",
        "",
        "Original Message:",
        f"From: {SENDER_NAME} <{sent.sender}>",
        f"To: {sent.to}",
        f"Subject: {sent.subject}",
        f"--{boundary}--",
    ])


# --------------------------------------------------------------------------------- unrelated
def newsletter(n: int = 0) -> bytes:
    m = EmailMessage(policy=SMTP)
    m["From"] = "Radiology Weekly <news@journal.example.com>"
    m["To"] = SENDER
    m["Subject"] = f"This week in neuroradiology #{n}"
    m["Date"] = _now()
    m["Message-ID"] = _msgid("mailer.journal.example.com")
    m["Precedence"] = "bulk"
    m["List-Unsubscribe"] = "<mailto:unsubscribe@journal.example.com>"
    m.set_content("Top stories this week...\n" * 20)
    return m.as_bytes()


def personal(n: int = 0, from_addr: str = "friend@example.net", subject: str | None = None) -> bytes:
    m = EmailMessage(policy=SMTP)
    m["From"] = from_addr
    m["To"] = SENDER
    m["Subject"] = subject or f"Lunch on Friday? ({n})"
    m["Date"] = _now()
    m["Message-ID"] = _msgid("example.net")
    m.set_content("Are you free for lunch on Friday?\n")
    return m.as_bytes()


def unrelated_reply(n: int = 0) -> bytes:
    m = EmailMessage(policy=SMTP)
    m["From"] = "consulate@example.gov"
    m["To"] = SENDER
    m["Subject"] = f"Re: Visa appointment {n}"
    m["Date"] = _now()
    m["Message-ID"] = _msgid("example.gov")
    m["In-Reply-To"] = f"<{uuid.uuid4().hex}@example.org>"
    m["References"] = m["In-Reply-To"]
    m.set_content("Your appointment is confirmed.\n")
    return m.as_bytes()


def stranger_ooo() -> bytes:
    m = EmailMessage(policy=SMTP)
    m["From"] = "someone@example.com"
    m["To"] = SENDER
    m["Subject"] = "Out of Office: Re: Housing in Boston"
    m["Date"] = _now()
    m["Message-ID"] = _msgid("example.com")
    m["In-Reply-To"] = f"<{uuid.uuid4().hex}@example.org>"
    m["Auto-Submitted"] = "auto-replied"
    m.set_content("I am away until next week.\n")
    return m.as_bytes()


def own_copy(sent: Sent) -> bytes:
    """Our own message as it shows up in INBOX (Bcc to self) or in Sent."""
    return sent.raw
