"""Benchmark: `outreach check` against `mailmerge --dry-run --no-limit` on the same contacts.

What it measures
    Throughput (messages rendered per second, wall clock) and peak memory (max RSS of the child
    process, from ``os.wait4``) of two command-line runs over the same CSV:

    * ``python -m outreach check TEMPLATE CONTACTS`` from this checkout (``PYTHONPATH`` is set to
      the repository root, so the code next to this script is what runs). ``check`` reads every
      row, validates its address, renders the subject, To and body, and lints the draft. Exit 0
      or 1 is accepted; exit 2 means the benchmark data tripped an error, which is a bug: the
      benchmark stops.
    * ``mailmerge --dry-run --no-limit`` (PyPI ``mailmerge``, installed into its own virtualenv
      ``bench/.venv-mailmerge``, created on the first run and reused after). On a dry run
      mailmerge renders each message into a MIME object and prints all of it.

    Both tools read the same generated CSV (email, first_name, last_name, title, institution,
    topic, note: names and institutions from realistic-size pools, a unique tailored note per
    row, unique addresses on example.edu domains) with an equivalent ~600-character template in
    each tool's format. Each child's stdout goes to /dev/null (mailmerge would print every
    message), stderr is kept and shown on failure. Runs of the two tools are interleaved; the
    time reported is the MEDIAN of ``--runs`` runs, the memory the largest peak RSS of those
    runs. Startup (interpreter, imports) is included in both, as a user would see it.

    With ``--scaling`` (the default) it then runs outreach at 1,000 / 10,000 / 100,000 contacts
    to show whether memory stays flat, and mailmerge at the same sizes where its runs are
    estimated to take at most ~2 minutes in all; where they are not (100,000, usually) mailmerge
    gets a single run if that fits in ~2 minutes, and is skipped otherwise. The output says which.

Targets (from the issue): outreach at least 3x mailmerge's throughput; outreach's peak RSS
flat from 1,000 to 100,000 contacts (here: grows by at most 10% of the 1,000-contact peak).

How to run (from the repository root, in the environment where outreach's dependencies are
installed)::

    python bench/render.py                      # 10,000 contacts, 3 runs, plus the scaling table
    python bench/render.py --contacts 2000 --runs 5 --no-scaling

Generated files go to ``bench/.data/`` (git-ignored) and are kept for inspection or profiling,
e.g. ``python -m cProfile -s cumtime -m outreach check bench/.data/outreach_template.txt
bench/.data/contacts_10000.csv``.
"""

from __future__ import annotations

import csv
import json
import os
import random
import statistics
import subprocess
import sys
import unicodedata
import venv
from dataclasses import dataclass
from pathlib import Path

import click

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
VENV = BENCH / ".venv-mailmerge"
DATA = BENCH / ".data"
SEED = 20240611
SCALING_SIZES = (1_000, 10_000, 100_000)
MAILMERGE_BUDGET_S = 120.0   # skip a mailmerge size whose runs would take longer than this in all
TARGET_RATIO = 3.0
FLAT_TOLERANCE = 0.10        # peak RSS at 100k may exceed the 1k peak by at most 10%

# ------------------------------------------------------------------------------ data pools
FIRST_NAMES = """
James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara Richard
Susan Joseph Jessica Thomas Sarah Charles Karen Christopher Lisa Daniel Nancy Matthew Betty
Anthony Margaret Mark Sandra Donald Ashley Steven Kimberly Paul Emily Andrew Donna Joshua
Michelle Kenneth Carol Kevin Amanda Brian Melissa George Deborah Timothy Stephanie Ronald
Rebecca Edward Sharon Jason Laura Jeffrey Cynthia Ryan Kathleen Jacob Amy Gary Angela Nicholas
Shirley Eric Anna Jonathan Brenda Stephen Pamela Larry Emma Justin Nicole Scott Helen Brandon
Samantha Benjamin Katherine Samuel Christine Gregory Debra Alexander Rachel Frank Carolyn
Patrick Janet Raymond Catherine Jack Maria Dennis Heather Jerry Diane Tyler Ruth Aaron Julie
Wei Mei Hiroshi Yuki Priya Arjun Ananya Rohan Chidi Ngozi Oluwaseun Adaeze Kwame Amara Fatima
Omar Layla Hassan Leila Mehmet Elif Sofia Mateo Camila Diego Valentina Lucas Isabela Thiago
Ines Pierre Camille Lukas Hannah Jonas Lena Sven Astrid Mikhail Olga Dmitri Anya Sung-min
Ji-woo Minh Linh Thanh Huong Rafael Gabriela Andrés José María Zoë Chloé Renée François Søren
""".split()

LAST_NAMES = """
Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez
Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris
Sanchez Clark Ramirez Lewis Robinson Walker Allen Wright Scott Torres Nguyen Hill Flores Green
Adams Nelson Baker Campbell Mitchell Carter Roberts Gomez Phillips Evans Turner Diaz Parker Cruz
Edwards Collins Reyes Stewart Morris Morales Murphy Cook Rogers Gutierrez Ortiz Morgan Cooper
Peterson Bailey Reed Kelly Howard Ramos Kim Cox Ward Richardson Watson Brooks Chavez Wood James
Bennett Gray Mendoza Ruiz Hughes Price Alvarez Castillo Sanders Patel Myers Ross Foster Jimenez
Powell Jenkins Perry Russell Sullivan Fisher Henderson Coleman Simmons Patterson Jordan
Reynolds Hamilton Graham Wallace Woods Cole West Owens Marshall Gibson Ellis Tran Medina
Aguilar Stevens Murray Ford Castro Marshall Hoffman Moreno Schmidt Kennedy Warren Dixon
Burns Gordon Shaw Holmes Rice Robertson Hunt Black Daniels Palmer Mills Nichols Grant Ferguson
Stone Hawkins Dunn Perkins Hudson Spencer Gardner Stephens Payne Pierce Berry Matthews Arnold
Wagner Willis Watkins Olson Carroll Duncan Snyder Hart Cunningham Bradley Lane Andrews Ruiz
Harper Fox Riley Armstrong Carpenter Weaver Greene Elliott Chapman Oliver Montgomery Richards
Williamson Johnston Banks Meyer Bishop McCoy Howell Morrison Hansen Fernandez Garza Harvey
Burton Nunez Molina Weber Larson Chen Wang Li Zhang Liu Yang Huang Zhao Wu Zhou Xu Sun Ma Zhu
Hu Guo Lin Luo Zheng Liang Xie Tang Han Cao Feng Deng Yamamoto Tanaka Watanabe Ito Nakamura
Kobayashi Kato Yoshida Sasaki Yamaguchi Matsumoto Inoue Kimura Park Choi Jung Kang Cho Yoon Jang
Lim Shin Sharma Singh Kumar Gupta Shah Mehta Iyer Reddy Nair Desai Joshi Kapoor Bose Chatterjee
Menon Pillai Okafor Okonkwo Adeyemi Nwosu Eze Mensah Owusu Boateng Asante Mwangi Otieno Kamau
Abebe Tesfaye Haile Diallo Traore Ndiaye Mbeki Khumalo Dlamini Haddad Khalil Nasser Hakimi
Yilmaz Kaya Demir Celik Sahin Ozturk Rossi Russo Ferrari Esposito Bianchi Romano Colombo Ricci
Marino Greco Bruno Gallo Conti Costa Giordano Mancini Lombardi Moretti Dubois Lefebvre Moreau
Laurent Girard Bonnet Dupont Lambert Fontaine Rousseau Vincent Muller Schneider Fischer Becker
Wolf Schulz Koch Richter Klein Neumann Schwarz Zimmermann Braun Hofmann Hartmann Kruger Jansen
De_Vries Bakker Visser Smit Meijer Mulder Bos Vos Dekker Nilsson Johansson Larsson Andersson
Eriksson Lindberg Lindqvist Hansen Jensen Nielsen Kowalski Nowak Wisniewski Novak Horvath
Kovacs Szabo Popescu Ivanov Petrov Smirnov Volkov Sokolov Kuznetsov O'Brien O'Connor
Gallagher Byrne Doyle Kavanagh Fitzgerald Nuñez Ibáñez Sørensen Müller Peña Jiménez
"""
LAST_NAMES = sorted({name.replace("_", " ") for name in LAST_NAMES.split()}, key=str.casefold)

PLACES = """
Northfield Lakeside Riverton Brookhaven Cedar_Falls Ashbury Millbrook Fairmont Glenwood
Kingsport Maplewood Oakridge Pinecrest Redmond Springvale Stonebridge Summit_Valley Westfield
Bayview Clearwater Crestview Eastlake Greenfield Harborside Highland_Park Ironwood Juniper_Hills
Meadowbrook Mount_Carmel New_Bristol Pleasant_Valley Ridgecrest Silver_Lake Sunnyvale_Heights
Three_Rivers Tidewater Twin_Oaks Willow_Creek Woodbury Alder_Grove
"""
PLACES = [place.replace("_", " ") for place in PLACES.split()]
INSTITUTION_KINDS = [
    ("University of {p}", "u"), ("{p} University", "univ"), ("{p} Medical Center", "medctr"),
    ("{p} Children's Hospital", "childrens"), ("{p} College of Medicine", "med"),
    ("{p} State University", "state"), ("{p} Institute of Technology", "tech"),
    ("{p} Cancer Institute", "cancer"), ("{p} School of Public Health", "sph"),
]
TOPICS = [
    "health equity", "medical education", "global surgery", "palliative care", "sepsis outcomes",
    "maternal health", "health policy", "implementation science", "pediatric oncology",
    "cardiac imaging", "neuroimmunology", "antimicrobial resistance", "digital health",
    "addiction medicine", "rural health", "trauma surgery", "clinical informatics",
    "health services research", "immunotherapy", "emergency ultrasound",
]
TITLES = [
    "Professor of Medicine", "Associate Professor of Pediatrics", "Assistant Professor of Surgery",
    "Residency Program Director", "Division Chief", "Research Scientist", "Attending Physician",
    "Clerkship Director", "Associate Dean for Research", "Professor of Epidemiology",
    "Assistant Professor of Emergency Medicine", "Director of Clinical Research",
]
# Pieces of a tailored note: what the applicant read or heard, and what stuck with them.
NOTE_SOURCES = [
    "I read your {year} paper in {journal} on {sub}",
    "I heard your {year} {venue} talk on {sub}",
    "I read the {journal} editorial you co-wrote in {year} on {sub}",
    "I went to your grand rounds on {sub} last {season}",
    "I read your lab's {year} preprint on {sub}",
    "I took the {venue} {year} workshop you led on {sub}",
    "I saw your interview on {sub} in the {season} newsletter",
]
NOTE_HOOKS = [
    "and the {sites}-site design stayed with me.",
    "and it changed how I think about my own project.",
    "and I keep returning to figure {fig} and its {patients}-patient cohort.",
    "and it is why I joined our {club} interest group.",
    "and I tried the same approach on {charts} charts this {season}.",
    "and it shaped the poster I presented at our {club} research day.",
    "and I have a question about the {months}-month follow-up.",
    "and the discussion of missing data in table {fig} was new to me.",
]
JOURNALS = ["JAMA", "NEJM", "The Lancet", "BMJ", "Annals of Surgery", "Pediatrics",
            "Academic Medicine", "Health Affairs", "JAMA Network Open", "Circulation",
            "Clinical Infectious Diseases", "Nature Medicine"]
VENUES = ["ASCO", "AAMC", "SGIM", "IDWeek", "AcademyHealth", "PAS", "SAEM", "ACS Clinical Congress"]
SUBTOPICS = [
    "readmission risk", "triage scores", "telehealth follow-up", "rural access", "bedside teaching",
    "early mobility", "opioid tapering", "language access", "screening uptake", "care transitions",
    "wearable monitoring", "shared decision-making", "vaccine hesitancy", "resident burnout",
    "step-down units", "community health workers", "discharge planning", "frailty indices",
    "biomarker panels", "trial diversity", "surgical checklists", "food insecurity",
    "antibiotic timing", "remote coaching", "peer mentoring", "patient navigation",
]
SEASONS = ["spring", "summer", "fall", "winter"]
CLUBS = ["surgery", "pediatrics", "global health", "research", "internal medicine",
         "emergency medicine", "public health", "oncology"]

SENDER = "Asha Rao <asha.rao@westbrook-med.example.edu>"
BODY = """\
Dear Dr. {{ last_name }},

I am a second-year student at Westbrook School of Medicine, and I have been following the \
{{ topic }} work coming out of {{ institution }}. {{ note }}

Would you have twenty minutes in the next few weeks for a short call? I would love to hear \
how you came to your role as {{ title }}, and whether a student could help on a project this \
summer. I am glad to work around your schedule.

Thank you for considering it, and for your time.

Best regards,
Asha Rao
"""
SUBJECT = "A question about your {{ topic }} work at {{ institution }}"
TO = "{{ first_name }} {{ last_name }} <{{ email }}>"
# The same message in each tool's format: outreach takes From from its settings (check needs
# none), mailmerge wants it in the template. Both templates name the recipient the same way.
OUTREACH_TEMPLATE = f"Subject: {SUBJECT}\nTo: {TO}\n\n{BODY}"
MAILMERGE_TEMPLATE = f"TO: {TO}\nSUBJECT: {SUBJECT}\nFROM: {SENDER}\n\n{BODY}"
MAILMERGE_CONF = """\
# Only read, never used: the benchmark runs mailmerge with --dry-run.
[smtp_server]
host = localhost
port = 25
ratelimit = 0
"""
COLUMNS = ["email", "first_name", "last_name", "title", "institution", "topic", "note"]


def institutions(rng: random.Random) -> list[tuple[str, str]]:
    """~150 (name, domain) pairs, e.g. ("Lakeside Medical Center", "lakeside-medctr.example.edu")."""
    combos = [(kind.format(p=place), f"{ascii_slug(place)}-{code}.example.edu")
              for place in PLACES for kind, code in INSTITUTION_KINDS]
    rng.shuffle(combos)
    return sorted(combos[:150])


def ascii_slug(text: str, sep: str = "") -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return sep.join("".join(c for c in word if c.isalnum()) for word in folded.lower().split())


def make_note(rng: random.Random) -> str:
    source = rng.choice(NOTE_SOURCES).format(
        year=rng.randint(2015, 2024), journal=rng.choice(JOURNALS), venue=rng.choice(VENUES),
        sub=rng.choice(SUBTOPICS), season=rng.choice(SEASONS))
    hook = rng.choice(NOTE_HOOKS).format(
        sites=rng.randint(3, 60), patients=rng.randint(40, 5000), charts=rng.randint(20, 400),
        months=rng.choice([6, 12, 18, 24, 36, 48, 60]), fig=rng.randint(1, 6), club=rng.choice(CLUBS),
        season=rng.choice(SEASONS))
    return f"{source}, {hook}"


def generate_contacts(path: Path, count: int) -> None:
    """``count`` rows; the same seed for every size, so a smaller file is a prefix of a larger."""
    rng = random.Random(SEED)
    places = institutions(rng)
    notes: set[str] = set()
    addresses: set[str] = set()
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(COLUMNS)
        for _ in range(count):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            institution, domain = rng.choice(places)
            note = make_note(rng)
            while note in notes or not 100 <= len(note) <= 160:
                note = make_note(rng)
            notes.add(note)
            f_slug, l_slug = ascii_slug(first), ascii_slug(last)
            local = rng.choice([f"{f_slug}.{l_slug}", f"{f_slug[0]}{l_slug}", f"{f_slug}_{l_slug}"])
            address, n = f"{local}@{domain}", 1
            while address in addresses:
                n += 1
                address = f"{local}{n}@{domain}"
            addresses.add(address)
            writer.writerow([address, first, last, rng.choice(TITLES), institution,
                             rng.choice(TOPICS), note])


def write_inputs(sizes: list[int]) -> dict[int, Path]:
    DATA.mkdir(parents=True, exist_ok=True)
    (DATA / "outreach_template.txt").write_text(OUTREACH_TEMPLATE, encoding="utf-8")
    (DATA / "mailmerge_template.txt").write_text(MAILMERGE_TEMPLATE, encoding="utf-8")
    (DATA / "mailmerge_server.conf").write_text(MAILMERGE_CONF, encoding="utf-8")
    files = {}
    for size in sorted(set(sizes)):
        files[size] = DATA / f"contacts_{size}.csv"
        generate_contacts(files[size], size)
    return files


# ---------------------------------------------------------------------------- the tools
def ensure_mailmerge() -> tuple[Path, str]:
    """The mailmerge executable in bench/.venv-mailmerge (created on first use) and its version."""
    python, exe = VENV / "bin" / "python", VENV / "bin" / "mailmerge"
    if not (python.exists() and exe.exists()):
        print(f"creating {VENV.relative_to(ROOT)} and installing mailmerge from PyPI ...", file=sys.stderr)
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                        "mailmerge"], check=True)
    version = subprocess.run(
        [str(python), "-c", "import importlib.metadata as m; print(m.version('mailmerge'))"],
        check=True, capture_output=True, text=True).stdout.strip()
    return exe, version


@dataclass
class Run:
    seconds: float
    cpu_seconds: float
    max_rss_kib: int
    exit_code: int


# The child is started by this tiny wrapper, not by the benchmark itself: on Linux a child's
# ru_maxrss starts at the RSS of the process it was forked/vforked from (the kernel carries the
# old address space's high-water mark across exec), so spawning straight from this script, which
# holds the generated data, would report this script's memory as the child's. The wrapper is a
# bare interpreter (-I -S, ~10 MiB), below any real child's peak. It times the child too, so the
# wrapper's own startup is not counted.
WRAPPER = """\
import os, sys, time
report, argv = sys.argv[1], sys.argv[2:]
start = time.perf_counter()
pid = os.posix_spawn(argv[0], argv, os.environ)
_, status, usage = os.wait4(pid, 0)
seconds = time.perf_counter() - start
with open(report, "w") as f:
    f.write(f"{seconds!r} {usage.ru_utime + usage.ru_stime!r} {usage.ru_maxrss} "
            f"{os.waitstatus_to_exitcode(status)}")
"""


def run_child(argv: list[str], *, cwd: Path, env: dict[str, str] | None = None) -> Run:
    """Run ``argv`` to completion: wall-clock seconds, the child's own peak RSS, its exit code.

    stdout goes to /dev/null, stderr to a file shown when the child fails.
    """
    report, stderr_path = DATA / "last_run.txt", DATA / "last_stderr.txt"
    report.unlink(missing_ok=True)
    with open(stderr_path, "wb") as err:
        subprocess.run([sys.executable, "-I", "-S", "-c", WRAPPER, str(report), *argv], cwd=cwd, env=env,
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err, check=True)
    seconds, cpu, max_rss_kib, exit_code = report.read_text().split()
    return Run(float(seconds), float(cpu), int(max_rss_kib), int(exit_code))  # ru_maxrss: KiB on Linux


def stderr_tail() -> str:
    text = (DATA / "last_stderr.txt").read_text(encoding="utf-8", errors="replace")
    return "\n".join(text.splitlines()[-15:])


class Tool:
    name: str

    def argv(self, contacts: Path) -> list[str]:
        raise NotImplementedError

    def run(self, contacts: Path) -> Run:
        raise NotImplementedError


# Both children cache bytecode (in bench/.data/pycache, not the source tree) even where the
# shell sets PYTHONDONTWRITEBYTECODE: an installed tool has its .pyc files, and recompiling
# outreach's modules on every start would charge it for something users never pay.
CHILD_ENV = {**{k: v for k, v in os.environ.items()
                if not k.startswith("OUTREACH_") and k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPATH")},
             "PYTHONPYCACHEPREFIX": str(DATA / "pycache"), "NO_COLOR": "1"}


class Outreach(Tool):
    name = "outreach"
    env = {**CHILD_ENV, "PYTHONPATH": str(ROOT)}

    def argv(self, contacts: Path, *extra: str) -> list[str]:
        return [sys.executable, "-m", "outreach", "check", str(DATA / "outreach_template.txt"),
                str(contacts), *extra]

    def run(self, contacts: Path) -> Run:
        result = run_child(self.argv(contacts), cwd=DATA, env=self.env)
        if result.exit_code not in (0, 1):
            raise click.ClickException(f"outreach check exited {result.exit_code} on {contacts} "
                                       f"(2 means the benchmark data hit an error: a bug)\n{stderr_tail()}")
        return result


class Mailmerge(Tool):
    name = "mailmerge"

    def __init__(self, exe: Path):
        self.exe = exe

    def argv(self, contacts: Path) -> list[str]:
        return [str(self.exe), "--dry-run", "--no-limit", "--template", str(DATA / "mailmerge_template.txt"),
                "--database", str(contacts), "--config", str(DATA / "mailmerge_server.conf")]

    def run(self, contacts: Path) -> Run:
        result = run_child(self.argv(contacts), cwd=DATA, env=CHILD_ENV)
        if result.exit_code != 0:
            raise click.ClickException(f"mailmerge exited {result.exit_code} on {contacts}\n{stderr_tail()}")
        return result


def validate(outreach: Outreach, mailmerge: Mailmerge, sample: Path, rows: int) -> str:
    """Both tools really render every row of the data (and the same first message) before timing."""
    out = subprocess.run(outreach.argv(sample, "--json"), cwd=DATA, env=outreach.env,
                         capture_output=True, text=True)
    if out.returncode not in (0, 1):
        raise click.ClickException(f"outreach check --json exited {out.returncode}:\n{out.stderr}{out.stdout[-2000:]}")
    summary = json.loads(out.stdout)["summary"]
    if summary["rows"] != rows or summary["errors"]:
        raise click.ClickException(f"outreach check on {rows} sample rows: {summary}")
    mm = subprocess.run([*mailmerge.argv(sample), "--output-format", "text"], cwd=DATA, env=CHILD_ENV,
                        capture_output=True, text=True)
    if mm.returncode != 0 or f">>> message {rows} sent" not in mm.stdout:
        raise click.ClickException(f"mailmerge did not render {rows} messages:\n{mm.stderr}{mm.stdout[-2000:]}")
    with open(sample, encoding="utf-8", newline="") as f:
        first = next(csv.DictReader(f))
    if first["note"] not in " ".join(mm.stdout.split(">>> message 2\n")[0].split()):
        raise click.ClickException("mailmerge's first message does not contain the first row's note "
                                   "(did its CSV sniffer misread the file?)")
    return (f"sample of {rows}: outreach {summary['clean']} clean, {summary['warnings']} with warnings; "
            f"mailmerge {rows} messages")


# ------------------------------------------------------------------------------- output
@dataclass
class Result:
    tool: str
    contacts: int
    runs: list[Run]

    @property
    def seconds(self) -> float:
        return statistics.median(r.seconds for r in self.runs)

    @property
    def rate(self) -> float:
        return self.contacts / self.seconds

    @property
    def cpu_seconds(self) -> float:
        return statistics.median(r.cpu_seconds for r in self.runs)

    @property
    def rss_mib(self) -> float:
        return max(r.max_rss_kib for r in self.runs) / 1024

    def row(self) -> str:
        times = ", ".join(f"{r.seconds:.2f}" for r in self.runs)
        return (f"{self.tool:<10} {self.contacts:>9,} {self.seconds:>9.2f} {self.rate:>11,.0f} "
                f"{self.rss_mib:>9.1f} {self.cpu_seconds:>8.2f}   [{times}]")


HEADER = (f"{'tool':<10} {'contacts':>9} {'seconds':>9} {'messages/s':>11} {'peak MiB':>9} {'CPU s':>8}"
          f"   [wall s of each run]")


def measure(tools: list[Tool], contacts: Path, size: int, runs: int) -> list[Result]:
    """``runs`` rounds, each running every tool once (interleaved, so drift hits both alike)."""
    results = [Result(tool.name, size, []) for tool in tools]
    for _ in range(runs):
        for tool, result in zip(tools, results):
            result.runs.append(tool.run(contacts))
    return results


@click.command(help=__doc__.split("\n\n")[0])
@click.option("--contacts", "count", default=10_000, show_default=True, type=click.IntRange(min=10),
              help="Contacts in the side-by-side comparison.")
@click.option("--scaling/--no-scaling", default=True, show_default=True,
              help="Also measure at 1,000 / 10,000 / 100,000 contacts (memory flatness).")
@click.option("--runs", default=3, show_default=True, type=click.IntRange(min=1),
              help="Runs per tool and size; the median time is reported.")
def main(count: int, scaling: bool, runs: int) -> None:
    exe, version = ensure_mailmerge()
    sizes = [count, *(SCALING_SIZES if scaling else ())]
    sample_rows = min(count, 200)
    files = write_inputs([*sizes, sample_rows])
    outreach, mailmerge = Outreach(), Mailmerge(exe)
    print(f"outreach check (this checkout, {ROOT}) vs mailmerge {version} --dry-run --no-limit")
    print(f"python {sys.version.split()[0]} on {os.cpu_count()} CPU(s); templates: outreach {len(OUTREACH_TEMPLATE)} chars, "
          f"mailmerge {len(MAILMERGE_TEMPLATE)} chars (+ FROM); data in {DATA.relative_to(ROOT)}/")
    print(validate(outreach, mailmerge, files[sample_rows], sample_rows))
    for tool in (outreach, mailmerge):  # warm-up: bytecode caches, page cache
        tool.run(files[sample_rows])
    print(f"stdout of both sent to /dev/null (mailmerge prints every message on a dry run); "
          f"seconds = median wall clock of {runs} run(s), incl. startup; messages/s = contacts / seconds;\n"
          f"peak MiB = largest max RSS of the child over the runs; CPU s = median user+sys seconds of the child\n")

    main_results = measure([outreach, mailmerge], files[count], count, runs)
    print(HEADER)
    for result in main_results:
        print(result.row())
    ours, theirs = main_results
    ratio = ours.rate / theirs.rate
    print(f"\nthroughput ratio outreach/mailmerge: {ratio:.2f}x "
          f"(target >= {TARGET_RATIO:.0f}x: {'met' if ratio >= TARGET_RATIO else 'NOT met'}); "
          f"by CPU time: {theirs.cpu_seconds / ours.cpu_seconds:.2f}x")

    if not scaling:
        return
    print(f"\nmemory scaling ({runs} run(s) per size; mailmerge gets fewer runs, or none, where they are "
          f"estimated to take over {MAILMERGE_BUDGET_S:.0f} s in all)")
    print(HEADER)
    by_size: dict[int, Result] = {}
    for size in SCALING_SIZES:
        cached = [r for r in main_results if r.contacts == size]
        results = cached or measure([outreach], files[size], size, runs)
        by_size[size] = results[0]
        print(results[0].row())
        estimate = size / theirs.rate  # seconds for one mailmerge run at this size
        if size == count:
            print(main_results[1].row())
        elif runs * estimate <= MAILMERGE_BUDGET_S:
            print(measure([mailmerge], files[size], size, runs)[0].row())
        elif estimate <= MAILMERGE_BUDGET_S:
            print(measure([mailmerge], files[size], size, 1)[0].row() + " (1 run only: time budget)")
        else:
            print(f"{'mailmerge':<10} {size:>9,}   skipped: one run estimated at ~{estimate:.0f} s "
                  f"> {MAILMERGE_BUDGET_S:.0f} s budget")
    low, high = by_size[SCALING_SIZES[0]], by_size[SCALING_SIZES[-1]]
    growth = high.rss_mib - low.rss_mib
    per_contact = growth * 2**20 / (high.contacts - low.contacts)
    flat = growth <= FLAT_TOLERANCE * low.rss_mib
    print(f"\noutreach peak RSS {low.contacts:,} -> {high.contacts:,} contacts: {low.rss_mib:.1f} -> "
          f"{high.rss_mib:.1f} MiB ({growth:+.1f} MiB, ~{per_contact:.0f} bytes per extra contact); "
          f"flat (within {FLAT_TOLERANCE:.0%}): {'yes' if flat else 'NO'}")


if __name__ == "__main__":
    main()
