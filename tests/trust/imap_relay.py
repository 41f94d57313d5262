"""A TLS relay in front of the session's Dovecot that can hold the server's answer to an APPEND.

Dovecot stores an appended message before it answers ``OK [APPENDUID ...]``; holding that answer
is the moment "the server has the draft, the client does not know it yet", so a test can kill the
client exactly there (``hold.reached``), as ``tests.smtp_server`` holds an SMTP reply. Everything
else passes through unchanged. The relay speaks TLS with the suite's own certificate on both
sides, so the product's settings stay ``OUTREACH_IMAP_SECURITY=ssl`` with verification on.
"""

from __future__ import annotations

import asyncio
import re
import ssl
import threading

from tests.smtp_server import Hold

APPEND = re.compile(rb"^(\S+) APPEND ", re.IGNORECASE)


class ImapRelay:
    """``ImapRelay(dovecot, cert, key).start()``; ``.port``; ``.hold_append = Hold(nth=...)``."""

    def __init__(self, dovecot, cert, key):
        self.upstream_port = dovecot.imaps_port
        self.serving = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.serving.load_cert_chain(str(cert), str(key))
        self.upstream = ssl.create_default_context(cafile=str(cert))
        self.appends = 0                     # APPENDs the server has answered, over every connection
        self.hold_append: Hold | None = None
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.server = None

    def start(self) -> "ImapRelay":
        self.thread.start()
        self.server = self._call(asyncio.start_server(self._relay, "127.0.0.1", 0, ssl=self.serving))
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        """Close the listener and every relayed connection, then the loop."""
        if self.hold_append is not None:
            self.hold_append.release()
        if self.server is not None:
            self._call(self._shut_down())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()

    async def _shut_down(self) -> None:
        self.server.close()
        tasks = asyncio.all_tasks() - {asyncio.current_task()}
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _call(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(10)

    async def _relay(self, client_in, client_out) -> None:
        try:
            server_in, server_out = await asyncio.open_connection("127.0.0.1", self.upstream_port,
                                                                  ssl=self.upstream, server_hostname="127.0.0.1")
        except OSError:
            client_out.close()
            return
        tags: set[bytes] = set()
        await asyncio.gather(self._up(client_in, server_out, tags), self._down(server_in, client_out, tags),
                             return_exceptions=True)

    async def _up(self, reader, writer, tags: set[bytes]) -> None:
        """Client to server, noting the tag of each APPEND."""
        try:
            while line := await reader.readline():
                if found := APPEND.match(line):
                    tags.add(found.group(1))
                writer.write(line)
                await writer.drain()
        finally:
            writer.close()

    async def _down(self, reader, writer, tags: set[bytes]) -> None:
        """Server to client, holding the answer to the n-th APPEND while the hold lasts."""
        try:
            while line := await reader.readline():
                tag = line.split(b" ", 1)[0]
                if tag in tags:
                    tags.discard(tag)
                    self.appends += 1
                    hold = self.hold_append
                    if hold is not None and self.appends == hold.nth:
                        await hold.wait()
                writer.write(line)
                await writer.drain()
        finally:
            writer.close()
