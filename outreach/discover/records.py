"""NCBI's answers read: a search, PubMed records, PMC articles. Pure, and safe against hostile XML.

Answers are parsed by defusedxml: a document type that declares entities (the "billion laughs")
or points at external ones is refused, never expanded or fetched. The DOCTYPE line NCBI sends,
naming its public DTD, declares nothing and is read as usual. An answer that is not the
document asked for, or says ``<ERROR>``, raises :class:`BadAnswer` or :class:`ServiceError`.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from outreach.discover.emails import addresses_in, owners


class BadAnswer(ValueError):
    """An answer that cannot be read: not XML, hostile XML, or not the document asked for."""


class ServiceError(ValueError):
    """NCBI read the request and said what was wrong with it (an ``<ERROR>`` element)."""


@dataclass(frozen=True)
class Search:
    """An esearch answer: how many papers match, the first ``ids``, and where the history server keeps them."""

    count: int
    ids: tuple[str, ...]
    webenv: str | None
    query_key: str | None
    not_found: tuple[str, ...] = ()   # phrases PubMed did not find and left out of the search


@dataclass(frozen=True)
class Author:
    last: str
    fore: str
    orcid: str | None
    affiliations: tuple[str, ...]
    address: str | None     # from this paper's affiliation text, when it is theirs


@dataclass(frozen=True)
class Paper:
    pmid: str
    title: str
    journal: str
    year: int | None
    authors: tuple[Author, ...]
    pmcid: str | None       # numeric, without "PMC": its full text may name the corresponding author's address


@dataclass(frozen=True)
class Corresponding:
    """An address a PMC article gives for one of its corresponding authors."""

    pmid: str
    last: str
    fore: str
    address: str


def parse(data: bytes) -> ET.Element:
    try:
        root: ET.Element = fromstring(data, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except ET.ParseError as e:
        raise BadAnswer(f"not valid XML ({e})") from None
    except DefusedXmlException as e:
        raise BadAnswer(f"refused as unsafe XML ({type(e).__name__})") from None
    return root


def _expect(root: ET.Element, tag: str) -> None:
    if root.tag == tag:
        return
    error = root.findtext(".//ERROR") or ""
    if error.strip():
        raise ServiceError(" ".join(error.split()))
    raise BadAnswer(f"a <{root.tag}> document where <{tag}> was expected")


def read_search(data: bytes) -> Search:
    root = parse(data)
    _expect(root, "eSearchResult")
    error = root.findtext("ERROR")
    if error and error.strip():
        raise ServiceError(" ".join(error.split()))
    try:
        count = int(root.findtext("Count") or "")
    except ValueError:
        raise BadAnswer("an esearch answer without a Count") from None
    ids = tuple(e.text.strip() for e in root.iterfind("IdList/Id") if e.text and e.text.strip().isdigit())
    not_found = tuple(e.text.strip() for e in root.iterfind("ErrorList/PhraseNotFound") if e.text)
    return Search(count, ids, _text(root, "WebEnv") or None, _text(root, "QueryKey") or None, not_found)


def read_papers(data: bytes) -> list[Paper]:
    root = parse(data)
    _expect(root, "PubmedArticleSet")
    return [paper for article in root.iterfind("PubmedArticle") if (paper := _paper(article)) is not None]


def _paper(article: ET.Element) -> Paper | None:
    citation = article.find("MedlineCitation")
    pmid = _text(citation, "PMID") if citation is not None else ""
    if citation is None or not pmid.isdigit():
        return None
    journal = citation.find("Article/Journal")
    people = [a for a in citation.iterfind("Article/AuthorList/Author")
              if a.get("ValidYN", "Y") == "Y" and _text(a, "LastName")]
    found = {i: [address for text in _affiliations(a) for address in addresses_in(text)] for i, a in enumerate(people)}
    theirs = owners({i: found_ for i, found_ in found.items() if found_},
                    {i: _text(a, "LastName") for i, a in enumerate(people)})
    authors = tuple(Author(last=_text(a, "LastName"), fore=_text(a, "ForeName") or _text(a, "Initials"),
                           orcid=_orcid(a), affiliations=_affiliations(a), address=theirs.get(i))
                    for i, a in enumerate(people))
    pmc = next((e.text.strip() for e in article.iterfind("PubmedData/ArticleIdList/ArticleId")
                if e.get("IdType") == "pmc" and e.text), "")
    return Paper(pmid=pmid, title=_title(citation.find("Article/ArticleTitle")),
                 journal=_journal(journal), year=_year(citation), authors=authors,
                 pmcid=pmc.upper().removeprefix("PMC") or None)


def _affiliations(author: ET.Element) -> tuple[str, ...]:
    return tuple(" ".join("".join(e.itertext()).split()) for e in author.iterfind("AffiliationInfo/Affiliation"))


def _orcid(author: ET.Element) -> str | None:
    for identifier in author.iterfind("Identifier"):
        if identifier.get("Source") == "ORCID" and identifier.text:
            match = re.search(r"\d{4}-\d{4}-\d{4}-\d{3}[\dX]", identifier.text)
            if match:
                return match.group(0)
    return None


def _title(element: ET.Element | None) -> str:
    """The title as text (italics and sub- or superscripts kept as their letters), without the
    final full stop PubMed adds, nor the brackets around a translated title."""
    title = " ".join("".join(element.itertext()).split()) if element is not None else ""
    if title.startswith("[") and title.rstrip(".").endswith("]"):
        title = title.rstrip(".")[1:-1]
    return title.removesuffix(".")


def _journal(journal: ET.Element | None) -> str:
    """The journal as people cite it (``N Engl J Med``), else its full name."""
    if journal is None:
        return ""
    return _text(journal, "ISOAbbreviation") or _text(journal, "Title")


def _year(citation: ET.Element) -> int | None:
    """The year of publication: the journal issue's, else its free-text date's, else the electronic one's."""
    for path in ("Article/Journal/JournalIssue/PubDate/Year", "Article/Journal/JournalIssue/PubDate/MedlineDate",
                 "Article/ArticleDate/Year"):
        match = re.search(r"\b(1[89]\d\d|2\d\d\d)\b", citation.findtext(path) or "")
        if match:
            return int(match.group(1))
    return None


def read_corresponding(data: bytes) -> list[Corresponding]:
    """The corresponding authors' addresses in a set of PMC articles (JATS): in the author's own
    entry, or in the note their entry points to when that note and that author are one to one."""
    root = parse(data)
    _expect(root, "pmc-articleset")
    found = []
    for article in root.iterfind("article"):
        meta = article.find("front/article-meta")
        if meta is None:
            continue
        pmid = next((_plain(e) for e in meta.iterfind("article-id") if e.get("pub-id-type") == "pmid"), "")
        notes = {note.get("id"): _addresses(note) for note in meta.iterfind(".//author-notes/corresp")}
        contribs = [c for c in meta.iterfind(".//contrib-group/contrib") if c.get("contrib-type") == "author"]
        pointing: dict[str | None, int] = {}
        for contrib in contribs:
            for rid in _corresp_ids(contrib):
                pointing[rid] = pointing.get(rid, 0) + 1
        for contrib in contribs:
            name = contrib.find("name")
            if name is None or not pmid:
                continue
            own = [a for e in contrib.iter("email") for a in addresses_in(_plain(e))]
            if not own:
                own = [a for rid in _corresp_ids(contrib) if pointing[rid] == 1 for a in notes.get(rid, [])]
            if len(own) == 1:
                found.append(Corresponding(pmid, _text(name, "surname"), _text(name, "given-names"), own[0]))
    return found


def _corresp_ids(contrib: ET.Element) -> list[str | None]:
    ids: list[str | None] = [x.get("rid") for x in contrib.iterfind("xref") if x.get("ref-type") == "corresp"]
    return ids


def _addresses(element: ET.Element) -> list[str]:
    return [a for e in element.iter("email") for a in addresses_in(_plain(e))]


def _plain(element: ET.Element) -> str:
    return " ".join("".join(element.itertext()).split())


def _text(element: ET.Element, path: str) -> str:
    found = element.find(path)
    return _plain(found) if found is not None else ""
