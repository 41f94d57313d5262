"""The options of the commands that write messages, as small frozen objects built once by the CLI.

A stage function takes one of these instead of a long keyword list, so an option is spelled
once from the command line to the code that uses it. Light on purpose: the CLI builds them
before any stage is imported (``--help`` stays fast).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

RECENT_DAYS = 30   # written to this recently in another campaign: held, for cold outreach (cli.common says it too)


@dataclass(frozen=True)
class Consent:
    """What the user explicitly allowed past a hold of the gate (:mod:`outreach.track.gate`), on the
    command line; nothing else opens one."""

    include_answered: bool = False
    include_recent: bool = False
    recent_days: int = RECENT_DAYS
    resend_uncertain: bool = False
    retry_failed: bool = False


@dataclass(frozen=True)
class Sheet:
    """What to render: a template (and A/B variants) over a contacts file, for a campaign."""

    template: Path
    contacts: Path
    variants: tuple[Path, ...] = ()
    campaign: str | None = None     # None: the campaign this pair was drafted or sent under, else the template's name
    check_dns: bool = False
    warnings: str = "keep"          # rows with warnings: "keep" (they go, listed above the question), "skip"
                                    # (--skip-warnings: left out before the gate is asked), "strict" (errors)


@dataclass(frozen=True)
class Pace:
    """How fast and how much: None means the environment, the provider preset, or the default."""

    rate: str | None = None
    jitter: float | None = None
    daily_cap: int | None = None
    limit: int | None = None


@dataclass(frozen=True)
class Timing:
    """Send windows on each contact's clock (``--window``, ``--weekdays``) and ``--wait``."""

    window: str | None = None
    weekdays: bool | None = None
    wait: bool = False


@dataclass(frozen=True)
class SendOptions:
    sheet: Sheet
    consent: Consent
    pace: Pace = field(default_factory=Pace)
    timing: Timing = field(default_factory=Timing)
    dry_run: bool = False
    no_sync: bool = False           # do not read the mailbox first


@dataclass(frozen=True)
class DraftOptions:
    sheet: Sheet
    consent: Consent
    out_dir: Path | None = None     # --out; None: drafts/ in the workspace
    to_imap: bool = False


@dataclass(frozen=True)
class FollowupOptions:
    campaign: str
    template: Path
    after: str
    max_followups: int
    no_sync: bool = False
    out_dir: Path | None = None     # --out; None: drafts/ in the workspace
    to_imap: bool = False
    rate: str | None = None
