"""Benchmark: `outreach check` against `mailmerge --dry-run --no-limit` on the same contacts.

What it measures
    Throughput (messages rendered per second, wall clock), CPU seconds and peak memory (max RSS
    of the child process, from ``os.wait4``) of two command-line runs over the same CSV:

    * ``python -m outreach check TEMPLATE CONTACTS`` from this checkout (``PYTHONPATH`` is set to
      the repository root, so the code next to this script is what runs). ``check`` reads every
      row, validates its address, renders the subject, To and body, and lints the draft. Exit 0
      or 1 is accepted; exit 2 means the benchmark data tripped an error, which is a bug: the
      benchmark stops.
    * ``mailmerge --dry-run --no-limit`` (PyPI ``mailmerge``, installed into its own virtualenv
      ``bench/.venv-mailmerge``, created on the first run and reused after). On a dry run
      mailmerge renders each message into a MIME object and prints all of it.

    Two templates, each in both tools' formats, each on its own generated CSV:

    * **7 fields**: email, first_name, last_name, title, institution, topic, note (names and
      institutions from realistic-size pools, a unique tailored note per row, unique addresses
      on example.edu domains) and a ~600-character template using all of them;
    * **3 fields**: email, name, topic, and a short plain template using the three.

    Each child's stdout goes to /dev/null (mailmerge would print every message), stderr is kept
    and shown on failure. Runs of the two tools are interleaved; the time reported is the MEDIAN
    of ``--runs`` runs, the memory the largest peak RSS of those runs. Startup (interpreter,
    imports) is included in both, as a user would see it.

    With ``--scaling``, outreach alone then checks 10,000 / 100,000 / 1,000,000 rows of the 7-field
    template where every row has its own last name and institution (the worst case for the rule
    that looks for another row's name in a message), and prints CPU per row (as measured, and
    net of start-up, which is a one-row check of the same sheet) and peak RSS at each size.

Targets (from issue 19): outreach at least 3x mailmerge (CPU) on both templates at 10,000 rows;
CPU per row at 1,000,000 rows within 15% of that at 10,000, and peak RSS under 100 MB there.

How to run (from the repository root, in the environment where outreach's dependencies are
installed)::

    python bench/render.py --runs 5             # 10,000 contacts, both templates, beside mailmerge
    python bench/render.py --scaling --runs 3   # and the 10k / 100k / 1M table (a few minutes)
    python bench/render.py --contacts 2000 --runs 5

Generated files go to ``bench/.data/`` (git-ignored), made once and reused (the seed is fixed, so
they would come out the same), and are kept for inspection or profiling, e.g. ``python -m
cProfile -s cumtime -m outreach check bench/.data/outreach_template.txt
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
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import click

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
VENV = BENCH / ".venv-mailmerge"
DATA = BENCH / ".data"
SEED = 20240611
SCALING_SIZES = (10_000, 100_000, 1_000_000)
TARGET_RATIO = 3.0
LINEAR_TOLERANCE = 0.15      # CPU per row at 1M may exceed that at 10k by at most 15%
TARGET_PEAK_MB = 100         # peak RSS at 1M rows

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

# The plain case: three columns, a short message that uses each once or twice.
PLAIN_BODY = """\
Dear {{ name }},

I am a medical student interested in {{ topic }}, and I would be grateful for twenty minutes
of your time in the next few weeks to hear about your work.

Best regards,
Asha Rao
"""
PLAIN_SUBJECT = "A question about {{ topic }}"
PLAIN_TO = "{{ name }} <{{ email }}>"
PLAIN_OUTREACH_TEMPLATE = f"Subject: {PLAIN_SUBJECT}\nTo: {PLAIN_TO}\n\n{PLAIN_BODY}"
PLAIN_MAILMERGE_TEMPLATE = f"TO: {PLAIN_TO}\nSUBJECT: {PLAIN_SUBJECT}\nFROM: {SENDER}\n\n{PLAIN_BODY}"
PLAIN_COLUMNS = ["email", "name", "topic"]


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


def generate_plain(path: Path, count: int) -> None:
    """The 3-field sheet: email, name (first and last), topic."""
    rng = random.Random(SEED)
    places = institutions(rng)
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(PLAIN_COLUMNS)
        for number in range(count):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            domain = rng.choice(places)[1]
            writer.writerow([f"{ascii_slug(first)}.{ascii_slug(last)}{number}@{domain}", f"{first} {last}",
                             rng.choice(TOPICS)])


SYLLABLES = """ka lo mi ren do sha vi tor el an bru cel dan fa gor hel is jun kes lam mor nev os pel
qui ras sol tam ur val wen yas zor be che di fen gu ho ir ja ko lu ma ne ol pa ri sa te ul vo
wa xi yu ze ar bel cor""".split()


def distinct_names(rng: random.Random) -> Iterator[str]:
    """Made-up surnames of three or four syllables (``Kalomiren``), each only once."""
    seen: set[str] = set()
    while True:
        name = "".join(rng.choice(SYLLABLES) for _ in range(rng.choice((3, 4)))).capitalize()
        if name not in seen:
            seen.add(name)
            yield name


def generate_distinct(path: Path, count: int) -> None:
    """The 7-field sheet, but every row has a last name and an institution no other row has:
    the cross-row name rule must remember each of them."""
    rng = random.Random(SEED + 1)
    names = distinct_names(rng)
    notes: set[str] = set()
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(COLUMNS)
        for number in range(count):
            first, last = rng.choice(FIRST_NAMES), next(names)
            kind, code = rng.choice(INSTITUTION_KINDS)
            place = next(names)
            note = make_note(rng)
            while note in notes:  # as in the 7-field sheet, a note of its own: no row is a repeat
                note = make_note(rng)
            notes.add(note)
            writer.writerow([f"{ascii_slug(first)}.{last.lower()}{number}@{place.lower()}-{code}.example.edu",
                             first, last, rng.choice(TITLES), kind.format(p=place), rng.choice(TOPICS), note])


@dataclass(frozen=True)
class Variant:
    """A template in both tools' formats and the sheet it is checked against."""

    name: str
    outreach: Path
    mailmerge: Path
    sheet: str              # file name pattern, {n} the row count
    generate: Callable[[Path, int], None]

    def contacts(self, size: int) -> Path:
        """The sheet of ``size`` rows, generated on first use (the seed is fixed: kept after)."""
        path = DATA / self.sheet.format(n=size)
        if not path.exists():
            print(f"generating {path.relative_to(ROOT)} ...", file=sys.stderr)
            partial = path.with_suffix(".part")
            self.generate(partial, size)
            partial.rename(path)
        return path


FULL = Variant("7 fields", DATA / "outreach_template.txt", DATA / "mailmerge_template.txt", "contacts_{n}.csv",
               generate_contacts)
PLAIN = Variant("3 fields", DATA / "outreach_plain.txt", DATA / "mailmerge_plain.txt", "plain_{n}.csv",
                generate_plain)
DISTINCT = Variant("7 fields, distinct names", FULL.outreach, FULL.mailmerge, "distinct_{n}.csv", generate_distinct)


def write_templates() -> None:
    DATA.mkdir(parents=True, exist_ok=True)
    for path, text in [(FULL.outreach, OUTREACH_TEMPLATE), (FULL.mailmerge, MAILMERGE_TEMPLATE),
                       (PLAIN.outreach, PLAIN_OUTREACH_TEMPLATE), (PLAIN.mailmerge, PLAIN_MAILMERGE_TEMPLATE),
                       (DATA / "mailmerge_server.conf", MAILMERGE_CONF)]:
        path.write_text(text, encoding="utf-8")


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
    user_seconds: float  # of cpu_seconds, those in the process itself (the rest: in the kernel, for it)


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
            f"{os.waitstatus_to_exitcode(status)} {usage.ru_utime!r}")
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
    seconds, cpu, max_rss_kib, exit_code, user = report.read_text().split()
    return Run(float(seconds), float(cpu), int(max_rss_kib), int(exit_code), float(user))  # ru_maxrss: KiB on Linux


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

    def __init__(self, template: Path):
        self.template = template

    def argv(self, contacts: Path, *extra: str) -> list[str]:
        return [sys.executable, "-m", "outreach", "check", str(self.template), str(contacts), *extra]

    def run(self, contacts: Path) -> Run:
        result = run_child(self.argv(contacts), cwd=DATA, env=self.env)
        if result.exit_code not in (0, 1):
            raise click.ClickException(f"outreach check exited {result.exit_code} on {contacts} "
                                       f"(2 means the benchmark data hit an error: a bug)\n{stderr_tail()}")
        return result


class Mailmerge(Tool):
    name = "mailmerge"

    def __init__(self, exe: Path, template: Path):
        self.exe, self.template = exe, template

    def argv(self, contacts: Path) -> list[str]:
        return [str(self.exe), "--dry-run", "--no-limit", "--template", str(self.template),
                "--database", str(contacts), "--config", str(DATA / "mailmerge_server.conf")]

    def run(self, contacts: Path) -> Run:
        result = run_child(self.argv(contacts), cwd=DATA, env=CHILD_ENV)
        if result.exit_code != 0:
            raise click.ClickException(f"mailmerge exited {result.exit_code} on {contacts}\n{stderr_tail()}")
        return result


def validate(outreach: Outreach, mailmerge: Mailmerge, sample: Path, rows: int, shown_column: str) -> str:
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
    if first[shown_column] not in " ".join(mm.stdout.split(">>> message 2\n")[0].split()):
        raise click.ClickException(f"mailmerge's first message does not contain the first row's {shown_column} "
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

    def row(self, label: str = "") -> str:
        times = ", ".join(f"{r.cpu_seconds:.2f}" for r in self.runs)
        return (f"{self.tool:<10} {label:<9} {self.contacts:>9,} {self.seconds:>9.2f} {self.rate:>11,.0f} "
                f"{self.rss_mib:>9.1f} {self.cpu_seconds:>8.2f}   [{times}]")


HEADER = (f"{'tool':<10} {'template':<9} {'contacts':>9} {'wall s':>9} {'messages/s':>11} {'peak MiB':>9} "
          f"{'CPU s':>8}   [CPU s of each run]")


def measure(tools: list[Tool], contacts: Path, size: int, runs: int) -> list[Result]:
    """``runs`` rounds, each running every tool once (interleaved, so drift hits both alike)."""
    results = [Result(tool.name, size, []) for tool in tools]
    for _ in range(runs):
        for tool, result in zip(tools, results):
            result.runs.append(tool.run(contacts))
    return results


def compare(variant: Variant, exe: Path, count: int, runs: int) -> tuple[Result, Result]:
    """outreach and mailmerge on ``variant``'s sheet of ``count`` rows, validated first."""
    outreach, mailmerge = Outreach(variant.outreach), Mailmerge(exe, variant.mailmerge)
    sample_rows = min(count, 200)
    sample = variant.contacts(sample_rows)
    print(f"{variant.name}: " + validate(outreach, mailmerge, sample, sample_rows,
                                         "note" if variant is FULL else "topic"))
    for tool in (outreach, mailmerge):  # warm-up: bytecode caches, page cache
        tool.run(sample)
    ours, theirs = measure([outreach, mailmerge], variant.contacts(count), count, runs)
    return ours, theirs


def ratio_line(variant: Variant, ours: Result, theirs: Result) -> str:
    by_cpu = theirs.cpu_seconds / ours.cpu_seconds
    return (f"{variant.name}: outreach is {by_cpu:.2f}x mailmerge by CPU time (target >= {TARGET_RATIO:.0f}x: "
            f"{'met' if by_cpu >= TARGET_RATIO else 'NOT met'}), {ours.rate / theirs.rate:.2f}x by wall clock")


def measure_scaling(runs: int) -> None:
    """CPU per row and peak RSS of outreach alone at 10k / 100k / 1M rows with distinct names."""
    outreach = Outreach(DISTINCT.outreach)
    one = measure([outreach], DISTINCT.contacts(1), 1, max(runs, 3))[0]
    print(f"\nscaling: {DISTINCT.name} ({runs} run(s) per size, median CPU); start-up = a one-row check of "
          f"the same sheet: {one.cpu_seconds:.3f} s CPU, {one.rss_mib:.1f} MiB")
    print(f"{'contacts':>10} {'CPU s':>8} {'wall s':>8} {'CPU µs/row':>11} {'net µs/row':>11} {'peak MiB':>9}"
          f"   [CPU s of each run]")
    results = {}
    for size in SCALING_SIZES:
        result = results[size] = measure([outreach], DISTINCT.contacts(size), size, runs)[0]
        per_row = result.cpu_seconds / size * 1e6
        net = (result.cpu_seconds - one.cpu_seconds) / size * 1e6
        times = ", ".join(f"{r.cpu_seconds:.2f}" for r in result.runs)
        print(f"{size:>10,} {result.cpu_seconds:>8.2f} {result.seconds:>8.2f} {per_row:>11.1f} {net:>11.1f} "
              f"{result.rss_mib:>9.1f}   [{times}]")
    low, high = results[SCALING_SIZES[0]], results[SCALING_SIZES[-1]]
    net_low = (low.cpu_seconds - one.cpu_seconds) / low.contacts
    net_high = (high.cpu_seconds - one.cpu_seconds) / high.contacts
    growth = net_high / net_low - 1
    peak_mb = high.rss_mib * 2**20 / 1e6
    print(f"net CPU per row {low.contacts:,} -> {high.contacts:,}: {growth:+.1%} (target within "
          f"{LINEAR_TOLERANCE:.0%}: {'met' if abs(growth) <= LINEAR_TOLERANCE else 'NOT met'}); peak at "
          f"{high.contacts:,}: {peak_mb:.0f} MB (target < {TARGET_PEAK_MB} MB: "
          f"{'met' if peak_mb < TARGET_PEAK_MB else 'NOT met'})")


@click.command(help=__doc__.split("\n\n")[0])
@click.option("--contacts", "count", default=10_000, show_default=True, type=click.IntRange(min=10),
              help="Contacts in the side-by-side comparison.")
@click.option("--scaling/--no-scaling", default=False, show_default=True,
              help="Also measure outreach at 10,000 / 100,000 / 1,000,000 rows with distinct names.")
@click.option("--runs", default=3, show_default=True, type=click.IntRange(min=1),
              help="Runs per tool and size; the median time is reported.")
def main(count: int, scaling: bool, runs: int) -> None:
    exe, version = ensure_mailmerge()
    write_templates()
    print(f"outreach check (this checkout, {ROOT}) vs mailmerge {version} --dry-run --no-limit")
    print(f"python {sys.version.split()[0]} on {os.cpu_count()} CPU(s); templates: 7 fields: outreach "
          f"{len(OUTREACH_TEMPLATE)} chars, mailmerge {len(MAILMERGE_TEMPLATE)}; 3 fields: outreach "
          f"{len(PLAIN_OUTREACH_TEMPLATE)}, mailmerge {len(PLAIN_MAILMERGE_TEMPLATE)} (mailmerge's + FROM); "
          f"data in {DATA.relative_to(ROOT)}/")
    results = [(variant, *compare(variant, exe, count, runs)) for variant in (FULL, PLAIN)]
    print(f"stdout of both sent to /dev/null (mailmerge prints every message on a dry run); medians of {runs} "
          f"run(s), start-up included;\nmessages/s = contacts / wall seconds; peak MiB = largest max RSS of the "
          f"child over the runs; CPU s = user+sys seconds of the child\n")
    print(HEADER)
    for variant, ours, theirs in results:
        print(ours.row(variant.name.split(",")[0]))
        print(theirs.row(variant.name.split(",")[0]))
    print()
    for variant, ours, theirs in results:
        print(ratio_line(variant, ours, theirs))
    if scaling:
        measure_scaling(runs)


if __name__ == "__main__":
    main()
