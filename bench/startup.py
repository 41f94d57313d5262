"""Benchmark: how long `outreach` takes to start, against `python -c pass` and mailmerge.

What it measures
    The median wall time of each command below, as a subprocess (interpreter start-up and
    imports included, as a user waits for it), runs of the commands interleaved:

    * ``python -c pass``: the floor, the interpreter alone;
    * ``mailmerge --version`` (PyPI ``mailmerge`` in ``bench/.venv-mailmerge``, the same
      environment ``bench/render.py`` makes and reuses): a comparable click program;
    * ``outreach --version`` and ``outreach --help``;
    * ``outreach check`` of a one-row sheet (bench/render.py's 7-field template), no store;
    * ``outreach status`` in a workspace with an empty tracking store;
    * ``outreach sync`` with nothing new: a workspace with 17 drafted messages (the bundled
      examples) that has read its IMAP INBOX once, on a private Dovecot on 127.0.0.1 (the test
      suite's server); without Dovecot, the same over an empty mbox file, and the table says so.

    The outreach commands run this checkout (``PYTHONPATH``), with bytecode cached outside the
    tree (an installed outreach has its .pyc files) and no ``OUTREACH_*`` from the shell.

    Then *check's imports*: the modules that one-row ``check`` imports (the top-level entries of
    ``python -X importtime``, which names them, after ``runpy``), imported in that order by a fresh
    interpreter that times nothing else; the median of the runs, beside ``python -c pass``.

Targets: ``--version`` and ``--help`` at most 3x ``python -c pass`` and below ``mailmerge
--version`` (issue 8); check's imports under 80 ms (issue 19).

How to run (from the repository root)::

    python bench/startup.py            # 15 runs of each
    python bench/startup.py --runs 31
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from render import ensure_mailmerge  # noqa: E402  (bench/render.py owns the mailmerge venv)


def child_env() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OUTREACH_") and k != "PYTHONDONTWRITEBYTECODE"}
    return {**env, "PYTHONPATH": str(ROOT), "PYTHONPYCACHEPREFIX": str(ROOT / "bench" / ".data" / "pycache"),
            "NO_COLOR": "1"}


def outreach(*args: str) -> list[str]:
    return [sys.executable, "-m", "outreach", *args]


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(argv: list[str], cwd: Path, env: dict) -> tuple[float, float]:
    """(wall, CPU) seconds of one run of ``argv``."""
    cpu, started = children_cpu(), time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - started
    if done.returncode not in (0, 1):
        sys.exit(f"{' '.join(argv)} exited {done.returncode}:\n{done.stderr.decode(errors='replace')}")
    return elapsed, children_cpu() - cpu


def empty_workspace(base: Path, env: dict) -> Path:
    """A workspace whose store exists and holds nothing: `init`, then an opt-out mark creates it."""
    ws = base / "empty"
    subprocess.run(outreach("init", str(ws), "--example"), env=env, check=True, capture_output=True)
    subprocess.run(outreach("mark", "nobody@example.org", "opted-out"), cwd=ws, env=env, check=True,
                   capture_output=True)
    subprocess.run(outreach("mark", "nobody@example.org", "opted-out", "--undo"), cwd=ws, env=env, check=True,
                   capture_output=True)
    return ws


IMPORTS_TARGET_MS = 80


def check_folder(base: Path) -> Path:
    """A template and a one-row sheet, no store: what `check` imports to read, render and lint."""
    from render import COLUMNS, OUTREACH_TEMPLATE

    folder = base / "check"
    folder.mkdir()
    (folder / "t.txt").write_text(OUTREACH_TEMPLATE, encoding="utf-8")
    row = ["ann.lee@lakeside-u.example.edu", "Ann", "Lee", "Professor of Medicine", "University of Lakeside",
           "health equity", "I read your 2021 paper on readmission risk, and it changed how I think about my work."]
    (folder / "c.csv").write_text(",".join(COLUMNS) + "\n" + ",".join(f'"{cell}"' for cell in row) + "\n",
                                  encoding="utf-8")
    return folder


def imported_by_check(folder: Path, env: dict) -> list[str]:
    """The modules `outreach check` imports itself, in order: -X importtime's top-level entries after runpy."""
    done = subprocess.run([sys.executable, "-X", "importtime", *outreach("check", "t.txt", "c.csv")[1:]],
                          cwd=folder, env=env, capture_output=True, text=True)
    names = [line.rsplit("|", 1)[1].rstrip() for line in done.stderr.splitlines() if line.startswith("import time:")]
    top = [name.strip() for name in names if name.startswith(" ") and not name.startswith("  ")]
    return top[top.index("runpy") + 1:]


def time_imports(modules: list[str], env: dict) -> tuple[float, float]:
    """(wall, CPU) seconds a fresh interpreter takes to import ``modules`` in order."""
    code = ("import time, importlib\nstart, cpu = time.perf_counter(), time.process_time()\n"
            f"for name in {modules!r}:\n    importlib.import_module(name)\n"
            "print(time.perf_counter() - start, time.process_time() - cpu)")
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    wall, cpu = done.stdout.split()
    return float(wall), float(cpu)


def synced_workspace(base: Path, env: dict, ws_env: str) -> Path:
    """The bundled examples drafted (17 messages), the mailbox read once: the next sync finds nothing."""
    ws = base / "synced"
    shutil.copytree(base / "empty", ws)
    (ws / "outreach.db").unlink()
    (ws / ".env").write_text(ws_env)
    subprocess.run(outreach("draft", "templates/mentor_outreach.txt", "mentors.csv", "--campaign", "bench"),
                   cwd=ws, env=env, check=True, capture_output=True)
    subprocess.run(outreach("sync", *SYNC_ARGS), cwd=ws, env=env, capture_output=True)
    return ws


SYNC_ARGS: list[str] = []


def mailbox_env(base: Path) -> tuple[str, str, object]:
    """(.env text, what the sync reads, a server to stop or None)."""
    global SYNC_ARGS
    sender = "OUTREACH_FROM=Asha Rao <asha.rao@example.org>\n"  # init --example's persona, or draft refuses it
    try:
        from tests.dovecot_server import PASSWORD, Dovecot, available
        from tests.tls import make_certificate
    except ImportError:
        available = None
    if available is not None and available():
        cert, key = make_certificate(base / "tls")
        server = Dovecot(cert, key).start()
        env = (f"{sender}OUTREACH_IMAP_HOST=127.0.0.1\nOUTREACH_IMAP_PORT={server.imaps_port}\n"
               f"OUTREACH_IMAP_SECURITY=ssl\nOUTREACH_IMAP_USER=bench@example.org\n"
               f"OUTREACH_PASSWORD_COMMAND=printf {PASSWORD}\nOUTREACH_CA_FILE={cert}\n")
        return env, "IMAP INBOX on a private Dovecot", server
    mbox = base / "empty.mbox"
    mbox.write_bytes(b"")
    SYNC_ARGS = ["--mbox", str(mbox)]
    return sender, "an empty mbox (no Dovecot here)", None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15, help="runs of each command (the median is shown)")
    args = parser.parse_args()
    exe, version = ensure_mailmerge()
    env = child_env()
    base = Path(tempfile.mkdtemp(prefix="outreach-startup-"))
    server = None
    try:
        empty = empty_workspace(base, env)
        ws_env, mailbox, server = mailbox_env(base)
        synced = synced_workspace(base, env, ws_env)
        checked = check_folder(base)
        commands = [
            ("python -c pass", [sys.executable, "-c", "pass"], base),
            (f"mailmerge {version} --version", [str(exe), "--version"], base),
            ("outreach --version", outreach("--version"), base),
            ("outreach --help", outreach("--help"), base),
            ("outreach check (one row)", outreach("check", "t.txt", "c.csv"), checked),
            ("outreach status (empty store)", outreach("status"), empty),
            ("outreach sync (nothing new)", outreach("sync", *SYNC_ARGS), synced),
        ]
        for _, argv, cwd in commands:  # warm-up: bytecode caches, page cache
            run(argv, cwd, env)
        times: dict[str, list[tuple[float, float]]] = {label: [] for label, _, _ in commands}
        for _ in range(args.runs):
            for label, argv, cwd in commands:
                times[label].append(run(argv, cwd, env))
        modules = imported_by_check(checked, env)
        time_imports(modules, env)  # warm-up
        imports = [time_imports(modules, env) for _ in range(args.runs)]
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(base, ignore_errors=True)
    def median(runs: list[tuple[float, float]], which: int = 0) -> float:
        return statistics.median(run[which] for run in runs)

    floor = median(times["python -c pass"])
    mailmerge = median(times[commands[1][0]])
    print(f"median wall and CPU time of {args.runs} runs each; sync reads {mailbox}; this checkout: {ROOT}")
    print(f"{'command':<34}{'median':>9}{'best':>9}{'CPU':>9}{'x python':>10}{'x mailmerge':>13}")
    for label, _, _ in commands:
        wall = median(times[label])
        print(f"{label:<34}{wall * 1000:>7.0f}ms{min(w for w, _ in times[label]) * 1000:>7.0f}ms"
              f"{median(times[label], 1) * 1000:>7.0f}ms{wall / floor:>9.1f}x{wall / mailmerge:>12.2f}x")
    wall, cpu = median(imports), median(imports, 1)
    print(f"\ncheck's imports: {wall * 1000:.0f} ms wall, {cpu * 1000:.0f} ms CPU (medians; target < "
          f"{IMPORTS_TARGET_MS} ms: {'met' if wall * 1000 < IMPORTS_TARGET_MS else 'NOT met'}); python -c pass "
          f"{floor * 1000:.0f} ms wall, {median(times['python -c pass'], 1) * 1000:.0f} ms CPU\n  {', '.join(modules)}")


if __name__ == "__main__":
    main()
