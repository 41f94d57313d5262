"""Who is who across papers, and who comes first.

Authors are grouped into people: one ORCID is one person; so is one address; and so is one
name (surname and first initial) at one institution. Two ORCIDs are never merged, whatever
else they share. A person's score adds up their papers, each worth 1, plus 1 as last author
(who usually leads the group) and plus 1 as corresponding author (their address is in the
record), times how recent it is: the worth halves every :data:`HALF_LIFE` years.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from outreach.discover.names import folded, institution_of, name_key
from outreach.discover.records import Author, Paper

HALF_LIFE = 3.0         # years
UNDATED_AGE = 10        # years: a paper without a year counts as old


@dataclass
class Person:
    """One person and their papers on the topic (``papers``: each with the person as it lists
    them, newest first)."""

    author: Author              # as the most recent paper writes them
    paper: Paper                # their most recent paper
    papers: list[tuple[Paper, Author]] = field(default_factory=list)
    score: float = 0.0
    institution: str = ""
    address: str | None = None
    address_year: int | None = None

    @property
    def name(self) -> str:
        return " ".join(part for part in (self.author.fore, self.author.last) if part)

    @property
    def orcid(self) -> str | None:
        return next((a.orcid for _, a in self.papers if a.orcid), None)

    def key(self) -> str:
        """Name and institution, as a sheet row is compared with: see :func:`sheet_key`."""
        return sheet_key(self.author.last, self.author.fore, self.institution)

    def found_address(self, address: str, year: int | None) -> None:
        """An address from elsewhere (a PMC article): kept when newer than the one the records gave."""
        if self.address is None or (year or 0) > (self.address_year or 0):
            self.address, self.address_year = address, year


def sheet_key(last: str, fore: str, institution: str) -> str:
    return f"{name_key(last, fore)}|{folded(institution)}"


def _recency(year: int | None, this_year: int) -> float:
    age = max(0, this_year - year) if year else UNDATED_AGE
    return float(0.5 ** (age / HALF_LIFE))


def _weight(paper: Paper, author: Author) -> float:
    last = len(paper.authors) > 1 and paper.authors[-1] is author
    return 1.0 + last + (author.address is not None)


def _newest(item: tuple[Paper, Author]) -> tuple[int, int]:
    return item[0].year or 0, int(item[0].pmid)


class _Groups:
    """Union-find over author occurrences that never joins two different ORCIDs."""

    def __init__(self, orcids: list[str | None]):
        self.parent = list(range(len(orcids)))
        self.orcid = list(orcids)

    def root(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def join(self, a: int, b: int) -> None:
        ra, rb = self.root(a), self.root(b)
        if ra == rb or (self.orcid[ra] and self.orcid[rb] and self.orcid[ra] != self.orcid[rb]):
            return
        self.parent[rb] = ra
        self.orcid[ra] = self.orcid[ra] or self.orcid[rb]


def _keys(author: Author) -> list[str]:
    keys = [f"orcid {author.orcid}"] if author.orcid else []
    if author.address:
        keys.append(f"address {author.address}")
    name = name_key(author.last, author.fore)
    places = {folded(institution_of(text)) for text in author.affiliations} or {""}
    keys += [f"name {name}|{place}" for place in sorted(places)]
    return keys


def people(papers: list[Paper], this_year: int, institution: str | None = None) -> list[Person]:
    """Everyone in ``papers``, grouped and best first; with ``institution``, only those whose
    affiliation names it in some paper (the search matched any author's affiliation)."""
    unique = list({paper.pmid: paper for paper in papers}.values())
    occurrences = [(paper, author) for paper in unique for author in paper.authors]
    groups = _Groups([author.orcid for _, author in occurrences])
    first_with: dict[str, int] = {}
    for index, (_, author) in enumerate(occurrences):
        for key in _keys(author):
            groups.join(first_with.setdefault(key, index), index)
    members: dict[int, list[tuple[Paper, Author]]] = {}
    for index, occurrence in enumerate(occurrences):
        members.setdefault(groups.root(index), []).append(occurrence)
    wanted = folded(institution) if institution else ""
    found = [person for items in members.values() if (person := _person(items, this_year, wanted)) is not None]
    return sorted(found, key=lambda p: (-p.score, -len(p.papers), -(p.paper.year or 0), p.name))


def _person(items: list[tuple[Paper, Author]], this_year: int, wanted: str) -> Person | None:
    """One person from their occurrences; None when ``wanted`` (an institution) is in none of their affiliations."""
    best: dict[str, tuple[Paper, Author]] = {}
    for paper, author in items:  # listed twice on one paper: count the paper once, in the better role
        if paper.pmid not in best or _weight(paper, author) > _weight(*best[paper.pmid]):
            best[paper.pmid] = (paper, author)
    papers = sorted(best.values(), key=_newest, reverse=True)
    placed = [(paper, author, text) for paper, author in papers for text in author.affiliations
              if not wanted or wanted in folded(text)]
    if wanted and not placed:
        return None
    paper, author = papers[0]
    person = Person(author=author, paper=paper, papers=papers,
                    score=sum(_weight(p, a) * _recency(p.year, this_year) for p, a in papers),
                    institution=institution_of(placed[0][2]) if placed else "")
    for paper, author in papers:
        if author.address:
            person.found_address(author.address, paper.year)
    return person
