"""The two sign-in flows against the real authorization server, called in-process where the test
must steer the clock or the browser: RFC 8628 polling, a forged redirect, TLS verification."""

from __future__ import annotations

import threading
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from outreach import signin
from outreach.account import Account
from outreach.config import Settings
from outreach.errors import UserError


def client_and_context(**settings):
    account = Account.load(Settings.load(**settings))
    return account.oauth, account.ssl_context()


def test_device_polling_follows_the_interval_and_slows_down_when_told(oauth_workspace, browser):
    client, context = client_and_context(oauth2_client_id="outreach-test-slow-down", oauth2_flow="device")
    waits: list[float] = []
    shown: list[str] = []
    approved = threading.Event()

    def show(text: str) -> None:
        shown.append(text)
        if "enter the code" in text:
            address, code = text.split("open ")[1].split(" on any device")[0], text.split()[-1]
            threading.Thread(target=lambda: (browser.device(address, code), approved.set()), daemon=True).start()

    def sleep(seconds: float) -> None:  # the clock of the poll loop: record, and let the browser work
        waits.append(seconds)
        approved.wait(0.05 if len(waits) < 50 else 5)

    token = signin.with_device_code(client, context, show, sleep=sleep)
    assert token["refresh_token"] and token["token_type"] == "Bearer"
    assert waits[:2] == [1.0, 6.0] and set(waits[1:]) == {6.0}  # the announced 1 s, then 5 s more after slow_down
    assert any("verification_uri_complete" not in line and "user_code=" in line for line in shown)


def test_the_device_flow_declined_on_the_other_device(oauth_workspace, browser):
    client, context = client_and_context(oauth2_flow="device")

    def show(text: str) -> None:
        if "enter the code" in text:
            address, code = text.split("open ")[1].split(" on any device")[0], text.split()[-1]
            threading.Thread(target=browser.device, args=(address, code, False), daemon=True).start()

    with pytest.raises(UserError, match=r"^the sign-in was cancelled or declined at 127\.0\.0\.1; nothing was stored$"):
        signin.with_device_code(client, context, show, sleep=lambda seconds: time.sleep(0.05))


def test_an_answer_with_another_state_is_refused(oauth_workspace):
    client, context = client_and_context()
    pages: list[requests.Response] = []
    threads: list[threading.Thread] = []

    def forge(url: str) -> bool:  # someone else's redirect reaches the loopback address first
        redirect = parse_qs(urlsplit(url).query)["redirect_uri"][0]
        threads.append(threading.Thread(target=lambda: pages.append(
            requests.get(f"{redirect}?code=stolen&state=forged", timeout=5)), daemon=True))
        threads[0].start()
        return True

    with pytest.raises(UserError, match="does not belong to this sign-in"):
        signin.in_browser(client, context, lambda text: None, forge, timeout=10)
    threads[0].join(5)
    assert pages[0].status_code == 400 and "does not belong to this sign-in" in pages[0].text


def test_an_https_authorization_server_is_verified_with_the_ca_file(oauth_workspace, tls_cert, browser):
    from tests.oauth.servers import AuthorizationServer

    server = AuthorizationServer(tls=tls_cert).start()
    try:
        settings = {f"oauth2_{k.split('_OAUTH2_')[1].lower()}": v for k, v in server.settings().items()}
        browser.verify = str(tls_cert[0])

        def open_browser(url: str) -> bool:
            threading.Thread(target=browser.authorize, args=(url,), daemon=True).start()
            return True

        client, context = client_and_context(**settings, ca_file=str(tls_cert[0]))
        assert client.token_url.startswith("https://127.0.0.1:")
        token = signin.in_browser(client, context, lambda text: None, open_browser, timeout=10)
        assert token["refresh_token"]

        untrusted, context = client_and_context(**settings, ca_file="")  # .env names it: unset here
        with pytest.raises(UserError, match=r"its TLS certificate is not trusted \(certificate verify failed: "
                                            r"self.signed certificate\); for a private server set OUTREACH_CA_FILE"):
            signin.with_device_code(untrusted, context, lambda text: None)
    finally:
        server.stop()
