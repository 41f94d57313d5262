"""`outreach login` / `logout`: the password lives in the OS keyring, tried on the server first."""

from __future__ import annotations

from tests.conftest import SMTP_PASSWORD


def test_login_tries_the_password_then_stores_it_and_logout_removes_it(campaign, invoke, memory_keyring,
                                                                       smtp_server):
    result = invoke("login", input=f"{SMTP_PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert "Password for asha.rao@example.org:" in result.output and SMTP_PASSWORD not in result.output
    assert "the password works on 127.0.0.1" in result.output
    assert memory_keyring.get_password("outreach", "asha.rao@example.org") == SMTP_PASSWORD
    assert smtp_server.logins == [("PLAIN", "asha.rao@example.org")] and smtp_server.messages == []

    campaign.configure(OUTREACH_PASSWORD_COMMAND=None)  # now the keyring is the only source
    assert invoke(*campaign.args("--yes")).exit_code == 0 and len(smtp_server.messages) == 3

    out = invoke("logout")
    assert out.exit_code == 0 and "removed the password for asha.rao@example.org" in out.output
    assert memory_keyring.get_password("outreach", "asha.rao@example.org") is None
    again = invoke("logout")
    assert again.exit_code == 0 and "no password or sign-in for asha.rao@example.org was stored" in again.output


def test_a_wrong_password_is_not_stored(campaign, invoke, memory_keyring, smtp_server):
    result = invoke("login", input="not-it\n")
    assert result.exit_code == 2
    assert "refused the login for asha.rao@example.org (535" in result.output and "nothing was stored" in result.output
    assert "not-it" not in result.output.replace("Password for", "")
    assert memory_keyring.get_password("outreach", "asha.rao@example.org") is None


def test_login_without_check_and_for_another_user(workspace, invoke, memory_keyring):
    (workspace / ".env").write_text("OUTREACH_FROM=Asha Rao <asha.rao@example.org>\nOUTREACH_PROVIDER=gmail\n")
    result = invoke("login", "--no-check", "--user", "asha.rao@gmail.com", input="abcd efgh ijkl mnop\n")
    assert result.exit_code == 0
    assert memory_keyring.get_password("outreach", "asha.rao@gmail.com") == "abcd efgh ijkl mnop"


def test_no_keyring_backend_says_what_to_do_instead_without_asking(workspace, invoke):
    import keyring
    from keyring.backends import fail

    (workspace / ".env").write_text("OUTREACH_FROM=Asha Rao <asha.rao@example.org>\nOUTREACH_PROVIDER=outlook\n")
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        result = invoke("login")
    finally:
        keyring.set_keyring(previous)
    assert result.exit_code == 2
    assert "Password" not in result.output
    assert result.output.strip() == (
        "error: no OS keyring is available on this machine: set OUTREACH_PASSWORD_COMMAND (e.g. 'pass show email'), "
        "OUTREACH_OAUTH2_TOKEN_COMMAND, or, last resort, OUTREACH_PASSWORD")


def test_login_and_send_as_separate_processes_with_a_file_keyring(campaign, run_cli, file_keyring_env,
                                                                  smtp_server, tmp_path):
    campaign.configure(OUTREACH_PASSWORD_COMMAND=None)
    stored = run_cli("login", "--password-stdin", cwd=campaign.ws, env=file_keyring_env, input=SMTP_PASSWORD + "\n")
    assert stored.returncode == 0, stored.stderr
    assert (tmp_path / "keyring.json").is_file()  # the keyring file is in the test's tmp
    assert f"in the keyring backend tests.keyring_backends.JsonFileKeyring ({tmp_path / 'keyring.json'})" \
        in stored.stdout
    sent = run_cli(*campaign.args("--yes"), cwd=campaign.ws, env=file_keyring_env)
    assert sent.returncode == 0, sent.stderr
    assert len(smtp_server.messages) == 3 and "warning" not in sent.stderr
    gone = run_cli("logout", cwd=campaign.ws, env=file_keyring_env)
    assert gone.returncode == 0 and "removed" in gone.stdout
    campaign.write_contacts(4)
    refused = run_cli(*campaign.args("--yes"), cwd=campaign.ws, env=file_keyring_env)
    assert refused.returncode == 2 and "no password for asha.rao@example.org" in refused.stderr


def test_login_says_when_another_source_comes_first(campaign, invoke, memory_keyring, smtp_server):
    result = invoke("login", "--no-check", input="whatever\n")  # campaign sets OUTREACH_PASSWORD_COMMAND
    assert result.exit_code == 0
    assert "note: OUTREACH_PASSWORD_COMMAND is set and comes first" in result.output
