"""Hostile input, issue 9 items 8, 9, 11, 12, 13: contact sheets and mail written by strangers,
templates that try to exhaust the machine, and secrets that must never show. Every case goes
through the real CLI and asserts the exit code, the one-line message, and that nothing was
drafted, sent or lost."""

from __future__ import annotations

import dataclasses
import json
import mailbox
import sqlite3

import pytest

from tests import mail_samples as samples
from tests.helpers import HEADER, ROWS, contacts_csv, template_file, write


def drafted(workspace) -> list[str]:
    """Names of the .eml drafts in the workspace, and the store's rows (none when nothing ran)."""
    files = sorted(p.name for p in workspace.rglob("*.eml"))
    db = workspace / "outreach.db"
    if not db.exists():
        return files
    with sqlite3.connect(db) as conn:
        return files + [row[0] for row in conn.execute("SELECT address FROM messages")]


def one_error_line(result) -> str:
    """The single line of a refusal (CliRunner mixes stderr into output)."""
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    return lines[0]


# -- item 8: CSV mistakes are visible ------------------------------------------------------
UNCLOSED_QUOTE_SHEETS = {
    "never closed": f'{HEADER}\n{ROWS[0]}\nm.okafor@example.edu,Musa,Okafor,JHU,MSK,"I enjoyed\n{ROWS[2]}\n',
    "closed rows later": (f'{HEADER}\n{ROWS[0]}\nm.okafor@example.edu,Musa,Okafor,JHU,MSK,"I enjoyed\n'
                          f'{ROWS[2]}\nq@example.org,Q,R,S,T,"U"\n'),
    "closed cleanly rows later": (f'{HEADER}\n{ROWS[0]}\nm.okafor@example.edu,Musa,Okafor,JHU,MSK,"I enjoyed\n'
                                  f'{ROWS[2]}\nq@example.org,Q,R,S,T,U"\n'),
}


@pytest.mark.parametrize("command", ["check", "draft"])
@pytest.mark.parametrize("sheet", UNCLOSED_QUOTE_SHEETS.values(), ids=UNCLOSED_QUOTE_SHEETS.keys())
def test_an_unclosed_quote_is_an_error_naming_the_line_it_opened_on(invoke, workspace, command, sheet):
    template = template_file(workspace)
    contacts = write(workspace / "contacts.csv", sheet)
    result = invoke(command, template, contacts)
    assert result.exit_code == 2
    line = one_error_line(result)
    assert "contacts.csv, line 3" in line and "a quote opened on line 3" in line
    assert drafted(workspace) == []


def test_a_quoted_multi_line_note_is_still_one_cell(invoke, workspace):
    template = template_file(workspace)
    contacts = write(workspace / "contacts.csv",
                     f'{HEADER}\na@example.edu,Ann,Lee,Yale,MSK,"First line, with a comma.\nSecond line."\n')
    result = invoke("preview", template, contacts, "--line", "2")
    assert result.exit_code == 0, result.output
    assert "First line, with a comma.\nSecond line." in result.output


def test_one_windows_1252_row_does_not_garble_the_utf8_rows(invoke, workspace):
    template = template_file(workspace, "Subject: Hola {{ first_name }}\n\nDear {{ first_name }} {{ last_name }},\n")
    contacts = workspace / "contacts.csv"
    contacts.write_bytes(f"{HEADER}\njose@example.edu,José,García,U,MSK,x\n".encode()
                         + "zoe@example.edu,Zoë,Ibáñez,U,MSK,y\n".encode("cp1252"))
    result = invoke("preview", template, contacts, "--line", "2")
    assert result.exit_code == 0, result.output
    assert "Dear José García," in result.output and "Ã" not in result.output
    assert "line 3 is not valid UTF-8" in result.output  # the note names the row it guessed
    result = invoke("preview", template, contacts, "--line", "3")
    assert "Dear Zoë Ibáñez," in result.output


def test_a_line_neither_utf8_nor_windows_1252_is_named(invoke, workspace):
    template = template_file(workspace)
    contacts = workspace / "contacts.csv"
    contacts.write_bytes(f"{HEADER}\n{ROWS[0]}\n".encode() + b"a@example.edu,\x81\x8d,B,C,D,E\n")
    result = invoke("draft", template, contacts)
    assert result.exit_code == 2
    assert "contacts.csv, line 3: is neither UTF-8 nor Windows-1252" in one_error_line(result)
    assert drafted(workspace) == []


@pytest.mark.parametrize("delimiter", [";", "\t", ","])
def test_excels_sep_line_names_the_delimiter(invoke, workspace, delimiter):
    # The note holds the other delimiters, so guessing from the header line alone would fail.
    header = HEADER.replace(",", delimiter)
    row = delimiter.join(["jchen@example.edu", "Jia", "Chen", "Stanford", "neuro", "Commas, semicolons; tabs\t!"
                          .replace(delimiter, " ")])
    contacts = write(workspace / "contacts.csv", f"sep={delimiter}\r\n{header}\r\n{row}\r\n")
    result = invoke("preview", template_file(workspace), contacts, "--line", "3")  # after sep= and the header
    assert result.exit_code == 0, result.output
    assert "Dear Dr. Chen," in result.output


def test_addresses_that_differ_only_in_a_special_character_get_their_own_drafts(invoke, workspace):
    template = template_file(workspace)
    contacts = contacts_csv(workspace, rows=["o'brien@example.edu,Liam,OBrien,TCD,MSK,Your paper.",
                                             "o_brien@example.edu,Aoife,O Brien,UCD,MSK,Your talk.",
                                             "o%27brien@example.edu,Sean,Brien,UCC,MSK,Your poster."])
    result = invoke("draft", template, contacts, "--campaign", "fall")
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in workspace.rglob("*.eml"))
    assert len(names) == 3, names
    texts = "".join(p.read_text() for p in workspace.rglob("*.eml"))
    assert all(name in texts for name in ("Dr. OBrien", "Dr. O Brien", "Dr. Brien"))


# -- item 9: forged or misdirected reports suppress nobody ---------------------------------
def sync_mbox(invoke, workspace, *messages: bytes) -> tuple[int, dict]:
    box = mailbox.mbox(workspace / "in.mbox", create=True)
    for raw in messages:
        box.add(raw)
    box.close()
    result = invoke("sync", "--mbox", workspace / "in.mbox", "--json")
    return result.exit_code, json.loads(result.stdout)


def suppressed(workspace) -> list[str]:
    with sqlite3.connect(workspace / "outreach.db") as conn:
        return [row[0] for row in conn.execute("SELECT address FROM suppressions")]


def forged_x_failed_recipients(sent) -> bytes:
    """A person (or a forger) writes the Exim header and bounce words; no mail system sent it."""
    return samples._join([
        "From: Helpful Stranger <friend@example.net>", f"To: {samples.SENDER}",
        "Subject: Mail delivery failed: returning message to sender", f"Date: {samples._now()}",
        "Message-ID: <forged-1@example.net>", f"X-Failed-Recipients: {sent.to}", "",
        "This message was created automatically by mail delivery software.", "",
        f"  {sent.to}", "    550 5.1.1 user unknown", "", "------ This is a copy of the message ------", "",
        samples._crlf(sent.headers)])


def stranger(sent):
    return dataclasses.replace(sent, to="stranger@elsewhere.example")


FORGED_REPORTS = {
    "DSN naming a stranger": lambda sent: samples.postfix_bounce(stranger(sent)),
    "complaint naming a stranger": lambda sent: samples.arf_complaint(stranger(sent)),
    "X-Failed-Recipients from a person": forged_x_failed_recipients,
}


@pytest.mark.parametrize("build", FORGED_REPORTS.values(), ids=FORGED_REPORTS.keys())
def test_a_forged_or_misdirected_report_suppresses_nobody(invoke, workspace, record_sent, build):
    sent = record_sent(samples.outgoing("chen@example.edu"))
    code, report = sync_mbox(invoke, workspace, build(sent))
    assert code in (0, 1)
    assert suppressed(workspace) == []
    assert all("suppressed" not in e or e["suppressed"] == [] for e in report["events"])


def test_a_misdirected_dsn_is_named_in_the_sync_summary(invoke, workspace, record_sent):
    sent = record_sent(samples.outgoing("chen@example.edu"))
    code, report = sync_mbox(invoke, workspace, samples.postfix_bounce(stranger(sent)))
    assert code == 1 and [e["kind"] for e in report["events"]] == ["bounce"]  # shown, for a forwarding address
    assert any("names only stranger@elsewhere.example" in w and "nobody was suppressed" in w
               for w in report["warnings"]), report


OOO_BODY = "Thank you for your email. I am out of the office until 15 January with limited access to email."


def test_out_of_office_text_without_headers_is_an_auto_reply(invoke, workspace, record_sent):
    sent = record_sent(samples.outgoing("chen@example.edu"))
    _, report = sync_mbox(invoke, workspace, samples.gmail_reply(sent, body=OOO_BODY))
    [event] = report["events"]
    assert event["kind"] == "auto-reply" and event["until"].endswith("-01-15")
    result = invoke("classify", workspace / "in.mbox")
    assert "auto-reply" in result.output and "out-of-office text in the body" in result.output


def test_a_person_who_mentions_a_trip_still_replied(invoke, workspace, record_sent):
    sent = record_sent(samples.outgoing("chen@example.edu"))
    body = ("Hi Asha, yes, I would be glad to have help with the stroke project. Send me your CV.\n"
            "(I will be out of the office until 15 January, but I read email.)")
    _, report = sync_mbox(invoke, workspace, samples.gmail_reply(sent, body=body))
    assert [e["kind"] for e in report["events"]] == ["reply"]


def test_out_of_office_text_over_imap_is_an_auto_reply(invoke, mail_account, record_sent):
    sent = record_sent(samples.outgoing("chen@example.edu"))
    mail_account.append(samples.gmail_reply(sent, body=OOO_BODY))
    result = invoke("sync", "--json")
    assert [e["kind"] for e in json.loads(result.stdout)["events"]] == ["auto-reply"]


# -- item 13: secrets ----------------------------------------------------------------------
NON_ASCII_PASSWORD = "pässwörd-ключ-密码"


def secret_shown(output: str, secret: str = NON_ASCII_PASSWORD) -> bool:
    """Any character of the secret's non-ASCII part, or the secret itself, in the output."""
    return secret in output or any(c in output or ascii(c)[1:-1] in output for c in secret if not c.isascii())


def states(workspace) -> dict[str, str]:
    with sqlite3.connect(workspace / "outreach.db") as conn:
        return dict(conn.execute("SELECT address, state FROM messages"))


@pytest.fixture
def unicode_smtp(request, tls_cert):
    from tests.smtp_server import MailServer

    with MailServer(*tls_cert, mode="starttls", password=NON_ASCII_PASSWORD,
                    exclude_mechanisms=request.param) as server:
        yield server


@pytest.mark.parametrize("unicode_smtp", [("LOGIN",), ("PLAIN",)], ids=["PLAIN", "LOGIN"], indirect=True)
def test_a_non_ascii_password_logs_in_over_smtp(workspace, unicode_smtp, tls_cert, invoke):
    from tests.conftest import Campaign

    campaign = Campaign(workspace, unicode_smtp, tls_cert[0])
    campaign.configure(OUTREACH_PASSWORD_COMMAND=f"printf %s '{NON_ASCII_PASSWORD}'")
    result = invoke(*campaign.args("--yes"))
    assert result.exit_code == 0, result.output
    assert len(unicode_smtp.messages) == 3 and [m for m, _ in unicode_smtp.logins][:1] in (["PLAIN"], ["LOGIN"])


def test_a_wrong_non_ascii_password_shows_no_character_of_it(workspace, smtp_server, tls_cert, invoke):
    from tests.conftest import Campaign

    campaign = Campaign(workspace, smtp_server, tls_cert[0])
    campaign.configure(OUTREACH_PASSWORD_COMMAND=None, OUTREACH_PASSWORD=NON_ASCII_PASSWORD)
    result = invoke(*campaign.args("--yes"))
    assert result.exit_code == 2
    assert "refused the login for asha.rao@example.org (535" in result.output
    assert not secret_shown(result.output) and smtp_server.messages == []
    assert set(states(workspace).values()) <= {"queued"}  # nothing recorded sent or failed


def test_a_non_ascii_password_logs_in_over_imap(dovecot, tls_cert, workspace, record_sent, invoke):
    from tests.dovecot_server import Dovecot

    with Dovecot(*tls_cert, password=NON_ASCII_PASSWORD) as server:
        user = server.new_user()
        (workspace / ".env").write_text(
            f"OUTREACH_FROM=Asha Rao <asha.rao@example.org>\nOUTREACH_IMAP_HOST=127.0.0.1\n"
            f"OUTREACH_IMAP_PORT={server.imaps_port}\nOUTREACH_IMAP_SECURITY=ssl\nOUTREACH_IMAP_USER={user}\n"
            f"OUTREACH_PASSWORD={NON_ASCII_PASSWORD}\nOUTREACH_CA_FILE={tls_cert[0]}\n", encoding="utf-8")
        record_sent(samples.outgoing("chen@example.edu"))
        result = invoke("sync", "--json")
        assert result.exit_code == 0, result.output
        (workspace / ".env").write_text((workspace / ".env").read_text().replace(NON_ASCII_PASSWORD, "wrong-é"))
        wrong = invoke("sync")
        assert wrong.exit_code == 2 and "login as" in wrong.output and "failed" in wrong.output
        assert not secret_shown(wrong.output, "wrong-é")


def test_unencrypted_smtp_to_another_machine_is_refused_unless_named(workspace, tls_cert, invoke):
    import socket

    from tests.conftest import Campaign
    from tests.smtp_server import MailServer

    host = socket.gethostname()  # a name, not a loopback address: it stands in for a remote machine
    try:
        if socket.gethostbyname(host) != "127.0.0.1":
            pytest.skip(f"{host} does not resolve to 127.0.0.1")
    except OSError:
        pytest.skip("the host name does not resolve")
    with MailServer(*tls_cert, mode="plain", auth=False) as relay:
        campaign = Campaign(workspace, relay, tls_cert[0])
        campaign.configure(OUTREACH_SMTP_HOST=host, OUTREACH_PASSWORD_COMMAND=None)
        refused = invoke(*campaign.args("--yes"))
        assert refused.exit_code == 2 and relay.messages == [] and relay.mail_commands == 0
        assert (f"OUTREACH_SMTP_SECURITY=none: refusing an unencrypted connection to {host}, which is not this "
                "machine") in refused.output and "OUTREACH_SMTP_ALLOW_UNENCRYPTED=yes" in refused.output
        assert set(states(workspace).values()) <= {"queued"}
        campaign.configure(OUTREACH_SMTP_HOST=host, OUTREACH_PASSWORD_COMMAND=None,
                           OUTREACH_SMTP_ALLOW_UNENCRYPTED="yes")
        allowed = invoke(*campaign.args("--yes"))
        assert allowed.exit_code == 0, allowed.output
        assert len(relay.messages) == 3


def test_unencrypted_imap_to_another_machine_is_refused(workspace, invoke, record_sent):
    record_sent(samples.outgoing("chen@example.edu"))
    (workspace / ".env").write_text("OUTREACH_FROM=Asha Rao <asha.rao@example.org>\nOUTREACH_IMAP_HOST=imap.example.edu\n"
                                    "OUTREACH_IMAP_SECURITY=none\nOUTREACH_PASSWORD=secret-1\n")
    result = invoke("sync")
    assert result.exit_code == 2
    assert "OUTREACH_IMAP_SECURITY=none: refusing an unencrypted connection to imap.example.edu" in one_error_line(
        result)


KEYRINGS = {
    "null": ("keyring.backends.null.Keyring", "nowhere: the keyring backend is keyring.backends.null.Keyring, which keeps nothing"),
    "plaintext file": ("tests.keyring_backends.PlaintextFileKeyring",
                       "a plain file ({file}), readable by anyone who can read it: the keyring backend is "
                       "tests.keyring_backends.PlaintextFileKeyring"),
}


@pytest.mark.parametrize("backend, said", KEYRINGS.values(), ids=KEYRINGS.keys())
def test_login_names_a_keyring_that_is_not_the_os_keyring_and_stores_nothing(workspace, run_cli, tmp_path,
                                                                            backend, said):
    (workspace / ".env").write_text("OUTREACH_FROM=Asha Rao <asha.rao@example.org>\nOUTREACH_PROVIDER=gmail\n")
    keyring_file = tmp_path / "keyring.json"
    done = run_cli("login", "--no-check", "--password-stdin", cwd=workspace, input="s3cret-é\n",
                   env={"PYTHON_KEYRING_BACKEND": backend, "TEST_KEYRING_FILE": str(keyring_file)})
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == (f"error: refusing to store the password: it would go to "
                                   f"{said.format(file=keyring_file)}; use an OS keyring, or set "
                                   "OUTREACH_PASSWORD_COMMAND (e.g. 'pass show email') instead")
    assert "OS keyring" not in done.stdout and not keyring_file.exists()


def test_keyrings_alt_plaintext_backend_is_refused_by_the_name_it_has(tmp_path):
    """keyrings.alt is not installed for the tests on purpose (next test): installed, its backends
    register with keyring and, on a machine without an OS keyring, one of them becomes the default,
    so a developer's own passwords would land in a file. Its PlaintextKeyring is known to `login` by
    its name and its file_path, so a backend with that name and that attribute stands in for it."""
    import keyring

    from outreach.account import keyring_destination
    from tests.keyring_backends import PlaintextFileKeyring

    stand_in = type("PlaintextKeyring", (PlaintextFileKeyring,), {
        "__module__": "keyrings.alt.file", "file_path": tmp_path / "python_keyring" / "keyring_pass.cfg"})
    previous = keyring.get_keyring()
    keyring.set_keyring(stand_in())
    try:
        assert keyring_destination() == (
            f"a plain file ({tmp_path / 'python_keyring' / 'keyring_pass.cfg'}), readable by anyone who can read "
            "it: the keyring backend is keyrings.alt.file.PlaintextKeyring", False)
    finally:
        keyring.set_keyring(previous)


def test_the_test_suite_itself_uses_no_plaintext_keyring_package():
    from pathlib import Path

    text = (Path(__file__).parent.parent / "pyproject.toml").read_text()
    assert "keyrings.alt" not in text


# -- item 12: template resource limits ------------------------------------------------------
RUNAWAY_TEMPLATES = {
    "nested loops": "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}",
    "nested loops over a cell": "{% for a in note * 1000 %}{% for b in note * 1000 %}{% endfor %}{% endfor %}",
    "center filter": "{{ first_name | center(1000000000) }}",
    "ljust method": "{{ first_name.ljust(1000000000) }}",
    "zfill method": "{{ first_name.zfill(1000000000) }}",
    "percent width": "{{ '%0999999999d' % 1 }}",
    "percent width from data": "{{ '%*d' % (999999999, 1) }}",
    "format filter width": "{{ '%999999999s' | format(first_name) }}",
    "str.format width": "{{ '{:>999999999}'.format(first_name) }}",
    "str.format nested width": "{{ '{:>{w}}'.format(first_name, w=999999999) }}",
    "indent filter": "{{ note | indent(1000000000, true) }}",
    "replace blow-up": "{{ ('a' * 900000) | replace('', 'bbbbbbbbbb') }}",
    "join blow-up": "{{ ('a' * 900000).join(range(1000) | map('string')) }}",
    "concat doubling": ("{% set a = 'x' * 900000 %}{% set b = a ~ a %}{{ b ~ b ~ b }}"),
    "plus doubling": "{% set a = 'x' * 900000 %}{{ a + a }}",
    "recursion": "{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}",
    "exponential macro": "{% macro f(n) %}{% if n %}{{ f(n-1) }}{{ f(n-1) }}{% endif %}{% endmacro %}{{ f(40) }}",
    "output size": "{% for a in range(100000) %}{{ note * 100 }}{% endfor %}",
    "huge numbers": "{% set a = (10 ** 64) ** 64 %}{% set b = a ** 64 %}{{ (b ** 64) | length }}",
}


@pytest.mark.parametrize("body", RUNAWAY_TEMPLATES.values(), ids=RUNAWAY_TEMPLATES.keys())
def test_a_runaway_template_is_a_clean_error_naming_its_line(invoke, workspace, body):
    import time

    template = template_file(workspace, f"Subject: Hello\n\nDear {{{{ first_name }}}},\n{body}\n")
    contacts = contacts_csv(workspace, rows=ROWS[:1])
    started = time.monotonic()
    result = invoke("draft", template, contacts)
    assert time.monotonic() - started < 10
    assert result.exit_code == 2, result.output
    assert "mentor.txt, line 4: the template went past a resource limit" in result.output
    assert "nothing was drafted" in result.output.splitlines()[-1]
    assert drafted(workspace) == []


def test_a_runaway_template_in_a_real_process(run_cli, workspace):
    template = template_file(workspace, "Subject: Hello\n\n" + RUNAWAY_TEMPLATES["exponential macro"] + "\n")
    done = run_cli("check", template, contacts_csv(workspace, rows=ROWS[:1]), cwd=workspace, timeout=60)
    assert done.returncode == 2 and "line 3: the template went past a resource limit" in done.stdout
    assert "Traceback" not in done.stderr


def test_an_ordinary_loop_and_widths_still_render(invoke, workspace):
    body = ("{% for word in note.split()[:3] %}{{ loop.index }}. {{ word | center(12) }}\n{% endfor %}"
            "{{ '%5.1f' % 3.14159 }} {{ '{:>8}'.format(first_name) }} {{ first_name.ljust(10) }}|")
    template = template_file(workspace, f"Subject: Hello\n\n{body}\n")
    result = invoke("preview", template, contacts_csv(workspace, rows=ROWS[:1]), "--line", "2")
    assert result.exit_code == 0, result.output
    assert "1.     Your    " in result.output and "  3.1      Jia Jia       |" in result.output


# -- item 11: the terminal shows text, not control codes -----------------------------------
CLEAR = "\x1b[2J\x1b[H"           # clear the screen, cursor home
TITLE = "\x1b]0;pwned\x07"        # set the window title (OSC ... BEL)
C1_CSI = "\x9b31m"                # the one-byte C1 form of ESC [
HOSTILE_CELL = f"Hi{CLEAR}{TITLE}{C1_CSI}\rsent OK"


def no_control_codes(output: str) -> bool:
    return not any(c in output for c in "\x1b\x07\x9b\r")


def assert_escaped(output: str) -> None:
    assert no_control_codes(output), repr(output)
    assert "\\u001b[2J" in output


@pytest.mark.parametrize("command", [("check",), ("preview", "--line", "2"), ("preview", "--line", "2", "--raw")],
                         ids=["check", "preview", "preview --raw"])
def test_control_codes_in_a_cell_are_shown_escaped(invoke, workspace, command):
    template = template_file(workspace, "Subject: Hello\n\nDear {{ first_name }},\n{{ note }}\n{{ nope }}\n"
                             if command == ("check",) else "Subject: Hello\n\nDear {{ first_name }},\n{{ note }}\n")
    contacts = contacts_csv(workspace, rows=[f'a@example.edu,Ann,Lee,Yale,MSK,"{HOSTILE_CELL}"',
                                             f'"bad{CLEAR}address",B,C,D,E,F'])
    result = invoke(command[0], template, contacts, *command[1:])
    if "--raw" in command:  # quoted-printable on the wire: nothing raw to escape, and none slips through
        assert no_control_codes(result.output) and "=1B[2J" in result.output
    else:
        assert_escaped(result.output)


def hostile_bounce(sent) -> bytes:
    """A bounce whose diagnostic (shown by classify and sync) carries terminal codes."""
    return samples.postfix_bounce(sent).replace(b"Recipient address rejected", f"{CLEAR}{TITLE}rejected".encode())


def test_control_codes_in_incoming_mail_are_shown_escaped_by_classify_and_sync(invoke, workspace, record_sent):
    sent = record_sent(samples.outgoing("chen@example.edu"))
    (workspace / "bounce.eml").write_bytes(hostile_bounce(sent))
    assert_escaped(invoke("classify", workspace / "bounce.eml").output)
    box = mailbox.mbox(workspace / "in.mbox", create=True)
    box.add(hostile_bounce(sent))
    box.close()
    result = invoke("sync", "--mbox", workspace / "in.mbox")
    assert result.exit_code in (0, 1) and "bounce" in result.output and no_control_codes(result.output)
    for command in (("status",), ("report",), ("followup", "fall-mentors", "--template", "t.txt")):
        assert no_control_codes(invoke(*command).output), command


def test_json_output_stays_valid_json_with_the_original_text(invoke, workspace, record_sent):
    sent = record_sent(samples.outgoing("chen@example.edu"))
    raw = samples.gmail_reply(sent).replace(b"Subject: ", b"Subject: =?utf-8?q?=1B[2J=C2=9B31m?= ", 1)
    (workspace / "reply.eml").write_bytes(raw)
    result = invoke("classify", workspace / "reply.eml", "--json")
    assert no_control_codes(result.output)
    found = json.loads(result.output)
    assert found["subject"].startswith("\x1b[2J\x9b31m")  # valid JSON, and the text intact


def test_a_campaign_name_with_control_codes_is_escaped_in_status_and_the_send_plan(invoke, workspace,
                                                                                 record_sent):
    record_sent(samples.outgoing("chen@example.edu"), campaign=f"fall{CLEAR}")
    assert_escaped(invoke("status").output)
    template = write(workspace / "t.txt", "Subject: Hello\n\nDear {{ first_name }},\n")
    plan = invoke("send", template, contacts_csv(workspace, rows=ROWS[:1]), "--campaign", f"x{CLEAR}",
                  "--dry-run")
    assert no_control_codes(plan.output)


def test_data_cannot_forge_the_tools_own_colours(monkeypatch, capsys):
    from outreach import output

    monkeypatch.setattr(output, "use_colour", lambda stream=None: True)
    output.say(output.style("sent", "ok") + " " + "\x1b[32mfake sent\x1b[0m")
    printed = capsys.readouterr().out
    assert printed.count("\x1b[32m") == 1 and "\\u001b[32mfake sent" in printed


@pytest.mark.parametrize("unicode_smtp", [()], ids=["PLAIN"], indirect=True)
def test_login_tries_and_stores_a_non_ascii_password(workspace, unicode_smtp, tls_cert, invoke, memory_keyring):
    from tests.conftest import Campaign

    campaign = Campaign(workspace, unicode_smtp, tls_cert[0])
    campaign.configure(OUTREACH_PASSWORD_COMMAND=None)
    wrong = invoke("login", "--password-stdin", input="wrong-pässwörd\n")
    assert wrong.exit_code == 2 and "nothing was stored" in wrong.output
    assert not secret_shown(wrong.output, "wrong-pässwörd")
    assert memory_keyring.get_password("outreach", "asha.rao@example.org") is None
    result = invoke("login", "--password-stdin", input=NON_ASCII_PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert "the password works on 127.0.0.1" in result.output and not secret_shown(result.output)
    assert memory_keyring.get_password("outreach", "asha.rao@example.org") == NON_ASCII_PASSWORD
    assert "not an OS keyring" in result.output  # the test's memory backend is named as what it is
