"""`outreach login --oauth` end to end: the CLI as a subprocess, the scripted browser as the person,
a real authorization server, and mail servers that check every token by introspection."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from urllib.parse import parse_qs, urlsplit

from tests.conftest import ROOT

SECRETS_SHAPES = ("auth=Bearer", "Bearer ", "dXNlcj1", "user=")  # dXNlcj1 is base64 of "user="


class Login:
    """`outreach login --oauth ARGS` running; ``until(pattern)`` reads its output up to a match."""

    def __init__(self, ws, *args: str):
        self.proc = subprocess.Popen([sys.executable, "-m", "outreach", "login", "--oauth", *args], cwd=ws.path,
                                     env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.watchdog = threading.Timer(60, self.proc.kill)
        self.watchdog.start()
        self.out: list[str] = []

    def until(self, pattern: str) -> re.Match:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.out.append(line)
            if found := re.search(pattern, line):
                return found
        self.proc.kill()
        raise AssertionError(f"no {pattern!r} in {''.join(self.out)} {self.proc.stderr.read()}")

    def finish(self) -> tuple[int, str, str]:
        assert self.proc.stdout is not None and self.proc.stderr is not None
        rest, err = self.proc.stdout.read(), self.proc.stderr.read()  # not communicate(): it skips what the
        self.proc.wait(60)                                                # text layer already buffered
        self.proc.stdout.close()
        self.proc.stderr.close()
        self.watchdog.cancel()
        return self.proc.returncode, "".join(self.out) + rest, err


def assert_no_secrets(text: str, *secrets: str) -> None:
    for secret in (*SECRETS_SHAPES, *secrets):
        assert secret not in text


def test_google_in_the_browser_then_draft_send_and_sync_log_in_with_the_token(oauth_workspace, browser, invoke,
                                                                               mail_server, sink):
    ws = oauth_workspace
    ws.configure("gmail")  # Google's flow, scopes and parameters; only the addresses are the test's
    login = Login(ws, "--no-browser")
    url = login.until(r"(http://127\.0\.0\.1:\d+/auth\?\S+)").group(1)
    page = browser.authorize(url)
    code, out, err = login.finish()

    assert code == 0, out + err
    asked = parse_qs(urlsplit(url).query)
    assert asked["code_challenge_method"] == ["S256"] and len(asked["code_challenge"][0]) == 43
    assert asked["scope"] == ["https://mail.google.com/"] and asked["client_id"] == ["outreach-test"]
    assert asked["access_type"] == ["offline"] and asked["prompt"] == ["consent"] and len(asked["state"][0]) >= 20
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/", asked["redirect_uri"][0])
    assert browser.left_for.startswith(asked["redirect_uri"][0] + "?code=")  # the loopback address got the code
    assert page.status_code == 200 and "you are signed in" in page.text
    assert "the sign-in works on 127.0.0.1" in out and f"signed in to Google as {ws.user}" in out
    first = ws.stored()
    assert first["client_id"] == "outreach-test" and first["token_url"].endswith("/token")
    assert_no_secrets(out + err, first["refresh_token"])

    drafted = invoke("draft", "templates/note.txt", "contacts.csv", "--imap", "--campaign", "spring", "--json")
    assert drafted.exit_code == 0, drafted.output
    assert json.loads(drafted.stdout)["transport"] == "imap" and len(json.loads(drafted.stdout)["written"]) == 2
    sent = invoke("send", "templates/note.txt", "contacts.csv", "--campaign", "spring", "--yes")
    assert sent.exit_code == 0, sent.output
    assert sorted(m.rcpt_tos[0] for m in sink.messages[-2:]) == ["dr1@uni.example.edu", "dr2@uni.example.edu"]
    assert all(b"with ESMTPSA" in m.data and m.mail_from == ws.user for m in sink.messages[-2:])
    synced = invoke("sync")
    assert synced.exit_code == 0, synced.output

    logins = re.findall(rf"(imap|submission)-login: Info: Login: user=<{re.escape(ws.user)}>, method=(\w+)",
                        mail_server.log())
    assert {kind for kind, _ in logins} == {"imap", "submission"} and {m for _, m in logins} == {"XOAUTH2"}
    assert ws.stored()["refresh_token"] != first["refresh_token"]  # rotated by each command, kept each time
    assert_no_secrets(drafted.output + sent.output + synced.output, first["refresh_token"],
                      ws.stored()["refresh_token"])


def test_microsoft_with_a_code_on_another_device(oauth_workspace, browser, invoke):
    ws = oauth_workspace
    ws.configure("outlook")  # Microsoft's device flow and scopes (offline_access, IMAP, SMTP.Send)
    login = Login(ws)
    address = login.until(r"open (http://127\.0\.0\.1:\d+/device) on any device").group(1)
    user_code = login.until(r"^\s+([A-Z]{4}-[A-Z]{4})\s*$").group(1)
    assert "Sign-in Success" in browser.device(address, user_code)
    code, out, err = login.finish()

    assert code == 0, out + err
    assert f"signed in to Microsoft as {ws.user}" in out and "the sign-in works on 127.0.0.1" in out
    assert ws.stored()["refresh_token"]
    assert invoke("send", "templates/note.txt", "contacts.csv", "--yes").exit_code == 0


def test_microsoft_in_the_browser_declined_stores_nothing(oauth_workspace, browser):
    ws = oauth_workspace
    ws.configure("outlook")
    login = Login(ws, "--browser")  # no display here: the address is printed, not opened
    url = login.until(r"(http://127\.0\.0\.1:\d+/auth\?\S+)").group(1)
    page = browser.authorize(url, approve=False)
    code, out, err = login.finish()

    assert re.fullmatch(r"http://localhost:\d+/", parse_qs(urlsplit(url).query)["redirect_uri"][0])
    assert "No browser could be opened here" in out
    assert page.status_code == 400 and "declined" in page.text
    assert code == 2
    assert err.strip() == "error: the sign-in was cancelled or declined at Microsoft; nothing was stored"
    assert ws.stored() is None


def test_a_device_code_nobody_enters_expires(oauth_workspace, invoke):
    ws = oauth_workspace
    ws.configure("outlook", OUTREACH_OAUTH2_CLIENT_ID="outreach-test-short-codes")  # its codes live one second
    result = invoke("login", "--oauth")
    user_code = re.search(r"^\s+([A-Z]{4}-[A-Z]{4})\s*$", result.output, re.MULTILINE).group(1)
    assert result.exit_code == 2
    assert result.output.strip().splitlines()[-1] == (
        f"error: the code {user_code} expired before the sign-in was finished; run `outreach login --oauth` again")
    assert ws.stored() is None
