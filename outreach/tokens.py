"""A sign-in kept between runs: the refresh token in the OS keyring, access tokens in memory.

``outreach login --oauth`` stores the refresh token, with the client ID and token endpoint it
belongs to, in the keyring under the same rules as a password (``outreach.account``). A command
that logs in to a mail server asks :class:`SignIn` for an access token: it is fetched with the
refresh token on first use, fetched again shortly before it expires, and once more when a
server refuses it (:attr:`outreach.account.Secret.renew`).

Refresh tokens may rotate (Microsoft's do): each refresh hands out a new one and spends the old,
and a spent one presented again can end the whole sign-in. So the new refresh token is stored
before the access token that came with it is used, and refreshes take turns across processes
through a lock file beside the store: a ``sync`` and a ``send`` started together do not both
spend the same token, the second reads what the first stored.
"""

from __future__ import annotations

import json
import os
import ssl
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from outreach import json_text
from outreach.account import Secret, hide_secret, keyring_delete, keyring_get, keyring_set
from outreach.errors import UserError
from outreach.oauth import OAuthClient, error_of

KEYRING_SERVICE = "outreach-oauth2"
LEEWAY = 300  # refresh this many seconds before an access token expires (half its life when shorter)


@dataclass(frozen=True)
class Stored:
    """What the keyring holds for one user."""

    refresh_token: str
    client_id: str
    token_url: str

    def dumps(self) -> str:
        return json.dumps({"refresh_token": self.refresh_token, "client_id": self.client_id,
                           "token_url": self.token_url}, separators=(",", ":"))

    @classmethod
    def loads(cls, text: str) -> Stored | None:
        try:
            data = json_text.loads(text)
            return cls(str(data["refresh_token"]), str(data["client_id"]), str(data["token_url"]))
        except (ValueError, TypeError, KeyError):
            return None


def load(user: str) -> Stored | None:
    text = keyring_get(user, service=KEYRING_SERVICE)
    return Stored.loads(text) if text else None


def store(user: str, stored: Stored) -> None:
    keyring_set(user, stored.dumps(), service=KEYRING_SERVICE)


def forget(user: str) -> bool:
    return keyring_delete(user, service=KEYRING_SERVICE)


def require_refresh_token(client: OAuthClient, token: dict[str, Any]) -> str:
    """The refresh token of a new sign-in; without one the sign-in would end within the hour."""
    refresh_token = token.get("refresh_token")
    if not refresh_token:
        raise UserError(f"{client.name} signed you in but gave no refresh token, so the sign-in would end within "
                        "the hour; for a custom server, add its offline scope (often offline_access) to "
                        "OUTREACH_OAUTH2_SCOPES; nothing was stored")
    return str(refresh_token)


def keep_sign_in(client: OAuthClient, user: str, token: dict[str, Any], lock_path: Path | None) -> None:
    """Store the refresh token of a new sign-in (``outreach login --oauth``)."""
    refresh_token = require_refresh_token(client, token)
    with refresh_lock(lock_path):
        store(user, Stored(refresh_token, client.client_id, client.token_url))


class SignIn:
    """Access tokens for ``user`` from the stored sign-in, renewed before they expire."""

    def __init__(self, client: OAuthClient, user: str, context: ssl.SSLContext, lock_path: Path | None,
                 clock: Callable[[], float] = time.monotonic):
        self.client, self.user, self.context, self.lock_path, self.clock = client, user, context, lock_path, clock
        self._token = ""
        self._fresh_until: float | None = None

    def secret(self) -> Secret:
        """The access token, refreshed first when there is none yet or it is about to expire."""
        if not self._token or (self._fresh_until is not None and self.clock() >= self._fresh_until):
            self._refresh()
        return Secret("oauth2", self._token, renew=self._renewed)

    def _renewed(self) -> Secret:
        """A new access token after a server refused the last one; it is not renewed again."""
        self._refresh()
        return Secret("oauth2", self._token)

    def _refresh(self) -> None:
        with refresh_lock(self.lock_path):
            stored = load(self.user)
            if stored is None:
                raise UserError(f"you are not signed in to {self.client.name} as {self.user}: run "
                                "`outreach login --oauth`")
            if (stored.client_id, stored.token_url) != (self.client.client_id, self.client.token_url):
                raise UserError(f"the stored sign-in for {self.user} was made with another client ID or server than "
                                "the OUTREACH_OAUTH2_* settings now name: run `outreach login --oauth` again")
            token = self._fetch(stored)
            rotated = token.get("refresh_token")
            if rotated and rotated != stored.refresh_token:
                store(self.user, replace(stored, refresh_token=str(rotated)))
        access = token.get("access_token")
        if not access:
            raise UserError(f"{self.client.name}'s token endpoint answered without an access token")
        self._token = str(access)
        lifetime = token.get("expires_in")
        self._fresh_until = None
        if isinstance(lifetime, int | float) or (isinstance(lifetime, str) and lifetime.isdigit()):
            seconds = float(lifetime)
            self._fresh_until = self.clock() + seconds - min(LEEWAY, seconds / 2)

    def _fetch(self, stored: Stored) -> dict[str, Any]:
        from authlib.integrations.base_client import OAuthError

        client = self.client
        with client.session(self.context) as session, client.talking_to("token", client.token_url):
            try:
                token: dict[str, Any] = session.refresh_token(client.token_url, refresh_token=stored.refresh_token)
            except OAuthError as e:
                error, description = error_of(e)
                if error == "invalid_grant":
                    raise UserError(f"your {client.name} sign-in has expired or was revoked: run "
                                    "`outreach login --oauth`") from None
                sentence = client.refused(error, description, "renewing the sign-in")
                raise UserError(hide_secret(sentence, stored.refresh_token)) from None
        return token


def revoke(client: OAuthClient, context: ssl.SSLContext, stored: Stored) -> None:
    """Ask the server to end the sign-in (RFC 7009); one sentence when it cannot be done."""
    url = client.endpoint("revoke")
    with client.session(context) as session, client.talking_to("revocation", url):
        reply = session.revoke_token(url, token=stored.refresh_token, token_type_hint="refresh_token")
    if reply.status_code == 200:
        return
    try:
        body = json_text.loads(reply.content)
    except ValueError:
        body = None
    if not isinstance(body, dict) or "error" not in body:
        raise UserError(f"{client.name}'s revocation endpoint {url} answered HTTP {reply.status_code}")
    error, description = str(body["error"]), " ".join(str(body.get("error_description", "")).split())[:300]
    raise UserError(hide_secret(client.refused(error, description, "revoking the sign-in"), stored.refresh_token))


@contextmanager
def refresh_lock(path: Path | None) -> Iterator[None]:
    """Hold the sign-in's lock file (waiting for another process's refresh to finish). Without a
    writable place for it, go on unlocked: the lock only orders refreshes."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600) if path is not None else None
    except OSError:
        fd = None
    try:
        if fd is not None:
            _wait_for_lock(fd)
        yield
    finally:
        if fd is not None:
            os.close(fd)


def _wait_for_lock(fd: int) -> None:
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        msvcrt.locking(fd, msvcrt.LK_LOCK, 1)  # type: ignore[attr-defined]  # Windows only
        return
    fcntl.flock(fd, fcntl.LOCK_EX)
