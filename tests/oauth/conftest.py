"""Fixtures of the OAuth tests: a real authorization server and mail servers that check its
tokens, all on 127.0.0.1 and shared by the session; a fresh mailbox, browser and workspace per
test. The keyring is the tests' JSON file, shared by the CLI in-process and as a subprocess."""

from __future__ import annotations

import json
import os
import threading
import uuid
from pathlib import Path

import pytest

from tests.oauth.browser import Browser
from tests.oauth.servers import AuthorizationServer, OAuthDovecot, missing

TEMPLATE = "Subject: Research on {{ topic }} imaging\n\nDear Dr. {{ last_name }},\n\nThank you.\n\nAsha\n"
CONTACTS = "email,last_name,topic\ndr1@uni.example.edu,Osei,stroke\ndr2@uni.example.edu,Lind,cardiac\n"


@pytest.fixture(scope="session")
def authorization():
    """The authorization server (60 s access tokens, rotating refresh tokens)."""
    lacking = missing()
    if lacking:
        if os.environ.get("CI"):
            pytest.fail(f"the OAuth tests need {lacking}: scripts/test installs it")
        pytest.skip(f"the OAuth tests need {lacking} (scripts/test installs it)")
    server = AuthorizationServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def sink(tls_cert):
    """Where the mail server relays what was submitted."""
    from tests.smtp_server import MailServer

    with MailServer(*tls_cert, mode="plain", auth=False) as server:
        yield server


@pytest.fixture(scope="session")
def mail_server(authorization, sink, tls_cert):
    """Dovecot: IMAP and SMTP submission taking XOAUTH2 and OAUTHBEARER, tokens introspected."""
    server = OAuthDovecot(*tls_cert, authorization, sink).start()
    yield server
    server.cleanup()


@pytest.fixture
def user():
    return f"applicant-{uuid.uuid4().hex[:8]}@applicant.test"


@pytest.fixture
def browser(user):
    return Browser(user)


class OAuthWorkspace:
    """A workspace whose account is ``user`` on the OAuth mail server, signing in at ``authorization``."""

    def __init__(self, path: Path, user: str, authorization: AuthorizationServer, mail_server, cafile: Path,
                 keyring_file: Path):
        self.path, self.user, self.authorization, self.mail_server = path, user, authorization, mail_server
        self.cafile, self.keyring_file = cafile, keyring_file
        self.env = {"PYTHON_KEYRING_BACKEND": "tests.keyring_backends.JsonFileKeyring",
                    "TEST_KEYRING_FILE": str(keyring_file)}
        (path / "templates").mkdir(exist_ok=True)
        (path / "templates" / "note.txt").write_text(TEMPLATE, encoding="utf-8")
        (path / "contacts.csv").write_text(CONTACTS, encoding="utf-8")

    def configure(self, provider: str | None = None, **settings: str | None) -> None:
        values = {
            "OUTREACH_FROM": f"Asha Rao <{self.user}>",
            "OUTREACH_PROVIDER": provider,
            "OUTREACH_SMTP_HOST": "127.0.0.1", "OUTREACH_SMTP_PORT": str(self.mail_server.submission_port),
            "OUTREACH_SMTP_SECURITY": "starttls",
            "OUTREACH_IMAP_HOST": "127.0.0.1", "OUTREACH_IMAP_PORT": str(self.mail_server.imaps_port),
            "OUTREACH_IMAP_SECURITY": "ssl",
            "OUTREACH_CA_FILE": str(self.cafile), "OUTREACH_RATE": "unlimited",
            "OUTREACH_SMTP_RETRY_DELAY": "0.01",
            **self.authorization.settings(),
            # without a preset, the scopes are the user's to name
            "OUTREACH_OAUTH2_SCOPES": None if provider else "https://mail.google.com/",
            **settings,
        }
        (self.path / ".env").write_text("".join(f"{k}={v}\n" for k, v in values.items() if v is not None),
                                        encoding="utf-8")

    def stored(self) -> dict | None:
        """What the keyring holds for the account's sign-in."""
        if not self.keyring_file.exists():
            return None
        text = json.loads(self.keyring_file.read_text()).get(f"outreach-oauth2/{self.user}")
        return json.loads(text) if text else None

    def store(self, refresh_token: str, token_url: str | None = None, client_id: str = "outreach-test") -> None:
        """Put a sign-in into the keyring as `login --oauth` would."""
        entries = json.loads(self.keyring_file.read_text()) if self.keyring_file.exists() else {}
        entries[f"outreach-oauth2/{self.user}"] = json.dumps({
            "refresh_token": refresh_token, "client_id": client_id,
            "token_url": token_url or self.authorization.endpoints["token_endpoint"]})
        self.keyring_file.write_text(json.dumps(entries))


@pytest.fixture
def oauth_workspace(workspace, user, authorization, mail_server, tls_cert, tmp_path, monkeypatch):
    """The workspace (current directory) set up for ``user``; the in-process keyring is the same
    JSON file a CLI subprocess given ``oauth_workspace.env`` uses."""
    import keyring

    from tests.keyring_backends import JsonFileKeyring

    ws = OAuthWorkspace(workspace, user, authorization, mail_server, tls_cert[0], tmp_path / "keyring.json")
    ws.configure()
    for name, value in ws.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    previous = keyring.get_keyring()
    keyring.set_keyring(JsonFileKeyring())
    yield ws
    keyring.set_keyring(previous)


@pytest.fixture
def signed_in(oauth_workspace, browser):
    """Sign in through the library, the browser answering in a thread (fast: no CLI process);
    returns the token set the server handed out."""
    from outreach import signin, tokens
    from outreach.account import Account
    from outreach.config import Settings

    account = Account.load(Settings.load())
    client = account.sign_in(oauth_workspace.user).client
    threads: list[threading.Thread] = []

    def open_browser(url: str) -> bool:
        threads.append(threading.Thread(target=browser.authorize, args=(url,), daemon=True))
        threads[-1].start()
        return True

    token = signin.in_browser(client, account.ssl_context(), lambda text: None, open_browser, timeout=20)
    threads[0].join(10)
    tokens.keep_sign_in(client, oauth_workspace.user, token, account.sign_in_lock)
    return token
