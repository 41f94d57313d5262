"""The command line: thin click commands that parse, call one stage function, and print.

Each module here is one group of commands (``compose``: check, preview; ``send``: send,
resolve; ...). A command imports the stage it calls inside its own body, and this group loads
a command's module only when that command is run or help is asked for, so ``outreach
--version`` pays for click alone and ``outreach status`` never imports Jinja or imapclient.
The cli may import every stage; no stage imports the cli.
"""

from __future__ import annotations

import errno
import importlib
import os
import sys

import click

from outreach import __version__
from outreach.errors import UserError
from outreach.output import say, style

# command name -> the module of outreach.cli that defines it (a function of the same name,
# with a trailing underscore where the name would shadow a stage module: sync_, classify_)
COMMANDS = {
    "init": "workspace", "login": "workspace", "logout": "workspace",
    "check": "compose", "preview": "compose",
    "draft": "drafts",
    "send": "send", "resolve": "send",
    "followup": "followup",
    "sync": "mailbox", "classify": "mailbox",
    "mark": "track", "status": "track", "report": "track",
    "due": "due",
    "discover": "discover",
}


# Help is wrapped at one width on every terminal, the width its hand-set examples are written to.
HELP_WIDTH = 80


class Group(click.Group):
    """Loads commands lazily; turns a :class:`UserError` into one red sentence and exit 2, and a
    bug into one line."""

    def list_commands(self, ctx):
        return sorted(COMMANDS)

    def get_command(self, ctx, name):
        module = COMMANDS.get(name)
        if module is None:
            return None
        commands = importlib.import_module(f"outreach.cli.{module}")
        return getattr(commands, name, None) or getattr(commands, f"{name}_")

    def resolve_command(self, ctx, args):
        """The command named by ``args[0]``; a mistyped name is refused with the closest one
        (``follow-up``: did you mean followup?)."""
        name = args[0] if args else ""
        if name in COMMANDS or name.startswith("-"):
            return super().resolve_command(ctx, args)
        from outreach.suggest import closest

        meant = closest(name, COMMANDS, shorter=False)
        if meant is not None:
            ctx.fail(f"No such command {name!r}. Did you mean `outreach {meant}`?")
        return super().resolve_command(ctx, args)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except UserError as e:
            say(style("error: ", "error", stream=sys.stderr) + str(e), err=True)
            ctx.exit(e.exit_code)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except BrokenPipeError:  # `outreach check ... | head`: the reader left; stop quietly
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            ctx.exit(1)
        except KeyboardInterrupt:
            say("interrupted", err=True)
            ctx.exit(130)
        except Exception as e:  # noqa: BLE001 (a bug: say so plainly; the traceback only when asked for)
            trouble = _store_trouble(e) or _disk_trouble(e)
            if trouble is not None:  # the store or the disk failed (full, damaged, read-only): not a bug
                say(style("error: ", "error", stream=sys.stderr) + str(trouble), err=True)
                ctx.exit(trouble.exit_code)
            if os.environ.get("OUTREACH_DEBUG"):
                import traceback

                traceback.print_exc()
            say(style("internal error: ", "error", stream=sys.stderr)
                + f"{type(e).__name__}: {e} (set OUTREACH_DEBUG=1 for the traceback, and please report it)", err=True)
            ctx.exit(1)


def _store_trouble(error: Exception) -> UserError | None:
    """An SQLite failure, in one sentence naming the store; None for anything else."""
    sqlite3 = sys.modules.get("sqlite3")  # not loaded: the error cannot be SQLite's
    if sqlite3 is None or not isinstance(error, sqlite3.Error):
        return None
    from outreach.store import Store, trouble

    return trouble(Store.opened, error)


# errno -> what it means: a disk that is full or will not be written, whatever file hit it.
_DISK_ERRORS = {errno.ENOSPC: "the disk is full", errno.EDQUOT: "the disk quota is used up",
                errno.EROFS: "the file system is read-only"}


def _disk_trouble(error: Exception) -> UserError | None:
    """A full or read-only disk met while writing a file (a draft, a report), in one sentence."""
    if not isinstance(error, OSError) or error.errno not in _DISK_ERRORS:
        return None
    where = f"{error.filename}: " if error.filename else ""
    return UserError(f"{where}cannot be written: {_DISK_ERRORS[error.errno]} ({error.strerror}); free some space "
                     "or choose another folder, then run again")


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"], "terminal_width": HELP_WIDTH,
                                          "max_content_width": HELP_WIDTH})
@click.version_option(__version__, prog_name="outreach")
def cli():
    """Tailored mentor-outreach emails and interview thank-you notes from a CSV of contacts.

    A workspace is the current folder: contacts CSVs, templates/, a .env with OUTREACH_*
    settings and the tracking store outreach.db. Start with `outreach init`.

    Exit codes: 0 success, 1 warnings or partial failure, 2 bad input or configuration
    (nothing was sent).
    """


def main() -> None:
    cli(prog_name="outreach")
