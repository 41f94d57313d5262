#!/usr/bin/env python3
"""Benchmark `outreach send` against mailmerge 2.3.0 and a bare smtplib loop, in one run.

Every tool sends the same personalised message to the same contacts (500 by default) and is
run as a separate process, the way a user runs it; the SMTP server and the latency proxy run
in another process, so none of them shares a CPU core's GIL with the tool being measured.

(a) plain SMTP on loopback, no TLS and no AUTH. The floor is a bare smtplib loop on one
    connection that reads the CSV, fills the text with str.format, builds each message with
    the standard library's EmailMessage and sends it: the least work a script can do.
(b) STARTTLS + AUTH through a TCP proxy that delays every chunk by half the round trip in
    each direction (50 ms round trip by default; a new connection costs 1.5 round trips
    before the banner arrives, as on a real network).
(c) pacing: `--rate 600/min` over 61 messages, and mailmerge's `ratelimit = 600` over 11.

For each: wall time (process start to exit), messages/second over the wall time, the
sending rate seen by the server (first to last message accepted), and the peak resident
memory of the tool's process (ru_maxrss from wait4). The server checks that every contact
got exactly one message.

    python bench/send.py                    # everything, 500 contacts (about 9 minutes)
    python bench/send.py --scenario a       # only (a), best of --repeat runs
    python bench/send.py --contacts 100 --scenario b

mailmerge is installed, once, into bench/.venv-mailmerge (git-ignored), never elsewhere.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
VENV = HERE / ".venv-mailmerge"
MAILMERGE_VERSION = "2.3.0"
USER, PASSWORD = "asha.rao@example.org", "bench-app-password"
SENDER = "Asha Rao <asha.rao@example.org>"

SUBJECT = "Prospective IMG collaborator interested in {topic} radiology research"
BODY = """Dear Dr. {last_name},

I am an international medical graduate from {school} preparing for the USMLE and applying
to diagnostic radiology. I read your recent work on {topic} imaging at {institution} with
great interest. {note}

Over the past year I have helped with two retrospective studies: I collected imaging data,
annotated CT studies and drafted parts of a literature review. I would be glad to support
your group in the same way, remotely or part-time, with data collection, image annotation
or a systematic review.

I have attached my CV. Would you have ten minutes for a short call in the coming weeks?

Thank you for your time and consideration.

Best regards,
Asha Rao
"""
TOPICS = ["stroke", "breast", "cardiac", "pediatric", "musculoskeletal", "thoracic", "abdominal", "neuro"]


def jinja(text: str) -> str:
    """The same text as a Jinja template: {name} -> {{ name }}."""
    import re

    return re.sub(r"\{(\w+)\}", r"{{ \1 }}", text)


def write_inputs(directory: Path, count: int) -> dict[str, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    contacts = directory / "contacts.csv"
    with open(contacts, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["email", "first_name", "last_name", "school", "institution", "topic", "note"])
        for i in range(count):
            writer.writerow([f"faculty{i}@radiology{i % 37}.example.edu", f"First{i}", f"Lastname{i}",
                             f"Medical College {i % 11}", f"University Hospital {i}", TOPICS[i % len(TOPICS)],
                             f"Your talk number {i} on dual-energy CT changed how I think about contrast."])
    template = directory / "outreach.txt"
    template.write_text(f"Subject: {jinja(SUBJECT)}\n\n{jinja(BODY)}", encoding="utf-8")
    mailmerge_template = directory / "mailmerge_template.txt"
    mailmerge_template.write_text(f"TO: {{{{email}}}}\nSUBJECT: {jinja(SUBJECT)}\nFROM: {SENDER}\n\n{jinja(BODY)}",
                                  encoding="utf-8")
    return {"contacts": contacts, "template": template, "mailmerge_template": mailmerge_template}


# ------------------------------------------------------------------------- server process
def serve(mode: str, rtt_ms: float, cert: str, key: str) -> None:
    """aiosmtpd sink (+ latency proxy); commands on stdin: reset, stats, quit."""
    import logging
    import ssl
    import warnings

    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    logging.getLogger("mail.log").setLevel(logging.CRITICAL)
    warnings.filterwarnings("ignore")
    state = {"arrivals": [], "recipients": {}}
    lock = threading.Lock()

    class Sink:
        async def handle_DATA(self, server, session, envelope):
            with lock:
                state["arrivals"].append(time.monotonic())
                for rcpt in envelope.rcpt_tos:
                    state["recipients"][rcpt] = state["recipients"].get(rcpt, 0) + 1
            return "250 2.0.0 OK"

    def authenticate(server, session, envelope, mechanism, data):
        ok = isinstance(data, LoginPassword) and data.login == USER.encode() and data.password == PASSWORD.encode()
        return AuthResult(success=ok, handled=False)

    options = dict(hostname="127.0.0.1", port=_free_port(), server_hostname="bench.smtp", ready_timeout=10)
    if mode == "starttls":
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        options.update(tls_context=context, require_starttls=True, auth_require_tls=True,
                       authenticator=authenticate, auth_required=True)
    controller = Controller(Sink(), **options)
    controller.start()
    port = options["port"]

    loop = asyncio.new_event_loop()
    if rtt_ms > 0:
        port = loop.run_until_complete(_start_proxy(options["port"], rtt_ms / 2000))
        threading.Thread(target=loop.run_forever, daemon=True).start()
    print(json.dumps({"port": port}), flush=True)
    for line in sys.stdin:
        command = line.strip()
        with lock:
            if command == "reset":
                state = {"arrivals": [], "recipients": {}}
                print("{}", flush=True)
            elif command == "stats":
                arrivals, recipients = state["arrivals"], state["recipients"]
                print(json.dumps({"count": len(arrivals), "first": arrivals[0] if arrivals else None,
                                  "last": arrivals[-1] if arrivals else None, "unique": len(recipients),
                                  "duplicates": sum(n - 1 for n in recipients.values())}), flush=True)
            elif command == "quit":
                break
    controller.stop()


async def _start_proxy(target_port: int, one_way: float) -> int:
    loop = asyncio.get_running_loop()

    async def pipe(reader, writer):
        queue: asyncio.Queue = asyncio.Queue()

        async def deliver():
            while True:
                due, data = await queue.get()
                delay = due - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                if not data:
                    break
                writer.write(data)
                await writer.drain()
            writer.close()

        task = asyncio.ensure_future(deliver())
        try:
            while True:
                data = await reader.read(65536)
                queue.put_nowait((loop.time() + one_way, data))
                if not data:
                    break
        except (ConnectionError, OSError):
            queue.put_nowait((loop.time(), b""))
        await task

    async def handle(client_reader, client_writer):
        # SYN, SYN-ACK, ACK: a real connection is 1.5 round trips old before the banner can leave.
        await asyncio.sleep(3 * one_way)
        server_reader, server_writer = await asyncio.open_connection("127.0.0.1", target_port)
        await asyncio.gather(pipe(client_reader, server_writer), pipe(server_reader, client_writer),
                             return_exceptions=True)

    port = _free_port()
    await asyncio.start_server(handle, "127.0.0.1", port)
    return port


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess:
    def __init__(self, mode: str, rtt_ms: float, cert: Path, key: Path):
        self.mode = mode
        self.proc = subprocess.Popen([sys.executable, __file__, "--serve", mode, "--rtt-ms", str(rtt_ms),
                                      "--cert", str(cert), "--key", str(key)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.port = json.loads(self.proc.stdout.readline())["port"]

    def command(self, text: str) -> dict:
        self.proc.stdin.write(text + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def close(self) -> None:
        try:
            self.proc.stdin.write("quit\n")
            self.proc.stdin.close()
            self.proc.wait(10)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()


# -------------------------------------------------------------------------- bare client
def bare(mode: str, port: int, contacts: str, cafile: str, wire_only: bool = False) -> None:
    """The floor: one smtplib connection; each message built with the standard library's
    EmailMessage (the smtplib documentation's own example) from str.format.

    ``wire_only``: the messages are formatted as raw RFC 5322 text before the connection opens,
    so only the SMTP dialogue is left: the cost of the wire alone, for reference."""
    import smtplib
    import ssl
    from email.message import EmailMessage
    from email.utils import formatdate, make_msgid

    with open(contacts, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    raw = [("From: {sender}\r\nTo: {email}\r\nSubject: {subject}\r\nDate: {date}\r\nMessage-ID: {mid}\r\n"
            "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=\"utf-8\"\r\n\r\n{body}").format(
                sender=SENDER, email=row["email"], subject=SUBJECT.format(**row), date=formatdate(localtime=True),
                mid=make_msgid(domain="example.org"), body=BODY.format(**row).replace("\n", "\r\n")).encode()
           for row in rows] if wire_only else []
    smtp = smtplib.SMTP("127.0.0.1", port, local_hostname="bench.client")
    if mode == "starttls":
        smtp.starttls(context=ssl.create_default_context(cafile=cafile))
        smtp.login(USER, PASSWORD)
    if wire_only:
        for row, data in zip(rows, raw):
            smtp.sendmail(SENDER, [row["email"]], data)
    else:
        for row in rows:
            msg = EmailMessage()
            msg["From"] = SENDER
            msg["To"] = row["email"]
            msg["Subject"] = SUBJECT.format(**row)
            msg["Date"] = formatdate(localtime=True)
            msg["Message-ID"] = make_msgid(domain="example.org")
            msg.set_content(BODY.format(**row))
            smtp.send_message(msg)
    smtp.quit()


# ---------------------------------------------------------------------------- measuring
@dataclass
class Run:
    tool: str
    wall: float
    median_wall: float | None
    send_rate: float | None
    rss_mb: float
    received: int
    duplicates: int
    exit_code: int

    @property
    def wall_rate(self) -> float:
        return self.received / self.wall if self.wall else 0.0


# Peak memory: ru_maxrss counts the pages a child had before exec, i.e. this (large) process
# when it forked. So the tool is started by a tiny launcher, whose own footprint is the floor.
LAUNCHER = """
import json, os, subprocess, sys
out, command = sys.argv[1], sys.argv[2:]
proc = subprocess.Popen(command, start_new_session=True)
_, status, usage = os.wait4(proc.pid, 0)
with open(out, "w") as f:
    json.dump({"maxrss_kb": usage.ru_maxrss, "exit": os.waitstatus_to_exitcode(status)}, f)
"""


def measure(tool: str, command: list[str], server: ServerProcess, expected: int, *, cwd: Path,
            env: dict | None = None, stdin: str | None = None) -> Run:
    server.command("reset")
    usage_file = cwd / f".usage-{os.getpid()}.json"
    started = time.perf_counter()
    # start_new_session in the launcher: no controlling terminal, so mailmerge's getpass reads stdin
    environment = {**os.environ, **(env or {})}
    environment.pop("PYTHONDONTWRITEBYTECODE", None)  # as installed tools run: with cached bytecode
    done = subprocess.run([sys.executable, "-S", "-c", LAUNCHER, str(usage_file), *command], cwd=cwd,
                          env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          input=(stdin or "").encode())
    wall = time.perf_counter() - started
    usage = json.loads(usage_file.read_text())
    usage_file.unlink()
    stats = server.command("stats")
    if stats["count"] != expected or usage["exit"] not in (0, 1):
        sys.stderr.write(f"{tool} exited {usage['exit']}:\n{done.stderr.decode(errors='replace')[-2000:]}\n")
    span = (stats["last"] - stats["first"]) if stats["count"] > 1 else 0
    return Run(tool, wall, None, (stats["count"] - 1) / span if span else None, usage["maxrss_kb"] / 1024,
               stats["count"], stats["duplicates"], usage["exit"])


def _mailmerge_version(venv: Path) -> str | None:
    python = venv / "bin" / "python"
    if not (python.exists() and (venv / "bin" / "mailmerge").exists()):
        return None
    done = subprocess.run([str(python), "-c", "import importlib.metadata as m; print(m.version('mailmerge'))"],
                          capture_output=True, text=True)
    return done.stdout.strip() or None


def ensure_mailmerge() -> Path:
    """mailmerge 2.3.0: bench/.venv-mailmerge when it holds that version (render.py shares it),
    else its own bench/.venv-mailmerge-2.3.0, created on first use."""
    for venv in (VENV, HERE / f".venv-mailmerge-{MAILMERGE_VERSION}"):
        if _mailmerge_version(venv) == MAILMERGE_VERSION:
            return venv / "bin" / "mailmerge"
    venv = VENV if _mailmerge_version(VENV) is None else HERE / f".venv-mailmerge-{MAILMERGE_VERSION}"
    print(f"installing mailmerge {MAILMERGE_VERSION} into {venv.relative_to(ROOT)} ...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                    f"mailmerge=={MAILMERGE_VERSION}"], check=True)
    if _mailmerge_version(venv) != MAILMERGE_VERSION:
        raise SystemExit(f"could not install mailmerge {MAILMERGE_VERSION} into {venv}")
    return venv / "bin" / "mailmerge"


def outreach_workspace(base: Path, inputs: dict[str, Path], mode: str, port: int, cert: Path, name: str) -> Path:
    ws = base / name
    if ws.exists():
        shutil.rmtree(ws)
    ws.mkdir(parents=True)
    settings = {
        "OUTREACH_FROM": SENDER,
        "OUTREACH_SMTP_HOST": "127.0.0.1",
        "OUTREACH_SMTP_PORT": str(port),
        "OUTREACH_SMTP_SECURITY": "starttls" if mode == "starttls" else "none",
        "OUTREACH_SMTP_USER": USER,
        "OUTREACH_CA_FILE": str(cert),
        "OUTREACH_PASSWORD_COMMAND": f"printf %s {PASSWORD}",
        "OUTREACH_RATE": "unlimited",
    }
    (ws / ".env").write_text("".join(f"{k}={v}\n" for k, v in settings.items()))
    return ws


def mailmerge_config(base: Path, mode: str, port: int, ratelimit: int = 0) -> Path:
    security = "security = STARTTLS\nusername = " + USER if mode == "starttls" else "security = Never"
    path = base / f"mailmerge_{mode}_{port}_{ratelimit}.conf"
    path.write_text(f"[smtp_server]\nhost = 127.0.0.1\nport = {port}\n{security}\nratelimit = {ratelimit}\n")
    return path


def run_scenario(mode: str, rtt_ms: float, repeat: int, base: Path, inputs: dict[str, Path], count: int,
                 cert: Path, key: Path, mailmerge: Path | None) -> dict[str, Run]:
    server = ServerProcess(mode, rtt_ms, cert, key)
    env_clean = {k: "" for k in os.environ if k.startswith("OUTREACH_")}
    best: dict[str, Run] = {}
    walls: dict[str, list[float]] = {}
    try:
        for attempt in range(repeat):
            bare_command = [sys.executable, __file__, "--bare", mode, "--port", str(server.port),
                            "--csv", str(inputs["contacts"]), "--cafile", str(cert)]
            runs = [measure("bare smtplib", bare_command, server, count, cwd=base)]
            if rtt_ms == 0:
                runs.append(measure("  (wire only)", [*bare_command, "--wire-only"], server, count, cwd=base))
            ws = outreach_workspace(base, inputs, mode, server.port, cert, f"ws-{mode}")
            runs.append(measure("outreach", [sys.executable, "-m", "outreach", "send", str(inputs["template"]),
                                             str(inputs["contacts"]), "--yes"],
                                server, count, cwd=ws, env={**env_clean, "PYTHONPATH": str(ROOT)}))
            if mailmerge is not None:
                config = mailmerge_config(base, mode, server.port)
                runs.append(measure(f"mailmerge {MAILMERGE_VERSION}",
                                    [str(mailmerge), "--no-dry-run", "--no-limit", "--output-format", "raw",
                                     "--template", str(inputs["mailmerge_template"]),
                                     "--database", str(inputs["contacts"]), "--config", str(config)],
                                    server, count, cwd=base, stdin=PASSWORD + "\n" if mode == "starttls" else None))
            for run in runs:
                walls.setdefault(run.tool, []).append(run.wall)
                if run.tool not in best or run.wall < best[run.tool].wall:
                    best[run.tool] = run
            print(f"  run {attempt + 1}/{repeat}: " + ", ".join(f"{r.tool} {r.wall:.2f} s" for r in runs), flush=True)
    finally:
        server.close()
    for tool, run in best.items():
        run.median_wall = statistics.median(walls[tool])
    return best


def pacing_check(base: Path, inputs: dict[str, Path], cert: Path, key: Path, mailmerge: Path | None) -> list[str]:
    lines = []
    server = ServerProcess("plain", 0, cert, key)
    try:
        contacts = base / "pacing.csv"
        with open(inputs["contacts"], encoding="utf-8") as f:
            contacts.write_text("".join(f.readlines()[:62]), encoding="utf-8")
        ws = outreach_workspace(base, inputs, "plain", server.port, cert, "ws-pacing")
        env = {k: "" for k in os.environ if k.startswith("OUTREACH_")}
        run = measure("outreach", [sys.executable, "-m", "outreach", "send", str(inputs["template"]), str(contacts),
                                   "--yes", "--rate", "600/min"], server, 61, cwd=ws,
                      env={**env, "PYTHONPATH": str(ROOT)})
        achieved = run.send_rate * 60 if run.send_rate else 0
        lines.append(f"  outreach --rate 600/min, 61 messages: {achieved:.1f}/min "
                     f"({(achieved / 600 - 1) * 100:+.2f}% of the asked rate)")
        if mailmerge is not None:
            small = base / "pacing11.csv"
            with open(inputs["contacts"], encoding="utf-8") as f:
                small.write_text("".join(f.readlines()[:12]), encoding="utf-8")
            config = mailmerge_config(base, "plain", server.port, ratelimit=600)
            run = measure("mailmerge", [str(mailmerge), "--no-dry-run", "--no-limit", "--output-format", "raw",
                                        "--template", str(inputs["mailmerge_template"]), "--database", str(small),
                                        "--config", str(config)], server, 11, cwd=base)
            achieved = run.send_rate * 60 if run.send_rate else 0
            lines.append(f"  mailmerge ratelimit = 600, 11 messages: {achieved:.1f}/min "
                         f"({(achieved / 600 - 1) * 100:+.1f}% of the asked rate)")
    finally:
        server.close()
    return lines


def table(runs: dict[str, Run]) -> list[str]:
    lines = [f"  {'tool':<16}{'best s':>8}{'median s':>10}{'msg/s wall':>12}{'msg/s sending':>15}"
             f"{'peak RSS MB':>13}{'received':>10}{'dupes':>7}{'exit':>6}"]
    for run in runs.values():
        sending = f"{run.send_rate:.1f}" if run.send_rate else "-"
        lines.append(f"  {run.tool:<16}{run.wall:>8.2f}{run.median_wall:>10.2f}{run.wall_rate:>12.1f}{sending:>15}"
                     f"{run.rss_mb:>13.1f}{run.received:>10}{run.duplicates:>7}{run.exit_code:>6}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3, help="runs of (a); the best wall time counts")
    parser.add_argument("--rtt-ms", type=float, default=50.0)
    parser.add_argument("--scenario", choices=["a", "b", "c", "all"], default="all")
    parser.add_argument("--no-mailmerge", action="store_true")
    # internal modes
    parser.add_argument("--serve", choices=["plain", "starttls"], help=argparse.SUPPRESS)
    parser.add_argument("--bare", choices=["plain", "starttls"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--cert", help=argparse.SUPPRESS)
    parser.add_argument("--key", help=argparse.SUPPRESS)
    parser.add_argument("--cafile", help=argparse.SUPPRESS)
    parser.add_argument("--csv", help=argparse.SUPPRESS)
    parser.add_argument("--wire-only", action="store_true", help=argparse.SUPPRESS)
    args, _ = parser.parse_known_args()
    if args.serve:
        return serve(args.serve, args.rtt_ms, args.cert, args.key)
    if args.bare:
        return bare(args.bare, args.port, args.csv, args.cafile, args.wire_only)

    sys.path.insert(0, str(ROOT))
    from tests.tls import make_certificate

    mailmerge = None if args.no_mailmerge else ensure_mailmerge()
    base = HERE / ".data"
    base.mkdir(exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="send-", dir=base))
    try:
        cert, key = make_certificate(work / "tls")
        inputs = write_inputs(work, args.contacts)
        print(f"outreach send benchmark: {args.contacts} contacts; Python {platform.python_version()}, "
              f"{os.cpu_count()} CPUs, {platform.platform()}")
        print("each tool is a separate process; the server (aiosmtpd) and the proxy are another one\n")
        results = {}
        if args.scenario in ("a", "all"):
            print(f"(a) plain SMTP on loopback, no TLS, no AUTH: each tool's best of {args.repeat} runs "
                  "(other processes share this machine)", flush=True)
            results["a"] = run_scenario("plain", 0, args.repeat, work, inputs, args.contacts, cert, key, mailmerge)
            for line in table(results["a"]):
                print(line)
            a = results["a"]
            floor, ours = a["bare smtplib"], a["outreach"]
            print(f"  outreach / bare smtplib: sending rate {ours.send_rate / floor.send_rate:.2f}, "
                  f"wall-clock rate {ours.wall_rate / floor.wall_rate:.2f}")
            if mailmerge is not None:
                theirs = a[f"mailmerge {MAILMERGE_VERSION}"]
                print(f"  outreach / mailmerge: sending rate {ours.send_rate / theirs.send_rate:.2f}x, "
                      f"wall-clock rate {ours.wall_rate / theirs.wall_rate:.2f}x")
            sending, wall = ours.send_rate / floor.send_rate, ours.wall_rate / floor.wall_rate
            median = floor.median_wall / ours.median_wall
            print(f"  medians: outreach / bare smtplib wall-clock rate {median:.2f}")
            print(f"  target (a) within 20% of the bare loop: sending rate {sending:.2f}x the loop's "
                  f"-> {'met' if sending >= 0.8 else 'MISSED'}; wall clock {wall:.2f}x "
                  f"-> {'met' if wall >= 0.8 else 'MISSED'} (the wall clock includes start-up and checking all "
                  f"{args.contacts} rows before the first message leaves)\n", flush=True)
        if args.scenario in ("b", "all"):
            print(f"(b) STARTTLS + AUTH through a {args.rtt_ms:g} ms round-trip proxy: 1 run", flush=True)
            results["b"] = run_scenario("starttls", args.rtt_ms, 1, work, inputs, args.contacts, cert, key, mailmerge)
            for line in table(results["b"]):
                print(line)
            b = results["b"]
            ours = b["outreach"]
            print(f"  outreach / bare smtplib: wall-clock rate {ours.wall_rate / b['bare smtplib'].wall_rate:.2f}")
            if mailmerge is not None:
                theirs = b[f"mailmerge {MAILMERGE_VERSION}"]
                ratio = ours.wall_rate / theirs.wall_rate
                print(f"  outreach / mailmerge: wall-clock rate {ratio:.2f}x, sending rate "
                      f"{ours.send_rate / theirs.send_rate:.2f}x")
                print(f"  target (b) at least 2x mailmerge: {ratio:.2f}x -> {'met' if ratio >= 2 else 'MISSED'}\n")
        if args.scenario in ("c", "all"):
            print("(c) pacing accuracy on loopback", flush=True)
            for line in pacing_check(work, inputs, cert, key, mailmerge):
                print(line)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
