"""The only module that talks to NCBI's E-utilities: politely, verified, and never twice.

NCBI's rules for programs: name the tool and a contact address on every request (``tool=``,
``email=``), at most 3 requests a second without an API key and 10 with one, and back off when
told to (HTTP 429) or when the service fails (5xx). Requests are spaced evenly, 10% over 1/3
(or 1/10) of a second apart, retries included; a refusal is retried after the server's
``Retry-After`` or a doubling delay. Answers come from the workspace :class:`Cache` when it has
them and go into it once they have been read, so a second run, or one cut short, asks nothing
twice. HTTPS is verified (system CAs, plus ``OUTREACH_CA_FILE``); plain HTTP is accepted only
for a server on this computer (a test server or a local mirror, ``OUTREACH_EUTILS_URL``).
"""

from __future__ import annotations

import errno
import http.client
import socket
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import TypeVar
from urllib.parse import urlencode, urlsplit

from outreach import __version__
from outreach.account import is_loopback
from outreach.discover.cache import Cache
from outreach.discover.records import BadAnswer, ServiceError
from outreach.errors import UserError
from outreach.output import plural

DEFAULT_URL = "https://eutils.ncbi.nlm.nih.gov/entrez/eutils/"
TOOL = "outreach"
# Each gap 10% longer than 1/rate: NCBI counts requests as they arrive, and delays on the way
# (up to 1/10 s) must not bunch them into one request too many in a second.
MARGIN = 1.1
T = TypeVar("T")


@dataclass(frozen=True)
class Service:
    """Where the E-utilities are and who is asking."""

    base: str
    email: str
    api_key: str | None = None
    ca_file: str | None = None

    @property
    def per_second(self) -> int:
        return 10 if self.api_key else 3

    @classmethod
    def from_settings(cls, raw: dict[str, str], email: str) -> Service:
        """From ``OUTREACH_EUTILS_URL``, ``OUTREACH_NCBI_API_KEY`` and ``OUTREACH_CA_FILE``."""
        base = raw.get("eutils_url", DEFAULT_URL).strip()
        parts = urlsplit(base)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise UserError(f"OUTREACH_EUTILS_URL={base!r} is not an http(s) address like {DEFAULT_URL}")
        if parts.scheme == "http" and not is_loopback(parts.hostname):
            raise UserError(f"OUTREACH_EUTILS_URL={base!r}: plain http is only for a server on this computer; "
                            "use https")
        return cls(base=base if base.endswith("/") else base + "/", email=email,
                   api_key=raw.get("ncbi_api_key") or None, ca_file=raw.get("ca_file") or None)


@dataclass(frozen=True)
class Patience:
    """How long to keep asking when the service refuses or fails: ``attempts`` tries per request,
    the delays doubling from ``first_delay`` up to ``longest_delay`` seconds."""

    attempts: int = 5
    first_delay: float = 2.0
    longest_delay: float = 60.0
    timeout: float = 60.0


class Refused(UserError):
    """The service answered a request with an error it will give again (HTTP 4xx other than 429)."""

    def __init__(self, text: str, status: int):
        super().__init__(text)
        self.status = status


class EUtils:
    """Requests to the E-utilities: spaced, retried, cached. ``asked`` counts requests sent
    (retries included), ``reused`` answers taken from the cache."""

    def __init__(self, service: Service, cache: Cache, patience: Patience | None = None):
        self.service = service
        self.cache = cache
        self.patience = patience or Patience()
        self.gap = MARGIN / service.per_second
        self.last_sent: float | None = None
        self.asked = 0
        self.reused = 0
        self.context = ssl.create_default_context(cafile=service.ca_file) if service.ca_file else None

    def get(self, endpoint: str, params: dict[str, str], read: Callable[[bytes], T], *, key: str | None = None,
            max_age: float | None = None, fresh: bool = False) -> T:
        """``read`` of the answer to ``endpoint?params``: the kept one (younger than ``max_age``
        seconds) unless ``fresh``, else a new one, kept once ``read`` accepts it. ``key`` names
        the answer in the cache when the parameters alone do not (a history-server batch)."""
        key = key or Cache.key(endpoint, params)
        if not fresh and (kept := self.cache.get(key, max_age)) is not None:
            try:
                value = read(kept)
            except (BadAnswer, ServiceError):
                self.cache.forget(key)  # a kept answer that no longer reads: ask again
            else:
                self.reused += 1
                return value
        data = self._request(endpoint, params)
        try:
            value = read(data)
        except BadAnswer as e:
            raise UserError(f"NCBI's answer to {endpoint} could not be read: {e}; nothing was written, "
                            "run the same command again later") from None
        self.cache.put(key, data)
        return value

    def _request(self, endpoint: str, params: dict[str, str]) -> bytes:
        who = {"tool": TOOL, "email": self.service.email}
        if self.service.api_key:
            who["api_key"] = self.service.api_key
        url = self.service.base + endpoint
        body = urlencode({**params, **who}).encode()
        delay, started, trouble = self.patience.first_delay, time.monotonic(), ""
        for attempt in range(1, self.patience.attempts + 1):
            self._wait_turn()
            request = urllib.request.Request(url, data=body, headers={"User-Agent": f"{TOOL}/{__version__}"})
            try:
                with urllib.request.urlopen(request, timeout=self.patience.timeout, context=self.context) as answer:
                    data: bytes = answer.read()
                    return data
            except urllib.error.HTTPError as e:
                if e.code != 429 and e.code < 500:
                    raise Refused(f"NCBI's E-utilities refused {endpoint} (HTTP {e.code} {e.reason}"
                                  f"{_said(e)})", e.code) from None
                trouble, wait = f"HTTP {e.code} {e.reason}", _retry_after(e) or delay
            except urllib.error.URLError as e:
                self._refuse_if_unreachable(e.reason)
                trouble, wait = str(e.reason), delay
            except (TimeoutError, ConnectionError, http.client.HTTPException) as e:
                trouble, wait = str(e) or type(e).__name__, delay
            if attempt < self.patience.attempts:
                time.sleep(min(wait, self.patience.longest_delay))
                delay *= 2
        raise UserError(f"NCBI's E-utilities kept failing ({trouble}; {plural(self.patience.attempts, 'try', 'tries')} "
                        f"over {time.monotonic() - started:.0f} s); the answers fetched so far are kept, so run the "
                        "same command again later")

    def _wait_turn(self) -> None:
        """Space requests at least ``gap`` seconds apart, wherever they come from."""
        if self.last_sent is not None:
            remaining = self.last_sent + self.gap - time.monotonic()
            if remaining > 0:
                time.sleep(remaining)
        self.last_sent = time.monotonic()
        self.asked += 1

    def _refuse_if_unreachable(self, reason: object) -> None:
        """No network, no name, no server: one sentence now, not minutes of retries."""
        host = urlsplit(self.service.base).hostname
        if isinstance(reason, ssl.SSLCertVerificationError):
            why = f"its certificate is not trusted ({reason.verify_message}); set OUTREACH_CA_FILE for a private CA"
        elif isinstance(reason, socket.gaierror):
            why = f"the name {host} could not be looked up (no network, or no DNS)"
        elif isinstance(reason, ConnectionRefusedError):
            why = f"{host} refused the connection"
        elif isinstance(reason, OSError) and reason.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH):
            why = "the network is unreachable"
        else:
            return
        raise UserError(f"cannot reach NCBI's E-utilities at {self.service.base}: {why}. Check the connection "
                        "(or OUTREACH_EUTILS_URL) and run the same command again: what was already fetched is kept")


def _retry_after(error: urllib.error.HTTPError) -> float | None:
    """The server's ``Retry-After`` in seconds (a number or an HTTP date), when it sent one."""
    value = (error.headers.get("Retry-After") or "").strip()
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time()) if value else None
    except (TypeError, ValueError):
        return None


def _said(error: urllib.error.HTTPError) -> str:
    """NCBI's own words in an error answer (``<ERROR>...``, or JSON ``"error"``), briefly."""
    try:
        text = error.read(2000).decode("utf-8", "replace")
    except (OSError, http.client.HTTPException):
        return ""
    for start, end in (("<ERROR>", "</ERROR>"), ('"error":"', '"')):
        at = text.find(start)
        if at != -1:
            said = text[at + len(start):text.find(end, at + len(start))]
            return f": {' '.join(said.split())[:200]}"
    return ""
