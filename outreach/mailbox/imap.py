"""The one module that talks IMAP (through ``imapclient``): connect, read, append drafts.

Reading never changes the mailbox: folders are opened with EXAMINE (read-only), bodies and
headers are fetched with ``BODY.PEEK`` (which never sets ``\\Seen``), and nothing is moved,
flagged or deleted. The only writes are ``outreach draft --imap``'s: APPEND to the Drafts
folder, and, when a draft is redrafted, removing the older copy *with the same Message-ID*;
and after a send, APPEND of each sent message to the Sent folder (:func:`save_sent_copies`).

Every failure a user can meet (refused connection, unverifiable certificate, wrong password,
missing STARTTLS, a server that stops answering) becomes one :class:`UserError` sentence naming
the server. A server is not trusted to keep to the protocol: a UID outside RFC 3501's 1 to
2^32-1 is a protocol error, a literal larger than what was asked for is refused before it is
read, and no wait lasts longer than OUTREACH_IMAP_TIMEOUT (:class:`Wire`).
"""

from __future__ import annotations

import math
import re
import ssl
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Self

from imapclient import IMAPClient, SocketTimeout
from imapclient.datetime_util import parse_to_datetime
from imapclient.exceptions import (
    CapabilityError,
    IMAPClientAbortError,
    IMAPClientError,
    LoginError,
)
from imapclient.imapclient import DELETED, DRAFT, DRAFTS, JUNK, SEEN, SENT

from outreach import sasl
from outreach.account import Account, Secret, Server
from outreach.errors import UserError

CONNECT_TIMEOUT = 20   # seconds to connect; OUTREACH_IMAP_TIMEOUT, when lower, wins
READ_TIMEOUT = 120     # seconds to wait for an answer: the default of OUTREACH_IMAP_TIMEOUT
MAX_UID = 2**32 - 1    # RFC 3501: a UID, UIDVALIDITY and UIDNEXT are 32-bit and never 0
# What screening needs to tell "could be ours" from "cannot be": threading, sender, subject,
# and the signals of reports and auto-replies. Nothing else is fetched for unrelated mail.
HEADER_FIELDS = ("FROM", "SENDER", "SUBJECT", "DATE", "MESSAGE-ID", "IN-REPLY-TO", "REFERENCES", "CONTENT-TYPE",
                 "AUTO-SUBMITTED", "PRECEDENCE", "RETURN-PATH", "X-FAILED-RECIPIENTS", "X-AUTOREPLY",
                 "X-AUTORESPOND", "X-AUTORESPONDER")
# At most this much of them: a longer block (a thread of 1,000 References) is cut, not refused.
HEADER_LIMIT = 64 * 1024
HEADERS_ITEM = f"BODY.PEEK[HEADER.FIELDS ({' '.join(HEADER_FIELDS)})]<0.{HEADER_LIMIT}>"
# A report or an auto-reply is read up to this size: the parts that matter come first, and a
# returned original with a 5 MB CV attached is not worth the download.
BODY_LIMIT = 256 * 1024
BODY_ITEM = f"BODY.PEEK[]<0.{BODY_LIMIT}>"
BODY_BATCH = 25
# What one command's answer may hold in all (500 header blocks at the limit are 32 MiB): a server
# that sends more, in literals or lines, is refused.
RESPONSE_LIMIT = 32 * 1024 * 1024
APPENDUID = re.compile(rb"APPENDUID \d+ (\d+)")
RAW_UID = re.compile(rb"\bUID (\d+)")
RAW_DATE = re.compile(rb'INTERNALDATE "([^"]+)"')
# RFC 3501's date-time, as servers send it: " 7-Feb-1994 21:52:25 -0800" (a day of one digit after a space).
INTERNALDATE = re.compile(rb" ?(\d{1,2})-([A-Za-z]{3})-(\d{4}) (\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)")
MONTHS = {name: number for number, name in enumerate(
    (b"jan", b"feb", b"mar", b"apr", b"may", b"jun", b"jul", b"aug", b"sep", b"oct", b"nov", b"dec"), 1)}
RAW_FLAGS = re.compile(rb"FLAGS \(([^)]*)\)")
RAW_HEADER_LITERAL = re.compile(rb"BODY\[HEADER\.FIELDS \([^)]*\)\](?:<0>)? \{\d+\}$")


class ConnectionLost(UserError):
    """The server went away mid-way: what was read is kept; exit 1 (partial)."""

    exit_code = 1


class CommandRefused(ConnectionLost):
    """The server answered NO or BAD to one command (a folder it will not open): the connection
    is fine, so the caller may go on with the next folder (``recoverable``)."""

    recoverable = True


class ProtocolError(ConnectionLost):
    """The server broke the protocol (a UID out of range, a literal larger than asked for): the
    connection is given up; what was read is kept."""


def account_key(server: Server) -> str:
    """How ``sync_state`` names this mailbox."""
    return f"imap:{server.user}@{server.host}"


@dataclass(frozen=True)
class Fetched:
    """One message's screening headers, arrival time and whether it is a draft (\\Draft)."""

    headers: bytes
    arrived: datetime | None
    draft: bool = False


@dataclass
class Stats:
    bytes_received: int = 0
    bytes_sent: int = 0
    headers_fetched: int = 0
    bodies_fetched: int = 0


class ImapSession:
    """A logged-in connection. Use as a context manager; ``stats`` counts the bytes at the socket."""

    def __init__(self, account: Account, *, warn: Callable[[str], None] = lambda text: None):
        server = account.imap
        if server is None:
            raise UserError("no IMAP server configured: set OUTREACH_IMAP_HOST (or OUTREACH_PROVIDER=gmail, outlook, "
                            "icloud, fastmail) in .env")
        server.check_encryption()
        server.check_auth_allowed()
        self.server = server
        self.key = account_key(server)
        self.stats = Stats()
        self.timeout = imap_timeout(account.settings.raw)
        self.folder = ""  # the folder examined last, to name it
        secret = account.secret(server, warn)
        context = account.ssl_context()
        self.client = self._connect(context)
        try:
            self._login(secret)
        except BaseException:
            self._drop()
            raise
        self._folders: list[tuple[tuple[bytes, ...], str]] | None = None

    # -- connection ---------------------------------------------------------------------
    def _where(self) -> str:
        return f"IMAP server {self.server.host}:{self.server.port}"

    def _connect(self, context: ssl.SSLContext) -> IMAPClient:
        server = self.server
        try:
            client = IMAPClient(server.host, server.port, ssl=server.security == "ssl", ssl_context=context,
                                timeout=SocketTimeout(min(CONNECT_TIMEOUT, self.timeout), self.timeout))
        except ssl.SSLCertVerificationError as e:
            raise UserError(f"{self._where()}: its TLS certificate cannot be verified ({e.verify_message}); "
                            "for a private server set OUTREACH_CA_FILE to its CA certificate") from None
        except ssl.SSLError as e:
            raise UserError(f"{self._where()}: TLS failed ({e.reason or e}); is OUTREACH_IMAP_SECURITY right "
                            "(ssl for port 993, starttls for 143)?") from None
        except TimeoutError:
            raise UserError(self._no_answer("connecting", min(CONNECT_TIMEOUT, self.timeout))) from None
        except OSError as e:
            raise UserError(f"cannot connect to {self._where()} ({e.strerror or e})") from None
        self.wire = Wire(self, client)
        # imapclient sets imaplib's debug level to 5 to hand every line to a logger: imaplib then
        # formats each line read, each regex match and each literal (repr of the bytes) for a
        # logger nobody listens to, a fifth of a cold sync's CPU. (It would also log LOGIN's password.)
        client._imap.debug = 0
        # Times as the server gives them, at their own offset: imapclient's "normalised" naive local
        # times use today's daylight-saving offset for every date (see internal_date).
        client.normalise_times = False
        if server.security == "starttls":
            try:
                client.starttls(context)
            except CapabilityError:
                client.shutdown()
                raise UserError(f"{self._where()} does not offer STARTTLS; use OUTREACH_IMAP_SECURITY=ssl "
                                "(usually port 993)") from None
            except ssl.SSLCertVerificationError as e:
                raise UserError(f"{self._where()}: its TLS certificate cannot be verified ({e.verify_message}); "
                                "for a private server set OUTREACH_CA_FILE to its CA certificate") from None
            except (ssl.SSLError, IMAPClientError, OSError) as e:
                raise UserError(f"{self._where()}: STARTTLS failed ({e})") from None
        return client

    def _no_answer(self, what: str, seconds: float | None = None) -> str:
        return (f"{self._where()}: no answer within {seconds or self.timeout:g} s while {what} "
                "(OUTREACH_IMAP_TIMEOUT sets how long to wait)")

    def _login(self, secret: Secret) -> None:
        server = self.server
        try:
            if secret.kind == "oauth2":
                self._bearer_login(secret)
            elif secret.value.isascii():
                self.client.login(server.user, secret.value)
            else:  # LOGIN's quoted strings are ASCII; AUTHENTICATE PLAIN carries UTF-8 (RFC 4616)
                self.client.plain_login(server.user, secret.value)
        except TimeoutError:
            raise UserError(self._no_answer("logging in")) from None
        except LoginError as e:
            reason = re.sub(r"^.*?\[[A-Z-]+\]\s*", "", secret.hidden_in(str(e)).strip("b'\""))
            raise UserError(f"{self._where()}: login as {server.user} failed ({reason or 'refused'}); "
                            "check the password (`outreach login`) or the token command") from None
        except (OSError, IMAPClientError, UnicodeError) as e:
            raise UserError(f"{self._where()}: the connection failed during login "
                            f"({secret.hidden_in(str(e))})") from None

    def _bearer_login(self, secret: Secret) -> None:
        """AUTHENTICATE XOAUTH2 (or OAUTHBEARER) with the access token; a refused token is renewed
        and tried once more when it came from a kept sign-in. The tagged NO and the server's error
        challenge become one sentence."""
        server = self.server
        offered = [c.decode("ascii", "replace")[5:] for c in self.client.capabilities()
                   if c.upper().startswith(b"AUTH=")]
        mechanism = sasl.choose(offered)
        if mechanism is None:
            raise UserError(f"{self._where()} does not offer XOAUTH2 or OAUTHBEARER (it offers "
                            f"{', '.join(offered) or 'no SASL method'}), so it takes no OAuth2 token; use a password")
        signed_in = secret.renew is not None
        failed = sasl.sign_in(mechanism, server.user, server.host, server.port, secret, self.client.sasl_login,
                              LoginError)
        if failed is None:
            return
        login, secret, e = failed
        said = re.sub(r"^.*?\[[A-Z-]+\]\s*", "", secret.hidden_in(str(e)).strip("b'\""))
        meaning = login.refusal()
        fix = (f"sign in again as {server.user} with `outreach login --oauth`" if signed_in
               else f"check that OUTREACH_OAUTH2_TOKEN_COMMAND prints a fresh access token for {server.user}")
        raise UserError(f"{self._where()} refused the OAuth2 access token for {server.user} "
                        f"({f'{meaning}: ' if meaning else ''}{said or 'refused'}): {fix}") from None

    def _drop(self) -> None:
        with suppress(Exception):  # already closed, however it failed: nothing to release
            self.client.shutdown()

    def close(self) -> None:
        try:
            self.client.logout()
        except Exception:  # noqa: BLE001 (the server may be gone, any way; the socket is closed either way)
            self._drop()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def guarded(self, what: str):
        """``with session.guarded("reading INBOX"):`` turns a dropped connection into ConnectionLost."""
        return _Guard(self, what)

    # -- folders ------------------------------------------------------------------------
    def folders(self) -> list[tuple[tuple[bytes, ...], str]]:
        if self._folders is None:
            self._folders = [(tuple(flags), name) for flags, _, name in self.client.list_folders()]
        return self._folders

    def has_folder(self, name: str) -> bool:
        return any(n == name for _, n in self.folders())

    def special_folder(self, flag: bytes) -> str | None:
        """By SPECIAL-USE attribute (RFC 6154), else by the usual names (imapclient's heuristics)."""
        found: str | None = self.client.find_special_folder(flag)
        return found

    def sent_folder(self) -> str | None:
        return self.special_folder(SENT)

    def junk_folder(self) -> str | None:
        return self.special_folder(JUNK)

    def existing_drafts_folder(self) -> str | None:
        return self.special_folder(DRAFTS)

    def drafts_folder(self) -> str:
        """The Drafts folder: ``\\Drafts`` (Gmail's ``[Gmail]/Drafts``), else "Drafts", else created."""
        return self._special_or_created(DRAFTS, "Drafts")

    def sent_folder_for_copies(self) -> str:
        """The Sent folder: ``\\Sent`` (Gmail's ``[Gmail]/Sent Mail``), else "Sent" or the like, else
        created as "Sent", as a mail client does on its first send."""
        return self._special_or_created(SENT, "Sent")

    def _special_or_created(self, flag: bytes, plain: str) -> str:
        found = self.special_folder(flag)
        if found:
            return found
        prefix = ""
        if self.client.has_capability("NAMESPACE"):
            personal = self.client.namespace().personal
            prefix = personal[0][0] if personal else ""
        name = f"{prefix}{plain}"
        self.client.create_folder(name)
        with suppress(IMAPClientError):  # not subscribing only hides it in some clients
            self.client.subscribe_folder(name)
        self._folders = None
        return name

    # -- reading (read-only) -------------------------------------------------------------
    def examine(self, folder: str) -> tuple[int, int | None]:
        """Open ``folder`` read-only; (UIDVALIDITY, UIDNEXT or None)."""
        self.folder = folder
        info = self.client.select_folder(folder, readonly=True)
        uidnext = self._uid(info[b"UIDNEXT"], "UIDNEXT") if b"UIDNEXT" in info else None
        return self._uid(info[b"UIDVALIDITY"], "UIDVALIDITY"), uidnext

    def uids_after(self, last_uid: int, since: date | None = None) -> list[int]:
        """UIDs above ``last_uid`` (that arrived on or after ``since``), ascending."""
        criteria: list = ["UID", f"{last_uid + 1}:*"]
        if since is not None:
            criteria += ["SINCE", since]
        return sorted(uid for uid in map(self._uid, self.client.search(criteria)) if uid > last_uid)

    def _uid(self, value, what: str = "UID") -> int:
        """``value`` as a number within RFC 3501's 1 to 2^32-1, or a protocol error (a 2^64
        would overflow the store, a 0 would reread everything)."""
        try:
            number = int(value)
        except (TypeError, ValueError):
            number = -1
        if not 0 < number <= MAX_UID:
            self._drop()
            raise ProtocolError(f"{self._where()}: the server sent {what} {value!r} for {self.folder or 'a folder'}, "
                                f"outside 1 to {MAX_UID} (RFC 3501): a protocol error, so reading stopped; what was "
                                "read so far is recorded")
        return number

    def ask_headers(self, uids: list[int]) -> HeaderRequest:
        """Send the FETCH of ``uids``' screening headers, INTERNALDATE and \\Draft flag now; read the
        answer with :meth:`HeaderRequest.take`, before any other command is sent."""
        return HeaderRequest(self, uids)

    def _take_headers(self, tag: str, uids: list[int]) -> dict[int, Fetched] | None:
        """The answer to the raw FETCH sent as ``tag``, split by :func:`parse_header_fetch`."""
        imap = self.client._imap
        typ, data = imap._untagged_response(*imap._command_complete("UID", tag), "FETCH")
        if typ != "OK":
            raise IMAPClientError(f"FETCH failed: {data!r}")
        return parse_header_fetch(data, set(uids))

    def fetch_bodies(self, uids: list[int]) -> dict[int, bytes]:
        """uid -> the message (its first BODY_LIMIT bytes), without setting \\Seen."""
        bodies: dict[int, bytes] = {}
        for start in range(0, len(uids), BODY_BATCH):  # at most BODY_BATCH x 256 KiB in memory at once
            with self.wire.literals(BODY_LIMIT):
                response = self.client.fetch(uids[start:start + BODY_BATCH], [BODY_ITEM])
            self.stats.bodies_fetched += len(response)
            bodies.update((uid, _section(data, b"BODY[]")) for uid, data in response.items())
        return bodies

    def find_message_ids(self, folder: str, message_ids: Iterable[str]) -> dict[str, datetime | None]:
        """Which of ``message_ids`` are in ``folder`` (read-only), with their INTERNALDATE."""
        wanted = {m.casefold(): m for m in message_ids}
        if not wanted:
            return {}
        self.examine(folder)
        found: dict[str, datetime | None] = {}
        ids = list(wanted.values())
        for start in range(0, len(ids), 20):
            batch = ids[start:start + 20]
            criteria: list = []
            for message_id in batch[:-1]:
                criteria += ["OR", "HEADER", "Message-ID", message_id]
            criteria += ["HEADER", "Message-ID", batch[-1]]
            uids = self.client.search(criteria)
            if not uids:
                continue
            for data in self.client.fetch(uids, ["BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]", "INTERNALDATE"]).values():
                header = _section(data, b"BODY[HEADER").decode("ascii", "replace")
                for token in re.findall(r"<[^<>\s]+>", header):
                    if token.casefold() in wanted:
                        found[wanted[token.casefold()]] = _aware(data.get(b"INTERNALDATE"))
        return found

    # -- drafts (the only writes) ---------------------------------------------------------
    def append_draft(self, folder: str, raw: bytes, message_id: str, *, replace: bool) -> None:
        """APPEND ``raw`` flagged \\Draft and \\Seen, as mail clients store their own drafts (an unread
        draft is shown as new mail); with ``replace``, remove older drafts with this Message-ID."""
        response = self.client.append(folder, raw, flags=(DRAFT, SEEN), msg_time=datetime.now(UTC))
        if not replace:
            return
        new_uid = APPENDUID.search(response if isinstance(response, bytes) else str(response).encode())
        if new_uid is None or not self.client.has_capability("UIDPLUS"):
            return  # without UIDPLUS an EXPUNGE could take the user's own deleted mail with it
        self.client.select_folder(folder)
        old = [uid for uid in self.client.search(["HEADER", "Message-ID", message_id, "DRAFT"])
               if uid != int(new_uid.group(1))]
        if old:
            self.client.add_flags(old, [DELETED], silent=True)
            self.client.uid_expunge(old)
        if self.client.has_capability("UNSELECT"):
            self.client.unselect_folder()
        else:
            self.client.close_folder()  # CLOSE expunges only what is flagged \Deleted: the copies above


    def remove_drafts(self, folder: str, message_ids: list[str]) -> int:
        """Delete the drafts (flagged \\Draft) carrying these Message-IDs: they were just sent, and a
        draft left behind could be sent again from a mail client. Returns how many went."""
        if not self.client.has_capability("UIDPLUS"):
            raise CommandRefused(f"{self.server.host} cannot expunge single messages (no UIDPLUS); "
                                 f"delete the sent drafts in {folder} yourself")
        self.client.select_folder(folder)
        removed = 0
        try:
            for start in range(0, len(message_ids), 20):
                batch = message_ids[start:start + 20]
                criteria: list = []
                for message_id in batch[:-1]:
                    criteria += ["OR", "HEADER", "Message-ID", message_id]
                uids = self.client.search([*criteria, "HEADER", "Message-ID", batch[-1], "DRAFT"])
                if uids:
                    self.client.add_flags(uids, [DELETED], silent=True)
                    self.client.uid_expunge(uids)
                    removed += len(uids)
        finally:
            if self.client.has_capability("UNSELECT"):
                self.client.unselect_folder()
            else:
                self.client.close_folder()
        return removed

    def append_sent(self, folder: str, raw: bytes) -> None:
        """APPEND a message that was sent, flagged \\Seen, as a mail client files its own."""
        self.client.append(folder, raw, flags=(SEEN,), msg_time=datetime.now(UTC))


@dataclass
class SentCopies:
    """What :func:`save_sent_copies` did: how many copies are in which folder, or why not all."""

    folder: str | None
    saved: int
    wanted: int
    error: str | None = None

    def add(self, later: SentCopies) -> SentCopies:
        """This round's copies and a later round's (`send --wait`): the first error is kept."""
        return SentCopies(later.folder or self.folder, self.saved + later.saved, self.wanted + later.wanted,
                          self.error or later.error)


def save_sent_copies(account: Account, copies: list[tuple[str, bytes]], *,
                     warn: Callable[[str], None] = lambda text: None) -> SentCopies:
    """Put a copy of each sent message (Message-ID, bytes as sent) in the account's Sent folder,
    so that the user's mail client shows the thread a reply answers.

    Never raises for the server's sake: the messages have left, and nothing may be sent again
    because their copies could not be filed; the error says why, in one sentence."""
    result = SentCopies(None, 0, len(copies))
    try:
        with ImapSession(account, warn=warn) as session:
            doing = "finding the Sent folder"
            try:
                result.folder = session.sent_folder_for_copies()
                for message_id, raw in copies:
                    doing = f"filing {message_id} in {result.folder}"
                    session.append_sent(result.folder, raw)
                    result.saved += 1
            except (IMAPClientError, OSError) as e:
                raise UserError(f"{session._where()} refused {doing} ({str(e).strip().rstrip('.')})") from None
    except UserError as e:
        result.error = str(e)
    return result


class HeaderRequest:
    """One chunk's FETCH of screening headers, sent when made and read by :meth:`take`.

    A sync asks for the next chunk's headers before it screens and records this one, so the
    server prepares its answer meanwhile instead of waiting for the next command (IMAP allows a
    client to send a command before the previous answer is read: RFC 3501 5.5). Nothing else is
    sent before the answer is taken, so answers never interleave and the literal limits of
    :class:`Wire` hold for each one as before. A failure to send is kept and raised by
    :meth:`take`, so the chunk before it is still recorded.

    This is the one bulk command of a sync (every new message passes through it), so its answer
    is read from imaplib directly: imapclient's pure-Python lexer walks the echoed
    ``BODY[HEADER.FIELDS (...)]`` key character by character, about 0.3 ms a message, which was
    60 % of a cold sync's CPU. Any answer the short parser does not expect is asked again through
    imapclient's parser, so correctness never depends on the shortcut.
    """

    def __init__(self, session: ImapSession, uids: list[int]):
        self.session, self.uids = session, uids
        self.tag: str | None = None
        self.unsent: IMAPClientAbortError | None = None
        if session.client.use_uid:
            try:
                self.tag = session.client._imap._command("UID", "FETCH", uid_set(uids),
                                                         f"({HEADERS_ITEM} INTERNALDATE FLAGS)")
            except IMAPClientAbortError as e:  # the connection is gone: said when the answer is wanted
                self.unsent = e

    def take(self) -> dict[int, Fetched]:
        """uid -> the screening headers, INTERNALDATE and \\Draft flag."""
        session = self.session
        if self.unsent is not None:
            raise self.unsent
        fetched = session._take_headers(self.tag, self.uids) if self.tag is not None else None
        if fetched is None:
            response = session.client.fetch(self.uids, [HEADERS_ITEM, "INTERNALDATE", "FLAGS"])
            fetched = {uid: Fetched(_section(data, b"BODY[HEADER"), _aware(data.get(b"INTERNALDATE")),
                                    DRAFT in data.get(b"FLAGS", ()))
                       for uid, data in response.items()}
        session.stats.headers_fetched += len(fetched)
        return fetched


class _Guard:
    def __init__(self, session: ImapSession, what: str):
        self.session, self.what = session, what

    def __enter__(self):
        return self.session

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            return False
        if issubclass(exc_type, UserError):
            return False
        if issubclass(exc_type, TimeoutError):
            self.session._drop()  # a LOGOUT would wait as long again
            raise ConnectionLost(f"{self.session._no_answer(self.what)}; what was read so far is recorded, run the "
                                 "command again") from None
        if issubclass(exc_type, (OSError, IMAPClientAbortError)):
            raise ConnectionLost(f"{self.session._where()}: the connection failed while {self.what} ({exc}); "
                                 "what was read so far is recorded, run the command again") from None
        if issubclass(exc_type, IMAPClientError):  # a NO or BAD answer to one command
            raise CommandRefused(f"{self.session._where()}: the server refused a command while {self.what} "
                                 f"({exc}); what was read so far is recorded") from None
        return False


class Wire:
    """imaplib's socket reads and writes, counted (``stats``) and bounded.

    imaplib reads a literal with ``read(n)``, n being the size the server announced in ``{n}``,
    and holds it whole: a server announcing 300 MB would be given 300 MB of memory. So a literal
    over ``limit`` (what the command asked for: HEADER_LIMIT, BODY_LIMIT while bodies are
    fetched) is refused before a byte of it is read, as is an answer to one command that grows
    past RESPONSE_LIMIT; the connection is then closed, since the unread bytes are still on it.
    """

    def __init__(self, session: ImapSession, client: IMAPClient):
        self.session, self.imap = session, client._imap
        self.limit = HEADER_LIMIT
        self.answer = 0         # bytes received since the last command was sent
        self.line = b""         # the last line received: it names the message a literal belongs to
        self._read, self._readline, self._send = self.imap.read, self.imap.readline, self.imap.send
        self.imap.read, self.imap.readline, self.imap.send = self.read, self.readline, self.send

    @contextmanager
    def literals(self, limit: int) -> Iterator[None]:
        previous, self.limit = self.limit, limit
        try:
            yield
        finally:
            self.limit = previous

    def read(self, size: int) -> bytes:
        if size > self.limit or self.answer + size > RESPONSE_LIMIT:
            self._refuse(f"announced a {size:,}-byte literal{self._about()}, more than the "
                         f"{min(self.limit, RESPONSE_LIMIT - self.answer):,} bytes asked for")
        return self._count(self._read(size))

    def readline(self) -> bytes:
        self.line = self._count(self._readline())
        if self.answer > RESPONSE_LIMIT:
            self._refuse(f"sent more than {RESPONSE_LIMIT:,} bytes in answer to one command")
        return self.line

    def send(self, data: bytes) -> None:
        self.answer = 0
        self.session.stats.bytes_sent += len(data)
        self._send(data)

    def _count(self, data: bytes) -> bytes:
        self.answer += len(data)
        self.session.stats.bytes_received += len(data)
        return data

    def _about(self) -> str:
        uid = RAW_UID.search(self.line)
        folder = f" in {self.session.folder}" if self.session.folder else ""
        return f" (uid {int(uid.group(1))}{folder})" if uid else ""

    def _refuse(self, what: str) -> None:
        self.session._drop()
        raise ProtocolError(f"{self.session._where()}: the server {what}; refusing it unread (a protocol error), so "
                            "reading stopped; what was read so far is recorded")


def imap_timeout(raw: dict[str, str]) -> float:
    """OUTREACH_IMAP_TIMEOUT: seconds to wait for the server (default READ_TIMEOUT)."""
    value = raw.get("imap_timeout")
    if value is None:
        return READ_TIMEOUT
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not 0 < seconds < math.inf:
        raise UserError(f"OUTREACH_IMAP_TIMEOUT={value!r}: give the seconds to wait for the IMAP server, "
                        f"e.g. {READ_TIMEOUT}")
    return seconds


class ImapDrafts:
    """Where ``write_drafts`` puts drafts for ``outreach draft --imap``: the account's Drafts folder."""

    transport = "imap"
    unsent = False      # X-Unsent is for .eml files; an IMAP draft is a draft by its \Draft flag
    commit_every = 1    # each draft's row is committed before its APPEND: a re-draft then replaces it

    def __init__(self, session: ImapSession):
        self.session = session
        with session.guarded("looking for the Drafts folder"):
            self.folder = session.drafts_folder()

    def where(self, key: str) -> str:
        return f"imap:{self.folder}"

    def put(self, key: str, raw: bytes, message_id: str, *, replace: bool) -> bool:
        with self.session.guarded(f"appending the draft to {key}"):
            self.session.append_draft(self.folder, raw, message_id, replace=replace)
        return True

    def describe(self) -> str:
        return f"{self.folder} on {self.session.server.host}"


def parse_header_fetch(data: list, wanted: set[int]) -> dict[int, Fetched] | None:
    """imaplib's raw ``UID FETCH (BODY.PEEK[HEADER.FIELDS (...)] INTERNALDATE FLAGS)`` response ->
    uid -> :class:`Fetched`; None when it is not the shape expected (the caller then asks
    imapclient, whose parser handles every shape).

    imaplib gives a list where a literal arrives as ``(b'7 (UID 7 ... BODY[...] {212}', literal)``
    followed by the rest of that response (``b')'``, or ``b' UID 7)'`` when the server puts
    the UID last); an unsolicited ``b'9 (FLAGS (\\Seen))'`` stands alone.
    """
    records: list[list[bytes]] = []
    for item in data:
        if isinstance(item, tuple) and len(item) == 2:
            records.append([item[0], item[1], b""])
        elif isinstance(item, bytes) and item[:1].isdigit():
            if b"BODY[" in item:
                return None  # headers sent as a quoted string, not a literal
        elif isinstance(item, bytes) and records:
            records[-1][2] += item
        elif item is not None:
            return None
    fetched = {}
    for prefix, literal, tail in records:
        meta = prefix + tail
        uid, date, flags = RAW_UID.search(meta), RAW_DATE.search(meta), RAW_FLAGS.search(meta)
        if uid is None or not RAW_HEADER_LITERAL.search(prefix):
            return None
        if int(uid.group(1)) in wanted:
            fetched[int(uid.group(1))] = Fetched(literal, internal_date(date.group(1)) if date else None,
                                                 flags is not None and DRAFT.lower() in flags.group(1).lower().split())
    return fetched


def uid_set(uids: list[int]) -> str:
    """``[1, 2, 3, 7]`` -> ``"1:3,7"``: short commands for runs of UIDs."""
    parts, ordered = [], sorted(uids)
    start = previous = ordered[0]
    for uid in [*ordered[1:], None]:
        if uid is not None and uid == previous + 1:
            previous = uid
            continue
        parts.append(str(start) if start == previous else f"{start}:{previous}")
        if uid is not None:
            start = previous = uid
    return ",".join(parts)


def _section(data: dict, prefix: bytes) -> bytes:
    for key, value in data.items():
        if isinstance(key, bytes) and key.upper().startswith(prefix):
            return value or b""
    return b""


def internal_date(raw: bytes) -> datetime | None:
    """IMAP's INTERNALDATE (``17-Jul-2026 02:44:25 -0700``) as an aware time at the offset it names;
    None if it cannot be read.

    Read here, not by imapclient: its default turns the time into a naive local one using
    today's daylight-saving offset for every date, so mail from the other half of the year was
    an hour off once made aware again; and its general date parser with a zone object per
    message was 8 % of a cold sync. A form this does not know goes to imapclient's parser, unchanged."""
    match = INTERNALDATE.fullmatch(raw)
    month = MONTHS.get(match.group(2).lower()) if match else None
    if match is None or month is None:
        try:
            return _aware(parse_to_datetime(raw, normalise=False))
        except ValueError:
            return None
    day, _, year, hour, minute, second, sign, zone_hours, zone_minutes = match.groups()
    offset = (int(zone_hours) * 60 + int(zone_minutes)) * (-1 if sign == b"-" else 1)
    try:
        return datetime(int(year), month, int(day), int(hour), int(minute), int(second), tzinfo=_zone(offset))
    except ValueError:  # 31-Feb, an hour of 25, an offset of a day or more
        return None


_ZONES: dict[int, timezone] = {}


def _zone(minutes: int) -> timezone:
    """One tzinfo per offset, shared by the messages of a sync (timezone() raises past a day)."""
    zone = _ZONES.get(minutes)
    if zone is None:
        zone = _ZONES[minutes] = timezone(timedelta(minutes=minutes))
    return zone


def _aware(value) -> datetime | None:
    """imapclient's times are aware (normalise_times is off); one without a zone is taken as local."""
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.astimezone()
    return value if isinstance(value, datetime) else None
