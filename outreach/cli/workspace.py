"""`init`, `login`, `logout`: setting up a workspace and the account's secret."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from outreach.cli.common import note
from outreach.output import plural, say, style


@click.command()
@click.argument("directory", default=".", type=click.Path(file_okay=False, path_type=Path))
@click.option("--name", help="Your name as recipients see it, e.g. 'Priya Nair'.")
@click.option("--email", help="Your address, e.g. priya.nair@example.org.")
@click.option("--school", help="Your medical school, e.g. 'Malabar Medical College'.")
@click.option("--signature", help="The lines under 'Best regards,' (\\n for a new line; default: name and address).")
@click.option("--no-input", is_flag=True, help="Ask nothing: what is not given stays a [[PLACEHOLDER]] to edit.")
@click.option("--example", is_flag=True,
              help="Keep the fictional example applicant (Asha Rao): a demo that drafts without any set-up.")
def init(directory: Path, name: str | None, email: str | None, school: str | None, signature: str | None,
         no_input: bool, example: bool):
    """Create a workspace: example contacts, the shipped templates and a .env, in your name.

    Asks for your name, address, school and signature (or takes them as options) and writes
    them into .env and the templates. `outreach check` refuses a message that still carries a
    [[PLACEHOLDER]] or the example applicant's details. Existing files are left alone, so
    running it again only adds what is missing.

    \b
    Examples:
      outreach init my-outreach && cd my-outreach
      outreach init my-outreach --name 'Priya Nair' \\
          --email priya.nair@example.org \\
          --school 'Malabar Medical College' --no-input
      outreach init demo --example     # the fictional applicant, to try it
    """
    from outreach.errors import UserError
    from outreach.persona import PLACEHOLDERS
    from outreach.workspace import scaffold

    if example and (name or email or school or signature):
        raise UserError("--example keeps the example applicant; leave out --name, --email, --school and --signature")
    persona = None if example else ask_persona(name, email, school, signature, ask=not no_input)
    created, kept = scaffold(directory, persona)
    for path in created:
        say(f"created {path}")
    if kept:
        say(f"kept {plural(len(kept), 'existing file')}")
    if persona is not None and any(value.startswith("[[") or value == PLACEHOLDERS.email
                                   for value in (persona.name, persona.email, persona.school, persona.signature)):
        say(style("The [[PLACEHOLDERS]] in .env and templates/ are yours to fill in: `outreach check` "
                  "refuses a message that still has one.", "warning"))
    say(f"\nNext: read the templates (your USMLE progress, city and experience), then\n"
        f"  cd {directory}\n  outreach check templates/mentor_outreach.txt mentors.csv")


def ask_persona(name: str | None, email: str | None, school: str | None, signature: str | None, *, ask: bool):
    """The user's details: the options given, then answers to questions (a terminal or lines on
    standard input), else clearly marked placeholders."""
    from outreach.config import parse_sender
    from outreach.errors import UserError
    from outreach.persona import PLACEHOLDERS, Persona

    def answer(value: str | None, question: str, placeholder: str, default: str | None = None) -> str:
        if value is None and ask:
            try:
                value = click.prompt(question, default=default or placeholder, show_default=default is not None,
                                     err=True)
            except click.exceptions.Abort:
                raise UserError("no answers on standard input: give --name, --email, --school and --signature, "
                                "or --no-input for placeholders") from None
        value = " ".join((value or placeholder).replace("\\n", "\n").split(" ")).strip()
        if any(c in value for c in '"\\') or any(ord(c) < 32 and c != "\n" for c in value):
            raise UserError(f"{value!r}: quotes, backslashes and control characters cannot go in .env")
        return value

    name = answer(name, "Your name, as recipients see it", PLACEHOLDERS.name).replace("\n", " ")
    email = answer(email, "Your email address", PLACEHOLDERS.email).replace("\n", "")
    parse_sender(f"you <{email}>")
    school = answer(school, "Your medical school", PLACEHOLDERS.school).replace("\n", " ")
    default_signature = f"{name}\n{email}" if not name.startswith("[[") else PLACEHOLDERS.signature
    signature = answer(signature, "Your signature (\\n for a new line)", default_signature,
                       default_signature.replace("\n", "\\n"))
    return Persona(name, email, school, signature)


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
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (for scripts).")
@click.option("--no-check", is_flag=True, help="Store the password without trying it on the SMTP server first.")
def login(user: str | None, password_stdin: bool, no_check: bool):
    """Store your account password in the OS keyring (never in a file).

    A keyring backend that is not the operating system's store (keyrings.alt's plaintext
    file, the null backend) is named and refused.

    The password is first tried on the SMTP server, so a wrong one is caught now. Gmail needs
    an app password; accounts without app passwords (many school accounts) use
    OUTREACH_OAUTH2_TOKEN_COMMAND instead, and need no login.

    \b
    Examples:
      outreach login
      pass show email/smtp | outreach login --password-stdin
    """
    from outreach.account import Account, keyring_destination, keyring_get, keyring_set
    from outreach.cli.common import load_settings
    from outreach.errors import UserError

    user = _login_user(user)
    keyring_get(user)  # no keyring on this machine: say so before asking for anything
    destination, safe = keyring_destination()
    if not safe:
        raise UserError(f"refusing to store the password: it would go to {destination}; use an OS keyring, "
                        "or set OUTREACH_PASSWORD_COMMAND (e.g. 'pass show email') instead")
    settings = load_settings()
    for variable in ("oauth2_token_command", "password_command", "password"):  # Account.secret's order
        if settings.raw.get(variable):
            note(f"OUTREACH_{variable.upper()} is set and comes first, so the stored password will not be "
                 "used while it is")
            break
    if password_stdin:
        password = (sys.stdin.readline() or "").rstrip("\r\n")
    else:
        password = click.prompt(f"Password for {user}", hide_input=True, prompt_suffix=": ", err=True)
    if not password:
        raise UserError("no password given")
    if not no_check:
        account = Account.load(settings) if settings.sender else None
        server = account.smtp if account else None
        if account is not None and server is not None and server.user == user:
            from outreach.deliver.smtp import TransportError, check_password

            try:
                check_password(server, account.ssl_context(), password)
            except TransportError as e:
                raise UserError(f"{e}; nothing was stored") from None
            say(style(f"the password works on {server.host}", "ok"))
    keyring_set(user, password)
    say(style(f"stored the password for {user} in {destination}", "ok"))


@click.command()
@click.option("--user", help="The login name (default: OUTREACH_SMTP_USER, or the address in OUTREACH_FROM).")
def logout(user: str | None):
    """Remove your account password from the OS keyring.

    \b
    Example:
      outreach logout
    """
    from outreach.account import keyring_delete, keyring_destination

    user = _login_user(user)
    destination, _ = keyring_destination()
    if keyring_delete(user):
        say(style(f"removed the password for {user} from {destination}", "ok"))
    else:
        say(f"no password for {user} was stored in {destination}")
