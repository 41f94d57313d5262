"""Benchmark: how long `outreach` takes to start, against `python -c pass` and mailmerge.

What it measures
    The median wall time of each command below, as a subprocess (interpreter start-up and
    imports included, as a user waits for it), runs of the commands interleaved:

    * ``python -c pass``: the floor, the interpreter alone;
    * ``mailmerge --version`` (PyPI ``mailmerge`` in ``bench/.venv-mailmerge``, the same
      environment ``bench/render.py`` makes and reuses): a comparable click program;
    * ``outreach --version`` and ``outreach --help``;
    * ``outreach status`` in a workspace with an empty tracking store;
    * ``outreach sync`` with nothing new: a workspace with 17 drafted messages (the bundled
      examples) that has read its IMAP INBOX once, on a private Dovecot on 127.0.0.1 (the test
      suite's server); without Dovecot, the same over an empty mbox file, and the table says so.

    The outreach commands run this checkout (``PYTHONPATH``), with bytecode cached outside the
    tree (an installed outreach has its .pyc files) and no ``OUTREACH_*`` from the shell.

Target (from issue 8): ``--version`` and ``--help`` at most 3x ``python -c pass`` and below
``mailmerge --version``.

How to run (from the repository root)::

    python bench/startup.py            # 15 runs of each
    python bench/startup.py --runs 31
"""

from __future__ import annotations

import argparse
import os
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


def run(argv: list[str], cwd: Path, env: dict) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - started
    if done.returncode not in (0, 1):
        sys.exit(f"{' '.join(argv)} exited {done.returncode}:\n{done.stderr.decode(errors='replace')}")
    return elapsed


def empty_workspace(base: Path, env: dict) -> Path:
    """A workspace whose store exists and holds nothing: `init`, then an opt-out mark creates it."""
    ws = base / "empty"
    subprocess.run(outreach("init", str(ws), "--example"), env=env, check=True, capture_output=True)
    subprocess.run(outreach("mark", "nobody@example.org", "opted-out"), cwd=ws, env=env, check=True,
                   capture_output=True)
    subprocess.run(outreach("mark", "nobody@example.org", "opted-out", "--undo"), cwd=ws, env=env, check=True,
                   capture_output=True)
    return ws


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
        commands = [
            ("python -c pass", [sys.executable, "-c", "pass"], base),
            (f"mailmerge {version} --version", [str(exe), "--version"], base),
            ("outreach --version", outreach("--version"), base),
            ("outreach --help", outreach("--help"), base),
            ("outreach status (empty store)", outreach("status"), empty),
            ("outreach sync (nothing new)", outreach("sync", *SYNC_ARGS), synced),
        ]
        for _, argv, cwd in commands:  # warm-up: bytecode caches, page cache
            run(argv, cwd, env)
        times: dict[str, list[float]] = {label: [] for label, _, _ in commands}
        for _ in range(args.runs):
            for label, argv, cwd in commands:
                times[label].append(run(argv, cwd, env))
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(base, ignore_errors=True)
    floor = statistics.median(times["python -c pass"])
    mailmerge = statistics.median(times[commands[1][0]])
    print(f"median wall time of {args.runs} runs each; sync reads {mailbox}; this checkout: {ROOT}")
    print(f"{'command':<34}{'median':>9}{'best':>9}{'x python':>10}{'x mailmerge':>13}")
    for label, _, _ in commands:
        median = statistics.median(times[label])
        print(f"{label:<34}{median * 1000:>7.0f}ms{min(times[label]) * 1000:>7.0f}ms"
              f"{median / floor:>9.1f}x{median / mailmerge:>12.2f}x")


if __name__ == "__main__":
    main()
