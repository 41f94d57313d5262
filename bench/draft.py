"""Benchmark: `outreach draft` of 10,000 .eml files beside `outreach check` on the same rows.

What it measures
    CPU seconds (user + system of the child) and wall seconds of three command-line runs, each in
    a workspace of its own under ``bench/.data/draft/`` (the same disk as the data, not a tmpfs):

    * ``outreach check TEMPLATE CONTACTS``: read, render and lint every row (the baseline);
    * ``outreach draft TEMPLATE CONTACTS --yes`` in a workspace with no store yet: every row
      checked, recorded in a new tracking store and written as an ``.eml`` file;
    * the same ``draft`` again, nothing changed: how long a re-draft takes, and how many of the
      files it rewrote (a file whose inode or modification time changed). Then one row's note
      is changed and the sheet drafted again: exactly that row's file must be rewritten.

    The floor of the files themselves: 10,000 files of the drafts' sizes written the way ``draft``
    writes each (a temporary file beside it, then a rename), by this process, CPU and wall.

    The sheet and template are bench/render.py's 7-field ones (``bench/.data/contacts_N.csv``).
    Runs are interleaved (check, draft, re-draft, check, ...); medians of ``--runs`` are shown.
    With ``--against CHECKOUT`` that checkout's commands take turns with this one's run by run
    (which goes first alternates), on the same data, and both are printed.

    Nothing is deleted until the end: each run drafts into a workspace of its own and the floor's
    files stay until all is measured. On a file system without a journal (ext4 as the development
    machine has it), creating a file steps over every inode deleted near it in the last minute or
    more (the kernel's ``recently_deleted``), so a draft run right after this script deleted the
    previous run's 10,000 files paid 2-4 s of kernel time for that deletion, not for its own work.

Targets (issue 19): draft at most 2x check by CPU; a re-draft of unchanged rows rewrites no file.

How to run (from the repository root)::

    python bench/draft.py --runs 5
    python bench/draft.py --contacts 2000 --runs 3
    git worktree add --detach /tmp/base main && python bench/draft.py --runs 5 --against /tmp/base
"""

from __future__ import annotations

import csv
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import click

sys.path.insert(0, str(Path(__file__).resolve().parent))

from render import DATA, FULL, ROOT, SENDER, Outreach, Run, run_child, stderr_tail, write_templates  # noqa: E402

TARGET_RATIO = 2.0
WORK = DATA / "draft"


class Workspace:
    """A folder with a .env naming the sender, where the `outreach` of ``checkout`` runs."""

    def __init__(self, name: str, checkout: Path = ROOT):
        self.folder = WORK / name
        self.folder.mkdir(parents=True)
        (self.folder / ".env").write_text(f"OUTREACH_FROM={SENDER}\n", encoding="utf-8")
        self.env = {**Outreach.env, "PYTHONPATH": str(checkout)}

    def run(self, *args: str) -> Run:
        os.sync()  # the last run's files (and the folder just removed) written out first, not during this one
        argv = [sys.executable, "-m", "outreach", *args]
        result = run_child(argv, cwd=self.folder, env=self.env)
        if result.exit_code not in (0, 1):
            raise click.ClickException(f"outreach {args[0]} exited {result.exit_code}\n{stderr_tail()}")
        return result

    def drafts(self) -> dict[str, tuple[int, int]]:
        """Each .eml file's (inode, modification time in ns)."""
        found = {}
        for path in (self.folder / "drafts").rglob("*.eml"):
            info = path.stat()
            found[str(path)] = (info.st_ino, info.st_mtime_ns)
        return found


def rewritten(before: dict[str, tuple[int, int]], after: dict[str, tuple[int, int]]) -> int:
    """Files written again, added or removed between two snapshots."""
    return sum(1 for path in before.keys() | after.keys() if before.get(path) != after.get(path))


def with_one_note_changed(contacts: Path, out: Path) -> None:
    """``contacts`` with the note of its first row rewritten."""
    with open(contacts, encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    note = rows[0].index("note")
    rows[1][note] = rows[1][note] + " I would also value your view on choosing a residency."
    with open(out, "w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)


def file_floor(sizes: list[int]) -> Run:
    """Writing files of ``sizes`` as draft does (a temporary file, then a rename), in this process;
    they are left for the end (see the module's text)."""
    folder = Path(tempfile.mkdtemp(dir=WORK, prefix="floor-"))
    data = [b"x" * size for size in sizes]
    os.sync()
    before, wall = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    for number, payload in enumerate(data):
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".", suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
        os.replace(tmp, folder / f"{number}.eml")
    after, wall = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter() - wall
    user = after.ru_utime - before.ru_utime
    return Run(wall, user + after.ru_stime - before.ru_stime, 0, 0, user)


def median(runs: list[Run], what: str = "cpu_seconds") -> float:
    return statistics.median(getattr(r, what) for r in runs)


class Results:
    """One checkout's runs of each command, and the files its re-drafts rewrote."""

    def __init__(self, checkout: Path):
        self.checkout = checkout
        self.checks: list[Run] = []
        self.drafts: list[Run] = []
        self.redrafts: list[Run] = []
        self.rewrites: list[int] = []
        self.changed: list[Run] = []
        self.changed_rewrites = 0

    def measure(self, name: str, template: Path, contacts: Path, count: int) -> dict[str, tuple[int, int]]:
        """check, draft into a new workspace, draft again; returns the files the draft wrote."""
        self.checks.append(Workspace(f"check-{name}", self.checkout).run("check", str(template), str(contacts)))
        self.workspace = Workspace(f"draft-{name}", self.checkout)
        self.drafts.append(self.workspace.run("draft", str(template), str(contacts), "--yes"))
        written = self.workspace.drafts()
        if len(written) != count:
            raise click.ClickException(f"draft wrote {len(written)} files for {count} rows")
        self.redrafts.append(self.workspace.run("draft", str(template), str(contacts)))
        self.rewrites.append(rewritten(written, self.workspace.drafts()))
        return written

    def change_one_note(self, template: Path, changed: Path) -> None:
        """Draft the last workspace again from a sheet with one note changed."""
        before = self.workspace.drafts()
        self.changed.append(self.workspace.run("draft", str(template), str(changed)))
        self.changed_rewrites = rewritten(before, self.workspace.drafts())

    def show(self, count: int, floors: list[Run]) -> None:
        print(f"{'command':<40}{'CPU s':>8}{'user s':>8}{'sys s':>8}{'wall s':>8}   [CPU s of each run]")
        for label, results in [("check", self.checks), ("draft (new store, new files)", self.drafts),
                               ("draft again, nothing changed", self.redrafts),
                               ("draft again, one note changed", self.changed),
                               ("floor: the files alone (tmp + rename)", floors)]:
            each = ", ".join(f"{r.cpu_seconds:.2f}" for r in results)
            user = median(results, "user_seconds")
            print(f"{label:<40}{median(results):>8.2f}{user:>8.2f}{median(results) - user:>8.2f}"
                  f"{median(results, 'seconds'):>8.2f}   [{each}]")
        ratio = median(self.drafts) / median(self.checks)
        print(f"draft is {ratio:.2f}x check by CPU (target <= {TARGET_RATIO:.0f}x: "
              f"{'met' if ratio <= TARGET_RATIO else 'NOT met'}), "
              f"{median(self.drafts, 'seconds') / median(self.checks, 'seconds'):.2f}x by wall clock, "
              f"{median(self.drafts, 'user_seconds') / median(self.checks, 'user_seconds'):.2f}x by user CPU (the "
              "kernel's share is mostly the file system's); beyond check and the files' floor: "
              f"{median(self.drafts) - median(self.checks) - median(floors):.2f} s")
        print(f"re-draft, nothing changed: {max(self.rewrites)} of {count:,} files rewritten (target 0: "
              f"{'met' if max(self.rewrites) == 0 else 'NOT met'}); one note changed: {self.changed_rewrites} "
              f"rewritten (expected 1: {'ok' if self.changed_rewrites == 1 else 'WRONG'})")


@click.command(help=__doc__.split("\n\n")[0])
@click.option("--contacts", "count", default=10_000, show_default=True, type=click.IntRange(min=10))
@click.option("--runs", default=3, show_default=True, type=click.IntRange(min=1),
              help="Runs of each command; the median is reported.")
@click.option("--against", type=click.Path(exists=True, file_okay=False, path_type=Path), metavar="CHECKOUT",
              help="Also run the commands of this checkout (e.g. `git worktree add /tmp/base main`), taking "
                   "turns with this one run by run, and print both.")
def main(count: int, runs: int, against: Path | None) -> None:
    write_templates()
    contacts = FULL.contacts(count)
    template = FULL.outreach
    shutil.rmtree(WORK, ignore_errors=True)  # what a run that was stopped left
    checkouts = [Results(ROOT)] + ([Results(against.resolve())] if against else [])
    for side, results in enumerate(checkouts):  # warm-up: bytecode, page cache
        Workspace(f"warm-{side}", results.checkout).run("check", str(template), str(contacts))
    floors = []
    for number in range(runs):
        turn = checkouts if number % 2 == 0 else checkouts[::-1]  # neither always first
        for side, results in enumerate(turn):
            written = results.measure(f"{number}-{side}", template, contacts, count)
        floors.append(file_floor([os.path.getsize(path) for path in written]))
    changed = WORK / "changed.csv"
    with_one_note_changed(contacts, changed)
    for results in checkouts:
        results.change_one_note(template, changed)

    print(f"{count:,} rows of {contacts.relative_to(DATA.parent.parent)}, template {template.name}; "
          f"medians of {runs} run(s), start-up included; CPU = user+sys of the child; "
          f"load average {os.getloadavg()[0]:.1f}")
    for results in checkouts:
        print(f"\n{results.checkout}:")
        results.show(count, floors)
    sys.stdout.flush()
    shutil.rmtree(WORK, ignore_errors=True)  # after the figures: 10,000 files a run take a while to delete


if __name__ == "__main__":
    main()
