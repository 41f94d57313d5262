"""`outreach discover` from the command line: the sheet it writes, that `check` reads it as it
is, one person once (--append, the store), old addresses flagged, and its refusals."""

from __future__ import annotations

import csv
import json
import shutil

from outreach.discover.sheet import COLUMNS
from outreach.store import Store
from tests.conftest import ROOT
from tests.discover.conftest import PARRAGA
from tests.seed import add_event, add_message

TEMPLATE = ROOT / "templates" / "mentor_outreach.txt"


def rows(path):
    with open(path, encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def discover(invoke, *args):
    return invoke("discover", "asthma imaging", "--out", "mentors.csv", *args)


def test_the_sheet_ranks_people_with_their_latest_paper(pubmed_workspace, eutils, invoke):
    result = discover(invoke, "--max", "70")
    assert result.exit_code == 0, result.output
    sheet = rows(pubmed_workspace / "mentors.csv")
    assert tuple(sheet[0]) == COLUMNS
    top = sheet[0]
    assert (top["name"], top["last_name"], top["email"], top["email_seen"], top["institution"]) == (
        "Grace Parraga", "Parraga", PARRAGA, "2024", "University of Western Ontario")
    assert (top["recent_paper"], top["journal"], top["year"], top["pmid"], top["papers"]) == (
        "Xenon MRI ventilation in asthma after therapy", "J Med Imaging (Bellingham)", "2024", "90000002", "3")
    assert top["topic"] == "asthma imaging" and top["note"] == ""
    assert sheet[1]["name"] == "Aaron Fenster" and sheet[1]["orcid"] == "0000-0003-3525-2788"
    # the corresponding authors of the two PMC articles: their addresses come from the full text
    by_name = {r["last_name"]: r for r in sheet}
    assert (by_name["Canaan"]["email"], by_name["Canaan"]["email_seen"]) == ("canaan@imm.cnrs.fr", "2012")
    assert by_name["Fafetine"]["email"] == "jfafetine@yahoo.com"
    assert by_name["Delorme"]["email"] == ""  # a co-author of the same article: no address is guessed
    without = sum(1 for r in sheet if not r["email"])
    assert len(sheet) == 70 and without == 67
    assert "3 with an address from their own records (2 from papers over 3 years old: see email_seen)" \
        in result.output
    assert f"{without} without one: find theirs on their department's page, or delete the row" in result.output


def test_check_reads_the_sheet_as_written(pubmed_workspace, eutils, invoke):
    assert discover(invoke, "--max", "10").exit_code == 0
    (pubmed_workspace / "templates").mkdir()
    shutil.copy(TEMPLATE, pubmed_workspace / "templates")
    checked = invoke("check", "templates/mentor_outreach.txt", "mentors.csv", "--json")
    report = json.loads(checked.stdout)
    problems = {(p["column"], p["message"]) for r in report["rows"] for p in r["problems"]}
    # every column the template uses is there; what is left is the user's part: the notes, and
    # the addresses the records did not give
    assert problems == {("note", "the personal note is empty, but the template uses it"),
                        ("email", "no address: this row gets no message")}
    assert report["summary"]["errors"] == 0 and report["summary"]["warnings"] == 10
    assert checked.exit_code == 1  # read as it is: warnings only, the rows without an address get nothing
    # the user writes Dr Parraga's note and drops the people without an address: clean
    sheet = rows(pubmed_workspace / "mentors.csv")
    kept = [dict(r, note="Your xenon MRI work on ventilation defects is why I want to learn imaging research.")
            for r in sheet if r["email"]]
    with open(pubmed_workspace / "mentors.csv", "w", encoding="utf-8-sig", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(kept)
    clean = invoke("check", "templates/mentor_outreach.txt", "mentors.csv")
    assert clean.exit_code == 0, clean.output
    assert "1 row: 1 clean" in clean.output


def test_check_warns_on_an_address_from_an_old_paper(pubmed_workspace, eutils, invoke):
    assert discover(invoke, "--max", "70").exit_code == 0
    (pubmed_workspace / "templates").mkdir()
    shutil.copy(TEMPLATE, pubmed_workspace / "templates")
    checked = invoke("check", "templates/mentor_outreach.txt", "mentors.csv")
    assert ('column "email_seen": the address is from a 2012 paper (14 years ago) and may bounce; confirm it on '
            "their department's page, then clear email_seen (OUTREACH_ADDRESS_MAX_AGE=3)") in checked.output
    assert "2024 paper" not in checked.output
    with (pubmed_workspace / ".env").open("a") as env:
        env.write("OUTREACH_ADDRESS_MAX_AGE=20\n")
    assert "may bounce" not in invoke("check", "templates/mentor_outreach.txt", "mentors.csv").output


def test_append_adds_only_people_not_already_in_the_sheet(pubmed_workspace, eutils, invoke):
    existing = ("email;first_name;last_name;institution;topic;note\r\n"
                "GParraga@Robarts.Example.org;Grace;Parraga;Western;lung MRI;My own note about her work.\r\n"
                ";Aaron;Fenster;University of Western Ontario;imaging;Found at the lab page.\r\n")
    (pubmed_workspace / "mentors.csv").write_bytes(existing.encode())
    result = discover(invoke, "--max", "5", "--append")
    assert result.exit_code == 0, result.output
    data = (pubmed_workspace / "mentors.csv").read_bytes()
    assert data.startswith(existing.encode())  # the user's rows, byte for byte
    added = data[len(existing):].decode().splitlines()
    assert len(added) == 5 and all(line.count(";") == 5 for line in added)  # their delimiter, their columns
    names = [line.split(";")[2] for line in added]
    assert "Parraga" not in names and "Fenster" not in names  # same address; same name and institution
    assert "2 people already in mentors.csv, left out" in result.output
    assert ("mentors.csv has no column name, email_seen, recent_paper, journal, year, pmid, papers, orcid, history: "
            "left out of the new rows") in result.output
    assert discover(invoke, "--max", "5", "--append").exit_code == 0  # the next five
    assert (pubmed_workspace / "mentors.csv").read_bytes().count(b"\r\n") == 3 + 5 + 5


def test_a_sheet_is_never_overwritten(pubmed_workspace, eutils, invoke):
    (pubmed_workspace / "mentors.csv").write_text("email,note\nx@example.org,mine\n", encoding="utf-8")
    result = discover(invoke)
    assert result.exit_code == 2
    assert "mentors.csv: already exists; add the new people to it with --append" in result.output
    assert eutils.seen == []  # refused before any request


def test_people_the_store_knows_say_what_happened(pubmed_workspace, eutils, invoke):
    store = Store(pubmed_workspace / "outreach.db")
    mid = add_message(store, "spring-mentors", PARRAGA, sent_at="2026-03-02T15:00:00Z")
    add_event(store, mid, PARRAGA, "reply", "2026-03-04T09:00:00Z")
    store.close()
    result = discover(invoke, "--max", "3")
    assert rows(pubmed_workspace / "mentors.csv")[0]["history"] == "spring-mentors, written 2026-03-02, replied"
    assert f"known to the store: {PARRAGA}: spring-mentors, written 2026-03-02, replied" in result.output


def test_no_store_is_created(pubmed_workspace, eutils, invoke):
    assert discover(invoke, "--max", "3").exit_code == 0
    assert not (pubmed_workspace / "outreach.db").exists()


def test_institution_and_since_reach_the_search_and_the_sheet(pubmed_workspace, eutils, invoke):
    result = invoke("discover", "asthma imaging", "--institution", "Western Ontario", "--since", "2020",
                    "--out", "mentors.csv")
    assert result.exit_code == 0, result.output
    search = eutils.seen[0].params
    assert search["term"] == '(asthma imaging) AND "Western Ontario"[Affiliation]'
    assert (search["datetype"], search["mindate"]) == ("pdat", "2020")
    sheet = rows(pubmed_workspace / "mentors.csv")
    assert {r["institution"] for r in sheet} == {"University of Western Ontario"}
    assert {r["year"] for r in sheet} == {"2024"} and {r["papers"] for r in sheet} == {"2"}
    assert "Kirby" not in {r["last_name"] for r in sheet}  # at the University of British Columbia


def test_an_empty_result_says_so_and_writes_nothing(pubmed_workspace, eutils, invoke):
    eutils.empty_terms.add("nothing at all")
    result = invoke("discover", "nothing at all", "--out", "mentors.csv")
    assert result.exit_code == 1
    assert "PubMed has no papers for 'nothing at all'; mentors.csv is unchanged" in result.output
    assert not (pubmed_workspace / "mentors.csv").exists()


def test_ncbi_needs_to_know_who_asks(workspace, invoke):
    (workspace / ".env").write_text("", encoding="utf-8")
    result = discover(invoke)
    assert result.exit_code == 2 and "set OUTREACH_FROM in .env" in result.output


def test_down_network_as_a_real_process(pubmed_workspace, eutils, run_cli):
    url = eutils.url
    eutils.__exit__()  # nothing listens there any more
    done = run_cli("discover", "asthma", "--out", "m.csv", cwd=pubmed_workspace)
    assert done.returncode == 2
    assert done.stderr.strip() == (f"error: cannot reach NCBI's E-utilities at {url}: 127.0.0.1 refused the "
                                   "connection. Check the connection (or OUTREACH_EUTILS_URL) and run the same "
                                   "command again: what was already fetched is kept")
