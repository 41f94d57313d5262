"""`init`, `login`, `logout`: setting up a workspace and the account's secret."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from outreach.cli import common
from outreach.cli.common import note
from outreach.output import plural, say, shown, style

if TYPE_CHECKING:
    from outreach.persona import Persona, Question


@click.command()
@click.argument("directory", default=".", type=click.Path(file_okay=False, path_type=Path))
@click.option("--name", help="Your name as recipients see it, e.g. 'Priya Nair'.")
@click.option("--email", help="Your address, e.g. priya.nair@example.org.")
@click.option("--school", help="Your medical school, e.g. 'Malabar Medical College'.")
@click.option("--country", help="The country your school is in, e.g. India.")
@click.option("--degree", help="Your medical degree, e.g. MBBS or MD.")
@click.option("--year", help="The year you graduated (or will), e.g. 2024.")
@click.option("--exams", help="Your USMLE progress, finishing 'I have ...', e.g. 'passed Step 1 and Step 2 CK'.")
@click.option("--city", help="The city you live in now.")
@click.option("--experience", help="One or two sentences of your research experience.")
@click.option("--signature", help="The lines under 'Best regards,' (\\n for a new line; default: name, degree "
                                  "and address).")
@click.option("--no-input", is_flag=True, help="Ask nothing: what is not given stays a [[PLACEHOLDER]] to edit.")
@click.option("--example", is_flag=True,
              help="Keep the fictional example applicant (Asha Rao): a demo that drafts without any set-up.")
def init(directory: Path, no_input: bool, example: bool, **given: str | None):
    """Create a workspace: example contacts, the shipped templates and a .env, in your name.

    Asks who you are: name, address, school, its country, degree, graduation year, USMLE
    progress, city, research experience and signature (or takes them as options), and writes
    the answers into .env and the templates. On a terminal a wrong answer is asked again;
    Enter skips a question and leaves a [[PLACEHOLDER]]. `outreach check` refuses a message
    that still carries a placeholder or the example applicant's details. It also starts the
    tracking store, outreach.db, so that no later command has to ask whether to. Existing files
    are left alone, so running it again only adds what is missing.

    \b
    Examples:
      outreach init my-outreach && cd my-outreach
      outreach init my-outreach --name 'Priya Nair' \\
          --email priya.nair@example.org \\
          --school 'Malabar Medical College' --country India --no-input
      outreach init demo --example     # the fictional applicant, to try it
    """
    from outreach.config import STORE_NAME
    from outreach.errors import UserError
    from outreach.persona import has_placeholders
    from outreach.workspace import scaffold

    if example and any(value is not None for value in given.values()):
        raise UserError("--example keeps the example applicant; leave out " +
                        ", ".join(f"--{key}" for key, value in given.items() if value is not None))
    persona = None if example else ask_persona(given, ask=not no_input)
    created, kept = scaffold(directory, persona)
    store = start_store(directory)
    if store is not None:
        (created if store else kept).append(directory / STORE_NAME)
    for path in created:
        say(f"created {path}")
    if kept:
        say(f"kept {plural(len(kept), 'existing file')}")
    if persona is not None and has_placeholders(persona):
        say(style("The [[PLACEHOLDERS]] in .env and templates/ are yours to fill in: `outreach check` "
                  "refuses a message that still has one.", "warning"))
    say(f"\nNext: read templates/mentor_outreach.txt once as a mentor would, then\n"
        f"  cd {directory}\n  outreach check templates/mentor_outreach.txt mentors.csv")


def start_store(directory: Path) -> bool | None:
    """The workspace's tracking store, started by init so that later commands need not ask (True:
    started, False: it was there). None when OUTREACH_DB names a store elsewhere."""
    from outreach.config import Settings
    from outreach.store import Store

    settings = Settings.load(directory)
    if settings.db_chosen:
        return None
    if settings.db.exists():
        return False
    Store(settings.db).close()
    return True


def ask_persona(given: dict[str, str | None], *, ask: bool) -> Persona:
    """The user's details: the options given, then answers to questions, else clearly marked
    placeholders. On a terminal a wrong answer is asked again; from lines on standard input
    (a script) it is an error, since the next line is already the next answer."""
    from outreach.errors import UserError
    from outreach.persona import PLACEHOLDERS, QUESTIONS, Persona, answer_problem, default_signature

    on_terminal = ask and common.interactive()
    if on_terminal and any(given[question.key] is None for question in QUESTIONS):
        say("Enter skips a question and leaves a [[PLACEHOLDER]] to fill in later.", err=True)
    answers: dict[str, str] = {}
    for number, question in enumerate(QUESTIONS, 1):
        key = question.key
        default = getattr(PLACEHOLDERS, key)
        if key == "signature":
            default = default_signature(answers["name"], answers["degree"], answers["email"])
        value = given[key]
        if value is None and not ask:
            value = default
        elif value is None:
            value = _prompt(question, default, on_terminal, number)
        else:
            value = _cleaned(key, value)
            problem = answer_problem(key, value)
            if problem:
                raise UserError(f"--{key} {value!r}: {problem}")
        answers[key] = value
    return Persona(**answers)


def _cleaned(key: str, value: str) -> str:
    """An answer as it goes into the files: a signature keeps its lines (typed as \\n), anything
    else is one line with single spaces."""
    if key == "signature":
        return "\n".join(line.strip() for line in value.replace("\\n", "\n").strip().splitlines())
    return " ".join(value.split())


def _prompt(question: Question, default: str, on_terminal: bool, number: int) -> str:
    from outreach.errors import UserError
    from outreach.persona import answer_problem

    def checked(raw: str) -> str:
        value = _cleaned(question.key, raw)
        if value == default:
            return value
        problem = answer_problem(question.key, value)
        if problem and on_terminal:
            example = "" if question.example in problem else f"; for example: {question.example}"
            raise click.BadParameter(f"{value!r}: {problem}{example}")
        if problem:
            raise UserError(f"answer {number} on standard input ({question.text.lower()}), {value!r}: {problem}")
        return value

    shown = default.replace("\n", "\\n")
    try:
        answer = click.prompt(question.text, default=shown, show_default=not default.startswith("[[")
                              and question.key == "signature", err=True, value_proc=checked if on_terminal else None)
    except click.exceptions.Abort:
        raise UserError("no answers on standard input: give --name, --email and the other options, "
                        "or --no-input for placeholders") from None
    return answer if on_terminal else checked(answer)


def _login_user(user: str | None) -> str:
    from outreach.account import Account
    from outreach.cli.common import load_settings
    from outreach.errors import UserError

    if user:
        return user
    account = Account.load(load_settings())
    server = account.smtp or account.imap
    if server is None:
        raise UserError("no server configured: set OUTREACH_PROVIDER or OUTREACH_SMTP_HOST in .env, or pass --user")
    return server.user


@click.command()
@click.option("--user", help="The login name (default: OUTREACH_SMTP_USER, or the address in OUTREACH_FROM).")
@click.option("--oauth", is_flag=True,
              help="Sign in with Google, Microsoft or another OAuth 2.0 server (OUTREACH_OAUTH2_CLIENT_ID) and keep "
                   "the sign-in, instead of a password.")
@click.option("--browser/--no-browser", default=None,
              help="With --oauth: --browser signs in in a web browser, also where a code is the default "
                   "(Microsoft); --no-browser prints the address instead of opening a browser.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (for scripts).")
@click.option("--no-check", is_flag=True, help="Store the password or sign-in without trying it on the SMTP server.")
def login(user: str | None, oauth: bool, browser: bool | None, password_stdin: bool, no_check: bool):
    """Store your account password in the OS keyring, or sign in with --oauth (never in a file).

    A keyring backend that is not the operating system's store (keyrings.alt's plaintext
    file, the null backend) is named and refused.

    The password is first tried on the SMTP server, so a wrong one is caught now. Gmail needs
    an app password; accounts without one (many school Google and Microsoft 365 accounts) sign
    in with --oauth instead, with the client you registered (OUTREACH_OAUTH2_CLIENT_ID; the
    README shows how). Google signs in in your browser; Microsoft shows an address and a code
    to enter on any device. The refresh token is kept in the OS keyring and renews the
    access to your mail without asking again.

    \b
    Examples:
      outreach login
      pass show email/smtp | outreach login --password-stdin
      outreach login --oauth
      outreach login --oauth --no-browser    # print the address to open
    """
    from outreach.errors import UserError

    if oauth:
        if password_stdin:
            raise UserError("--password-stdin is for a password; --oauth signs in without one")
        sign_in(user, browser, check=not no_check)
        return
    if browser is not None:
        raise UserError("--browser and --no-browser go with --oauth")
    store_password(user, password_stdin, check=not no_check)


def _refuse_unsafe_keyring(user: str, what: str) -> str:
    """Where the keyring would keep a secret, in words; refuses a backend that keeps nothing or a
    plain file, and says so before anything is asked (no keyring at all: one sentence)."""
    from outreach.account import keyring_destination, keyring_get
    from outreach.errors import UserError

    keyring_get(user)
    destination, safe = keyring_destination()
    if not safe:
        raise UserError(f"refusing to store the {what}: it would go to {destination}; use an OS keyring, "
                        "or set OUTREACH_PASSWORD_COMMAND (e.g. 'pass show email') instead")
    return destination


def _note_sources_first(raw: dict[str, str], sources: tuple[str, ...], what: str) -> None:
    for variable in sources:  # Account.secret's order
        if raw.get(variable):
            note(f"OUTREACH_{variable.upper()} is set and comes first, so the stored {what} will not be "
                 "used while it is")
            break


def store_password(user: str | None, password_stdin: bool, *, check: bool) -> None:
    from outreach.account import Account, keyring_set
    from outreach.cli.common import load_settings
    from outreach.errors import UserError

    user = _login_user(user)
    destination = _refuse_unsafe_keyring(user, "password")
    settings = load_settings()
    _note_sources_first(settings.raw, ("oauth2_token_command", "password_command", "password", "oauth2_client_id"),
                        "password")
    if password_stdin:
        password = (sys.stdin.readline() or "").rstrip("\r\n")
    else:
        password = click.prompt(shown(f"Password for {user}"), hide_input=True, prompt_suffix=": ", err=True)
    if not password:
        raise UserError("no password given")
    if check:
        account = Account.load(settings) if settings.sender else None
        server = account.smtp if account else None
        if account is not None and server is not None and server.user == user:
            from outreach.account import Secret
            from outreach.deliver.smtp import TransportError, check_login

            try:
                check_login(server, account.ssl_context(), Secret("password", password))
            except TransportError as e:
                raise UserError(f"{e}; nothing was stored") from None
            say(style(f"the password works on {server.host}", "ok"))
    keyring_set(user, password)
    say(style(f"stored the password for {user} in {destination}", "ok"))


def sign_in(user: str | None, browser: bool | None, *, check: bool) -> None:
    """`login --oauth`: sign in (in the browser or with a code), try the token on the SMTP
    server, then keep the refresh token in the keyring."""
    from outreach import signin, tokens
    from outreach.account import Account, Secret
    from outreach.cli.common import load_settings

    settings = load_settings()
    account = Account.load(settings)
    user = _login_user(user)
    client = account.sign_in(user).client
    destination = _refuse_unsafe_keyring(user, "sign-in")
    _note_sources_first(settings.raw, ("oauth2_token_command", "password_command", "password"), "sign-in")
    context = account.ssl_context()
    if browser or client.flow == "code":
        token = signin.in_browser(client, context, say, None if browser is False else _open_browser)
    else:
        token = signin.with_device_code(client, context, say)
    tokens.require_refresh_token(client, token)
    server = account.smtp
    if check and server is not None and server.user == user:
        from outreach.deliver.smtp import TransportError, check_login

        try:
            check_login(server, context, Secret("oauth2", str(token.get("access_token", ""))))
        except TransportError as e:
            from outreach.errors import UserError

            raise UserError(f"{e}; nothing was stored") from None
        say(style(f"the sign-in works on {server.host}", "ok"))
    tokens.keep_sign_in(client, user, token, account.sign_in_lock)
    say(style(f"signed in to {client.name} as {user}; the sign-in is kept in {destination}", "ok"))


def _open_browser(url: str) -> bool:
    """Open ``url`` in the desktop's browser; False where there is none to open (a Linux console or
    an SSH session, where webbrowser would start a text browser in this terminal)."""
    import os
    import webbrowser

    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return False
    try:
        return webbrowser.open(url)
    except webbrowser.Error:
        return False


@click.command()
@click.option("--user", help="The login name (default: OUTREACH_SMTP_USER, or the address in OUTREACH_FROM).")
def logout(user: str | None):
    """Remove your account password and OAuth sign-in from the OS keyring.

    A sign-in is first revoked at the server where it has a revocation endpoint (Google does;
    Microsoft has none, so there it ends when it expires or when you remove the app's access
    in your account settings).

    \b
    Example:
      outreach logout
    """
    from outreach import tokens
    from outreach.account import Account, keyring_delete, keyring_destination
    from outreach.cli.common import load_settings, warn
    from outreach.errors import UserError

    user = _login_user(user)
    destination, _ = keyring_destination()
    settings = load_settings()
    account = Account.load(settings) if settings.sender else None
    client = account.oauth if account is not None else None
    stored = tokens.load(user)
    partial = False
    if stored is not None:
        if account is None or client is None:
            note("OUTREACH_OAUTH2_CLIENT_ID is not set, so the sign-in cannot be revoked from here")
        elif stored.client_id != client.client_id:
            note(f"the sign-in was made with another client ID than {client.client_id}, so it cannot be revoked "
                 "from here")
        elif not client.revoke_url:
            note(f"{client.name} has no revocation endpoint (OUTREACH_OAUTH2_REVOKE_URL): the sign-in ends there when "
                 "it expires or when you remove the app's access in your account settings")
        else:
            try:
                tokens.revoke(client, account.ssl_context(), stored)
                say(style(f"revoked the sign-in for {user} at {client.name}", "ok"))
            except UserError as e:
                warn(f"{e}; it is removed from this computer all the same")
                partial = True
        tokens.forget(user)
        say(style(f"removed the sign-in for {user} from {destination}", "ok"))
    if keyring_delete(user):
        say(style(f"removed the password for {user} from {destination}", "ok"))
    elif stored is None:
        say(f"no password or sign-in for {user} was stored in {destination}")
    if partial:
        click.get_current_context().exit(1)
