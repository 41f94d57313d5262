"""Benchmark: `outreach sync` against a 20,000-message mailbox on a private Dovecot.

What it measures
    A Dovecot IMAP server (Debian's ``dovecot-imapd``, the same private instance the test suite
    starts: 127.0.0.1, IMAPS with a certificate made for the run, verified by the client) gets
    a mailbox of ``--messages`` messages, seeded with MULTIAPPEND. About ``--responses`` of them
    answer a campaign of ``--campaign`` messages recorded in a fresh tracking store: replies
    in the header styles of Gmail, Outlook and Apple Mail (a tenth of them with no thread
    headers, matched by address and subject), out-of-office replies in English, German,
    French, Spanish and Sieve's, bounces and delay warnings from Postfix, Exim, Exchange, Gmail
    and qmail, and a few ARF complaints. The rest is unrelated: newsletters, personal mail,
    other threads, notifications, strangers' out-of-office replies and bounces of mail
    outreach never sent, with the Received/DKIM header weight and body sizes of real mail.

    Three runs of ``python -m outreach sync --json`` as a subprocess (wall clock, interpreter
    start-up included, as a user waits for it; the client's CPU seconds and Dovecot's over the
    same run):

    * cold: an empty sync state, every message is new;
    * incremental, nothing new: the state says everything has been read;
    * incremental, 10 new (5 about the campaign).

    "Bytes received" is counted at the socket by ``outreach.mailbox.imap`` (imaplib's read/readline),
    so it is what crossed the connection after the greeting, TLS framing excluded. "Bodies"
    is the number of messages whose body (up to 256 KiB) was fetched. The benchmark checks
    that it equals the messages about the campaign (replies too: an out-of-office notice may say
    so only in its body) plus the bounces of other mail in the window read (a bounce of some
    other message can only be told apart by what is inside it), i.e. that no other unrelated
    message had its body downloaded. (The tests check
    the same count on a small mailbox whose every message is known.)

    Two scenarios, each on its own fresh mailbox:

    * ``all-recent`` (worst case): every message arrived after the campaign started, so every
      header has to be read;
    * ``year``: a year of mail with the campaign sent 30 days ago, so sync asks the server only
      for mail that arrived since (UID SEARCH ... SINCE), as it does for a real mailbox.

Targets: cold under 2 s (issue 19; the wall clock includes Dovecot reading the mailbox for the
first time, on the same machine; the CPU figure is the client's alone), incremental <= 0.5 s,
no bodies fetched for unrelated mail. Correctness is checked too: every response recorded with
its kind, nothing else.

How to run (from the repository root; needs Dovecot: apt-get install dovecot-imapd)::

    python bench/sync.py                       # both scenarios, 20,000 messages each
    python bench/sync.py --scenario all-recent --messages 5000
    git archive main | tar -x -C /tmp/main && python bench/sync.py --scenario all-recent --against /tmp/main

With ``--against CHECKOUT``, each scenario then runs ``--runs`` cold syncs of this checkout and of
the other one taking turns on the same mailbox, each from the fresh store and with Dovecot's
cache of header fields removed first (so Dovecot opens every message file again, as on a first
sync), and prints the medians of wall clock, client CPU and Dovecot CPU, with the load average.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import resource
import shutil
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from outreach.store import Outgoing, Store  # noqa: E402
from tests import mail_samples as samples  # noqa: E402
from tests.dovecot_server import PASSWORD, Dovecot, available  # noqa: E402
from tests.tls import make_certificate  # noqa: E402

SUBJECT = "Prospective IMG collaborator interested in {topic} radiology research"
TOPICS = ["stroke", "neuro-oncology", "musculoskeletal", "pediatric", "cardiac", "breast", "emergency", "thoracic"]
CAMPAIGN_AGE = timedelta(days=30)
COLD = 2.0  # seconds for a cold sync (issue 19); incremental: 0.5 s
NOW = datetime.now(timezone.utc)
IMPORTS = "import outreach.cli, outreach.mailbox.sync, outreach.mailbox.imap"  # what `sync` loads


# ----------------------------------------------------------------------------------- mailbox
def heavy_headers(rng: random.Random, when: datetime, domain: str) -> str:
    """What real mail carries and sync never needs: Received chains, DKIM, ARC, spam scores."""
    stamp = format_datetime(when)
    hops = "".join(f"Received: from mx{n}.{domain} (mx{n}.{domain} [192.0.2.{rng.randrange(1, 250)}])\r\n"
                   f"\tby mail.example.org with ESMTPS id {rng.getrandbits(64):x}; {stamp}\r\n" for n in range(3))
    sig = base64.b64encode(rng.randbytes(255)).decode()
    return (f"Return-Path: <bounce-{rng.getrandbits(32):x}@{domain}>\r\n{hops}"
            f"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d={domain}; s=s1;\r\n\tb={sig}\r\n"
            f"ARC-Authentication-Results: i=1; mx.example.org; dkim=pass header.d={domain}\r\n"
            f"X-Spam-Score: {rng.uniform(-3, 3):.1f}\r\nX-Spam-Status: No\r\n")


def unrelated(rng: random.Random, n: int, when: datetime) -> tuple[str, bytes]:
    """(kind, raw) of one message that has nothing to do with the campaign."""
    roll = rng.random()
    if roll < 0.35:
        kind, raw = "newsletter", samples.newsletter(n)
    elif roll < 0.65:
        kind, raw = "personal", samples.personal(n, from_addr=f"friend{n % 300}@example.net")
    elif roll < 0.85:
        kind, raw = "thread", samples.unrelated_reply(n)
    elif roll < 0.97:
        kind, raw = "notification", (f"From: Portal <noreply@portal.example.com>\r\nTo: {samples.SENDER}\r\n"
                                     f"Subject: Your application status changed ({n})\r\nDate: {format_datetime(when)}\r\n"
                                     f"Message-ID: <n{n}.{rng.getrandbits(48):x}@portal.example.com>\r\n"
                                     "Auto-Submitted: auto-generated\r\nContent-Type: text/plain\r\n\r\n"
                                     "Log in to see the change.\r\n").encode()
    elif roll < 0.99:
        kind, raw = "stranger-ooo", samples.stranger_ooo()
    else:  # a bounce of something outreach never sent: it can only be told apart by its body
        other = samples.outgoing(f"old{n}@elsewhere.example", f"Apartment viewing {n}")
        kind, raw = "foreign-bounce", rng.choice([samples.postfix_bounce, samples.exim_bounce,
                                                  samples.gmail_bounce])(other)
    body_pad = ("Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * rng.randrange(20, 400)).encode()
    head, _, body = raw.partition(b"\r\n\r\n")
    domain = "example.net"
    return kind, heavy_headers(rng, when, domain).encode() + head + b"\r\n\r\n" + body + b"\r\n" + body_pad + b"\r\n"


RESPONSE_MIX = [  # (share of responses, kind, builder)
    (0.18, "reply", samples.gmail_reply),
    (0.18, "reply", samples.outlook_reply),
    (0.18, "reply", samples.apple_mail_reply),
    (0.06, "reply", samples.subject_only_reply),
    (0.05, "auto-reply", lambda s: samples.gmail_vacation(s, NOW.date() + timedelta(days=9))),
    (0.04, "auto-reply", lambda s: samples.outlook_ooo_english(s, NOW.date() + timedelta(days=12))),
    (0.03, "auto-reply", lambda s: samples.outlook_ooo_german(s, NOW.date() + timedelta(days=15))),
    (0.03, "auto-reply", lambda s: samples.french_ooo(s, NOW.date() + timedelta(days=6))),
    (0.03, "auto-reply", lambda s: samples.spanish_ooo(s, NOW.date() + timedelta(days=20))),
    (0.02, "auto-reply", samples.sieve_vacation),
    (0.04, "bounce", samples.postfix_bounce),
    (0.03, "bounce", samples.exim_bounce),
    (0.03, "bounce", samples.exchange_bounce),
    (0.03, "bounce", samples.gmail_bounce),
    (0.01, "bounce", samples.qmail_bounce),
    (0.01, "delayed", samples.postfix_delay),
    (0.01, "delayed", samples.exim_delay),
    (0.01, "delayed", samples.exchange_delay),
    (0.01, "delayed", samples.gmail_delay),
    (0.02, "complaint", samples.arf_complaint),
]


def build_mailbox(rng: random.Random, total: int, campaign: list, responses: int, scenario: str):
    """Chronological [(internal date, raw, kind, about)]: ``about`` is the contact a response answers."""
    start = NOW - CAMPAIGN_AGE
    earliest = start + timedelta(minutes=5) if scenario == "all-recent" else NOW - timedelta(days=365)
    items = []
    responders = rng.sample(campaign, responses)
    builders = [b for share, kind, b in RESPONSE_MIX for _ in range(round(share * 100))]
    kinds = [kind for share, kind, b in RESPONSE_MIX for _ in range(round(share * 100))]
    for i, sent in enumerate(responders):
        pick = i % len(builders)
        when = start + timedelta(seconds=rng.uniform(600, CAMPAIGN_AGE.total_seconds() - 600))
        items.append((when, builders[pick](sent), kinds[pick], sent.to))
    for n in range(total - responses):
        when = earliest + timedelta(seconds=rng.uniform(0, (NOW - earliest).total_seconds() - 60))
        kind, raw = unrelated(rng, n, when)
        items.append((when, raw, kind, None))
    items.sort(key=lambda item: item[0])
    return items


def seed(server: Dovecot, user: str, context: ssl.SSLContext, items) -> float:
    started = time.perf_counter()
    client = server.connect(user, context)
    for i in range(0, len(items), 500):
        client.multiappend("INBOX", [{"msg": raw, "date": when} for when, raw, *_ in items[i:i + 500]])
    client.logout()
    return time.perf_counter() - started


# --------------------------------------------------------------------------------- workspace
def make_workspace(base: Path, server: Dovecot, user: str, cert: Path, campaign: list) -> Path:
    ws = base / f"ws-{user.split('@')[0]}"
    ws.mkdir()
    (ws / ".env").write_text(
        f"OUTREACH_FROM={samples.SENDER_NAME} <{samples.SENDER}>\nOUTREACH_IMAP_HOST=127.0.0.1\n"
        f"OUTREACH_IMAP_PORT={server.imaps_port}\nOUTREACH_IMAP_SECURITY=ssl\nOUTREACH_IMAP_USER={user}\n"
        f"OUTREACH_PASSWORD_COMMAND=printf {PASSWORD}\nOUTREACH_CA_FILE={cert}\n")
    store = Store(ws / "outreach.db")
    sent_at = (NOW - CAMPAIGN_AGE).strftime("%Y-%m-%dT%H:%M:%SZ")
    with store.transaction():
        for line, sent in enumerate(campaign, start=2):
            store.record("queue", Outgoing(campaign="fall-mentors", address=sent.to, message_id=sent.message_id,
                                           template="mentor.txt", subject=sent.subject, recipients=[sent.to],
                                           contact={"email": sent.to}, contact_line=line, transport="smtp"))
        store.db.execute("UPDATE messages SET state='sent', created_at=?, updated_at=?, sent_at=?",
                         (sent_at, sent_at, sent_at))
    store.close()
    return ws


def child_env(checkout: Path = ROOT) -> dict:
    """The CLI's environment: ``checkout`` (this one unless told), no OUTREACH_* from the shell,
    and bytecode cached (in this checkout's bench/.data/pycache, not a source tree, one folder per
    checkout) even where the shell sets PYTHONDONTWRITEBYTECODE: an installed outreach has its
    .pyc files."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OUTREACH_") and k != "PYTHONDONTWRITEBYTECODE"}
    cache = ROOT / "bench" / ".data" / ("pycache" if checkout == ROOT else f"pycache-{checkout.name}")
    return {**env, "PYTHONPATH": str(checkout), "PYTHONPYCACHEPREFIX": str(cache)}


def server_cpu(server: Dovecot) -> float:
    """CPU seconds used so far by Dovecot: every process of its session (the master, login and
    imap processes, live or exited and not yet reaped) and the exited ones the master reaped."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # exited meanwhile
        if int(fields[3]) == server.proc.pid:  # its session: start_new_session made the master its leader
            total += sum(int(value) for value in fields[11:15])  # utime, stime, cutime, cstime
    return total / ticks


def run_sync(ws: Path, server: Dovecot, checkout: Path = ROOT) -> tuple[float, float, float, dict]:
    """`python -m outreach sync --json` in ``ws``: (wall seconds, CPU seconds of the child, of the
    server, report). Client and server share the machine's CPUs: the wall clock is at least the
    larger of the two, and their sum where they take turns."""
    env = child_env(checkout)
    before, server_before = resource.getrusage(resource.RUSAGE_CHILDREN), server_cpu(server)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "outreach", "sync", "--json"], cwd=ws, env=env,
                          capture_output=True, text=True, timeout=600)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):
        sys.exit(f"outreach sync failed (exit {done.returncode}):\n{done.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu, server_cpu(server) - server_before, json.loads(done.stdout)


def sync_in_process(ws: Path, db: Path) -> float:
    """The same sync called as a function on a copy of a store: no interpreter start-up, no imports."""
    from outreach.account import Account
    from outreach.config import Settings
    from outreach.mailbox.imap import ImapSession
    from outreach.mailbox.sync import sync_imap

    store = Store(db)
    started = time.perf_counter()
    with ImapSession(Account.load(Settings.load(ws))) as session:
        sync_imap(store, session, [samples.SENDER])
    elapsed = time.perf_counter() - started
    store.close()
    return elapsed


def forget_server_cache(server: Dovecot, user: str) -> None:
    """Make Dovecot's next read of the mailbox a first read again: its cache of header fields
    (dovecot.index.cache, filled by the first FETCH of them) is removed between sessions, so
    it opens and parses every message file again, as on the first sync."""
    for cache in server.maildir(user).rglob("dovecot.index.cache"):
        cache.unlink()


def cold_turns(args, server: Dovecot, user: str, ws: Path, fresh: Path) -> str:
    """Cold syncs of this checkout and of ``--against`` taking turns (the order swapped each
    round), each from the fresh store and with Dovecot's cache forgotten; their medians, to print."""
    checkouts = [ROOT, args.against.resolve()]
    runs: dict[Path, list[tuple[float, float, float]]] = {c: [] for c in checkouts}
    for checkout in checkouts:  # each checkout's bytecode cached before it is timed
        subprocess.run([sys.executable, "-c", IMPORTS], cwd=ws, env=child_env(checkout), check=True)
    load = os.getloadavg()[0]
    for turn in range(args.runs):
        for checkout in checkouts if turn % 2 == 0 else checkouts[::-1]:
            shutil.copy(fresh, ws / "outreach.db")
            forget_server_cache(server, user)
            wall, cpu, server_seconds, report = run_sync(ws, server, checkout)
            if len(report["events"]) != args.responses:
                sys.exit(f"{checkout}: recorded {len(report['events'])} responses, not {args.responses}")
            runs[checkout].append((wall, cpu, server_seconds))
    lines = [f"  cold, taking turns ({args.runs} runs each, Dovecot's cache forgotten before each; load average "
             f"{load:.2f} before, {os.getloadavg()[0]:.2f} after): median wall, client CPU, Dovecot CPU (best wall)"]
    for checkout in checkouts:
        walls, cpus, servers = (sorted(column) for column in zip(*runs[checkout]))
        name = "this checkout" if checkout == ROOT else str(checkout)
        lines.append(f"    {name:<30}{statistics.median(walls):6.2f} s  {statistics.median(cpus):5.2f} s  "
                     f"{statistics.median(servers):5.2f} s  ({walls[0]:.2f} s)")
    return "\n".join(lines)


def startup_seconds(ws: Path) -> float:
    """What `python -m outreach` costs before it does anything: interpreter and imports."""
    env = child_env()
    runs = []
    for _ in range(4):  # the first run also fills the bytecode cache
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", IMPORTS], cwd=ws, env=env, check=True)
        runs.append(time.perf_counter() - started)
    return min(runs)


# -------------------------------------------------------------------------------------- run
def human(size: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:,.0f} {unit}" if unit == "B" else f"{size:,.1f} {unit}"
        size /= 1024
    return ""


def scenario(name: str, args, server: Dovecot, cert: Path, base: Path, context: ssl.SSLContext) -> bool:
    rng = random.Random(f"{args.seed}-{name}")
    campaign = [samples.outgoing(f"contact{i}@{rng.choice(['example.edu', 'example.ac.uk', 'example.de'])}",
                                 SUBJECT.format(topic=rng.choice(TOPICS)), when=NOW - CAMPAIGN_AGE)
                for i in range(args.campaign)]
    items = build_mailbox(rng, args.messages, campaign, args.responses, name)
    user = server.new_user()
    seconds = seed(server, user, context, items)
    ws = make_workspace(base, server, user, cert, campaign)
    size = sum(len(raw) for _, raw, *_ in items)
    since = NOW - CAMPAIGN_AGE - timedelta(days=2)
    in_window = sum(1 for when, *_ in items if when >= since.replace(hour=0, minute=0, second=0))
    print(f'\nscenario "{name}": {len(items):,} messages, {human(size)}; seeded in {seconds:.1f} s with MULTIAPPEND')
    if name == "year":
        print(f"  a year of mail; campaign sent {CAMPAIGN_AGE.days} days ago; {in_window:,} messages arrived since")
    else:
        print("  every message arrived after the campaign started (worst case: every header must be read)")

    shutil.copy(ws / "outreach.db", base / "fresh.db")
    shutil.copy(ws / "outreach.db", base / "pristine.db")  # fresh.db is synced in-process below
    cold_s, cold_cpu, cold_server, cold = run_sync(ws, server)
    idle_s, idle_cpu, idle_server, idle = run_sync(ws, server)
    shutil.copy(ws / "outreach.db", base / "synced.db")
    warm_cold = sync_in_process(ws, base / "fresh.db")
    warm_idle = min(sync_in_process(ws, base / "synced.db") for _ in range(3))
    turns = cold_turns(args, server, user, ws, base / "pristine.db") if args.against else ""
    shutil.copy(base / "synced.db", ws / "outreach.db")
    client = server.connect(user, context)
    fresh = rng.sample([s for s in campaign if s.to not in {a for *_, a in items if a}], 5)
    for sent in fresh:
        client.append("INBOX", samples.gmail_reply(sent))
    for n in range(5):
        client.append("INBOX", unrelated(rng, 10_000_000 + n, NOW)[1])
    client.logout()
    new_s, new_cpu, new_server, new = run_sync(ws, server)

    def line(label, secs, cpu, server_seconds, report):
        stats = report["stats"]
        return (f"  {label:<26}{secs:6.2f} s  {cpu:5.2f} s  {server_seconds:5.2f} s  {stats['headers_fetched']:>7,}"
                f"  {stats['bodies_fetched']:>6,}  {human(stats['bytes_received']):>9}")

    print(f"  {'python -m outreach sync':<26}{'wall':>6}    {'CPU':>5}    {'server':>6}   {'headers':>7}  {'bodies':>6}"
          f"  {'received':>9}")
    print(line("cold sync", cold_s, cold_cpu, cold_server, cold))
    print(line("incremental, nothing new", idle_s, idle_cpu, idle_server, idle))
    print(line("incremental, 10 new", new_s, new_cpu, new_server, new))
    print(f"  sync_imap() in-process (no start-up): cold {warm_cold:.2f} s (server cache warm by now), "
          f"incremental {warm_idle:.3f} s")
    if turns:
        print(turns)

    # correctness: every response recorded with its kind, nothing else
    expected = {about: kind for _, _, kind, about in items if about}
    got = {e["address"]: e["kind"] for e in cold["events"]}
    wrong_kind = sum(1 for a, k in got.items() if a in expected and expected[a] != k)
    false_matches = sum(1 for a in got if a not in expected)
    missed = sum(1 for a in expected if a not in got)
    by_kind = Counter(e["kind"] for e in cold["events"])
    strengths = Counter(e["strength"] for e in cold["events"])
    print(f"  recorded {len(cold['events'])} of {len(expected)} responses: "
          + ", ".join(f"{n} {k}" for k, n in sorted(by_kind.items()))
          + f"; missed {missed}, wrong kind {wrong_kind}, false matches {false_matches}")
    print("  matched by " + ", ".join(f"{k} {n}" for k, n in sorted(strengths.items())))
    new_ok = sorted(e["address"] for e in new["events"]) == sorted(s.to for s in fresh)

    # bodies: which messages had theirs fetched? Re-derive from what could need it: every message
    # about the campaign (a reply too: an out-of-office notice may say so only in its body) and
    # the bounces of other mail; nothing else.
    kinds = Counter(kind for _, _, kind, about in items if not about)
    needs_body = sum(1 for _, _, kind, about in items if about)
    foreign_reports = kinds["foreign-bounce"]
    if name == "year":
        foreign_reports = sum(1 for when, _, kind, about in items if not about and kind == "foreign-bounce"
                              and when >= since.replace(hour=0, minute=0, second=0))
    unrelated_bodies = cold["stats"]["bodies_fetched"] - needs_body
    print(f"  bodies: {needs_body} replies, auto-replies and reports about the campaign, {unrelated_bodies} unrelated "
          f"(= {foreign_reports} bounces of other mail, which only their body tells apart; "
          f"0 of the {sum(kinds.values()) - kinds['foreign-bounce']:,} other unrelated messages)")
    ok = (missed == wrong_kind == false_matches == 0 and new_ok and unrelated_bodies == foreign_reports
          and cold_s < COLD and idle_s <= 0.5)
    print(f"  targets: cold {cold_s:.2f} s < {COLD:g} s {'OK' if cold_s < COLD else 'MISSED'} "
          f"(CPU {cold_cpu:.2f} s {'OK' if cold_cpu < COLD else 'MISSED'}); "
          f"incremental {idle_s:.2f} s <= 0.5 s {'OK' if idle_s <= 0.5 else 'MISSED'}; "
          f"unrelated non-report bodies 0 {'OK' if unrelated_bodies == foreign_reports else 'MISSED'}; "
          f"results {'OK' if missed == wrong_kind == false_matches == 0 and new_ok else 'WRONG'}")
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=20_000, help="messages in the mailbox (default 20,000)")
    parser.add_argument("--campaign", type=int, default=1_000, help="messages the campaign sent (default 1,000)")
    parser.add_argument("--responses", type=int, default=300, help="messages answering the campaign (default 300)")
    parser.add_argument("--scenario", choices=["all-recent", "year", "both"], default="both")
    parser.add_argument("--seed", default="outreach", help="random seed (default: fixed)")
    parser.add_argument("--against", type=Path, metavar="CHECKOUT",
                        help="another checkout of outreach (e.g. git archive main | tar -x -C /tmp/main): after "
                             "the runs above, cold syncs of both taking turns, medians of --runs")
    parser.add_argument("--runs", type=int, default=5, help="cold runs of each checkout with --against (default 5)")
    args = parser.parse_args()
    if not available():
        sys.exit("Dovecot is not installed: apt-get install dovecot-imapd")
    base = Path(tempfile.mkdtemp(prefix="outreach-bench-"))
    cert, key = make_certificate(base / "tls")
    context = ssl.create_default_context(cafile=str(cert))
    server = Dovecot(cert, key).start()
    try:
        version = subprocess.run([shutil.which("dovecot") or "/usr/sbin/dovecot", "--version"], capture_output=True,
                                 text=True).stdout.split()[0]
        print(f"outreach sync benchmark: Dovecot {version} on 127.0.0.1 (IMAPS, certificate verified), "
              f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
        print(f"campaign: {args.campaign:,} messages sent; mailbox: {args.messages:,} messages, "
              f"{args.responses} of them about the campaign")
        print(f"python -m outreach start-up (interpreter + imports, included below): "
              f"{startup_seconds(base):.2f} s")
        names = ["all-recent", "year"] if args.scenario == "both" else [args.scenario]
        results = [scenario(name, args, server, cert, base, context) for name in names]
    finally:
        server.cleanup()
        shutil.rmtree(base, ignore_errors=True)
    sys.exit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
