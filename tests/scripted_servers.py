"""Small hostile servers for the tests: just enough SMTP or IMAP, on 127.0.0.1 without TLS
(``OUTREACH_*_SECURITY=none`` is allowed to this machine), each a script of what a broken or
malicious server says. Dovecot and aiosmtpd are the honest servers; these are the others.

``ScriptedServer(session)`` runs ``await session(lines, writer)`` for each connection in an
asyncio loop on its own thread; ``lines`` is the connection's reader. Everything the client
sent is kept in ``heard`` (one entry per line, decoded), so a test can check what the server
saw without sleeping.
"""

from __future__ import annotations

import asyncio
import base64
import re
import threading
from collections.abc import Awaitable, Callable

Session = Callable[["Conversation"], Awaitable[None]]


class Conversation:
    """One client connection: read a line, say a line, remember what was heard."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, heard: list[str]):
        self.reader, self.writer, self.heard = reader, writer, heard

    async def line(self) -> str | None:
        raw = await self.reader.readline()
        if not raw:
            return None
        text = raw.decode("utf-8", "replace").rstrip("\r\n")
        self.heard.append(text)
        return text

    async def say(self, *lines: str | bytes) -> None:
        for line in lines:
            self.writer.write((line.encode("utf-8") if isinstance(line, str) else line) + b"\r\n")
        await self.writer.drain()


class ScriptedServer:
    def __init__(self, session: Session):
        self.session = session
        self.heard: list[str] = []
        self.connections = 0
        self._handlers: set[asyncio.Task] = set()  # asyncio keeps only weak references to tasks
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._server: asyncio.AbstractServer | None = None

    def __enter__(self) -> ScriptedServer:
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._serve, "127.0.0.1", 0), self.loop).result(10)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def __exit__(self, *exc) -> None:
        async def stop():
            assert self._server is not None
            self._server.close()
            tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            # let each connection's handler run its `finally` (closing its transport) before the loop goes
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        # A stalled handler waits on something only it refers to: without this reference, a garbage
        # collection in the middle of a test destroys it pending and its socket warns, unclosed.
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
        try:
            await self.session(Conversation(reader, writer, self.heard))
        except (ConnectionError, asyncio.CancelledError):
            pass  # the client went away, or the test is over
        finally:
            writer.close()
            self._handlers.discard(task)


# -- SMTP: a server that repeats the AUTH argument in its refusal ----------------------------
def smtp_echoing_auth(mechanisms: str) -> Session:
    """An SMTP server offering ``mechanisms`` that refuses every login with a 535 reply quoting
    exactly what the client sent (as some badly written servers and proxies do)."""

    async def session(talk: Conversation) -> None:
        await talk.say("220 echo.test ESMTP")
        while (line := await talk.line()) is not None:
            verb, _, rest = line.partition(" ")
            verb = verb.upper()
            if verb in ("EHLO", "HELO"):
                await talk.say("250-echo.test", f"250 AUTH {mechanisms}")
            elif verb == "AUTH" and rest.upper().startswith("LOGIN"):
                await talk.say("334 " + base64.b64encode(b"Password:").decode())
                password = await talk.line()
                await talk.say(f"535 5.7.8 Authentication failed for {rest} {password}")
            elif verb == "AUTH":
                await talk.say(f"535 5.7.8 Authentication failed for {rest}")
            elif verb == "QUIT":
                await talk.say("221 bye")
                return
            else:
                await talk.say("502 5.5.2 not here")

    return session


def smtp_refusing_recipients(reply: str) -> Session:
    """An SMTP relay (no AUTH) that refuses every recipient with ``reply`` (UTF-8 on the wire)."""

    async def session(talk: Conversation) -> None:
        await talk.say("220 relay.test ESMTP")
        while (line := await talk.line()) is not None:
            verb = line.partition(" ")[0].upper()
            if verb in ("EHLO", "HELO"):
                await talk.say("250 relay.test")
            elif verb == "RCPT":
                await talk.say(reply)
            elif verb == "QUIT":
                await talk.say("221 bye")
                return
            else:
                await talk.say("250 OK")

    return session


# -- IMAP --------------------------------------------------------------------------------------
TAGGED = re.compile(r"(\S+) (?:UID )?(\S+)(?: (.*))?", re.IGNORECASE)


class Imap:
    """A scripted IMAP server: it logs anyone in (or refuses them, echoing what they sent), has
    one folder, INBOX, and answers SEARCH and FETCH with what the test says. Override a
    method (or pass ``on``) to misbehave."""

    def __init__(self, *, refuse_login: bool = False, uidvalidity: int = 1, uidnext: int | None = None,
                 uids: tuple[int, ...] = (), fetch: Callable[[Conversation, str, str], Awaitable[None]] | None = None,
                 stall_on: str | None = None, greeting: str = "* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN AUTH=XOAUTH2] hi"):
        self.refuse_login, self.uidvalidity, self.uidnext, self.uids = refuse_login, uidvalidity, uidnext, uids
        self.fetch, self.stall_on, self.greeting = fetch, stall_on, greeting
        self.stalled = threading.Event()  # set when the server stops answering (stall_on)

    async def __call__(self, talk: Conversation) -> None:
        await talk.say(self.greeting)
        while (line := await talk.line()) is not None:
            match = TAGGED.fullmatch(line)
            if match is None:
                continue
            tag, command, rest = match[1], match[2].upper(), match[3] or ""
            if command == self.stall_on:
                self.stalled.set()
                await asyncio.Event().wait()  # never answer; the client must give up by itself
            if command == "CAPABILITY":
                await talk.say("* CAPABILITY IMAP4rev1 AUTH=PLAIN AUTH=XOAUTH2", f"{tag} OK done")
            elif command == "LOGIN":
                await self.login(talk, tag, rest)
            elif command == "AUTHENTICATE":
                await talk.say("+ ")
                response = await talk.line()
                await self.login(talk, tag, f"{rest} {response}")
            elif command == "LIST":
                await talk.say('* LIST (\\HasNoChildren) "/" INBOX', f"{tag} OK done")
            elif command in ("EXAMINE", "SELECT"):
                uidnext = self.uidnext if self.uidnext is not None else max(self.uids, default=0) + 1
                await talk.say(f"* {len(self.uids)} EXISTS", "* 0 RECENT", f"* OK [UIDVALIDITY {self.uidvalidity}] ok",
                               f"* OK [UIDNEXT {uidnext}] ok", f"{tag} OK [READ-ONLY] done")
            elif command == "SEARCH":
                await talk.say(f"* SEARCH {' '.join(map(str, self.uids))}".rstrip(), f"{tag} OK done")
            elif command == "FETCH" and self.fetch is not None:
                await self.fetch(talk, tag, rest)
            elif command == "LOGOUT":
                await talk.say("* BYE bye", f"{tag} OK done")
                return
            else:
                await talk.say(f"{tag} OK done")

    async def login(self, talk: Conversation, tag: str, argument: str) -> None:
        if self.refuse_login:
            await talk.say(f"{tag} NO [AUTHENTICATIONFAILED] Authentication failed for {argument}")
        else:
            await talk.say(f"{tag} OK logged in")


def huge_header_literal(size: int) -> Callable[[Conversation, str, str], Awaitable[None]]:
    """A FETCH answer whose header literal announces ``size`` bytes, then streams them only as
    fast as the client reads (drain() waits while the socket is full): nothing is sent that the
    client does not take, so a client that gives up costs the test nothing."""

    async def fetch(talk: Conversation, tag: str, rest: str) -> None:
        uid = int(re.match(r"\d+", rest)[0])
        item = re.search(r"BODY\.PEEK(\[HEADER\.FIELDS \([^)]*\)\])", rest, re.IGNORECASE)
        talk.writer.write(f"* 1 FETCH (UID {uid} BODY{item[1] if item else '[]'} {{{size}}}\r\n".encode())
        chunk = b"X-Padding: " + b"x" * 65_000 + b"\r\n"
        sent = 0
        while sent < size:
            piece = chunk[:size - sent]
            talk.writer.write(piece)
            await talk.writer.drain()
            sent += len(piece)
        await talk.say(f" INTERNALDATE \"01-Dec-2026 10:00:00 +0000\" FLAGS ())", f"{tag} OK done")

    return fetch
