"""SMTP: the only module that talks to a server to send mail.

One connection is reused for the whole batch; it is opened (TLS verified, then AUTH) on first
use and again whenever the server drops it. Each message is one transaction, driven command
by command so that we always know which side of DATA a failure happened on:

* before the server's 354 nothing was sent: transient problems are retried with bounded
  backoff, permanent ones (5xx) fail that message only, unless they are about the sender
  (:class:`SenderRefused`: every message would be refused, so the batch stops);
* between 354 and the final reply the outcome is unknown: a dropped connection, a timeout or a
  reply that is neither 2xx, 4xx nor 5xx there makes the message *uncertain*, never retried;
* the final 250 means the server took responsibility for the message; a 4xx at any stage (MAIL,
  RCPT, DATA, after the final dot) means it did not and the message is retried (then deferred
  to a later run), and only a 5xx fails it.

``journal.sending()`` is called just before DATA and ``journal.not_sent()`` when a DATA that was
begun is known not to have been accepted; the caller records both in the store.

Nothing here prints, and no secret is ever put in an exception or a log.
"""

from __future__ import annotations

import re
import smtplib
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from outreach import sasl
from outreach.account import Secret, Server
from outreach.errors import UserError

SENT, FAILED, DEFERRED, UNCERTAIN, ABANDONED = "sent", "failed", "deferred", "uncertain", "abandoned"
DEFAULT_TIMEOUT = 60.0
DEFAULT_ATTEMPTS = 4          # one try and three retries per message ...
DEFAULT_RETRY_DELAY = 5.0     # ... after 5, 10 and 20 s
MAX_RETRY_DELAY = 120.0
_LEADING_DOT = re.compile(rb"(?m)^\.")


class Journal(Protocol):
    def sending(self) -> None: ...
    def not_sent(self) -> None: ...


class TransportError(Exception):
    """The batch cannot go on (TLS, login, connection, a sender the server refuses).

    ``config`` is True when it is the account's settings that need fixing.
    """

    config = False


class TLSFailure(TransportError):
    config = True


class AuthFailure(TransportError):
    config = True


class ConnectFailure(TransportError):
    pass


class SenderRefused(TransportError):
    """The server will not send from this sender for this login: every message would be refused.

    ``earlier`` messages just before the one that showed it were refused in the same words and
    marked failed; they were about the sender too, and go back to the queue."""

    config = True

    def __init__(self, text: str, earlier: int = 0):
        super().__init__(text)
        self.earlier = earlier


class AccountLimit(TransportError):
    """The server refuses because of the account (a sending quota), not because of the contact."""


# Gmail: "550 5.4.5 Daily user sending limit exceeded"; Microsoft 365: "554 5.2.0 ...
# SubmissionQuotaExceededException", "5.7.708"... A contact is not at fault for these.
_ACCOUNT_LIMIT = re.compile(r"\b5\.4\.5\b|quota|limit exceeded|sending limit|too many messages|\b5\.7\.70[58]\b",
                            re.IGNORECASE)
# A refusal at RCPT about the sender rather than the recipient: servers that check the From
# against the login answer so there (Postfix's reject_sender_login_mismatch: "553 5.7.1 <a@b>:
# Sender address rejected: not owned by user c@d"; Exchange: "5.7.60 ... send as this sender").
_ABOUT_SENDER = re.compile(r"\bsender\b|\bsend(?:ing)? as\b|\bsendas\b|\bnot owned by\b|\b5\.7\.60\b", re.IGNORECASE)
# RFC 3463 subjects that are the recipient's own: its mailbox (X.1.x: unknown, bad syntax,
# moved) or its state (X.2.x: full, disabled). The same words twice are then two bad addresses.
_ABOUT_RECIPIENT = re.compile(r"\b[45]\.[12]\.\d{1,3}\b|\brecipient\b", re.IGNORECASE)


@dataclass
class Outcome:
    """What happened to one message. ``refused`` maps recipients the server refused to its reply."""

    status: str
    reply: str = ""
    refused: dict[str, str] = field(default_factory=dict)
    attempts: int = 1


class _Retry(Exception):
    """A transient problem before DATA: nothing was sent, try again later."""

    def __init__(self, reply: str, *, dropped: bool = False):
        super().__init__(reply)
        self.reply, self.dropped = reply, dropped


def reply_text(code: int, message: bytes | str) -> str:
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else str(message)
    return f"{code} {' '.join(text.split())}".strip()


def local_hostname() -> str:
    """The EHLO name: this machine's name, without smtplib's slow reverse-DNS lookup."""
    name = socket.gethostname()
    return name if re.fullmatch(r"[A-Za-z0-9.-]{1,253}", name or "") else "localhost"


def password_login(conn: smtplib.SMTP, user: str, password: str, offered: list[str]) -> None:
    """AUTH PLAIN (RFC 4616), else LOGIN, with the credentials in UTF-8.

    smtplib's own ``login`` encodes them as ASCII, so a password with ``é`` or ``ß`` fails there
    with an error that names the character; RFC 4616 says UTF-8, which servers expect."""
    if "PLAIN" in offered:
        code, reply = conn.docmd("AUTH", "PLAIN " + _base64(f"\0{user}\0{password}"))
    elif "LOGIN" in offered:
        code, reply = conn.docmd("AUTH", "LOGIN " + _base64(user))
        if code == 334:
            code, reply = conn.docmd(_base64(password))
    else:
        raise smtplib.SMTPException("no PLAIN or LOGIN method offered")
    if code not in (235, 503):  # 503: already authenticated
        raise smtplib.SMTPAuthenticationError(code, reply)


def _base64(text: str) -> str:
    import base64

    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def auth_advice(server: Server, reply: str, secret_kind: str, *, signed_in: bool = False) -> str:
    """One sentence: the server's answer and what usually fixes it with this provider.
    ``signed_in``: the token came from the sign-in `outreach login --oauth` kept."""
    host = server.host.lower()
    said = f"{server.host} refused the login for {server.user} ({reply})"
    again = f"sign in again as {server.user} with `outreach login --oauth`"
    if host.endswith(("gmail.com", "googlemail.com", "google.com")):
        if secret_kind == "oauth2":
            return (f"{said}: the OAuth2 token was not accepted; " + (again if signed_in else
                    "check that OUTREACH_OAUTH2_TOKEN_COMMAND prints a fresh access token with the "
                    "https://mail.google.com/ scope"))
        return (f"{said}: Gmail needs an app password (Google Account > Security > App passwords, with 2-Step "
                "Verification on), stored with `outreach login`; school Google accounts without app passwords "
                "need OUTREACH_OAUTH2_TOKEN_COMMAND")
    if host.endswith(("office365.com", "outlook.com", "microsoft.com", "hotmail.com", "live.com")):
        if secret_kind == "oauth2":
            return (f"{said}: the OAuth2 token was not accepted; it needs the SMTP.Send permission and SMTP AUTH "
                    "enabled for your mailbox" + (f" (ask IT), then {again}" if signed_in else ""))
        return (f"{said}: Microsoft 365 often disables password logins (SMTP AUTH) for school accounts; ask IT to "
                "enable SMTP AUTH for your mailbox or use OUTREACH_OAUTH2_TOKEN_COMMAND, and use an app password "
                "if your account has multi-factor sign-in")
    fix = (again if signed_in else "check OUTREACH_OAUTH2_TOKEN_COMMAND") if secret_kind == "oauth2" \
        else "check the password (`outreach login` stores a new one) and OUTREACH_SMTP_USER"
    return f"{said}: {fix}"


class SMTPTransport:
    """Send messages through ``server`` on one reused, verified connection.

    ``secret`` is called each time the connection logs in (a token may have expired);
    ``wait(seconds)`` sleeps and returns False when the user interrupted the wait.
    """

    def __init__(self, server: Server, context: ssl.SSLContext, secret: Callable[[], Secret], *,
                 timeout: float = DEFAULT_TIMEOUT, attempts: int = DEFAULT_ATTEMPTS,
                 retry_delay: float = DEFAULT_RETRY_DELAY, wait: Callable[[float], bool] | None = None,
                 helo: str | None = None):
        self.server, self.context, self.secret = server, context, secret
        self.timeout, self.attempts, self.retry_delay = timeout, max(1, attempts), retry_delay
        self.wait = wait or _sleep
        self.helo = helo or local_hostname()
        self.conn: smtplib.SMTP | None = None
        self.connections = 0          # how many times we connected (and logged in)
        self.authenticated = False
        self.past_rcpt = 0            # messages whose recipients the server took, in this run
        self.refused_at_start: list[str] = []  # until one is: each message's RCPT refusal, addresses blanked

    # -- connection ------------------------------------------------------------------------
    def open(self) -> None:
        """Connect and log in now (the first message would otherwise do it)."""
        if self.conn is None:
            self.conn = self._connect_with_retries()

    def close(self) -> None:
        conn, self.conn = self.conn, None
        if conn is None:
            return
        try:
            conn.quit()
        except (smtplib.SMTPException, OSError):
            conn.close()

    def abort(self) -> None:
        """Forget the connection without a goodbye (after an interruption it is in an unknown state)."""
        self._drop()

    def _drop(self) -> None:
        conn, self.conn = self.conn, None
        if conn is not None:
            conn.close()

    def _connect_with_retries(self) -> smtplib.SMTP:
        """Reconnecting mid-batch is retried with backoff; the very first connection of a run is
        not: a wrong host or port is far likelier than a blip, and the user is watching."""
        where = f"{self.server.host}:{self.server.port}"
        attempts = self.attempts if self.connections else 1
        for attempt in range(1, attempts + 1):
            try:
                return self._connect()
            except TransportError:
                raise
            except ssl.SSLCertVerificationError as e:
                raise TLSFailure(f"the certificate of {where} is not trusted ({e.verify_message}); if this is a "
                                 "private server, set OUTREACH_CA_FILE to its CA certificate") from None
            except ssl.SSLError as e:
                raise TLSFailure(f"TLS with {where} failed ({e.reason or e}); check OUTREACH_SMTP_SECURITY "
                                 f"({self.server.security}) and OUTREACH_SMTP_PORT") from None
            except (OSError, smtplib.SMTPException) as e:
                last = _describe(e)
                if attempt == attempts or not self.wait(self._backoff(attempt)):
                    raise ConnectFailure(f"cannot connect to {where} ({last})") from None
        raise AssertionError("unreachable")

    def _connect(self) -> smtplib.SMTP:
        server = self.server
        try:
            server.check_encryption()
        except UserError as e:
            raise TLSFailure(str(e)) from None
        conn: smtplib.SMTP
        if server.security == "ssl":
            conn = smtplib.SMTP_SSL(server.host, server.port, local_hostname=self.helo, timeout=self.timeout,
                                    context=self.context)
        else:
            conn = smtplib.SMTP(server.host, server.port, local_hostname=self.helo, timeout=self.timeout)
        try:
            conn.ehlo_or_helo_if_needed()
            if server.security == "starttls":
                if not conn.has_extn("starttls"):
                    raise TLSFailure(f"{server.host}:{server.port} does not offer STARTTLS, so the connection would "
                                     "stay unencrypted; refusing (check OUTREACH_SMTP_PORT and OUTREACH_SMTP_SECURITY)")
                try:
                    conn.starttls(context=self.context)
                except smtplib.SMTPResponseException as e:
                    raise TLSFailure(f"{server.host} refused STARTTLS ({reply_text(e.smtp_code, e.smtp_error)}); "
                                     "refusing to continue unencrypted") from None
                conn.ehlo()
            elif server.security == "none" and conn.has_extn("starttls") and not server.is_loopback:
                raise TLSFailure(f"{server.host} offers STARTTLS but OUTREACH_SMTP_SECURITY=none; "
                                 "set OUTREACH_SMTP_SECURITY=starttls")
            self.authenticated = False
            if conn.has_extn("auth"):
                self._login(conn)
        except BaseException:
            conn.close()
            raise
        self.connections += 1
        return conn

    def _login(self, conn: smtplib.SMTP) -> None:
        server = self.server
        if server.security == "none" and not server.is_loopback:
            raise AuthFailure(f"OUTREACH_SMTP_SECURITY=none: refusing to send a password to {server.host} "
                              "unencrypted; use ssl or starttls")
        secret = self.secret()
        offered = conn.esmtp_features.get("auth", "").upper().split()
        try:
            if secret.kind == "oauth2":
                self._bearer_login(conn, secret, offered)
            else:
                password_login(conn, server.user, secret.value, offered)
        except smtplib.SMTPAuthenticationError as e:
            reply = secret.hidden_in(reply_text(e.smtp_code, e.smtp_error))
            raise AuthFailure(auth_advice(server, reply, secret.kind)) from None
        except smtplib.SMTPException as e:
            raise AuthFailure(f"{server.host} offers no login method this tool supports "
                              f"({', '.join(offered)}): {secret.hidden_in(_describe(e))}") from None
        self.authenticated = True

    def _bearer_login(self, conn: smtplib.SMTP, secret: Secret, offered: list[str]) -> None:
        """XOAUTH2 (or OAUTHBEARER) with the access token; a refused token is renewed and tried once
        more when it came from a kept sign-in. The server's error challenge is put into words."""
        server = self.server
        mechanism = sasl.choose(offered)
        if mechanism is None:
            raise AuthFailure(f"{server.host} does not offer XOAUTH2 or OAUTHBEARER (it offers "
                              f"{', '.join(offered) or 'nothing'}), so it takes no OAuth2 token; use a password")
        signed_in = secret.renew is not None
        failed = sasl.sign_in(mechanism, server.user, server.host, server.port, secret, conn.auth,
                              smtplib.SMTPAuthenticationError)
        if failed is None:
            return
        login, secret, e = failed
        assert isinstance(e, smtplib.SMTPAuthenticationError)
        reply = secret.hidden_in(reply_text(e.smtp_code, e.smtp_error))
        meaning = login.refusal()
        raise AuthFailure(auth_advice(server, f"{meaning}: {reply}" if meaning else reply, "oauth2",
                                      signed_in=signed_in)) from None

    def _backoff(self, attempt: int) -> float:
        return min(MAX_RETRY_DELAY, self.retry_delay * 2.0 ** (attempt - 1))

    # -- messages --------------------------------------------------------------------------
    def send(self, sender: str, recipients: list[str], data: bytes, journal: Journal,
             while_waiting: Callable[[], None] | None = None) -> Outcome:
        """Deliver one message (CRLF line ends) to the server, retrying transient failures.

        ``while_waiting`` runs (once) while the server processes the message: the caller's
        chance to prepare the next one in the shadow of the round trip. It must not raise."""
        attempt = 0
        free_reconnect = True  # a reused connection may have been closed while idle: retry once at once
        while True:
            attempt += 1
            try:
                outcome = self._transaction(sender, recipients, data, journal, while_waiting)
                while_waiting = None
                outcome.attempts = attempt
                return outcome
            except _Retry as retry:
                if retry.dropped and free_reconnect:
                    free_reconnect, attempt = False, attempt - 1
                    continue
                if attempt >= self.attempts:
                    return Outcome(DEFERRED, retry.reply, attempts=attempt)
                if not self.wait(self._backoff(attempt)):
                    return Outcome(ABANDONED, retry.reply, attempts=attempt)

    def _transaction(self, sender: str, recipients: list[str], data: bytes, journal: Journal,
                     while_waiting: Callable[[], None] | None = None) -> Outcome:
        reused = self.conn is not None
        if self.conn is None:
            self.conn = self._connect_with_retries()
        conn = self.conn
        try:
            code, message = conn.mail(sender)
        except smtplib.SMTPServerDisconnected:
            self._drop()
            raise _Retry("the server closed the connection", dropped=reused) from None
        self._check(code, message)
        if code >= 500:
            self._reset()
            self._account_limit(code, message)
            raise SenderRefused(self._sender_advice(sender, reply_text(code, message)))
        if code >= 400:  # 450/451/452: the server is busy or short of room; nothing was sent
            self._reset()
            raise _Retry(reply_text(code, message))

        refused: dict[str, str] = {}
        transient = ""
        for recipient in recipients:
            try:
                code, message = conn.rcpt(recipient)
            except smtplib.SMTPServerDisconnected:
                self._drop()
                raise _Retry("the server closed the connection") from None
            self._check(code, message)
            if code >= 500:
                self._account_limit(code, message, reset=True)
                refused[recipient] = reply_text(code, message)
            elif code >= 400:
                transient = transient or reply_text(code, message)
        if transient:
            self._reset()
            raise _Retry(transient)
        self._refused_for_the_sender(sender, refused)
        if len(refused) == len(recipients):
            self._reset()
            text = ("; ".join(f"{r}: {t}" for r, t in refused.items()) if len(refused) > 1
                    else next(iter(refused.values())))
            return Outcome(FAILED, text, refused)

        self.past_rcpt += 1
        journal.sending()
        try:
            code, message = conn.docmd("DATA")
        except smtplib.SMTPServerDisconnected:
            journal.not_sent()
            self._drop()
            raise _Retry("the server closed the connection") from None
        if code != 354:
            journal.not_sent()
            self._check(code, message)
            self._reset()
            if code >= 500:
                return Outcome(FAILED, reply_text(code, message), refused)
            raise _Retry(reply_text(code, message))

        try:
            body = _LEADING_DOT.sub(b"..", data)
            if not body.endswith(b"\r\n"):
                body += b"\r\n"
            conn.send(body + b".\r\n")
            if while_waiting is not None:
                while_waiting()
            code, message = conn.getreply()
        except smtplib.SMTPServerDisconnected as e:
            self._drop()
            return Outcome(UNCERTAIN, f"the connection was lost during DATA ({_describe(e)})", refused)
        if 200 <= code < 300:
            return Outcome(SENT, reply_text(code, message), refused)
        if not 400 <= code < 600:  # garbled, 1xx, 3xx: we cannot tell whether the server kept it
            self._drop()
            reply = reply_text(code, message)
            return Outcome(UNCERTAIN, f"the server's reply to the message was not understood ({reply})", refused)
        journal.not_sent()
        if code == 421:
            self._drop()
            raise _Retry(reply_text(code, message))
        if code >= 500:
            self._account_limit(code, message)
            return Outcome(FAILED, reply_text(code, message), refused)
        raise _Retry(reply_text(code, message))

    def _refused_for_the_sender(self, sender: str, refused: dict[str, str]) -> None:
        """Raise :class:`SenderRefused` when the RCPT refusals are about the sender, not the
        recipients: a refusal that names the sender (its address, "Sender address rejected",
        "send as"), or, before any message was taken, the same words for the first two messages'
        recipients (addresses blanked), unless they are about a mailbox (5.1.x, 5.2.x). The
        caller then stops the batch and leaves every contact queued."""
        for text in refused.values():
            if "recipient" not in text.lower() and (sender.casefold() in text.casefold() or _ABOUT_SENDER.search(text)):
                self._reset()
                raise SenderRefused(self._sender_advice(sender, text))
        if not refused or self.past_rcpt or len(self.refused_at_start) >= 2:
            return
        words = {_without_addresses(text, refused) for text in refused.values()}
        self.refused_at_start.append(" | ".join(sorted(words)))
        first, *second = self.refused_at_start
        if second == [first] and not _ABOUT_RECIPIENT.search(first):
            self._reset()
            raise SenderRefused(self._sender_advice(sender, next(iter(refused.values()))), earlier=1)

    def _sender_advice(self, sender: str, reply: str) -> str:
        said = f"the server refused the sender {sender} ({reply})"
        if not self.authenticated:
            return f"{said}: check OUTREACH_FROM. Nothing more was sent; the contacts stay queued"
        return (f"{said}; it does not let the login {self.server.user} send as {sender}: set OUTREACH_FROM to an "
                "address this login owns (often the login itself), or OUTREACH_SMTP_USER to the login that owns it. "
                "Nothing more was sent; the contacts stay queued")

    def _check(self, code: int, message: bytes) -> None:
        """421 (or a garbled reply): the server is closing this connection; try again on a new one."""
        if code == 421 or code < 200:
            self._drop()
            raise _Retry(reply_text(code, message))

    def _account_limit(self, code: int, message: bytes, reset: bool = False) -> None:
        text = reply_text(code, message)
        if _ACCOUNT_LIMIT.search(text):
            if reset:
                self._reset()
            raise AccountLimit(f"the server refused to send more from {self.server.user} ({text}); "
                               "the account has probably reached its sending limit: try again tomorrow")

    def _reset(self) -> None:
        if self.conn is None:
            return
        try:
            code, _ = self.conn.rset()
        except (smtplib.SMTPException, OSError):
            code = 0
        if code != 250:
            self._drop()


def _without_addresses(text: str, recipients: dict[str, str]) -> str:
    """A refusal's words with the recipients' addresses taken out, to compare two refusals."""
    for address in recipients:
        text = re.sub(re.escape(address), "<>", text, flags=re.IGNORECASE)
    return " ".join(text.split()).casefold()


def _describe(error: BaseException) -> str:
    if isinstance(error, smtplib.SMTPResponseException):
        return reply_text(error.smtp_code, error.smtp_error)
    text = str(error) or type(error).__name__
    return text[0].lower() + text[1:] if text else text


def _sleep(seconds: float) -> bool:
    import time

    time.sleep(seconds)
    return True


def check_login(server: Server, context: ssl.SSLContext, secret: Secret) -> None:
    """Log in once with ``secret`` (for `outreach login`, before it is stored); raises
    :class:`TransportError` when the server refuses it."""
    transport = SMTPTransport(server, context, lambda: secret, attempts=1)
    transport.open()
    transport.close()
