"""A real SMTP server for the tests: aiosmtpd on 127.0.0.1, with TLS, AUTH and injectable faults.

``mode`` is "starttls" (submission: STARTTLS required before AUTH and MAIL), "ssl" (implicit
TLS, port-465 style) or "plain" (no TLS offered at all). AUTH PLAIN/LOGIN check one account;
XOAUTH2 checks a bearer token. Every message the server accepts is in ``messages`` before the
reply goes out, so it is there as soon as the client has its 250.

Faults are queues of replies the server gives instead of accepting (``fail_mail``,
``fail_rcpt``, ``fail_data_command`` for the DATA command itself, before any 354, and
``fail_data`` for the reply after the final dot, garbled ones included), ``refuse`` for
recipients refused every time, "drop" actions that cut the connection during DATA, ``hold_*``
that block a command until the test releases it (to kill a client at an exact point), and
``close_every`` for servers that end the session after N messages.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import ssl
import threading
import time
import warnings
from collections import deque
from dataclasses import dataclass, field
from email import message_from_bytes
from email.policy import default as default_policy


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    auth_user: str | None
    tls: bool

    @property
    def message(self):
        return message_from_bytes(self.data, policy=default_policy)

    @property
    def message_id(self) -> str:
        return self.message["Message-ID"]


@dataclass
class Hold:
    """Blocks the n-th command of a kind (1-based) until :meth:`release`; ``reached`` says it got there."""

    nth: int
    reached: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)
    keep: bool = True  # for DATA: deliver the message once released
    held: bytes | None = None  # for DATA: the message held, whether kept or not

    def release(self) -> None:
        self.released.set()

    async def wait(self) -> None:
        self.reached.set()
        deadline = time.monotonic() + 30
        while not self.released.is_set() and time.monotonic() < deadline:
            await asyncio.sleep(0.005)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MailServer:
    def __init__(self, cert, key, *, mode: str = "starttls", user: str = "asha.rao@example.org",
                 password: str = "app-password-4fj2", token: str | None = None, auth: bool = True,
                 exclude_mechanisms: tuple[str, ...] = ()):
        self.cert, self.key, self.mode = str(cert), str(key), mode
        self.exclude_mechanisms = exclude_mechanisms
        self.user, self.password, self.token, self.auth = user, password, token, auth
        self.messages: list[Received] = []
        self.logins: list[tuple[str, str]] = []          # (mechanism, user) of each successful AUTH
        self.failed_logins = 0
        self.mail_commands = 0
        self.data_commands = 0
        self.fail_mail: deque[str] = deque()               # replies to the next MAIL commands
        self.fail_rcpt: dict[str, deque[str]] = {}         # address -> replies to its next RCPTs
        self.refuse: dict[str, str] = {}                   # address -> reply, every time
        self.fail_data_command: deque[str] = deque()       # replies to the next DATA commands, instead of 354
        self.fail_data: deque[str] = deque()               # "451 ...", "550 ...", "drop", "drop-keep"
        self.hold_mail: Hold | None = None
        self.hold_data: Hold | None = None
        self.close_every: int | None = None
        self.arrivals: list[float] = []                    # time.monotonic() of each accepted message
        self._controller = None
        self._protocols: list = []

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> "MailServer":
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import SMTP

        logging.getLogger("mail.log").setLevel(logging.CRITICAL)
        warnings.filterwarnings("ignore", "Requiring AUTH while not requiring TLS")
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        options = dict(hostname="127.0.0.1", server_hostname="smtp.test", ready_timeout=10,
                       port=free_port())
        if self.auth:
            options.update(authenticator=self._authenticate, auth_required=True,
                           auth_exclude_mechanism=list(self.exclude_mechanisms))
        if self.mode == "starttls":
            options.update(tls_context=context, require_starttls=True, auth_require_tls=True)
        elif self.mode == "ssl":
            # aiosmtpd 1.4 does not notice implicit TLS, so it must not insist on TLS for AUTH.
            options.update(ssl_context=context, auth_require_tls=False)
        else:
            options.update(auth_require_tls=False)
        owner = self

        class FaultySMTP(SMTP):
            async def smtp_DATA(self, arg):
                if owner.fail_data_command and self.envelope is not None and self.envelope.rcpt_tos:
                    await self.push(owner.fail_data_command.popleft())
                    return
                await super().smtp_DATA(arg)

        class TrackingController(Controller):
            def factory(self):
                protocol = FaultySMTP(self.handler, **self.SMTP_kwargs)
                owner._protocols.append(protocol)
                return protocol

        self._controller = TrackingController(_Handler(self), **options)
        self._controller.start()
        self.port = options["port"]
        return self

    def stop(self) -> None:
        """Close every connection still open (as a server going down does), then stop."""
        controller, self._controller = self._controller, None
        if controller is None:
            return
        done = threading.Event()

        def close_all():
            for protocol in self._protocols:
                for name in ("transport", "_original_transport"):
                    transport = getattr(protocol, name, None)
                    if transport is not None and not transport.is_closing():
                        transport.abort()
            done.set()

        controller.loop.call_soon_threadsafe(close_all)
        done.wait(5)
        time.sleep(0.01)  # let the loop run the connection_lost callbacks
        controller.stop()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- what the tests read -----------------------------------------------------------------
    def received_by(self) -> dict[str, int]:
        """Envelope recipient -> how many messages it got."""
        counts: dict[str, int] = {}
        for message in self.messages:
            for rcpt in message.rcpt_tos:
                counts[rcpt.lower()] = counts.get(rcpt.lower(), 0) + 1
        return counts

    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        from aiosmtpd.smtp import AuthResult, LoginPassword

        ok = (isinstance(auth_data, LoginPassword) and auth_data.login == self.user.encode()
              and auth_data.password == self.password.encode())
        if ok:
            self.logins.append((mechanism, self.user))
        else:
            self.failed_logins += 1
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)


class _Handler:
    def __init__(self, owner: MailServer):
        self.owner = owner

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        if not self.owner.auth:  # a relay that takes mail without a login
            responses = [r for r in responses if not r[4:].startswith("AUTH")]
        return responses

    async def auth_XOAUTH2(self, server, args):
        from aiosmtpd.smtp import AuthResult

        owner = self.owner
        blob = base64.b64decode(args[1]) if len(args) > 1 else await server.challenge_auth("")
        parts = dict(p.split("=", 1) for p in blob.decode().split("\x01") if "=" in p)
        if owner.token and parts.get("user") == owner.user and parts.get("auth") == f"Bearer {owner.token}":
            owner.logins.append(("XOAUTH2", owner.user))
            return AuthResult(success=True, auth_data=owner.user)
        owner.failed_logins += 1
        await server.challenge_auth('{"status":"401","schemes":"bearer"}', encode_to_b64=True)
        return AuthResult(success=False, handled=False, message="535 5.7.8 Username and Password not accepted")

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        owner = self.owner
        owner.mail_commands += 1
        hold = owner.hold_mail
        if hold is not None and owner.mail_commands == hold.nth:
            await hold.wait()
        if owner.fail_mail:
            reply = owner.fail_mail.popleft()
            if reply.startswith("421"):
                asyncio.get_running_loop().call_soon(server.transport.close)
            return reply
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        owner = self.owner
        key = address.lower()
        queue = owner.fail_rcpt.get(key)
        if queue:
            return queue.popleft()
        if key in owner.refuse:
            return owner.refuse[key]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        owner = self.owner
        owner.data_commands += 1
        action = owner.fail_data.popleft() if owner.fail_data else "ok"
        hold = owner.hold_data
        if hold is not None and owner.data_commands == hold.nth:
            hold.held = envelope.original_content or b""
            # keep: the server has the message but holds back its reply (a dead client never sees it)
            if hold.keep:
                self._keep(server, session, envelope)
            await hold.wait()
            return "250 2.0.0 OK, after a hold" if hold.keep else "451 4.3.0 discarded"
        if action in ("ok", "drop-keep"):
            self._keep(server, session, envelope)
        if action.startswith("drop"):
            server.transport.abort()
            return "250 OK"
        if action != "ok":
            return action
        session.delivered = getattr(session, "delivered", 0) + 1
        if owner.close_every and session.delivered % owner.close_every == 0:
            asyncio.get_running_loop().call_soon(server.transport.close)
        return f"250 2.0.0 OK queued as Q{len(owner.messages)}"

    def _keep(self, server, session, envelope) -> None:
        owner = self.owner
        auth = session.auth_data
        login = getattr(auth, "login", None)
        user = login.decode() if isinstance(login, bytes) else auth if isinstance(auth, str) else None
        tls = session.ssl is not None or server.transport.get_extra_info("sslcontext") is not None
        owner.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos),
                                       envelope.original_content or b"", user, tls))
        owner.arrivals.append(time.monotonic())
