"""Settings: ``OUTREACH_*`` variables from the environment or the workspace's ``.env``.

Precedence, highest first: a command-line option, the process environment, ``.env``. The
workspace is the current directory: that is where ``.env`` and the tracking store live.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from dotenv import dotenv_values

from outreach.errors import UserError

if TYPE_CHECKING:  # pragma: no cover
    from email.headerregistry import Address

PREFIX = "OUTREACH_"

# Every OUTREACH_* setting the tool reads, prefix removed: a name not here is a typo to warn about.
KNOWN = frozenset({
    "from", "db", "now", "debug", "provider", "ca_file", "save_sent",
    "smtp_host", "smtp_port", "smtp_security", "smtp_user", "smtp_timeout", "smtp_attempts", "smtp_retry_delay",
    "imap_host", "imap_port", "imap_security", "imap_user",
    "password", "password_command", "oauth2_token_command",
    "oauth2_client_id", "oauth2_client_secret", "oauth2_flow", "oauth2_scopes", "oauth2_tenant", "oauth2_redirect_host",
    "oauth2_auth_url", "oauth2_token_url", "oauth2_device_url", "oauth2_revoke_url",
    "rate", "jitter", "daily_cap", "sync_folders", "sync_max_age", "time_zone", "date_order",
    "send_window", "send_weekdays",
})


def read_environment(workspace: Path | None = None) -> dict[str, str]:
    """``OUTREACH_*`` values from ``.env`` overlaid by the real environment, prefix removed."""
    workspace = workspace or Path.cwd()
    values: dict[str, str] = {}
    dotenv = workspace / ".env"
    if dotenv.is_file():
        values.update({k: v for k, v in dotenv_values(dotenv).items() if v is not None})
    values.update(os.environ)
    return {k[len(PREFIX):].lower(): v for k, v in values.items() if k.startswith(PREFIX) and v != ""}


def unknown_settings(raw: dict[str, str]) -> list[str]:
    """One sentence per ``OUTREACH_*`` name the tool does not read, with the closest known name:
    a misspelt setting must not be silently ignored (``OUTREACH_SMTP_PROT``)."""
    import difflib

    sentences = []
    for name in sorted(set(raw) - KNOWN):
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

    @classmethod
    def load(cls, workspace: Path | None = None, **overrides: str | None) -> Settings:
        workspace = workspace or Path.cwd()
        raw = read_environment(workspace)
        raw.update({k: v for k, v in overrides.items() if v is not None})
        return cls(sender=raw.get("from"), db=workspace / raw.get("db", "outreach.db"), raw=raw)


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
