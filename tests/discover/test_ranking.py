"""Who is who across papers, and who comes first: grouping by ORCID, address, name and institution;
ranking by papers, recency and role."""

from __future__ import annotations

from outreach.discover.names import institution_of
from outreach.discover.ranking import people
from outreach.discover.records import read_papers
from tests.discover.kit import article, authors, derived, pubmed_set, with_address

YEAR = 2026


def ranked(records, institution=None):
    return people(read_papers(pubmed_set(records)), YEAR, institution)


def by_name(found):
    return {p.name: p for p in found}


def test_one_group_publishing_again_is_the_same_people():
    found = ranked([article("29963580"), derived("29963580", "90000001", 2022), derived("29963580", "90000002", 2024)])
    assert len(found) == 8  # the eight people of the real record, each once
    assert all(len(p.papers) == 3 for p in found)
    # same papers, so the last author (who leads the group) comes first, then by name
    assert found[0].name == "Grace Parraga"
    assert found[0].paper.pmid == "90000002" and found[0].paper.year == 2024


def test_the_corresponding_author_counts_more_than_a_coauthor():
    newest = with_address(derived("29963580", "90000002", 2024), "Guo", "Electronic address: fguo@example.org.")
    found = ranked([article("29963580"), newest])
    assert [p.name for p in found[:2]] == ["Grace Parraga", "Fumin Guo"]  # last, then corresponding
    assert (found[1].address, found[1].address_year) == ("fguo@example.org", 2024)


def test_recent_papers_count_more_than_old_ones():
    # the same two-author paper, one copy recent and one old, under different people
    recent = derived("30108519", "90000010", 2025)
    old = derived("30108519", "90000011", 2001)
    for record, surname in ((recent, "Recent"), (old, "Old")):
        for author in authors(record):
            author.find("LastName").text = f"{author.findtext('LastName')}-{surname}"
    found = ranked([recent, old])
    assert [p.author.last for p in found] == ["Gorostiaga-Recent", "Garcia-Tabar-Recent",
                                              "Gorostiaga-Old", "Garcia-Tabar-Old"]
    assert found[0].score > 10 * found[2].score  # 24 years is eight half-lives


def test_more_papers_beat_one():
    found = ranked([article("29963580"), derived("29963580", "90000001", 2018), article("28775130")])
    top = {p.name for p in found[:8]}
    assert "Grace Parraga" in top and "Mary H Ward" not in top  # Ward: last author, but one paper


def test_one_name_at_two_institutions_is_two_people_one_orcid_is_one():
    moved = derived("29963580", "90000003", 2024)
    for author in authors(moved):
        if author.findtext("LastName") in ("Parraga", "Fenster"):  # both "moved" to another institution
            for affiliation in author.iterfind("AffiliationInfo/Affiliation"):
                affiliation.text = "Department of Radiology, University of Toronto, Toronto, Canada."
    found = ranked([article("29963580"), moved])
    names = [p.name for p in found]
    assert names.count("Grace Parraga") == 2   # no ORCID: a name at another place may be someone else
    assert names.count("Aaron Fenster") == 1   # his ORCID is in both records
    fenster = by_name(found)["Aaron Fenster"]
    assert fenster.orcid == "0000-0003-3525-2788" and len(fenster.papers) == 2


def test_two_orcids_are_never_one_person():
    other = derived("29963580", "90000004", 2024)
    for author in authors(other):
        if author.findtext("LastName") == "Fenster":
            author.find("Identifier").text = "https://orcid.org/0000-0001-0000-0000"
    found = ranked([article("29963580"), other])
    fensters = [p for p in found if p.name == "Aaron Fenster"]
    assert sorted(p.orcid for p in fensters) == ["0000-0001-0000-0000", "0000-0003-3525-2788"]


def test_one_address_is_one_person_wherever_they_are():
    a = with_address(derived("29963580", "90000005", 2023), "Kirby", "mkirby@example.org")
    b = with_address(derived("29963580", "90000006", 2025), "Kirby", "mkirby@example.org")
    for author in authors(b):
        if author.findtext("LastName") == "Kirby":
            author.find("AffiliationInfo/Affiliation").text = ("Toronto Metropolitan University, Canada. "
                                                               "mkirby@example.org")
    kirby = [p for p in ranked([a, b]) if p.author.last == "Kirby"]
    assert len(kirby) == 1 and len(kirby[0].papers) == 2
    assert kirby[0].institution == "Toronto Metropolitan University"  # where the newest paper says


def test_institution_keeps_only_people_there():
    found = ranked([article("29963580"), article("27797938")], institution="Dana-Farber")
    assert found and all(p.institution == "Dana-Farber Cancer Institute" for p in found)
    assert "Grace Parraga" not in by_name(found)
    # the institution shown is the one asked for, though Fuchs's first affiliation is Brigham's
    assert by_name(found)["Charles S Fuchs"].institution == "Dana-Farber Cancer Institute"


def test_institution_of_an_affiliation():
    assert institution_of("Department of Epidemiology, Harvard T.H. Chan School of Public Health, Boston, "
                          "Massachusetts, USA.") == "Harvard T.H. Chan School of Public Health"
    assert institution_of("University of Western Ontario, Robarts Research Institute, London, Ontario, "
                          "Canada. Electronic address: x@uwo.example.ca.") == "University of Western Ontario"
    assert institution_of("Dipartimento di Scienze Ambientali, Università degli Studi della Tuscia, Viterbo, "
                          "Italy.") == "Università degli Studi della Tuscia"
