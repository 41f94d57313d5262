"""A hostile or stalled IMAP server is bounded (issue 17 items 9 and 10).

A UID outside 1..2^32-1 (RFC 3501's nz-number) is a protocol error, said in one sentence; a
literal larger than what was asked for is refused before a byte of it is read, so a server
announcing 300 MB costs `sync` no memory (measured: the peak RSS of a real process); a server
that stops answering fails after OUTREACH_IMAP_TIMEOUT seconds. The servers are the small
scripted ones of tests/scripted_servers.py, speaking plain IMAP to 127.0.0.1.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import time

import pytest

from tests import mail_samples as samples
from tests.scripted_servers import Imap, ScriptedServer, huge_header_literal

MAX_UID = 2**32 - 1


def configure(workspace, port: int, **extra: str) -> None:
    lines = ["OUTREACH_FROM=Asha Rao <asha.rao@example.org>", "OUTREACH_IMAP_HOST=127.0.0.1",
             f"OUTREACH_IMAP_PORT={port}", "OUTREACH_IMAP_SECURITY=none", "OUTREACH_IMAP_USER=asha",
             "OUTREACH_PASSWORD_COMMAND=printf secret-1", *(f"{k}={v}" for k, v in extra.items())]
    (workspace / ".env").write_text("\n".join(lines) + "\n", encoding="utf-8")


def one_error(output: str) -> str:
    assert "internal error" not in output and "Traceback" not in output, output
    errors = [line for line in output.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and output.rstrip("\n").endswith(errors[0]), output
    return errors[0]


def positions(workspace) -> list[tuple]:
    with sqlite3.connect(workspace / "outreach.db") as db:
        return db.execute("SELECT folder, uidvalidity, last_uid FROM sync_state").fetchall()


# -- item 9: UIDs ------------------------------------------------------------------------------
BAD_UIDS = {
    "a SEARCH result of 2^64": dict(uids=(3, 2**64)),
    "a SEARCH result of 2^32": dict(uids=(3, 2**32)),
    "a SEARCH result of 0": dict(uids=(0, 3)),
    "UIDNEXT of 2^64": dict(uids=(3,), uidnext=2**64),
    "UIDVALIDITY of 2^64": dict(uids=(3,), uidvalidity=2**64),
    "UIDVALIDITY of 0": dict(uids=(3,), uidvalidity=0),
}


@pytest.mark.parametrize("script", BAD_UIDS.values(), ids=BAD_UIDS.keys())
def test_a_uid_outside_32_bits_is_a_protocol_error_in_one_sentence(workspace, invoke, record_sent, script):
    record_sent(samples.outgoing("chen@example.edu"))
    with ScriptedServer(Imap(**script)) as server:
        configure(workspace, server.port)
        result = invoke("sync")
    line = one_error(result.output)
    assert result.exit_code in (1, 2)
    assert "outside 1 to 4294967295" in line and "a protocol error" in line, line
    assert all(0 < uid <= MAX_UID and 0 < validity <= MAX_UID for _, validity, uid in positions(workspace))


def test_the_largest_uid_is_fine(workspace, invoke, record_sent):
    record_sent(samples.outgoing("chen@example.edu"))
    with ScriptedServer(Imap(uids=(MAX_UID - 1,), uidnext=MAX_UID, uidvalidity=MAX_UID)) as server:
        configure(workspace, server.port)
        result = invoke("sync", "--json")
    assert result.exit_code == 0, result.output
    assert positions(workspace) == [("INBOX", MAX_UID, MAX_UID - 1)]


# -- item 9: literals --------------------------------------------------------------------------
HUGE = 300 * 1024 * 1024
PEAK_RSS = """\
import resource, subprocess, sys
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
print(done.returncode)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)  # KiB on Linux
sys.stdout.write(done.stdout + done.stderr)
"""


def test_a_300_mb_header_literal_is_refused_unread(workspace, record_sent, tmp_path):
    """The peak memory of a real `outreach sync` process, measured by a small wrapper (a child
    spawned from pytest itself would inherit pytest's high-water mark across exec)."""
    import os
    import subprocess

    from tests.conftest import ROOT

    record_sent(samples.outgoing("chen@example.edu"))
    wrapper = tmp_path / "peak_rss.py"
    wrapper.write_text(PEAK_RSS)
    with ScriptedServer(Imap(uids=(7,), fetch=huge_header_literal(HUGE))) as server:
        configure(workspace, server.port)
        started = time.monotonic()
        done = subprocess.run([sys.executable, str(wrapper), sys.executable, "-m", "outreach", "sync"], cwd=workspace,
                              env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=120)
        seconds = time.monotonic() - started
    code, peak_kib, output = done.stdout.split("\n", 2)
    assert int(code) == 1, output
    assert int(peak_kib) < 150 * 1024, f"peak RSS {int(peak_kib) // 1024} MiB"
    line = one_error(output)
    assert f"announced a {HUGE:,}-byte literal" in line and "uid 7" in line, line
    assert seconds < 30


def test_a_header_literal_at_the_limit_is_read(workspace, invoke, record_sent):
    """The limit is what was asked for: a reply's headers at the header limit are still read."""
    from outreach.mailbox.imap import HEADER_LIMIT

    sent = record_sent(samples.outgoing("chen@example.edu"))
    reply = samples.gmail_reply(sent)
    headers = reply.split(b"\r\n\r\n", 1)[0] + b"\r\n"
    padding = b"X-Padding: " + b"x" * (HEADER_LIMIT - len(headers) - 15) + b"\r\n\r\n"

    async def fetch(talk, tag, rest):
        item, literal = b"BODY[HEADER.FIELDS (FROM)]<0>", headers + padding
        if "BODY.PEEK[]" in rest:  # the whole message, if the classifier wants it
            item, literal = b"BODY[]<0>", reply
        assert len(literal) <= HEADER_LIMIT
        await talk.say(b"* 1 FETCH (UID 7 " + item + b" {%d}" % len(literal),
                       literal + b' INTERNALDATE "01-Dec-2026 10:00:00 +0000" FLAGS ())', f"{tag} OK done")

    with ScriptedServer(Imap(uids=(7,), fetch=fetch)) as server:
        configure(workspace, server.port)
        result = invoke("sync", "--json")
    assert result.exit_code == 0, result.output
    assert [e["kind"] for e in json.loads(result.stdout)["events"]] == ["reply"]


# -- item 10: a server that stops answering ----------------------------------------------------
@pytest.mark.parametrize("command", ["LOGIN", "EXAMINE", "SEARCH", "FETCH"])
def test_a_stalled_server_fails_after_the_imap_timeout(workspace, invoke, record_sent, command):
    record_sent(samples.outgoing("chen@example.edu"))
    script = Imap(uids=(7,), stall_on=command, fetch=huge_header_literal(10))
    with ScriptedServer(script) as server:
        configure(workspace, server.port, OUTREACH_IMAP_TIMEOUT="0.5")
        started = time.monotonic()
        result = invoke("sync")
        seconds = time.monotonic() - started
    assert script.stalled.is_set()
    assert 0.5 <= seconds < 10, seconds
    line = one_error(result.output)
    assert "no answer within 0.5 s" in line and "OUTREACH_IMAP_TIMEOUT" in line, line


@pytest.mark.parametrize("value", ["soon", "-3", "0"])
def test_a_bad_imap_timeout_is_one_sentence(workspace, invoke, record_sent, value):
    record_sent(samples.outgoing("chen@example.edu"))
    configure(workspace, 9, OUTREACH_IMAP_TIMEOUT=value)
    result = invoke("sync")
    assert result.exit_code == 2
    assert f"OUTREACH_IMAP_TIMEOUT={value!r}" in one_error(result.output)
