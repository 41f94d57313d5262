"""No form of a secret on screen (issue 17 item 6): a server that repeats what the client sent in
its refusal gets the secret in every form it was sent in (AUTH PLAIN's and AUTH LOGIN's base64,
the XOAUTH2 string, IMAP LOGIN's quoted string, AUTHENTICATE PLAIN's base64, the bearer token),
and the terminal shows none of them: the servers here do exactly that, over SMTP and IMAP."""

from __future__ import annotations

import base64

import pytest

from outreach.account import hide_secret
from tests import mail_samples as samples
from tests.helpers import write
from tests.scripted_servers import Imap, ScriptedServer, smtp_echoing_auth

USER = "asha.rao@example.org"
PASSWORD = 'pa55-"quoted"\\-word'  # a quote and a backslash: IMAP LOGIN sends it escaped
NON_ASCII = "pä55wörd-секрет"        # IMAP sends it with AUTHENTICATE PLAIN
TOKEN = "ya29.a0AfB_byC-token-9f8e7d6c5b4a"


def b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode()


def forms(secret: str) -> list[str]:
    """Every form in which a client sends ``secret`` for USER."""
    return [secret, b64(f"\0{USER}\0{secret}"), b64(secret), b64(f"user={USER}\x01auth=Bearer {secret}\x01\x01"),
            secret.replace("\\", "\\\\").replace('"', '\\"'), repr(secret.encode())[2:-1]]


def assert_no_form_shown(output: str, secret: str) -> None:
    shown = [form for form in forms(secret) if form in output]
    assert not shown, (shown, output)
    assert not [c for c in secret if not c.isascii() and c in output], output


def settings(kind: str, port: int, secret: str, user: str = USER) -> str:
    source = (f"OUTREACH_OAUTH2_TOKEN_COMMAND=printf %s '{secret}'" if secret == TOKEN
              else f"OUTREACH_PASSWORD_COMMAND=printf %s '{secret.replace(chr(39), '')}'")
    return (f"OUTREACH_FROM=Asha Rao <{USER}>\nOUTREACH_{kind}_HOST=127.0.0.1\nOUTREACH_{kind}_PORT={port}\n"
            f"OUTREACH_{kind}_SECURITY=none\nOUTREACH_{kind}_USER={user}\n{source}\n")


SMTP_CASES = {"AUTH PLAIN": ("PLAIN LOGIN", PASSWORD), "AUTH LOGIN": ("LOGIN", PASSWORD),
              "AUTH PLAIN, non-ASCII": ("PLAIN", NON_ASCII), "XOAUTH2": ("XOAUTH2 PLAIN", TOKEN)}


@pytest.mark.parametrize("mechanisms, secret", SMTP_CASES.values(), ids=SMTP_CASES.keys())
def test_an_smtp_server_echoing_the_login_shows_no_form_of_the_secret(workspace, invoke, mechanisms, secret):
    with ScriptedServer(smtp_echoing_auth(mechanisms)) as server:
        (workspace / ".env").write_text(settings("SMTP", server.port, secret) + "OUTREACH_RATE=unlimited\n",
                                        encoding="utf-8")
        template = write(workspace / "t.txt", "Subject: Hello\n\nDear {{ first_name }},\n")
        contacts = write(workspace / "c.csv", "email,first_name\nchen@example.edu,Jia\n")
        result = invoke("send", template, contacts, "--yes")
    assert any(form in " ".join(server.heard) for form in forms(secret)[1:4]), server.heard  # it was sent ...
    assert result.exit_code == 2 and "refused the login" in result.output, result.output
    assert "<hidden>" in result.output, result.output  # ... echoed, and hidden
    assert_no_form_shown(result.output, secret)


IMAP_CASES = {"LOGIN": PASSWORD, "AUTHENTICATE PLAIN": NON_ASCII, "XOAUTH2": TOKEN}


@pytest.mark.parametrize("secret", IMAP_CASES.values(), ids=IMAP_CASES.keys())
def test_an_imap_server_echoing_the_login_shows_no_form_of_the_secret(workspace, invoke, record_sent, secret):
    record_sent(samples.outgoing("chen@example.edu"))
    with ScriptedServer(Imap(refuse_login=True)) as server:
        (workspace / ".env").write_text(settings("IMAP", server.port, secret), encoding="utf-8")
        result = invoke("sync")
    assert any(form in " ".join(server.heard) for form in forms(secret)[1:5]), server.heard
    refused = ("login as asha.rao@example.org failed", "refused the OAuth2 access token for asha.rao@example.org")
    assert result.exit_code == 2 and any(words in result.output for words in refused), result.output
    assert "<hidden>" in result.output, (result.output, server.heard)
    assert_no_form_shown(result.output, secret)


@pytest.mark.parametrize("secret", [PASSWORD, NON_ASCII, TOKEN, "abcd"])
def test_every_form_is_hidden_even_cut_short_or_glued_to_a_word(secret):
    for form in forms(secret):
        for text in (f"535 {form} end", f"NO x{form}", f"535 {form[:len(form) * 3 // 4]}"):
            hidden = hide_secret(text, secret)
            assert form not in hidden and secret not in hidden, (form, text, hidden)
    assert hide_secret("535 5.7.8 Username and Password not accepted. Learn more at https://support.example/"
                       "?p=BadCredentials 4fj2Kq0-smtp", secret).endswith("BadCredentials 4fj2Kq0-smtp")
