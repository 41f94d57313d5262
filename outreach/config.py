"""Settings: ``OUTREACH_*`` variables from the environment or the workspace's ``.env``.

Precedence, highest first: a command-line option, the process environment, ``.env``.

The workspace is found the way git finds ``.git``: the nearest folder, from the current folder
upward, that holds ``.env`` or ``outreach.db``; when there is none, the nearest one above the
files the command was given (the template). That is where ``.env`` is read and the tracking
store lives (unless ``OUTREACH_DB`` names another), so a command run from the folder above a
workspace, or from its ``templates/``, still knows everyone written to.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from outreach.errors import UserError

if TYPE_CHECKING:  # pragma: no cover
    from email.headerregistry import Address

PREFIX = "OUTREACH_"

# Every OUTREACH_* setting the tool reads, prefix removed: a name not here is a typo to warn about.
KNOWN = frozenset({
    "from", "db", "now", "debug", "provider", "ca_file", "save_sent",
    "smtp_host", "smtp_port", "smtp_security", "smtp_user", "smtp_timeout", "smtp_attempts", "smtp_retry_delay",
    "smtp_allow_unencrypted", "imap_host", "imap_port", "imap_security", "imap_user", "imap_timeout",
    "imap_allow_unencrypted",
    "password", "password_command", "oauth2_token_command",
    "oauth2_client_id", "oauth2_client_secret", "oauth2_flow", "oauth2_scopes", "oauth2_tenant", "oauth2_redirect_host",
    "oauth2_auth_url", "oauth2_token_url", "oauth2_device_url", "oauth2_revoke_url",
    "rate", "jitter", "daily_cap", "sync_folders", "sync_max_age", "time_zone", "date_order",
    "send_window", "send_weekdays", "allow_test_domains",
    "eutils_url", "ncbi_api_key", "address_max_age",
})


STORE_NAME = "outreach.db"


def find_workspace(start: Path) -> Path | None:
    """The nearest folder from ``start`` upward that holds a ``.env`` file (not a folder: a
    virtualenv is often called .env) or ``outreach.db``."""
    start = Path(os.path.abspath(start))
    for folder in (start, *start.parents):
        if (folder / ".env").is_file() or (folder / STORE_NAME).exists():
            return folder
    return None


def locate_workspace(near: Iterable[Path] = ()) -> tuple[Path | None, tuple[str, ...]]:
    """(the workspace of a command, notes about how it was found). The current folder's comes
    first, as git's does; the folder of a file the command works on (``near``) is asked when the
    current folder has none, or when its workspace lies inside the current folder's (a stray
    ``.env`` in a home folder must not hide the workspace the template is in)."""
    here = find_workspace(Path.cwd())
    for path in near:
        there = find_workspace(path.parent)
        if there is None or there == here:
            continue
        if here is None or here in there.parents:
            skipped = f", not {here}, the current folder's" if here else ""
            return there, (f"using the workspace {there} (where {path} is){skipped}",)
        return here, (f"using the workspace {here}, the current folder's; {path} is in another, {there}",)
    if here is not None and here != Path.cwd():
        return here, (f"using the workspace {here}",)
    return here, ()


def read_environment(workspace: Path | None = None) -> dict[str, str]:
    """``OUTREACH_*`` values from ``.env`` overlaid by the real environment, prefix removed."""
    workspace = workspace or Path.cwd()
    values: dict[str, str] = {}
    dotenv = workspace / ".env"
    if dotenv.is_file():
        from dotenv import dotenv_values  # with logging, 5 ms a start: only where there is a .env

        values.update({k: v for k, v in dotenv_values(dotenv).items() if v is not None})
    values.update(os.environ)
    return {k[len(PREFIX):].lower(): v for k, v in values.items() if k.startswith(PREFIX) and v != ""}


def unknown_settings(raw: dict[str, str]) -> list[str]:
    """One sentence per ``OUTREACH_*`` name the tool does not read, with the closest known name:
    a misspelt setting must not be silently ignored (``OUTREACH_SMTP_PROT``)."""
    unknown = sorted(set(raw) - KNOWN)
    if not unknown:
        return []   # difflib (1.3 ms) only for a name to match
    import difflib

    sentences = []
    for name in unknown:
        close = difflib.get_close_matches(name, KNOWN, n=1, cutoff=0.6)
        hint = f": did you mean {PREFIX}{close[0].upper()}?" if close else ""
        sentences.append(f"{PREFIX}{name.upper()} is not a setting outreach knows, so it is ignored{hint}")
    return sentences


@dataclass(frozen=True)
class Settings:
    """The settings every command needs; transports read theirs from ``raw``."""

    sender: str | None
    db: Path
    raw: dict[str, str]
    workspace: Path | None = None     # the folder holding .env or outreach.db; None: none was found
    notes: tuple[str, ...] = ()       # how the workspace was found, when it is not the current folder

    @classmethod
    def load(cls, workspace: Path | None = None, *, near: Iterable[Path] = (), **overrides: str | None) -> Settings:
        """``workspace`` given, that folder; else the one found from here or from ``near``."""
        notes: tuple[str, ...] = ()
        if workspace is None:
            workspace, notes = locate_workspace(near)
        folder = Path(os.path.abspath(workspace)) if workspace else Path.cwd()
        raw = read_environment(folder)
        raw.update({k: v for k, v in overrides.items() if v is not None})
        return cls(sender=raw.get("from"), db=folder / raw.get("db", STORE_NAME), raw=raw,
                   workspace=folder if workspace else None, notes=notes)

    @property
    def folder(self) -> Path:
        """The workspace, or the current folder when none was found (what relative paths in the
        store, such as a draft's, are relative to)."""
        return self.workspace or Path.cwd()

    @property
    def db_chosen(self) -> bool:
        """The user named the store (``OUTREACH_DB``): starting it there needs no other word."""
        return "db" in self.raw


def parse_sender(value: str) -> Address:
    """``"Asha Rao <asha@example.org>"`` -> Address; a clear error when it is not an address."""
    from email.headerregistry import (
        Address,  # 13 ms: only the commands that write mail pay for it
    )
    from email.utils import parseaddr

    from outreach.persona import PLACEHOLDER

    if PLACEHOLDER.search(value):
        raise UserError(f"OUTREACH_FROM: {value!r} is still a placeholder; put your name and address in .env")
    name, addr = parseaddr(value)
    if "@" not in addr:
        raise UserError(f"OUTREACH_FROM: {value!r} is not an address like 'Asha Rao <asha.rao@example.org>'")
    return Address(name, addr_spec=addr)


def yes_no(raw: dict[str, str], key: str, *, default: bool) -> bool:
    """A yes/no setting (``OUTREACH_SAVE_SENT=yes``); empty or unset is ``default``."""
    value = raw.get(key, "").strip().lower()
    if not value:
        return default
    if value in ("yes", "true", "1", "on"):
        return True
    if value in ("no", "false", "0", "off"):
        return False
    raise UserError(f"OUTREACH_{key.upper()}={raw[key]!r}: use yes or no")


def allows_test_domains(raw: dict[str, str]) -> bool:
    """``OUTREACH_ALLOW_TEST_DOMAINS=yes``: recipients at ``.test`` and ``.localhost`` (RFC 6761) are
    accepted, to try the tool against a mail server of one's own; never by default."""
    return yes_no(raw, "allow_test_domains", default=False)
