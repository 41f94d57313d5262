"""The mail account: servers, TLS, and where the secret comes from.

Settings come from :class:`outreach.config.Settings` (``OUTREACH_*``). A provider preset fills
hosts, ports, security and sending limits (and, in ``outreach.oauth``, its OAuth endpoints); any
explicit setting wins over the preset. The secret is never read from a file: an OAuth2 token
command, a password command, the ``OUTREACH_PASSWORD`` variable (with a warning), the sign-in
``outreach login --oauth`` kept (when ``OUTREACH_OAUTH2_CLIENT_ID`` is set), or the password in
the OS keyring, in that order.
"""

from __future__ import annotations

import ipaddress
import os
import re
import ssl
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.headerregistry import Address
from pathlib import Path
from typing import TYPE_CHECKING

from outreach.config import Settings, parse_sender, yes_no
from outreach.errors import UserError

if TYPE_CHECKING:  # pragma: no cover
    from outreach.oauth import OAuthClient
    from outreach.tokens import SignIn

KEYRING_SERVICE = "outreach"
SECURITY = ("ssl", "starttls", "none")
COMMAND_TIMEOUT = 30

# Published limits, conservative: Gmail 500 recipients/day for personal accounts (2,000 for
# Workspace); Microsoft 365 10,000 recipients/day and 30 messages/minute; iCloud 1,000/day.
# save_sent "no": the provider files what is submitted over SMTP in Sent by itself (Gmail,
# Microsoft 365), so a copy appended over IMAP would show twice.
PRESETS: dict[str, dict[str, str]] = {
    "gmail": {"smtp_host": "smtp.gmail.com", "smtp_port": "465", "smtp_security": "ssl",
              "imap_host": "imap.gmail.com", "imap_port": "993", "imap_security": "ssl",
              "daily_cap": "500", "rate": "20", "save_sent": "no"},
    "outlook": {"smtp_host": "smtp.office365.com", "smtp_port": "587", "smtp_security": "starttls",
                "imap_host": "outlook.office365.com", "imap_port": "993", "imap_security": "ssl",
                "daily_cap": "10000", "rate": "30", "save_sent": "no"},
    "icloud": {"smtp_host": "smtp.mail.me.com", "smtp_port": "587", "smtp_security": "starttls",
               "imap_host": "imap.mail.me.com", "imap_port": "993", "imap_security": "ssl",
               "daily_cap": "1000", "rate": "20"},
    "fastmail": {"smtp_host": "smtp.fastmail.com", "smtp_port": "465", "smtp_security": "ssl",
                 "imap_host": "imap.fastmail.com", "imap_port": "993", "imap_security": "ssl",
                 "daily_cap": "4000", "rate": "30"},
}
PRESETS["microsoft365"] = PRESETS["office365"] = PRESETS["outlook"]
DEFAULT_PORTS = {("smtp", "ssl"): 465, ("smtp", "starttls"): 587, ("smtp", "none"): 25,
                 ("imap", "ssl"): 993, ("imap", "starttls"): 143, ("imap", "none"): 143}


@dataclass(frozen=True)
class Server:
    """One server of the account: ``kind`` is "smtp" or "imap"."""

    kind: str
    host: str
    port: int
    security: str
    user: str
    allow_unencrypted: bool = False  # OUTREACH_{SMTP,IMAP}_ALLOW_UNENCRYPTED=yes

    @property
    def is_loopback(self) -> bool:
        return is_loopback(self.host)

    @property
    def setting(self) -> str:
        return f"OUTREACH_{self.kind.upper()}"

    def check_encryption(self) -> None:
        """No unencrypted connection to another machine unless the user says so by name: the
        messages (and, over IMAP, the whole mailbox) would cross the network readable."""
        if self.security == "none" and not self.is_loopback and not self.allow_unencrypted:
            raise UserError(f"{self.setting}_SECURITY=none: refusing an unencrypted connection to {self.host}, "
                            f"which is not this machine; use ssl or starttls, or set "
                            f"{self.setting}_ALLOW_UNENCRYPTED=yes if that network is yours")

    def check_auth_allowed(self) -> None:
        """No password over an unencrypted connection, except to this machine."""
        if self.security == "none" and not self.is_loopback:
            raise UserError(f"OUTREACH_{self.kind.upper()}_SECURITY=none: refusing to send a password to "
                            f"{self.host} unencrypted; use ssl or starttls")


@dataclass(frozen=True)
class Secret:
    """``kind`` is "password" or "oauth2" (an access token for SASL XOAUTH2). Never printed.

    ``renew``, for an access token from a kept sign-in, fetches a new one: a server that refuses
    the token is tried once more with it (an access token can expire or be ended early)."""

    kind: str
    value: str = ""
    renew: Callable[[], Secret] | None = field(default=None, compare=False)

    def __repr__(self) -> str:
        return f"Secret({self.kind}, <hidden>)"

    __str__ = __repr__

    def hidden_in(self, text: str) -> str:
        """``text`` (a server's reply, a library's complaint) with no form of the secret: see
        :func:`hide_secret`."""
        return hide_secret(text, self.value)


HIDDEN = "<hidden>"
# A run of the base64 alphabet long enough to carry a piece of a secret (4 characters: 3 bytes).
BASE64_RUN = re.compile(r"[A-Za-z0-9+/]{4,}=*")
PIECE = 4  # bytes of the secret that, found in a decoded run, mean it carries the secret


def hide_secret(text: str, secret: str) -> str:
    """``text`` with every form in which the secret was sent, or may be shown, replaced.

    The value itself; as IMAP LOGIN quotes it (``\\"`` and ``\\\\``); as Python shows it inside
    bytes or an escaped string (an error's repr); inside base64, as SASL sends it (AUTH PLAIN's
    ``\\0user\\0password``, AUTH LOGIN's password, XOAUTH2's ``user=...\\x01auth=Bearer token``): a
    server that echoes its input in a refusal shows those. A base64 run is hidden when what it
    decodes to holds any 4 bytes of the secret in a row, so a truncated echo is hidden too, and
    the user need not be known. Last, every non-ASCII character of the secret, since an encoding
    error names the one character it could not encode."""
    if not secret:
        return text
    raw = secret.encode("utf-8")
    sent = {secret, secret.replace("\\", "\\\\").replace('"', '\\"')}
    forms = sent | {ascii(form)[1:-1] for form in sent} | {repr(form.encode("utf-8"))[2:-1] for form in sent}
    for form in sorted(forms, key=len, reverse=True):
        text = text.replace(form, HIDDEN)
    pieces = {raw[i:i + PIECE] for i in range(max(1, len(raw) - PIECE + 1))}
    text = BASE64_RUN.sub(lambda run: HIDDEN if _carries(run[0], pieces) else run[0], text)
    for char in {c for c in secret if not c.isascii()}:
        text = text.replace(char, "?").replace(ascii(char)[1:-1], "?")
    return text


def _carries(run: str, pieces: set[bytes]) -> bool:
    """Whether the base64 ``run`` decodes to something holding one of ``pieces``: read from each
    of its first four characters, since an echo may glue a word to its front."""
    import base64
    import binascii

    for start in range(min(4, len(run))):
        body = run[start:].rstrip("=")
        if len(body) % 4 == 1:  # cut short: its last character holds no whole byte
            body = body[:-1]
        try:
            decoded = base64.b64decode(body + "=" * (-len(body) % 4))
        except (binascii.Error, ValueError):
            continue
        if any(piece in decoded for piece in pieces):
            return True
    return False


@dataclass(frozen=True)
class Account:
    sender: Address
    smtp: Server | None
    imap: Server | None
    daily_cap: int | None
    rate: str | None  # OUTREACH_RATE or the preset's: "20", "20/min", "1/s"; read by deliver.sending
    ca_file: Path | None
    settings: Settings
    save_sent: bool = False  # append each sent message to the IMAP Sent folder
    oauth: OAuthClient | None = None  # OUTREACH_OAUTH2_CLIENT_ID: sign in with `outreach login --oauth`
    _sign_ins: dict[str, SignIn] = field(default_factory=dict, init=False, repr=False, compare=False)

    @classmethod
    def load(cls, settings: Settings) -> Account:
        if not settings.sender:
            raise UserError("no sender: set OUTREACH_FROM in .env, e.g. OUTREACH_FROM=Asha Rao <asha.rao@example.org>")
        raw = dict(settings.raw)
        provider = raw.get("provider", "").lower()
        if provider:
            if provider not in PRESETS:
                raise UserError(f"OUTREACH_PROVIDER={provider!r} is not a known preset "
                                f"(known: {', '.join(sorted(PRESETS))}); set the hosts yourself instead")
            raw = {**PRESETS[provider], **raw}
        sender = parse_sender(settings.sender)
        smtp_user = raw.get("smtp_user", sender.addr_spec)
        ca_file = Path(raw["ca_file"]) if raw.get("ca_file") else None
        if ca_file and not ca_file.is_file():
            raise UserError(f"OUTREACH_CA_FILE={ca_file}: no such file")
        imap = _server("imap", raw, raw.get("imap_user", smtp_user))
        from outreach.oauth import OAuthClient

        return cls(
            sender=sender,
            smtp=_server("smtp", raw, smtp_user),
            imap=imap,
            save_sent=imap is not None and yes_no(raw, "save_sent", default=True),
            daily_cap=_number(raw, "daily_cap", int),
            rate=raw.get("rate") or None,
            ca_file=ca_file,
            settings=settings,
            oauth=OAuthClient.from_settings(raw, provider),
        )

    def ssl_context(self) -> ssl.SSLContext:
        """A verifying context: system CAs, plus OUTREACH_CA_FILE for private servers."""
        context = ssl.create_default_context()
        if self.ca_file:
            try:
                context.load_verify_locations(cafile=str(self.ca_file))
            except (ssl.SSLError, OSError) as e:
                raise UserError(f"OUTREACH_CA_FILE={self.ca_file}: not a readable PEM certificate file "
                                f"({getattr(e, 'reason', None) or e})") from None
        return context

    def secret(self, server: Server, warn=lambda text: None) -> Secret:
        """The secret for ``server``, from the first source configured."""
        raw = self.settings.raw
        if raw.get("oauth2_token_command"):
            return Secret("oauth2", run_secret_command(raw["oauth2_token_command"], "OUTREACH_OAUTH2_TOKEN_COMMAND"))
        if raw.get("password_command"):
            return Secret("password", run_secret_command(raw["password_command"], "OUTREACH_PASSWORD_COMMAND"))
        if raw.get("password"):
            warn("the password comes from OUTREACH_PASSWORD; `outreach login` keeps it in the OS keyring instead")
            return Secret("password", raw["password"])
        if self.oauth is not None:
            return self.sign_in(server.user).secret()
        password = keyring_get(server.user)
        if password is None:
            raise UserError(f"no password for {server.user}: run `outreach login`, or set OUTREACH_PASSWORD_COMMAND "
                            "or OUTREACH_OAUTH2_TOKEN_COMMAND")
        return Secret("password", password)

    def sign_in(self, user: str) -> SignIn:
        """The kept OAuth sign-in of ``user``, one per account object, so that SMTP and IMAP share
        its access token."""
        from outreach.tokens import SignIn

        if self.oauth is None:
            raise UserError("OUTREACH_OAUTH2_CLIENT_ID is not set: the README's \"Signing in with Google or "
                            "Microsoft\" shows how to register your own client and set it")
        if user not in self._sign_ins:
            self._sign_ins[user] = SignIn(self.oauth, user, self.ssl_context(), self.sign_in_lock)
        return self._sign_ins[user]

    @property
    def sign_in_lock(self) -> Path:
        """Beside the real store file, like the outbox lock: refreshes of a sign-in take turns."""
        return Path(f"{os.path.realpath(self.settings.db)}.signin.lock")


def _server(kind: str, raw: dict[str, str], user: str) -> Server | None:
    host = raw.get(f"{kind}_host")
    if not host:
        return None
    security = raw.get(f"{kind}_security", "ssl").lower()
    if security not in SECURITY:
        raise UserError(f"OUTREACH_{kind.upper()}_SECURITY={security!r}: use one of {', '.join(SECURITY)}")
    port = _number(raw, f"{kind}_port", int) or DEFAULT_PORTS[(kind, security)]
    allow = yes_no(raw, f"{kind}_allow_unencrypted", default=False)
    return Server(kind, host, port, security, user, allow_unencrypted=allow)


def _number(raw: dict[str, str], key: str, kind: type):
    value = raw.get(key)
    if value is None:
        return None
    try:
        number = kind(value)
    except ValueError:
        raise UserError(f"OUTREACH_{key.upper()}={value!r} is not a number") from None
    if number <= 0:
        raise UserError(f"OUTREACH_{key.upper()}={value!r} must be positive")
    return number


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def run_secret_command(command: str, variable: str) -> str:
    """Run a password or token command through the shell; its first line of output is the secret."""
    try:
        done = subprocess.run(command, shell=True, capture_output=True, text=True, timeout=COMMAND_TIMEOUT,
                              stdin=subprocess.DEVNULL, check=False)  # the exit status is reported below
    except subprocess.TimeoutExpired:
        raise UserError(f"{variable} did not finish within {COMMAND_TIMEOUT} s") from None
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or ["no message"])[0]
        raise UserError(f"{variable} failed (exit {done.returncode}): {reason}")
    secret = (done.stdout.splitlines() or [""])[0]
    if not secret:
        raise UserError(f"{variable} printed nothing")
    return secret


OS_KEYRINGS = {  # keyring's own backends that hand the secret to the operating system
    "keyring.backends.macOS.Keyring": "the macOS Keychain",
    "keyring.backends.Windows.WinVaultKeyring": "the Windows Credential Manager",
    "keyring.backends.SecretService.Keyring": "the Secret Service (GNOME Keyring, KeePassXC)",
    "keyring.backends.libsecret.Keyring": "the Secret Service (libsecret)",
    "keyring.backends.kwallet.DBusKeyring": "KDE Wallet",
}
NOWHERE = ("keyring.backends.null.Keyring", "keyring.backends.fail.Keyring")


def _backend_name(backend) -> str:
    return f"{type(backend).__module__}.{type(backend).__qualname__}"


def _effective_backend(backend):
    """The backend that would really hold the secret (a chainer writes to its first one)."""
    chained = getattr(backend, "backends", None)
    if chained is not None and "chainer" in type(backend).__module__:
        return chained[0] if chained else None
    return backend


def keyring_destination() -> tuple[str, bool]:
    """(where ``keyring`` would put a password, in words; whether that is acceptable).

    Only the operating system's stores are called "the OS keyring". A plaintext file backend
    (keyrings.alt's PlaintextKeyring writes base64 to a file) or the null backend (which keeps
    nothing) is named with where the secret would go, and refused."""
    import keyring  # imported lazily here and below: it scans backends, which takes a while at start-up

    backend = _effective_backend(keyring.get_keyring())
    if backend is None:
        return "nowhere (no keyring backend)", False
    name = _backend_name(backend)
    if name in OS_KEYRINGS:
        return f"the OS keyring ({OS_KEYRINGS[name]})", True
    if name in NOWHERE:
        return f"nowhere: the keyring backend is {name}, which keeps nothing", False
    path = getattr(backend, "file_path", None)
    at = f" ({path})" if path else ""
    if "plaintext" in name.lower():
        return f"a plain file{at}, readable by anyone who can read it: the keyring backend is {name}", False
    return f"the keyring backend {name}{at}, not an OS keyring", True


NO_KEYRING = ("no OS keyring is available on this machine: set OUTREACH_PASSWORD_COMMAND "
              "(e.g. 'pass show email'), OUTREACH_OAUTH2_TOKEN_COMMAND, or, last resort, OUTREACH_PASSWORD")


@contextmanager
def _keyring_errors(refused: str) -> Iterator[None]:
    """keyring's failures as one sentence: none available, or the store ``refused`` to do something."""
    from keyring.errors import KeyringError, NoKeyringError

    try:
        yield
    except NoKeyringError:
        raise UserError(NO_KEYRING) from None
    except KeyringError as e:
        raise UserError(f"the OS keyring refused to {refused} ({e})") from None


def keyring_get(user: str, service: str = KEYRING_SERVICE) -> str | None:
    import keyring

    with _keyring_errors("answer"):
        return keyring.get_password(service, user)


def keyring_set(user: str, password: str, service: str = KEYRING_SERVICE) -> None:
    import keyring

    with _keyring_errors("store the password"):
        keyring.set_password(service, user, password)


def keyring_delete(user: str, service: str = KEYRING_SERVICE) -> bool:
    """Remove the stored secret; False when there was none. ``service`` tells passwords
    ("outreach") from OAuth sign-ins (``outreach.tokens``)."""
    import keyring
    from keyring.errors import PasswordDeleteError

    with _keyring_errors("remove the password"):
        try:
            keyring.delete_password(service, user)
        except PasswordDeleteError:
            return False
    return True
