"""What the commands share: the options every command spells the same way, and the terminal
side of :class:`outreach.feedback.Feedback` (notes, warnings, row problems, progress bars)."""

from __future__ import annotations

import contextlib
import functools
import gc
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import click

from outreach.output import plural, say, style

if TYPE_CHECKING:
    from click._termui_impl import ProgressBar  # what click.progressbar returns; not exported by click

    from outreach.compose.findings import Findings

T = TypeVar("T")
PROGRESS_MINIMUM = 200   # rows or messages below which a progress bar would only flicker

template_arg = click.argument("template", type=click.Path(dir_okay=False, path_type=Path))
contacts_arg = click.argument("contacts", type=click.Path(dir_okay=False, path_type=Path))
check_dns_opt = click.option("--check-dns", is_flag=True,
                             help="Also look up each address's domain (3 s timeout each). Off by default: no network.")


def packed(name: str, build: Callable[..., object], *options: Callable) -> Callable:
    """Click options that reach the command as one object, ``name=build(**their values)``: a
    command passes a small frozen object on instead of a long keyword list."""

    def decorate(command: Callable) -> Callable:
        @functools.wraps(command)
        def wrapper(*args, **kwargs):
            kwargs[name] = build(**{key: kwargs.pop(key) for key in keys})
            return command(*args, **kwargs)

        before = len(getattr(wrapper, "__click_params__", []))
        for option in reversed(options):
            wrapper = option(wrapper)
        keys = [param.name for param in wrapper.__click_params__[before:]]  # type: ignore[attr-defined]
        return wrapper

    return decorate


RECENT_DAYS = 30  # the default of --recent-days, as of options.Consent (tests/test_layout.py holds them equal)


def consent(**chosen: object) -> object:
    """The user's :class:`~outreach.options.Consent`, built when a command runs: the options'
    frozen dataclasses cost 5 ms to define, which `check` and `--help` need not pay."""
    from outreach.options import Consent

    return Consent(**chosen)  # type: ignore[arg-type]


_HISTORY = [
    click.option("--include-answered", is_flag=True,
                 help="Write also to contacts who replied or declined in another campaign."),
    click.option("--include-recent", is_flag=True,
                 help="Write also to contacts written to in another campaign within --recent-days."),
    click.option("--recent-days", type=click.IntRange(min=0), default=RECENT_DAYS, show_default=True, metavar="N",
                 help="How recent a message in another campaign holds a contact back."),
]
# What a contact's history may hold back (draft): the command gets ``consent``.
history_opts = packed("consent", consent, *_HISTORY)
# The same for send, with what the user may allow about the messages' own records.
send_consent_opts = packed("consent", consent, *_HISTORY, click.option(
    "--resend-uncertain", is_flag=True,
    help="Send again the messages whose outcome is uncertain; check your Sent folder first."), click.option(
    "--retry-failed", is_flag=True, help="Try again the contacts the server refused on an earlier run."))


# The campaign a sheet is drafted or sent under (check, draft, send).
sheet_campaign_opt = click.option(
    "--campaign", metavar="NAME",
    help="The campaign (default: the one this template and contact list were drafted or sent under, else the "
         "template's file name).")


def one_campaign(argument: str | None, option: str | None) -> str | None:
    """The campaign given as the positional CAMPAIGN or as --campaign (both: the same one)."""
    from outreach.errors import UserError

    if argument and option and argument != option:
        raise UserError(f"two campaigns given, {argument!r} and --campaign {option!r}: give one")
    return option or argument


def warnings_choice(skip_warnings: bool = False, strict: bool = False) -> str:
    """What to do with rows that have warnings (``Sheet.warnings``), from --skip-warnings and --strict."""
    from outreach.errors import UserError

    if skip_warnings and strict:
        raise UserError("--skip-warnings leaves the rows with warnings out and --strict stops on them: choose one")
    return "skip" if skip_warnings else "strict" if strict else "keep"


strict_opt = click.option("--strict", is_flag=True, help="Treat warnings as errors: any row with one stops everything.")
# What to do with rows that have warnings (draft, send): the command gets ``warnings``.
warnings_opts = packed("warnings", warnings_choice, click.option(
    "--skip-warnings", is_flag=True,
    help="Leave out the rows with warnings (listed, with their first warning); the others go."), strict_opt)


def print_history(known, source: str) -> None:
    """Contacts the store knows from other campaigns: which, when, and what happened, by CSV line."""
    if not known:
        return
    say(style(f"{plural(len(known), 'contact')} known from other campaigns:", "note"))
    for line, address, pasts in known:
        say(f"  {source}, line {line}  {address}: " + "; ".join(p.describe() for p in pasts))


json_opt = click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")


def note(text: str) -> None:
    say(style("note: ", "note", stream=sys.stderr) + text, err=True)


def warn(text: str) -> None:
    say(style("warning: ", "warning", stream=sys.stderr) + text, err=True)


def load_settings(*near: Path, **overrides):
    """The settings every command reads, from the workspace found here or above, else above the
    files ``near`` (the template): a note says which when it is not the current folder, and a
    warning names each ``OUTREACH_*`` name that is not a setting."""
    from outreach.config import Settings, unknown_settings

    settings = Settings.load(near=near, **overrides)
    for sentence in settings.notes:
        note(sentence)
    for sentence in unknown_settings(settings.raw):
        warn(sentence)
    return settings


def workspace_folder(settings, name: str) -> Path:
    """``name`` in the workspace, as a path from the current folder (``drafts`` in the workspace itself)."""
    import os

    return Path(os.path.relpath((settings.workspace or Path.cwd()) / name))


def without_collector(build: Callable[[], T]) -> T:
    """``build()`` with the cyclic garbage collector off; it is back on once ``build`` returned.

    `status` of 90,000 contacts makes about a million short-lived objects and no cycles; the
    collector's passes over them cost 20 to 25 ms and free nothing that reference counting does
    not. Whatever ``build`` made and dropped is freed as it returns, before the collector is on
    again (the count of new objects falls as they are freed, so none of it is looked at then)."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        return build()
    finally:
        if was_on:
            gc.enable()


@contextlib.contextmanager
def new_store_confirmed(settings, *, yes: bool, yes_option: bool = True) -> Iterator[None]:
    """Around a command that may start a tracking store where there is none: the word to start it
    before the command runs, and one line after it, when it did start one.

    A new store knows nobody, so in the wrong folder it would have everyone already written to
    written to again. --yes, ``OUTREACH_DB`` (the user named the file) or ``init`` (which starts
    the store) confirm it; on a terminal the person is asked. A script (no terminal) is taken at
    its word when it runs in a workspace (a ``.env`` was found) and refused when it found none."""
    from outreach.errors import UserError

    db = settings.db
    new = not db.exists()
    if new and not (yes or settings.db_chosen):
        if interactive():
            if not click.confirm(f"There is no tracking store at {db}: start a new one, which knows nobody you "
                                 "wrote to before?", default=False, err=True):
                raise UserError(f"nothing done: no tracking store was started at {db}; run the command in your "
                                "workspace folder (where .env and outreach.db are)")
        elif settings.workspace is None:
            how = "add --yes (or set OUTREACH_DB)" if yes_option else "set OUTREACH_DB"
            raise UserError(f"no workspace here: no .env or outreach.db in {Path.cwd()} or above it (nor above the "
                            f"files given), so this would start a new tracking store at {db} that knows nobody you "
                            f"wrote to; run it in your workspace folder, or {how} to start one here")
    try:
        yield
    finally:
        if new and db.exists():
            note(f"started a new tracking store, {db}")


def interactive() -> bool:
    """Can we ask a question? (A function, so tests can say yes.)"""
    return sys.stdin.isatty()


def problem_keys(item) -> list[tuple[str, str | None, str]]:
    """A row's problems as (severity, column, text), its skip reason first ("skipped")."""
    return [("skipped", None, item.skip)] * bool(item.skip) + [(p.severity, p.field, p.text) for p in item.problems]


def print_groups(groups, source: str, *, err: bool = False) -> None:
    """Problems as :class:`outreach.compose.findings.Findings` hands them out: a problem of many
    rows once, under its count and lines (``mentors.csv, 29 rows: lines 2-30``); a row's own
    under its CSV line and address."""
    stream = sys.stderr if err else None
    heading = None  # problems under the same heading (the same rows) share it
    for group in groups:
        rows = group.rows() if group.count > 1 else f"line {group.line}"
        if rows != heading:
            label = f"  {group.label}" if group.count == 1 else ""
            say(f"{style(f'{source}, {rows}', 'note', stream=stream)}{label}", err=err)
            heading = rows
        if group.severity == "skipped":
            say(f"  {style('skipped ', 'note', stream=stream)}{group.text}", err=err)
            continue
        column = f'column "{group.column}": ' if group.column else ""
        say(f"  {style(f'{group.severity:<8}', group.severity, stream=stream)}{column}{group.text}", err=err)


# -- --json: one document on stdout, human text on stderr --------------------------------------
def print_json(data) -> None:
    import json

    say(json.dumps(data, ensure_ascii=False, indent=2))


def row_json(item) -> dict:
    """A row's problems, as `check --json` and every other --json print them."""
    return {"line": item.contact.line, "email": item.contact.email or item.contact.fields.get("email", ""),
            "skipped": item.skip,
            "problems": [{"severity": p.severity, "column": p.field, "message": p.text} for p in item.problems]}


def tally_json(tally) -> dict:
    return {"rows": tally.rows, "clean": tally.clean, "warnings": tally.with_warnings, "errors": tally.with_errors,
            "skipped": tally.skipped}


def row_label(item) -> str:
    """Who a row is for: its address, else the interviewer or "(no address)"."""
    return (item.contact.email or item.contact.fields.get("email") or item.contact.fields.get("interviewer")
            or "(no address)")


class Terminal:
    """Feedback on the terminal: notes and warnings on stderr, problems on stdout, and a progress
    bar on stderr for long steps when stderr is a terminal."""

    err = False  # where problems are listed: stdout

    def __init__(self, minimum: int = PROGRESS_MINIMUM):
        self.minimum = minimum
        self.bar: ProgressBar[int] | None = None
        self.rows: list[dict] = []  # each row's problems as --json prints them (kept by JsonTerminal)
        self.findings: dict[str, Findings] = {}   # source -> its rows' problems, until they are all told

    note = staticmethod(note)
    warn = staticmethod(warn)

    def problems(self, item, source: str) -> None:
        from outreach.compose.findings import Findings

        findings = self.findings.setdefault(source, Findings())
        print_groups(findings.add(item.contact.line, row_label(item), problem_keys(item)), source, err=self.err)

    def end_problems(self) -> None:
        for source, findings in self.findings.items():
            print_groups(findings.drain(), source, err=self.err)
        self.findings.clear()

    def start(self, label: str, total: int) -> None:
        self.finish()
        if sys.stderr.isatty() and total >= self.minimum:
            self.bar = click.progressbar(length=total, label=label, file=sys.stderr)
            self.bar.__enter__()

    def advance(self, count: int = 1) -> None:
        if self.bar is not None:
            self.bar.update(count)

    def finish(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


class JsonTerminal(Terminal):
    """Feedback for --json: row problems go to stderr (an error stops the command before any
    JSON) and are kept for the JSON document (``rows``, empty on the plain terminal)."""

    err = True

    def problems(self, item, source: str) -> None:
        super().problems(item, source)
        self.rows.append(row_json(item))


def terminal(as_json: bool) -> Terminal:
    return JsonTerminal() if as_json else Terminal()
