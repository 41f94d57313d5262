"""Which server and client: the presets, the OUTREACH_OAUTH2_* settings, and the refusals that
need no server at all (plain http to another machine, a missing client ID or endpoint)."""

from __future__ import annotations

import pytest

from outreach.account import Account
from outreach.config import Settings
from outreach.errors import UserError


def client(**settings):
    return Account.load(Settings.load(**{"from": "Asha Rao <asha@school.edu>", **settings})).oauth


def test_the_presets_name_google_and_microsoft_and_every_part_can_be_set(workspace):
    google = client(provider="gmail", oauth2_client_id="123.apps.googleusercontent.com", oauth2_client_secret="GOCSPX")
    assert (google.name, google.flow, google.redirect_host) == ("Google", "code", "127.0.0.1")
    assert google.token_url == "https://oauth2.googleapis.com/token" and google.scopes == "https://mail.google.com/"
    assert dict(google.auth_params) == {"access_type": "offline", "prompt": "consent"} and google.device_url == ""

    microsoft = client(provider="outlook", oauth2_client_id="0000-1111", oauth2_tenant="organizations")
    assert (microsoft.name, microsoft.flow, microsoft.redirect_host) == ("Microsoft", "device", "localhost")
    assert microsoft.device_url == "https://login.microsoftonline.com/organizations/oauth2/v2.0/devicecode"
    assert microsoft.scopes.split() == ["offline_access", "https://outlook.office.com/IMAP.AccessAsUser.All",
                                        "https://outlook.office.com/SMTP.Send"]
    assert microsoft.revoke_url == ""

    own = client(oauth2_client_id="cli", oauth2_token_url="https://auth.uni.example.edu/token", oauth2_flow="device",
                 oauth2_scopes="mail  offline", oauth2_device_url="https://auth.uni.example.edu/device")
    assert (own.name, own.scopes, own.flow) == ("auth.uni.example.edu", "mail offline", "device")
    assert client(provider="gmail") is None  # no client ID: no OAuth, the password sources as before


@pytest.mark.parametrize(("settings", "error"), [
    ({"oauth2_token_url": "http://auth.uni.example.edu/token", "oauth2_scopes": "mail"},
     "OUTREACH_OAUTH2_TOKEN_URL='http://auth.uni.example.edu/token': an OAuth endpoint must be an https:// address "
     "(http:// only on this computer, 127.0.0.1 or localhost)"),
    ({"oauth2_scopes": "mail"}, "OUTREACH_OAUTH2_CLIENT_ID is set but there is no token endpoint"),
    ({"provider": "gmail", "oauth2_flow": "qr"}, "OUTREACH_OAUTH2_FLOW='qr': use code"),
    ({"provider": "outlook", "oauth2_redirect_host": "0.0.0.0"}, "OUTREACH_OAUTH2_REDIRECT_HOST='0.0.0.0'"),
])
def test_settings_that_cannot_work_are_refused_before_any_connection(workspace, settings, error):
    with pytest.raises(UserError) as refused:
        client(oauth2_client_id="cli", **settings)
    assert str(refused.value).startswith(error)


def test_login_oauth_says_what_is_missing_in_one_sentence(workspace, invoke, memory_keyring):
    (workspace / ".env").write_text("OUTREACH_FROM=Asha Rao <asha@gmail.com>\nOUTREACH_PROVIDER=gmail\n")
    result = invoke("login", "--oauth")
    assert result.exit_code == 2 and result.output.startswith("error: OUTREACH_OAUTH2_CLIENT_ID is not set: the "
                                                              "README's \"Signing in with Google or Microsoft\"")
    with open(workspace / ".env", "a") as env:
        env.write("OUTREACH_OAUTH2_CLIENT_ID=123.apps.googleusercontent.com\nOUTREACH_OAUTH2_FLOW=device\n")
    result = invoke("login", "--oauth")
    assert result.exit_code == 2 and result.output.startswith("error: OUTREACH_OAUTH2_DEVICE_URL is not set: Google "
                                                              "needs its device authorization endpoint")
    assert invoke("login", "--oauth", "--password-stdin").exit_code == 2
    assert "go with --oauth" in invoke("login", "--no-browser").output


def test_a_command_before_signing_in_says_to_sign_in(workspace, invoke, memory_keyring):
    (workspace / ".env").write_text("OUTREACH_FROM=Asha Rao <asha@gmail.com>\nOUTREACH_PROVIDER=gmail\n"
                                    "OUTREACH_OAUTH2_CLIENT_ID=123.apps.googleusercontent.com\n")
    (workspace / "t.txt").write_text("Subject: Hello\n\nHello {{ name }}\n")
    (workspace / "c.csv").write_text("email,name\ndr@uni.example.edu,Osei\n")
    result = invoke("send", "t.txt", "c.csv", "--yes")
    assert result.exit_code == 2
    assert "error: you are not signed in to Google as asha@gmail.com: run `outreach login --oauth`" in result.output
