"""Benchmark: the most one template can cost, call by call, in time and memory.

What it measures
    For each kind of expensive thing a template can do (a slow filter over a long text, a
    filter that walks a long list, a value that writes out huge, output that doubles), a
    template doing it once, at the largest size the sandbox's other limits let through, is
    checked by ``python -m outreach check`` against a one-row sheet. Each run prints the wall
    seconds (interpreter start-up included; the first row, a template doing nothing, is the
    floor), the child's peak RSS (taken by a bare wrapper interpreter, as in ``render.py``),
    and what ``check`` said. A second set loops the cheaper expensive calls a thousand times:
    the deadline (5 s) must hold for them.

    ``--checkout DIR`` runs another tree's outreach (e.g. an export of main) on the same
    inputs, for a before/after table. The child's address space is capped (``--cap-gb``,
    default 4) so that a case that would take the machine's memory fails with MemoryError.

How to run (from the repository root)::

    python bench/sandbox.py
    git archive main | tar -x -C /tmp/main && python bench/sandbox.py --checkout /tmp/main --timeout 120
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MILLION = 1_000_000
TEXT = "<a>www.example.org/x a.b " * (MILLION // 25)  # urlize works hard on every word
TAGS = "<a>b " * (MILLION // 5)  # markupsafe's striptags is quadratic in the tags

# name: (template body, the `note` cell)
SINGLE = {
    "nothing (start-up floor)": ("{{ note|length }}", "x"),
    "urlize, 50,000 chars": ("{{ note|urlize|length }}", TEXT[:50_000]),
    "urlize, 1,000,000 chars": ("{{ (note * 20)|urlize|length }}", TEXT[:50_000]),
    "striptags, 50,000 chars": ("{{ note|striptags|length }}", TAGS[:50_000]),
    "striptags, 1,000,000 chars": ("{{ (note * 20)|striptags|length }}", TAGS[:50_000]),
    "title, 1,000,000 chars": ("{{ (note * 20)|title|length }}", TEXT[:50_000]),
    "wordwrap(1), 50,000 chars": ("{{ note|wordwrap(1)|length }}", "x" * 50_000),
    "wordwrap(1), 1,000,000 chars": ("{{ (note * 20)|wordwrap(1)|length }}", "x" * 50_000),
    "pprint of nested lists": ("{{ ([[1, 2, 3]] * 2500)|pprint|length }}", "x"),
    "sort(attribute), 10,000 items": ("{{ (range(10000)|list)|sort(attribute='real')|length }}", "x"),
    "groupby, 10,000 items": ("{{ (range(10000)|list)|groupby('real')|length }}", "x"),
    "groupby, 1,000,000 items": ("{{ (note * 20)|groupby(0)|length }}", TEXT[:50_000]),
    "map(attribute), 1,000,000 items": ("{{ (note * 20)|map(attribute='real')|list|length }}", TEXT[:50_000]),
    "str of a shared list": ("{% set s = 'x' * 900000 %}{{ ([s] * 1000)|string|length }}", "x"),
    "doubling in a namespace": (("{% set ns = namespace(x=['a']) %}{% for i in range(40) %}"
                                 "{% set ns.x = [ns.x, ns.x] %}{% endfor %}{{ ns.x|string|length }}"), "x"),
    "doubling through a macro": (("{% macro d(n) %}{% if n %}{% set s = d(n - 1) %}{{ s }}{{ s }}{% else %}x"
                                  "{% endif %}{% endmacro %}{{ d(40)|length }}"), "x"),
    "indent(10000) of many lines": ("{{ ('a\\n' * 400000)|indent(10000)|length }}", "x"),
    "a format repeating its field": ("{{ ('{0}' * 100000).format('x' * 100000)|length }}", "x"),
    "batch padding": ("{{ ['a']|batch(100000000, fill_with='x' * 100000)|list|length }}", "x"),
}
# name: one call, repeated a thousand times in a loop
LOOPED = {
    "urlize, 40,000 chars": "{{ note|urlize|length }}",
    "striptags, 40,000 chars": "{{ note|striptags|length }}",
    "title, 40,000 chars": "{{ note|title|length }}",
    "wordwrap, 40,000 chars": "{{ note|wordwrap(3)|length }}",
}
WRAPPER = ("import resource, subprocess, sys\n"
           "cap = int(sys.argv[1]) << 30\n"
           "def limit():\n"
           "    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))\n"
           "done = subprocess.run([sys.executable, '-m', 'outreach', *sys.argv[2:]], preexec_fn=limit,\n"
           "                      capture_output=True, text=True)\n"
           "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
           "print(done.returncode)\n"
           "print(done.stdout + done.stderr)\n")


def measure(checkout: Path, body: str, note: str, work: Path, cap_gb: int, timeout: float) -> tuple[float, str, str]:
    (work / "t.txt").write_text(f"Subject: Hello\n\n{body}\n", encoding="utf-8")
    (work / "c.csv").write_text(f"email,note\njchen@example.edu,{note}\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("OUTREACH_")}
    env.update(PYTHONPATH=str(checkout), NO_COLOR="1", OUTREACH_FROM="Asha Rao <asha.rao@example.org>")
    started = time.perf_counter()
    try:
        done = subprocess.run([sys.executable, "-c", WRAPPER, str(cap_gb), "check", "t.txt", "c.csv"], cwd=work,
                              env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return time.perf_counter() - started, "-", f"still running after {timeout:g} s (killed)"
    elapsed = time.perf_counter() - started
    maxrss, _code, output = done.stdout.split("\n", 2)
    said = next((line.strip() for line in output.splitlines() if "error" in line or "Error" in line), "rendered")
    said = said.split("resource limit: ")[-1] if "resource limit" in said else said
    return elapsed, f"{int(maxrss) // 1024} MB", said[:90]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkout", type=Path, default=ROOT, help="the outreach tree to run (default: this one)")
    parser.add_argument("--cap-gb", type=int, default=4, help="the child's address space, in GB")
    parser.add_argument("--timeout", type=float, default=300, help="seconds before a case is killed")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        print(f"{'one call':42} {'seconds':>8} {'peak RSS':>9}  check said")
        for name, (body, note) in SINGLE.items():
            elapsed, peak, said = measure(args.checkout, body, note, work, args.cap_gb, args.timeout)
            print(f"{name:42} {elapsed:8.2f} {peak:>9}  {said}", flush=True)
        print(f"\n{'a thousand calls in a loop':42} {'seconds':>8} {'peak RSS':>9}  check said")
        for name, call in LOOPED.items():
            body = f"{{% for i in range(1000) %}}{call}{{% endfor %}}"
            elapsed, peak, said = measure(args.checkout, body, TEXT[:40_000], work, args.cap_gb, args.timeout)
            print(f"{name:42} {elapsed:8.2f} {peak:>9}  {said}", flush=True)


if __name__ == "__main__":
    main()
