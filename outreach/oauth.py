"""OAuth 2.0: which authorization server and client, and the one HTTP client that talks to it.

The provider preset (``OUTREACH_PROVIDER=gmail|outlook``) names Google's or Microsoft's
endpoints, mail scopes and way of signing in; every part can be set (``OUTREACH_OAUTH2_*``), which
is how any standard server is used. The client is the user's own registration
(``OUTREACH_OAUTH2_CLIENT_ID``, and for Google the desktop client's secret, which Google documents
as not confidential): no credentials can ship with the tool.

The protocol is Authlib's (RFC 6749 requests and error replies, PKCE S256, RFC 7009 revocation,
client authentication), over requests with a verifying TLS context (the system's CAs and
``OUTREACH_CA_FILE``). Plain http is refused except to this machine, and redirects are refused
outright. Authlib and requests are imported only when a command signs in or refreshes a token.
"""

from __future__ import annotations

import re
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from outreach.errors import UserError

if TYPE_CHECKING:  # pragma: no cover
    from authlib.integrations.requests_client import OAuth2Session

HTTP_TIMEOUT = 30
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
FLOWS = ("code", "device")
MICROSOFT = "https://login.microsoftonline.com/{tenant}/oauth2/v2.0"


@dataclass(frozen=True)
class Preset:
    """A provider's OAuth defaults; ``name`` is how sentences call it."""

    name: str
    auth_url: str
    token_url: str
    device_url: str
    revoke_url: str
    scopes: str
    flow: str
    redirect_host: str
    auth_params: tuple[tuple[str, str], ...] = ()


# Google: the device flow refuses the mail scope, so the browser (loopback + PKCE) is the way;
# access_type=offline and prompt=consent make it hand out a refresh token every time.
# Microsoft: no revocation endpoint; the device code works in any terminal; its "Mobile and
# desktop" redirect URIs are http://localhost (any port).
PRESETS = {
    "gmail": Preset("Google", "https://accounts.google.com/o/oauth2/v2/auth", "https://oauth2.googleapis.com/token",
                    "", "https://oauth2.googleapis.com/revoke", "https://mail.google.com/", "code", "127.0.0.1",
                    (("access_type", "offline"), ("prompt", "consent"))),
    "outlook": Preset("Microsoft", f"{MICROSOFT}/authorize", f"{MICROSOFT}/token", f"{MICROSOFT}/devicecode", "",
                      "offline_access https://outlook.office.com/IMAP.AccessAsUser.All "
                      "https://outlook.office.com/SMTP.Send", "device", "localhost"),
}
PRESETS["microsoft365"] = PRESETS["office365"] = PRESETS["outlook"]
NO_PRESET = Preset("", "", "", "", "", "", "code", "127.0.0.1")


@dataclass(frozen=True)
class OAuthClient:
    """The user's client at one authorization server, as the settings describe it."""

    name: str            # "Google", "Microsoft", or the token endpoint's host
    client_id: str
    client_secret: str
    auth_url: str
    token_url: str
    device_url: str
    revoke_url: str
    scopes: str
    flow: str
    redirect_host: str
    auth_params: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_settings(cls, raw: dict[str, str], provider: str) -> OAuthClient | None:
        """The client the settings describe, or None when OUTREACH_OAUTH2_CLIENT_ID is not set."""
        client_id = raw.get("oauth2_client_id", "").strip()
        if not client_id:
            return None
        preset = PRESETS.get(provider, NO_PRESET)
        tenant = raw.get("oauth2_tenant", "common").strip() or "common"

        def url(key: str, default: str) -> str:
            value = raw.get(f"oauth2_{key}_url", default.replace("{tenant}", tenant)).strip()
            if value:
                check_url(value, f"OUTREACH_OAUTH2_{key.upper()}_URL")
            return value

        client = cls(
            name=preset.name, client_id=client_id, client_secret=raw.get("oauth2_client_secret", "").strip(),
            auth_url=url("auth", preset.auth_url), token_url=url("token", preset.token_url),
            device_url=url("device", preset.device_url), revoke_url=url("revoke", preset.revoke_url),
            scopes=" ".join(raw.get("oauth2_scopes", preset.scopes).split()),
            flow=raw.get("oauth2_flow", preset.flow).strip().lower(),
            redirect_host=raw.get("oauth2_redirect_host", preset.redirect_host).strip().lower(),
            auth_params=preset.auth_params,
        )
        if not client.token_url:
            raise UserError("OUTREACH_OAUTH2_CLIENT_ID is set but there is no token endpoint: set OUTREACH_PROVIDER "
                            "(gmail, outlook) or OUTREACH_OAUTH2_TOKEN_URL")
        if client.flow not in FLOWS:
            raise UserError(f"OUTREACH_OAUTH2_FLOW={client.flow!r}: use code (in a browser) or device (a code to "
                            "enter on any device)")
        if client.redirect_host not in ("127.0.0.1", "localhost"):
            raise UserError(f"OUTREACH_OAUTH2_REDIRECT_HOST={client.redirect_host!r}: use 127.0.0.1 or localhost")
        if not client.scopes:
            raise UserError("OUTREACH_OAUTH2_SCOPES is empty: name the scopes that give access to mail")
        return client if client.name else replace(client, name=urlsplit(client.token_url).hostname or "")

    def endpoint(self, kind: str) -> str:
        """The URL of the ``auth``, ``device`` or ``revoke`` endpoint; a clear error when it is unset."""
        value = {"auth": self.auth_url, "device": self.device_url, "revoke": self.revoke_url}[kind]
        if not value:
            words = {"auth": "authorization", "device": "device authorization", "revoke": "revocation"}[kind]
            raise UserError(f"OUTREACH_OAUTH2_{kind.upper()}_URL is not set: {self.name} needs its {words} endpoint "
                            f"for this (with OUTREACH_OAUTH2_FLOW={self.flow})")
        return value

    def session(self, context: ssl.SSLContext) -> OAuth2Session:
        """An Authlib session for this client over verified HTTPS (``context``), refusing redirects."""
        from authlib.integrations.requests_client import OAuth2Session
        from requests.adapters import HTTPAdapter

        class Verifying(HTTPAdapter):
            def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
                super().init_poolmanager(*args, **{**kwargs, "ssl_context": context})

        method = "client_secret_post" if self.client_secret else "none"
        session = OAuth2Session(client_id=self.client_id, client_secret=self.client_secret or None,
                                token_endpoint_auth_method=method, revocation_endpoint_auth_method=method,
                                scope=self.scopes, code_challenge_method="S256", default_timeout=HTTP_TIMEOUT)
        session.mount("https://", Verifying())
        session.max_redirects = 0  # an OAuth endpoint answers; one that redirects is not the endpoint
        return session

    @contextmanager
    def talking_to(self, what: str, url: str) -> Iterator[None]:
        """Turn what can go wrong on the way to ``url`` (the ``what`` endpoint) into one sentence.
        The server's own OAuth error replies pass through: their meaning depends on the request."""
        import requests

        where = f"{self.name}'s {what} endpoint {url}"
        try:
            yield
        except requests.exceptions.SSLError as e:
            raise UserError(f"cannot reach {where}: its TLS certificate is not trusted ({_reason(e)}); for a private "
                            "server set OUTREACH_CA_FILE to its CA certificate") from None
        except requests.Timeout:
            raise UserError(f"{where} did not answer within {HTTP_TIMEOUT} s; try again later") from None
        except requests.TooManyRedirects:
            raise UserError(f"{where} answered with a redirect, not an OAuth 2.0 reply: is the URL right?") from None
        except requests.ConnectionError as e:
            raise UserError(f"cannot reach {where} ({_reason(e)}); check your connection and the URL") from None
        except (requests.HTTPError, ValueError, RecursionError) as e:  # a gateway's page, not JSON, JSON too deep
            status = getattr(getattr(e, "response", None), "status_code", None)
            said = f"HTTP {status}" if status else "something that is not JSON"
            raise UserError(f"{where} answered {said}, not an OAuth 2.0 reply: is the URL right?") from None

    def refused(self, error: str, description: str, doing: str) -> str:
        """One sentence for an OAuth error reply the caller did not expect (RFC 6749 5.2)."""
        said = f"{error}: {description}" if description else error
        if error in ("invalid_client", "unauthorized_client"):
            return (f"{self.name} refused the client ID {self.client_id} while {doing} ({said}): check "
                    "OUTREACH_OAUTH2_CLIENT_ID (and for Microsoft, that the app registration allows public client "
                    "flows); the README's \"Signing in with Google or Microsoft\" shows how to register one")
        if error == "invalid_scope":
            return f"{self.name} refused the scopes {self.scopes} while {doing} ({said}): check OUTREACH_OAUTH2_SCOPES"
        if error in ("consent_required", "interaction_required") or "AADSTS65001" in description \
                or "AADSTS90094" in description:
            return (f"{self.name} says an administrator must approve this app first ({said}); the README's "
                    "\"When your school blocks the app\" says what to ask for")
        return f"{self.name} refused {doing} ({said})"


def check_url(url: str, setting: str) -> None:
    """https, or http to this machine only: tokens and codes never cross a network in clear."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and parts.hostname and _loopback(parts.hostname):
        return
    raise UserError(f"{setting}={url!r}: an OAuth endpoint must be an https:// address (http:// only on this "
                    "computer, 127.0.0.1 or localhost)")


def _loopback(host: str) -> bool:
    from outreach.account import is_loopback

    return is_loopback(host)


def error_of(e: Exception) -> tuple[str, str]:
    """(error code, description) of Authlib's OAuth error, descriptions cleaned of control characters."""
    error = str(getattr(e, "error", "") or "")
    description = " ".join(str(getattr(e, "description", "") or "").split())
    return error, description[:300]


def _reason(error: Exception) -> str:
    """The useful end of requests' nested message ("Connection refused", "certificate verify failed")."""
    text = str(error)
    found = re.findall(r"\[Errno -?\d+\] ([^'\")\]]+)|\[SSL: [A-Z_]+\] ([^'\")(]+)", text)
    if found:
        plain, tls = found[-1]
        return str(plain or tls).strip().rstrip(".")
    return text.split("(Caused by")[0].strip()[:200] or type(error).__name__
