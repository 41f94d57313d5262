"""`outreach login --oauth`: the two ways a person signs in, each ending in a token set.

* **In a browser** (:func:`in_browser`): the authorization code flow with PKCE S256 (RFC 7636)
  and a loopback redirect (RFC 8252): a one-request HTTP listener on 127.0.0.1 at a free port.
  ``state`` must come back unchanged, and an ``iss`` (RFC 9207), when the server sends one, must
  be the authorization server's own origin. Google's only way for mail.
* **With a code** (:func:`with_device_code`): the device authorization grant (RFC 8628): the
  address and the code are shown, and the token endpoint is polled as the server says
  (``interval``, +5 s after ``slow_down``, until ``expired_token``). Microsoft's default: it
  works in any terminal, even over SSH.

The authorization address, and the device's address and code, are always shown (``show``), so
the person can open them anywhere. Nothing here stores anything: ``outreach.tokens`` does.
"""

from __future__ import annotations

import html
import http.server
import secrets
import ssl
import sys
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from outreach import json_text
from outreach.errors import UserError
from outreach.oauth import DEVICE_GRANT, OAuthClient, error_of

BROWSER_TIMEOUT = 300  # seconds to wait for the browser to come back to the loopback address
REDIRECT_PATH = "/"


def in_browser(client: OAuthClient, context: ssl.SSLContext, show: Callable[[str], None],
               open_browser: Callable[[str], bool] | None, timeout: float = BROWSER_TIMEOUT) -> dict[str, Any]:
    """Sign in through the browser; ``open_browser(url)`` is None with ``--no-browser``."""
    from authlib.common.security import generate_token
    from authlib.integrations.base_client import OAuthError

    auth_url = client.endpoint("auth")
    with _Listener() as listener, client.session(context) as session:
        redirect_uri = f"http://{client.redirect_host}:{listener.port}{REDIRECT_PATH}"
        verifier = generate_token(64)  # RFC 7636 4.1: 43 to 128 characters
        url, state = session.create_authorization_url(auth_url, redirect_uri=redirect_uri, code_verifier=verifier,
                                                      **dict(client.auth_params))
        show(f"To sign in to {client.name}, open this address in your browser:\n\n  {url}\n")
        if open_browser is not None and not open_browser(url):
            show("(No browser could be opened here: open the address above yourself, on this computer.)")
        show(f"Waiting for {client.name} to send your browser back to {redirect_uri} ...")
        tokens: list[dict[str, Any]] = []

        def finish(params: dict[str, str]) -> str:
            """Check the browser's answer and trade its code for tokens; the problem in words, if any."""
            problem = _check_answer(client, auth_url, params, state)
            if problem:
                return problem
            try:
                with client.talking_to("token", client.token_url):
                    tokens.append(session.fetch_token(client.token_url, grant_type="authorization_code",
                                                      code=params["code"], redirect_uri=redirect_uri,
                                                      code_verifier=verifier))
            except OAuthError as e:
                return client.refused(*error_of(e), "the sign-in")
            except UserError as e:
                return str(e)
            return ""

        problem = listener.wait(timeout, finish)
    if problem is None:
        waited = f"{timeout / 60:.0f} minutes" if timeout >= 60 else f"{timeout:.0f} seconds"
        raise UserError(f"the browser did not come back from {client.name} within {waited}; "
                        "run `outreach login --oauth` again (the page may show what went wrong)")
    if problem:
        raise UserError(problem)
    return tokens[0]


def _check_answer(client: OAuthClient, auth_url: str, params: dict[str, str], state: str) -> str:
    """What is wrong with the redirect's parameters, in one sentence ("" when nothing)."""
    if not secrets.compare_digest(params.get("state", ""), state):
        return ("the answer that came back to this computer does not belong to this sign-in (its state differs), "
                "so it was ignored; run `outreach login --oauth` again")
    issuer = params.get("iss")
    if issuer and _origin(issuer) != _origin(auth_url):
        return (f"the answer came from {issuer}, not from {client.name} ({_origin(auth_url)}), so it was ignored; "
                "run `outreach login --oauth` again")
    error, description = params.get("error"), " ".join(params.get("error_description", "").split())[:300]
    if error == "access_denied":
        return f"the sign-in was cancelled or declined at {client.name}; nothing was stored"
    if error:
        return client.refused(error, description, "the sign-in")
    if not params.get("code"):
        return f"{client.name} sent the browser back without an authorization code; nothing was stored"
    return ""


def with_device_code(client: OAuthClient, context: ssl.SSLContext, show: Callable[[str], None],
                     sleep: Callable[[float], None] = time.sleep,
                     clock: Callable[[], float] = time.monotonic) -> dict[str, Any]:
    """Sign in with a code entered on any device; ``sleep`` waits between polls."""
    from authlib.integrations.base_client import OAuthError

    device_url = client.endpoint("device")
    with client.session(context) as session:
        with client.talking_to("device authorization", device_url):
            reply = session.post(device_url, data={"scope": client.scopes},
                                 auth=session.client_auth(session.token_endpoint_auth_method))
            grant = json_text.loads(reply.content)
        if not isinstance(grant, dict) or "error" in grant or reply.status_code != 200:
            error = grant.get("error", f"HTTP {reply.status_code}") if isinstance(grant, dict) else "no JSON"
            description = grant.get("error_description", "") if isinstance(grant, dict) else ""
            raise UserError(client.refused(str(error), " ".join(str(description).split())[:300],
                                           "starting the sign-in"))
        address = grant.get("verification_uri") or grant.get("verification_url")  # Google's older name
        if not (address and grant.get("user_code") and grant.get("device_code")):
            raise UserError(f"{client.name}'s device authorization endpoint {device_url} did not answer as RFC 8628 "
                            "says (no verification_uri, user_code or device_code)")
        code = str(grant["user_code"])
        show(f"To sign in to {client.name}, open {address} on any device and enter the code\n\n  {code}\n")
        if grant.get("verification_uri_complete"):
            show(f"(or open {grant['verification_uri_complete']}, which fills the code in)")
        show("Waiting for the sign-in to be finished there ...")
        interval = max(1.0, float(grant.get("interval", 5)))
        deadline = clock() + float(grant.get("expires_in", 900))
        expired = f"the code {code} expired before the sign-in was finished; run `outreach login --oauth` again"
        while True:
            sleep(interval)
            with client.talking_to("token", client.token_url):
                try:
                    token: dict[str, Any] = session.fetch_token(  # RFC 8628 3.4: no scope here
                        client.token_url, grant_type=DEVICE_GRANT, device_code=grant["device_code"], scope=None)
                    return token
                except OAuthError as e:
                    error, description = error_of(e)
            if error == "slow_down":  # RFC 8628 3.5: five seconds more, for this and every later poll
                interval += 5
            elif error == "expired_token":
                raise UserError(expired)
            elif error == "access_denied":
                raise UserError(f"the sign-in was cancelled or declined at {client.name}; nothing was stored")
            elif error != "authorization_pending":
                raise UserError(client.refused(error, description, "the sign-in"))
            if clock() > deadline + interval:  # the server never said so, but the code is past its life
                raise UserError(expired)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


class _Listener(http.server.HTTPServer):
    """A loopback HTTP listener for the one request the browser sends to :data:`REDIRECT_PATH`
    (RFC 8252 7.3), answered with a page saying how the sign-in went; anything else (a favicon)
    gets 404. Bound to 127.0.0.1 at a port the system picks."""

    def __init__(self) -> None:
        listener = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if urlsplit(self.path).path != REDIRECT_PATH or listener.problem is not None:
                    self.send_error(404)
                    return
                listener.problem = problem = listener.finish(dict(parse_qsl(urlsplit(self.path).query)))
                text = (f"outreach: the sign-in failed. {problem}" if problem
                        else "outreach: you are signed in. You can close this tab and go back to the terminal.")
                body = f"<!doctype html><meta charset=utf-8><title>outreach</title><p>{html.escape(text)}</p>"
                self.send_response(400 if problem else 200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.end_headers()
                self.wfile.write(body.encode())

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (http.server's name)
                """Quiet: the request line holds the authorization code."""

        self.problem: str | None = None
        self.failure: BaseException | None = None
        self.finish: Callable[[dict[str, str]], str] = lambda params: ""
        super().__init__(("127.0.0.1", 0), Handler)

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def wait(self, timeout: float, finish: Callable[[dict[str, str]], str]) -> str | None:
        """Serve until the browser's answer came and ``finish`` judged it: the problem ("" when
        signed in), or None when nothing came within ``timeout`` seconds."""
        self.finish = finish
        deadline = time.monotonic() + timeout
        while self.problem is None and self.failure is None and (left := deadline - time.monotonic()) > 0:
            self.timeout = min(left, 1.0)
            self.handle_request()
        if self.failure is not None:
            raise self.failure
        return self.problem

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A failure while answering is ours to raise, not http.server's to print; a browser that
        hung up early (OSError) is its own business."""
        failure = sys.exc_info()[1]
        if not isinstance(failure, OSError):
            self.failure = failure
