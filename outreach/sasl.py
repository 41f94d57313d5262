"""SASL with an OAuth 2.0 access token, for SMTP and IMAP alike: XOAUTH2 and OAUTHBEARER.

XOAUTH2 is what Google and Microsoft document and every OAuth mail server offers; OAUTHBEARER
(RFC 7628) is its standard twin, used when a server offers only that. When a server refuses the
token it first sends an error challenge, base64 JSON such as ``{"status":"401","schemes":"bearer",
"scope":"https://mail.google.com/"}`` (SMTP ``334``, IMAP ``+``); the client must answer it (an
empty line, or ``%x01`` for OAUTHBEARER) before the final refusal comes. :class:`BearerLogin`
gives the responses, keeps the challenge, and puts it into words.

The initial response holds the token: it is handed to the protocol library and never kept in a
message, and the words of a refusal are built from the challenge alone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from outreach import json_text

if TYPE_CHECKING:
    from outreach.account import Secret

MECHANISMS = ("XOAUTH2", "OAUTHBEARER")  # in the order they are tried

# RFC 6750 error codes (OAUTHBEARER) and the HTTP statuses XOAUTH2 servers send instead.
_MEANINGS = {
    "401": "the token is invalid or has expired",
    "invalid_token": "the token is invalid or has expired",
    "400": "the server could not read the login",
    "invalid_request": "the server could not read the login",
    "403": "the token does not grant access to mail",
    "insufficient_scope": "the token does not grant access to mail",
}


def choose(offered: Iterable[str]) -> str | None:
    """The bearer mechanism to use among those a server offers, or None."""
    upper = {name.upper() for name in offered}
    return next((name for name in MECHANISMS if name in upper), None)


def sign_in(mechanism: str, user: str, host: str, port: int, secret: Secret,
            authenticate: Callable[..., object],
            refused: type[Exception]) -> tuple[BearerLogin, Secret, Exception] | None:
    """Log in with the access token through ``authenticate(mechanism, respond)`` (smtplib's
    ``auth``, imaplib's ``sasl_login``); a token the server refuses (``refused``) is renewed and
    tried again while its sign-in can renew it. None once in; else the last login, the secret it
    used and the refusal, for the caller to put into words."""
    while True:
        login = BearerLogin(mechanism, user, secret.value, host, port)
        try:
            authenticate(mechanism, login.respond)
            return None
        except refused as e:
            if secret.renew is None:
                return login, secret, e
            secret = secret.renew()


class BearerLogin:
    """One bearer-token login: ``respond(challenge)`` is the SASL conversation for a library that
    calls back on every server challenge (imaplib, smtplib); ``refusal()`` says why it failed."""

    def __init__(self, mechanism: str, user: str, token: str, host: str, port: int):
        self.mechanism = mechanism
        self._initial = _initial_response(mechanism, user, token, host, port)
        self._sent = False
        self.challenge: dict[str, str] | None = None

    def respond(self, challenge: bytes | None = None) -> str:
        """The initial response first (to smtplib's call without a challenge, or to IMAP's empty
        ``+``); then, to an error challenge, the answer that ends the exchange."""
        if not self._sent and not challenge:
            self._sent = True
            return self._initial
        self.challenge = _decode(challenge or b"")
        return "\x01" if self.mechanism == "OAUTHBEARER" else ""

    def refusal(self) -> str:
        """What the server's error challenge said, in words ("" when it sent none)."""
        if self.challenge is None:
            return ""
        status = self.challenge.get("status", "")
        meaning = _MEANINGS.get(status, f"status {status}" if status else "")
        scope = self.challenge.get("scope", "")
        if scope and status in ("403", "insufficient_scope"):
            meaning += f" (it needs the scope {scope})"
        return meaning


def _initial_response(mechanism: str, user: str, token: str, host: str, port: int) -> str:
    if mechanism == "OAUTHBEARER":  # RFC 7628 3.1: a GS2 header naming the user, then key=value pairs
        name = user.replace("=", "=3D").replace(",", "=2C")
        return f"n,a={name},\x01host={host}\x01port={port}\x01auth=Bearer {token}\x01\x01"
    return f"user={user}\x01auth=Bearer {token}\x01\x01"


def _decode(challenge: bytes) -> dict[str, str]:
    """The JSON of an error challenge (already base64-decoded by the library); {} if it is not JSON."""
    try:
        value = json_text.loads(challenge.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return {}
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}
