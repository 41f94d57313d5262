"""The kept sign-in over a season: access tokens renewed before they expire and after a refusal,
rotated refresh tokens kept, and every way it can end said in one sentence, with nothing sent."""

from __future__ import annotations

import json
import threading

import requests

from outreach.account import Account
from outreach.config import Settings
from tests.oauth.test_sign_in import assert_no_secrets
from tests.smtp_server import free_port

SEND = ("send", "templates/note.txt", "contacts.csv", "--yes")
EXPIRED = "error: your Microsoft sign-in has expired or was revoked: run `outreach login --oauth`"


def error_line(output: str) -> str:
    """The one sentence of the refusal (a send also prints its plan and summary)."""
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, output
    return errors[0]


def nothing_sent(workspace, sink, before: int) -> bool:
    import sqlite3

    if len(sink.messages) != before:
        return False
    if not (workspace / "outreach.db").exists():
        return True
    with sqlite3.connect(workspace / "outreach.db") as db:
        return db.execute("SELECT count(*) FROM messages WHERE state NOT IN ('queued', 'failed')").fetchone()[0] == 0


def test_an_access_token_that_ends_mid_season_is_renewed_once_and_the_rotated_token_kept(
        signed_in, oauth_workspace, authorization, mail_server, sink):
    from outreach.deliver import sending
    from outreach.mailbox.imap import ImapSession

    account = Account.load(Settings.load())
    first = account.secret(account.imap)
    assert first.value == signed_in["access_token"] or first.value  # a refresh at first use
    kept = oauth_workspace.stored()["refresh_token"]
    # The server ends the access token (as its expiry would): the next login is refused once,
    # the token renewed, and the login tried again.
    requests.post(authorization.endpoints["expire_access_token"], data={"token": first.value}, timeout=5)
    with ImapSession(account) as session:
        assert session.drafts_folder() == "Drafts"
    second = account.secret(account.imap)
    assert second.value != first.value and second.renew is not None
    assert oauth_workspace.stored()["refresh_token"] != kept
    log = mail_server.log()
    assert "Introspection failed" in log or "oauth2 failed" in log

    requests.post(authorization.endpoints["expire_access_token"], data={"token": second.value}, timeout=5)
    transport = sending.make_transport(account, sending.secret_source(account, account.smtp, lambda text: None),
                                       wait=lambda seconds: True)
    transport.open()  # SMTP: refused, renewed, logged in
    transport.close()
    assert account.secret(account.smtp).value not in (first.value, second.value)


def test_an_access_token_is_renewed_shortly_before_it_expires(signed_in, oauth_workspace):
    from outreach.tokens import SignIn

    account = Account.load(Settings.load())
    now = [1000.0]
    sign_in = SignIn(account.oauth, oauth_workspace.user, account.ssl_context(), account.sign_in_lock,
                     clock=lambda: now[0])
    first = sign_in.secret().value
    now[0] += 29  # the test server's tokens live 60 s: fresh for half of that
    assert sign_in.secret().value == first
    now[0] += 2
    assert sign_in.secret().value != first


def test_two_commands_refreshing_at_once_take_turns_and_keep_the_sign_in(signed_in, oauth_workspace):
    """Refresh tokens rotate and a spent one presented again ends the grant: without the lock,
    the second of two simultaneous refreshes would end the sign-in for good."""
    results: list[str] = []

    def refresh():
        account = Account.load(Settings.load())
        results.append(account.secret(account.smtp).value)

    threads = [threading.Thread(target=refresh) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert len(set(results)) == 3
    account = Account.load(Settings.load())
    assert account.secret(account.smtp).value  # the sign-in still works


def test_a_revoked_sign_in_is_one_sentence_and_nothing_is_sent(signed_in, oauth_workspace, authorization, invoke,
                                                               sink):
    oauth_workspace.configure("outlook")
    refresh_token = oauth_workspace.stored()["refresh_token"]
    revoked = requests.post(authorization.endpoints["revocation_endpoint"], timeout=5,
                            data={"token": refresh_token, "client_id": "outreach-test"})
    assert revoked.status_code == 200
    before = len(sink.messages)
    result = invoke(*SEND)
    assert result.exit_code == 2
    assert error_line(result.output) == EXPIRED
    assert nothing_sent(oauth_workspace.path, sink, before)
    assert_no_secrets(result.output, refresh_token)


def test_a_garbage_refresh_token_and_an_unreachable_token_endpoint(oauth_workspace, invoke, sink):
    oauth_workspace.configure("outlook")
    oauth_workspace.store("garbage-refresh-token")
    before = len(sink.messages)
    result = invoke(*SEND)
    assert result.exit_code == 2 and error_line(result.output) == EXPIRED
    assert "garbage-refresh-token" not in result.output

    gone = f"http://127.0.0.1:{free_port()}/token"  # nothing listens there
    oauth_workspace.configure("outlook", OUTREACH_OAUTH2_TOKEN_URL=gone)
    oauth_workspace.store("a-refresh-token", token_url=gone)
    result = invoke(*SEND)
    assert result.exit_code == 2
    assert error_line(result.output) == (
        f"error: cannot reach Microsoft's token endpoint {gone} (Connection refused); check your connection and "
        "the URL")
    assert nothing_sent(oauth_workspace.path, sink, before)


def test_a_garbage_access_token_is_refused_in_one_sentence_by_imap_and_smtp(oauth_workspace, invoke, sink):
    """The old way (a token command) against servers that check tokens: the error challenge,
    decoded, says why; the token never appears."""
    oauth_workspace.configure(OUTREACH_OAUTH2_CLIENT_ID=None, OUTREACH_OAUTH2_TOKEN_COMMAND="echo not-a-token-xyz")
    before = len(sink.messages)
    sent = invoke(*SEND)
    assert sent.exit_code == 2
    assert error_line(sent.output) == (
        f"error: 127.0.0.1 refused the login for {oauth_workspace.user} (the token is invalid or has expired: "
        "535 5.7.8 Authentication failed.): check OUTREACH_OAUTH2_TOKEN_COMMAND")
    assert nothing_sent(oauth_workspace.path, sink, before)
    drafted = invoke("draft", "templates/note.txt", "contacts.csv", "--imap")
    assert drafted.exit_code == 2
    assert error_line(drafted.output) == (
        f"error: IMAP server 127.0.0.1:{oauth_workspace.mail_server.imaps_port} refused the OAuth2 access token for "
        f"{oauth_workspace.user} (the token is invalid or has expired: Authentication failed.): check that "
        f"OUTREACH_OAUTH2_TOKEN_COMMAND prints a fresh access token for {oauth_workspace.user}")
    assert_no_secrets(sent.output + drafted.output, "not-a-token-xyz")


def test_a_wrong_client_id_is_one_sentence_and_stores_nothing(oauth_workspace, invoke):
    oauth_workspace.configure("outlook", OUTREACH_OAUTH2_CLIENT_ID="not-registered")
    result = invoke("login", "--oauth")
    assert result.exit_code == 2
    assert error_line(result.output).startswith(
        "error: Microsoft refused the client ID not-registered while starting the sign-in (invalid_client: ")
    assert "OUTREACH_OAUTH2_CLIENT_ID" in result.output and oauth_workspace.stored() is None


def test_logout_revokes_the_sign_in_then_forgets_it(signed_in, oauth_workspace, authorization, invoke):
    refresh_token = oauth_workspace.stored()["refresh_token"]
    out = invoke("logout")
    assert out.exit_code == 0, out.output
    assert f"revoked the sign-in for {oauth_workspace.user} at 127.0.0.1" in out.output
    assert f"removed the sign-in for {oauth_workspace.user}" in out.output and oauth_workspace.stored() is None
    again = requests.post(authorization.endpoints["token_endpoint"], timeout=5, data={
        "grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": "outreach-test"})
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


def test_logout_where_the_server_cannot_revoke_says_so(signed_in, oauth_workspace, invoke):
    oauth_workspace.configure("outlook", OUTREACH_OAUTH2_REVOKE_URL=None)  # Microsoft has no revocation endpoint
    out = invoke("logout")
    assert out.exit_code == 0
    assert "note: Microsoft has no revocation endpoint" in out.output and oauth_workspace.stored() is None


def test_oauthbearer_where_the_server_offers_only_that(signed_in, oauth_workspace, authorization, sink, tls_cert,
                                                       invoke):
    from tests.oauth.servers import OAuthDovecot

    with OAuthDovecot(*tls_cert, authorization, sink, mechanisms="oauthbearer") as server:
        oauth_workspace.mail_server = server
        oauth_workspace.configure()
        before = len(sink.messages)
        assert invoke(*SEND).exit_code == 0 and len(sink.messages) == before + 2
        assert json.loads(invoke("sync", "--json").output)["sources"][0]["source"] == "imap:INBOX"
        assert "method=OAUTHBEARER" in server.log() and "method=XOAUTH2" not in server.log()


def test_logout_when_revocation_fails_still_forgets_and_exits_1(signed_in, oauth_workspace, invoke):
    gone = f"http://127.0.0.1:{free_port()}/revoke"
    oauth_workspace.configure(OUTREACH_OAUTH2_REVOKE_URL=gone)
    out = invoke("logout")
    assert out.exit_code == 1
    assert (f"warning: cannot reach 127.0.0.1's revocation endpoint {gone} (Connection refused); check your "
            "connection and the URL; it is removed from this computer all the same") in out.output
    assert oauth_workspace.stored() is None
