"""Shared fixtures: a workspace on disk, the CLI in-process and as a real subprocess.

Tests never touch the network or a real keychain: the keyring backend is chosen here, and
every server a test talks to is started by the suite on 127.0.0.1.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import keyring
import pytest
from click.testing import CliRunner
from keyring.backends import null

from outreach.cli import cli

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path, monkeypatch):
    """No OUTREACH_* from the developer's shell, no real keychain, no colours."""
    for name in list(os.environ):
        if name.startswith("OUTREACH_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    # keyring reads that variable once, at the process's first use, and keeps its choice: the
    # in-process backend is set for every test, not left to whichever test's environment came first.
    keyring.set_keyring(null.Keyring())
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("NO_COLOR", "1")


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    """An empty workspace folder, made the current directory, with a sender configured."""
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / ".env").write_text("OUTREACH_FROM=Asha Rao <asha.rao@example.org>\n", encoding="utf-8")
    monkeypatch.chdir(ws)
    return ws


@pytest.fixture
def invoke():
    """Run the CLI in-process: ``invoke("check", "t.txt", "c.csv")`` -> click Result."""
    runner = CliRunner()

    def run(*args: str, input: str | None = None):
        return runner.invoke(cli, [str(a) for a in args], input=input, catch_exceptions=False)

    return run


@pytest.fixture
def run_cli():
    """Run the CLI as a real subprocess of this checkout (not whatever is installed)."""

    def run(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: float = 60,
            input: bytes | None = None) -> subprocess.CompletedProcess:
        full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
        return subprocess.run([sys.executable, "-m", "outreach", *map(str, args)], cwd=cwd,
                              env=full_env, capture_output=True, text=True, timeout=timeout,
                              input=input)

    return run


@pytest.fixture(scope="session")
def tls_cert(tmp_path_factory):
    """(cert.pem, key.pem) of a self-signed CA made for this test session."""
    from tests.tls import make_certificate

    return make_certificate(tmp_path_factory.mktemp("tls"))


# -- mailbox ------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def dovecot(tls_cert):
    """One Dovecot IMAP server for the session (starts in ~50 ms); skipped without it, except in CI."""
    from tests.dovecot_server import Dovecot, available

    if not available():
        if os.environ.get("CI"):
            pytest.fail("dovecot is not installed: scripts/test installs Debian's dovecot-imapd")
        pytest.skip("dovecot is not installed (apt-get install dovecot-imapd)")
    server = Dovecot(*tls_cert).start()
    yield server
    server.cleanup()


@pytest.fixture(scope="session")
def realmail(tls_cert):
    """Postfix + Dovecot (LMTP, Sieve, IMAP) on 127.0.0.1 for the session (tests/realmail.py);
    skipped without Debian's packages or root, except in CI, which installs them (scripts/test)."""
    from tests.realmail import RealMail, missing

    gaps = missing()
    if gaps:
        if os.environ.get("CI"):
            pytest.fail(f"a real mail system needs {', '.join(gaps)}: scripts/test installs the packages as root")
        pytest.skip(f"a real mail system needs {', '.join(gaps)} (apt-get install postfix dovecot-lmtpd dovecot-sieve)")
    server = RealMail(*tls_cert).start()
    yield server
    server.cleanup()


class MailAccount:
    """A fresh IMAP mailbox on the session's Dovecot, configured in the workspace's .env."""

    def __init__(self, server, user: str, client, cafile: Path):
        self.server, self.user, self.client, self.cafile = server, user, client, cafile

    def append(self, raw: bytes, folder: str = "INBOX", flags=(), arrived: datetime | None = None) -> None:
        """``arrived``: the INTERNALDATE to give the message (the server's clock by default)."""
        self.client.append(folder, raw, flags=flags, msg_time=arrived)

    def flags(self, folder: str = "INBOX") -> dict[int, tuple]:
        self.client.select_folder(folder, readonly=True)
        return {uid: data[b"FLAGS"] for uid, data in self.client.fetch(self.client.search(), ["FLAGS"]).items()}

    def messages(self, folder: str = "INBOX") -> list[bytes]:
        self.client.select_folder(folder, readonly=True)
        fetched = self.client.fetch(self.client.search(), ["BODY.PEEK[]"])
        return [data[b"BODY[]"] for _, data in sorted(fetched.items())]


def imap_settings(server, user: str, ca_file) -> dict[str, str]:
    """OUTREACH_* settings for ``user``'s mailbox on the test Dovecot (implicit TLS, verified)."""
    from tests.dovecot_server import PASSWORD

    return {"OUTREACH_IMAP_HOST": "127.0.0.1", "OUTREACH_IMAP_PORT": str(server.imaps_port),
            "OUTREACH_IMAP_SECURITY": "ssl", "OUTREACH_IMAP_USER": user,
            "OUTREACH_PASSWORD_COMMAND": f"printf {PASSWORD}", "OUTREACH_CA_FILE": str(ca_file)}


@pytest.fixture
def mail_account(dovecot, tls_cert, workspace):
    """An empty mailbox reachable over IMAPS with a verified certificate, set up in .env."""
    import ssl

    cert = tls_cert[0]
    user = dovecot.new_user()
    with open(workspace / ".env", "a", encoding="utf-8") as env:
        env.writelines(f"{name}={value}\n" for name, value in imap_settings(dovecot, user, cert).items())
    client = dovecot.connect(user, ssl.create_default_context(cafile=str(cert)))
    yield MailAccount(dovecot, user, client, cert)
    client.logout()


@pytest.fixture
def record_sent(workspace):
    """Put messages in the workspace's store as if outreach had sent them (one transaction).

    ``record_sent(sample)`` returns the sample; ``record_sent(a, b, c)`` returns the list.
    """
    from outreach.store import Outgoing, Store
    from outreach.store.connection import utcnow
    from tests.seed import force_state

    def record(*sent, campaign: str = "fall-mentors", state: str = "sent", step: int = 0):
        store = Store(workspace / "outreach.db")
        with store.transaction():
            for item in sent:
                store.record("queue", Outgoing(campaign=campaign, address=item.to, step=step,
                                               message_id=item.message_id, template="t.txt", subject=item.subject,
                                               recipients=[item.to], contact={"email": item.to}, contact_line=2,
                                               transport="smtp"))
                if state != "queued":
                    force_state(store, item.message_id, state, sent_at=utcnow() if state == "sent" else None)
        store.close()
        return sent[0] if len(sent) == 1 else list(sent)

    return record


# -- sending: SMTP servers, a campaign on disk, keyrings --------------------------------------
SMTP_PASSWORD = "app-password-4fj2"


@pytest.fixture
def smtp_server(tls_cert):
    """A submission server (STARTTLS required, then AUTH) on 127.0.0.1, for one test."""
    from tests.smtp_server import MailServer

    with MailServer(*tls_cert, mode="starttls", password=SMTP_PASSWORD) as server:
        yield server


@pytest.fixture
def smtps_server(tls_cert):
    """An implicit-TLS server (port-465 style) with AUTH, for one test."""
    from tests.smtp_server import MailServer

    with MailServer(*tls_cert, mode="ssl", password=SMTP_PASSWORD) as server:
        yield server


def smtp_settings(server, ca_file, **extra: str) -> dict[str, str]:
    """OUTREACH_* settings that point at a test server, fast retries, no pacing."""
    settings = {
        "OUTREACH_FROM": "Asha Rao <asha.rao@example.org>",
        "OUTREACH_SMTP_HOST": "127.0.0.1",
        "OUTREACH_SMTP_PORT": str(server.port),
        "OUTREACH_SMTP_SECURITY": server.mode if server.mode != "plain" else "none",
        "OUTREACH_SMTP_USER": server.user,
        "OUTREACH_CA_FILE": str(ca_file),
        "OUTREACH_PASSWORD_COMMAND": f"printf %s {SMTP_PASSWORD}",
        "OUTREACH_SMTP_RETRY_DELAY": "0.01",
        "OUTREACH_RATE": "unlimited",
    }
    settings.update(extra)
    return {k: v for k, v in settings.items() if v is not None}


TEMPLATE = """Subject: Research collaboration on {{ topic }} imaging

Dear Dr. {{ last_name }},

I am an international medical graduate hoping to contribute to {{ topic }} research. {{ note }}

Best regards,
Asha Rao
"""
TOPICS = ["stroke", "breast", "cardiac", "pediatric", "musculoskeletal", "thoracic", "abdominal", "neuro"]


def contact_rows(count: int, start: int = 0) -> list[str]:
    return [f"dr{i}@example.edu,Name{i},Surname{i},{TOPICS[i % len(TOPICS)]},"
            f"Your paper number {i} on perfusion maps was a revelation." for i in range(start, start + count)]


class Campaign:
    """A workspace set up to send: .env, templates/outreach.txt and contacts.csv."""

    def __init__(self, ws: Path, server, ca_file):
        self.ws, self.server, self.ca_file = ws, server, ca_file
        self.template = Path("templates/outreach.txt")
        self.contacts = Path("contacts.csv")
        (ws / "templates").mkdir(exist_ok=True)
        (ws / self.template).write_text(TEMPLATE, encoding="utf-8")
        self.configure()
        self.write_contacts(3)

    def configure(self, **extra: str | None) -> None:
        lines = [f"{k}={v}" for k, v in smtp_settings(self.server, self.ca_file, **extra).items()]
        (self.ws / ".env").write_text("\n".join(lines) + "\n", encoding="utf-8")

    def write_contacts(self, count: int, start: int = 0, extra_rows: list[str] = ()) -> None:
        rows = ["email,first_name,last_name,topic,note", *contact_rows(count, start), *extra_rows]
        (self.ws / self.contacts).write_text("\n".join(rows) + "\n", encoding="utf-8")

    def args(self, *more: str) -> list[str]:
        return ["send", str(self.template), str(self.contacts), *more]

    def states(self) -> dict[str, str]:
        import sqlite3

        with sqlite3.connect(self.ws / "outreach.db") as db:
            return dict(db.execute("SELECT address, state FROM messages"))


@pytest.fixture
def campaign(workspace, smtp_server, tls_cert):
    """A workspace with three contacts, a template and settings for ``smtp_server``."""
    return Campaign(workspace, smtp_server, tls_cert[0])


@pytest.fixture
def memory_keyring():
    """An in-process keyring that forgets everything after the test."""
    import keyring

    from tests.keyring_backends import MemoryKeyring

    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture
def file_keyring_env(tmp_path):
    """Environment for a CLI subprocess whose keyring is the tests' own JSON file under tmp_path."""
    return {"PYTHON_KEYRING_BACKEND": "tests.keyring_backends.JsonFileKeyring",
            "TEST_KEYRING_FILE": str(tmp_path / "keyring.json")}


@pytest.fixture
def local_zone(monkeypatch):
    """Sets this process's local time zone by name (``local_zone("Europe/London")``) for the rest
    of the test; the zone is put back after it."""
    import time

    from outreach.clock import forget_offsets

    def set_zone(name: str) -> None:
        monkeypatch.setenv("TZ", name)
        time.tzset()
        forget_offsets()

    yield set_zone
    monkeypatch.undo()
    time.tzset()
    forget_offsets()


@pytest.fixture
def utc_zone(local_zone):
    """Calendar dates are the user's local ones: pin the zone so expected dates hold anywhere."""
    local_zone("UTC")


@pytest.fixture(scope="module")
def example_store(tmp_path_factory):
    """One store for every example of a module's property tests (each example replaces its rows):
    a new store per example would cost more than the test. Foreign keys are off: examples record
    events that name messages the store never had, which sync never writes but a damaged store holds."""
    from outreach.store import Store

    shared = Store(tmp_path_factory.mktemp("examples") / "outreach.db")
    shared.db.execute("PRAGMA foreign_keys=OFF")
    yield shared
    shared.close()
