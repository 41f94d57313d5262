"""Benchmark: how many delivery reports and complaints of a corpus `classify` recognises, and
whether anything that is not one is taken for one.

    python bench/bounces.py CORPUS [CORPUS ...] [--not PATH ...] [--misses]

CORPUS is a folder of messages (one per file, searched recursively; mbox files and Maildirs
work too) that are all delivery reports or complaints. `--not` names files or folders whose
messages are not reports (auto-replies, people's mail): any of them classified bounce, delayed
or complaint is a false bounce. A `--not` path inside a CORPUS folder is left out of the reports.

A report counts as recognised when it is classified bounce, delayed or complaint, or, for a
notice that delivery succeeded (an RFC 3464 report whose every recipient was delivered, an
Amazon SES Delivery notification), when it is classified `other` with a 2.x.x status. Misses
are counted per mail system: the file name without its trailing number ("lhost-postfix-12.eml"
-> "lhost-postfix").

With sisimai's public corpus (github.com/sisimai/set-of-emails), whose vacation replies are
named rfc3834-*:

    python bench/bounces.py set-of-emails/maildir/bsd \\
        --not set-of-emails/maildir/bsd/rfc3834-* set-of-emails/maildir/not/is-not-bounce-*
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from outreach.mailbox.classify import Verdict, classify, parse_message  # noqa: E402
from outreach.mailbox.sync import read_messages  # noqa: E402

REPORT_KINDS = ("bounce", "delayed", "complaint")


def files_under(path: Path) -> list[Path]:
    """The message files of ``path``: itself, a Maildir (as one), or every file below a folder."""
    if path.is_file() or (path / "cur").is_dir():
        return [path]
    return sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))


def messages(paths: list[Path]) -> list[tuple[str, bytes]]:
    found = []
    for path in paths:
        for file in files_under(path):
            found += list(read_messages(file))
    return found


def system_of(label: str) -> str:
    """"…/lhost-postfix-12.eml#3" -> "lhost-postfix": the mail system a corpus file is named after."""
    name = Path(label.split("#", 1)[0]).stem
    return re.sub(r"[-_]?\d+$", "", name) or name


def verdict_of(raw: bytes) -> Verdict | str:
    try:
        return classify(parse_message(raw))
    except Exception as e:  # noqa: BLE001 - a crash is a miss, and worth seeing
        return f"error: {type(e).__name__}: {e}"


def recognised(verdict: Verdict | str) -> bool:
    if isinstance(verdict, str):
        return False
    return verdict.kind in REPORT_KINDS or (verdict.kind == "other" and (verdict.status or "").startswith("2."))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", nargs="+", type=Path, help="folders (or files) of delivery reports and complaints")
    parser.add_argument("--not", dest="not_reports", nargs="*", type=Path, default=[],
                        help="files or folders of messages that are not reports")
    parser.add_argument("--misses", action="store_true", help="list every report not recognised, and why")
    args = parser.parse_args()

    excluded = {p.resolve() for path in args.not_reports for p in files_under(path)}
    reports = [(label, raw) for label, raw in messages(args.corpus)
               if Path(label.split("#", 1)[0]).resolve() not in excluded]
    others = messages(args.not_reports)

    started = time.perf_counter()
    judged = [(label, verdict_of(raw)) for label, raw in reports]
    false = [(label, v) for label, raw in others if not isinstance(v := verdict_of(raw), str)
             and v.kind in REPORT_KINDS]
    seconds = time.perf_counter() - started

    kinds = Counter(v if isinstance(v, str) else v.kind for _, v in judged)
    good = sum(1 for _, v in judged if recognised(v))
    notices = sum(1 for _, v in judged if not isinstance(v, str) and v.kind == "other" and recognised(v))
    systems = {system_of(label) for label, _ in judged}
    missed = Counter(system_of(label) for label, v in judged if not recognised(v))

    print(f"reports: {len(judged)} messages from {len(systems)} mail systems")
    print(f"recognised: {good} ({100 * good / max(1, len(judged)):.1f}%): "
          + ", ".join(f"{n} {k}" for k, n in kinds.most_common() if k in REPORT_KINDS)
          + f", {notices} success notices")
    print(f"missed: {len(judged) - good}" + (" (" + ", ".join(f"{s} {n}" for s, n in sorted(missed.items())) + ")"
                                             if missed else ""))
    print(f"not reports: {len(others)} messages; false bounces: {len(false)}")
    for label, verdict in false:
        print(f"  false: {label}: {verdict.kind} ({verdict.reason[:100]})")
    if args.misses:
        for label, verdict in judged:
            if not recognised(verdict):
                why = verdict if isinstance(verdict, str) else f"{verdict.kind}: {verdict.reason[:100]}"
                print(f"  missed: {label}: {why}")
    print(f"time: {1000 * seconds / max(1, len(judged) + len(others)):.2f} ms a message")
    return 0


if __name__ == "__main__":
    sys.exit(main())
