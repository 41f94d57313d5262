"""Real PubMed and PMC records for the discover tests, and the few derived from them (data/README.md)."""

from __future__ import annotations

import copy
import re
import xml.etree.ElementTree as ET
from functools import cache
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"
RECORD_FILES = ("pubmed1.xml", "pubmed2.xml", "pubmed4.xml", "pubmed5.xml", "pubmed6.xml", "pubmed7.xml",
                "pubmed-29768149.xml")
PMC_FILES = ("pone.0046493.nxml", "pntd.0002065.nxml")
# The DOCTYPE line NCBI sends with PubMed records (from pubmed4.xml)
PUBMED_HEAD = (b'<?xml version="1.0" ?>\n<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD PubMedArticle, 1st January '
               b'2018//EN" "https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_180101.dtd">\n')
PMC_HEAD = (b'<?xml version="1.0" ?>\n<!DOCTYPE pmc-articleset PUBLIC "-//NLM//DTD ARTICLE SET 2.0//EN" '
            b'"https://dtd.nlm.nih.gov/ncbi/pmc/articleset/nlm-articleset-2.0.dtd">\n')


@cache
def real_articles() -> dict[str, ET.Element]:
    """PMID -> the real <PubmedArticle> (never changed: copy it first)."""
    found = {}
    for name in RECORD_FILES:
        for article in ET.parse(DATA / name).getroot().iterfind("PubmedArticle"):
            found[article.findtext("MedlineCitation/PMID")] = article
    return found


def article(pmid: str) -> ET.Element:
    """A copy of a real record, to change."""
    return copy.deepcopy(real_articles()[pmid])


def pmid_of(element: ET.Element) -> str:
    return element.findtext("MedlineCitation/PMID") or ""


def year_of(element: ET.Element) -> int:
    citation = element.find("MedlineCitation")
    return int(citation.findtext("Article/Journal/JournalIssue/PubDate/Year")
               or re.search(r"\d{4}", citation.findtext("Article/Journal/JournalIssue/PubDate/MedlineDate")
                            or "").group(0))


def derived(pmid: str, new_pmid: str, year: int, title: str | None = None) -> ET.Element:
    """A copy of a real record as another paper of the same authors: new PMID, year and title."""
    record = article(pmid)
    citation = record.find("MedlineCitation")
    citation.find("PMID").text = new_pmid
    pub_date = citation.find("Article/Journal/JournalIssue/PubDate")
    for child in list(pub_date):
        pub_date.remove(child)
    ET.SubElement(pub_date, "Year").text = str(year)
    if title is not None:
        citation.find("Article/ArticleTitle").text = title
    for node in record.iterfind("PubmedData/ArticleIdList/ArticleId"):
        if node.get("IdType") == "pubmed":
            node.text = new_pmid
        if node.get("IdType") == "pmc":  # another paper has another full text (or none)
            record.find("PubmedData/ArticleIdList").remove(node)
    return record


def authors(record: ET.Element) -> list[ET.Element]:
    return list(record.iterfind("MedlineCitation/Article/AuthorList/Author"))


def with_address(record: ET.Element, last_name: str, text: str) -> ET.Element:
    """The record with ``text`` added at the end of the first affiliation of the author ``last_name``,
    as PubMed writes it (``... Canada. Electronic address: x@y.ca.``)."""
    for author in authors(record):
        if author.findtext("LastName") == last_name:
            affiliation = author.find("AffiliationInfo/Affiliation")
            affiliation.text = f"{affiliation.text} {text}"
            return record
    raise AssertionError(f"no author {last_name}")


def pubmed_from_pmc(name: str) -> ET.Element:
    """A PubMed record of a PMC article, from the article's front matter (data/README.md)."""
    meta = ET.parse(DATA / name).getroot().find("front/article-meta")
    journal = ET.parse(DATA / name).getroot().find("front/journal-meta")
    ids = {node.get("pub-id-type"): node.text for node in meta.iterfind("article-id")}
    year = next(d.findtext("year") for d in meta.iterfind("pub-date"))
    record = ET.Element("PubmedArticle")
    citation = ET.SubElement(record, "MedlineCitation", Status="MEDLINE", Owner="NLM")
    ET.SubElement(citation, "PMID", Version="1").text = ids["pmid"]
    art = ET.SubElement(citation, "Article", PubModel="Electronic")
    j = ET.SubElement(art, "Journal")
    issue = ET.SubElement(j, "JournalIssue", CitedMedium="Internet")
    ET.SubElement(ET.SubElement(issue, "PubDate"), "Year").text = year
    ET.SubElement(j, "Title").text = journal.findtext("journal-title-group/journal-title")
    ET.SubElement(j, "ISOAbbreviation").text = next(n.text for n in journal.iterfind("journal-id")
                                                    if n.get("journal-id-type") == "nlm-ta")
    ET.SubElement(art, "ArticleTitle").text = "".join(meta.find("title-group/article-title").itertext())
    author_list = ET.SubElement(art, "AuthorList", CompleteYN="Y")
    for contrib in meta.iterfind("contrib-group/contrib[@contrib-type='author']"):  # not the academic editor
        author = ET.SubElement(author_list, "Author", ValidYN="Y")
        ET.SubElement(author, "LastName").text = contrib.findtext("name/surname")
        ET.SubElement(author, "ForeName").text = contrib.findtext("name/given-names")
    id_list = ET.SubElement(ET.SubElement(record, "PubmedData"), "ArticleIdList")
    ET.SubElement(id_list, "ArticleId", IdType="pubmed").text = ids["pmid"]
    ET.SubElement(id_list, "ArticleId", IdType="pmc").text = "PMC" + ids["pmc"]
    return record


def pmc_article(name: str) -> tuple[str, bytes]:
    """(numeric PMC id, the <article> element's bytes as PMC's efetch puts it in its articleset)."""
    text = (DATA / name).read_bytes()
    body = re.sub(rb"<!DOCTYPE[^>]*>\s*", b"", text)
    pmc = re.search(rb'<article-id pub-id-type="pmc">(\d+)<', body).group(1).decode()
    return pmc, body


def pubmed_set(records: list[ET.Element]) -> bytes:
    """An efetch answer holding these records, as NCBI writes it."""
    body = b"".join(ET.tostring(r) for r in records)
    return PUBMED_HEAD + b"<PubmedArticleSet>\n" + body + b"\n</PubmedArticleSet>\n"
