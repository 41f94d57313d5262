"""Reading NCBI's answers: real records, the addresses in them (and what is not one), hostile XML."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from outreach.discover.emails import addresses_in, owners
from outreach.discover.records import BadAnswer, ServiceError, read_corresponding, read_papers, read_search
from tests.discover.kit import DATA, PMC_HEAD, article, authors, pmc_article, pubmed_set, with_address


def test_a_real_record_reads_whole():
    (paper,) = read_papers(pubmed_set([article("29963580")]))
    assert (paper.pmid, paper.year, paper.journal, paper.pmcid) == ("29963580", 2018, "J Med Imaging (Bellingham)",
                                                                    "6022861")
    assert paper.title.startswith("Development of a pulmonary imaging biomarker pipeline")
    assert not paper.title.endswith(".")
    names = [(a.fore, a.last) for a in paper.authors]
    assert names[0] == ("Fumin", "Guo") and names[-1] == ("Grace", "Parraga")  # the collective name is no person
    orcids = {a.last: a.orcid for a in paper.authors if a.orcid}
    assert orcids == {"Capaldi": "0000-0002-4590-7461", "Fenster": "0000-0003-3525-2788"}
    assert all(a.address is None for a in paper.authors)  # no real record here carries one


def test_a_title_with_markup_is_its_text():
    (paper,) = read_papers(pubmed_set([article("27797938")]))
    assert paper.title == ("Leucocyte telomere length, genetic variants at the TERT gene region and risk of "
                           "pancreatic cancer")


def test_old_records_without_affiliations_or_pmc():
    papers = {p.pmid: p for p in read_papers((DATA / "pubmed1.xml").read_bytes())}
    assert papers["9997"].year == 1976 and papers["9997"].pmcid is None
    assert papers["12091962"].authors[0].affiliations == ()


def test_an_address_added_to_an_affiliation_is_that_authors():
    record = with_address(article("29963580"), "Parraga", "Electronic address: GParraga@Robarts.Example.org.")
    (paper,) = read_papers(pubmed_set([record]))
    assert {a.last: a.address for a in paper.authors if a.address} == {"Parraga": "gparraga@robarts.example.org"}


@pytest.mark.parametrize("text, found", [
    ("London, Canada. Electronic address: j.doe@uwo.example.ca.", ["j.doe@uwo.example.ca"]),
    ("Boston, USA (jdoe@bwh.example.org); and Paris, France <p.roux@aphp.example.fr>",
     ["jdoe@bwh.example.org", "p.roux@aphp.example.fr"]),
    ("contact: mailto:ana@uni.example.org", ["ana@uni.example.org"]),
    ("Chicago, IL. jdoe[at]northwestern.example.edu", []),      # written to defeat harvesters: not taken
    ("Follow the lab @radiology_lab on social media", []),       # a handle
    ("Tokyo, Japan. t-koba@hospital", []),                       # no domain
    ("Lyon, France. josé@univ-lyon.example.fr", []),             # a non-ASCII mailbox name needs SMTPUTF8
    ("Oslo, Norway. a@b@uio.example.no", []),                    # two @
    ("Rome, Italy. x@uniroma..example.it", []),                  # an empty label
    ("Madrid, Spain. x@[127.0.0.1]", []),                        # an address literal
])
def test_addresses_in_free_text_and_what_is_not_one(text, found):
    assert addresses_in(text) == found


def test_a_shared_affiliation_gives_its_address_to_the_named_author_only():
    # One text for every author (as in the NEJM record): the address goes to the one it names.
    record = article("29768149")
    for author in authors(record):
        affiliation = author.find("AffiliationInfo/Affiliation")
        affiliation.text += " Electronic address: obyrnep@mcmaster.example.ca."
    (paper,) = read_papers(pubmed_set([record]))
    assert {a.last: a.address for a in paper.authors if a.address} == {"O'Byrne": "obyrnep@mcmaster.example.ca"}


def test_an_address_nobody_is_named_in_goes_to_nobody():
    assert owners({0: ["office@uni.example.org"], 1: ["office@uni.example.org"]}, {0: "Smith", 1: "Jones"}) == {}
    # one author, two addresses, neither theirs: which one is theirs is not known
    assert owners({0: ["a@x.example.org", "b@x.example.org"]}, {0: "Smith"}) == {}
    assert owners({0: ["a@x.example.org", "smith.j@x.example.org"]}, {0: "Smith"}) == {0: "smith.j@x.example.org"}
    shared = {0: ["ng.k@x.example.org"], 1: ["ng.k@x.example.org"]}
    assert owners(shared, {0: "Ng", 1: "Kang"}) == {0: "ng.k@x.example.org"}  # a short surname, as a whole word


def test_the_pmc_corresponding_authors_address():
    for name, expected in (("pone.0046493.nxml", ("23029536", "Canaan", "canaan@imm.cnrs.fr")),
                           ("pntd.0002065.nxml", ("23469300", "Fafetine", "jfafetine@yahoo.com"))):
        _, body = pmc_article(name)
        (found,) = read_corresponding(PMC_HEAD + b"<pmc-articleset>" + body + b"</pmc-articleset>")
        assert (found.pmid, found.last, found.address) == expected


def test_a_pmc_article_without_a_corresponding_author_gives_no_address():
    # its licence names permissions@ersnet.org: an address in the text, but nobody's
    assert read_corresponding((DATA / "efetch_pmc.xml").read_bytes()) == []


def test_real_search_answers():
    history = read_search((DATA / "esearch2.xml").read_bytes())
    assert (history.count, len(history.ids), history.webenv, history.query_key) == (
        42249, 100, "MCID_6927d6e7fee3e90f880ec190", "1")
    plain = read_search((DATA / "esearch1.xml").read_bytes())
    assert (plain.count, plain.ids[0], plain.webenv) == (63, "41282813", None)


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE PubmedArticleSet [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>
<PubmedArticleSet><PubmedArticle><MedlineCitation><PMID>1</PMID><Article><ArticleTitle>&d;</ArticleTitle>
</Article></MedlineCitation></PubmedArticle></PubmedArticleSet>"""
EXTERNAL = b"""<?xml version="1.0"?>
<!DOCTYPE PubmedArticleSet [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<PubmedArticleSet><PubmedArticle><MedlineCitation><PMID>1</PMID><Article><ArticleTitle>&secret;</ArticleTitle>
</Article></MedlineCitation></PubmedArticle></PubmedArticleSet>"""


@pytest.mark.parametrize("data", [BILLION_LAUGHS, EXTERNAL], ids=["entity expansion", "external entity"])
def test_hostile_xml_is_refused_not_expanded(data):
    with pytest.raises(BadAnswer, match="unsafe XML"):
        read_papers(data)


def test_malformed_and_unexpected_answers():
    whole = pubmed_set([article("29963580")])
    with pytest.raises(BadAnswer, match="not valid XML"):
        read_papers(whole[:len(whole) // 2])
    with pytest.raises(BadAnswer, match="<eSearchResult>"):
        read_papers((DATA / "esearch1.xml").read_bytes())
    with pytest.raises(ServiceError, match="Unable to obtain query #1"):
        read_papers(b"<eFetchResult><ERROR>Unable to obtain query #1</ERROR></eFetchResult>")
    with pytest.raises(ServiceError, match="Invalid query"):
        read_search(b"<eSearchResult><ERROR>Invalid query</ERROR></eSearchResult>")


def test_the_test_records_are_what_ncbi_sends():
    """The server's answers keep NCBI's DOCTYPE line, which names a DTD and declares nothing."""
    root = ET.fromstring(pubmed_set([article("9997")]))
    assert root.tag == "PubmedArticleSet"
    assert len(read_papers(pubmed_set([article("9997")]))) == 1
