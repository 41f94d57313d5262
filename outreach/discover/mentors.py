"""`outreach discover`: a PubMed query becomes a ranked contacts sheet, each person with their latest paper.

Search, read the records, group and rank the authors, look for the top people's addresses in
PMC full texts when their records have none, mark who the store already knows, write (or add
to) the sheet. The sheet is written once, at the end: a run cut short writes nothing, and the
next run takes every answer it already had from the cache.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from outreach.addresses import address_key
from outreach.discover import pubmed, sheet
from outreach.discover.eutils import EUtils
from outreach.discover.known import known_people
from outreach.discover.names import name_key
from outreach.discover.pubmed import Query
from outreach.discover.ranking import Person, people
from outreach.errors import UserError
from outreach.feedback import SILENT, Feedback
from outreach.store.people import People

PMC_PER_PERSON = 2  # newest papers, as first or last author, whose full text is read for an address


@dataclass(frozen=True)
class Sheet:
    """Where the people go: a new file, or (``append``) an existing sheet to add the new ones to."""

    path: Path
    topic: str
    append: bool = False


@dataclass
class Found:
    """What a run found and wrote, for the summary."""

    count: int = 0                      # papers PubMed has for the query
    read: int = 0                       # the most recent of them, read
    people: list[Person] = field(default_factory=list)     # written, best first
    known: dict[str, str] = field(default_factory=dict)     # address -> what the store knows
    skipped: int = 0                    # already in the sheet
    not_found: tuple[str, ...] = ()     # phrases PubMed did not find
    left_out: list[str] = field(default_factory=list)       # columns the appended-to sheet lacks
    appended: bool = False              # added to an existing sheet

    @property
    def without_address(self) -> int:
        return sum(1 for p in self.people if p.address is None)

    def old_addresses(self, this_year: int, max_age: int) -> int:
        return sum(1 for p in self.people if p.address and this_year - (p.address_year or 0) > max_age)


def discover(query: Query, target: Sheet, client: EUtils, *, this_year: int, feedback: Feedback = SILENT,
             store: People | None = None) -> Found:
    """Run the query and write the sheet; nothing is written when nobody new was found."""
    existing = _target(target)
    search = pubmed.search(client, query)
    found = Found(count=search.count, not_found=search.not_found)
    if not search.ids:
        return found
    records = pubmed.papers(client, query, search, feedback)
    found.read = len(records)
    ranked = people(records, this_year, query.institution)
    if existing is not None:
        fresh = [p for p in ranked if not existing.has(p)]
        found.skipped, ranked = len(ranked) - len(fresh), fresh
    chosen = ranked[:query.people]
    _addresses_from_pmc(client, chosen, feedback)
    found.people = _once(chosen, existing.addresses if existing else set())
    if existing is not None:
        found.skipped += len(chosen) - len(found.people)
    chosen = found.people
    found.known = known_people(store, [p.address for p in chosen if p.address])
    rows = [sheet.row(p, target.topic, found.known.get(p.address or "", "")) for p in chosen]
    if not rows:
        return found
    if existing is None:
        sheet.write_new(target.path, rows)
    else:
        found.left_out = existing.missing()
        existing.append(rows)
        found.appended = True
    return found


def _target(target: Sheet) -> sheet.Existing | None:
    """The sheet to add to, read now (before any request), or None for a new one; an existing
    file is never overwritten."""
    if target.path.exists():
        if not target.append:
            raise UserError(f"{target.path}: already exists; add the new people to it with --append, "
                            "or choose another file")
        return sheet.Existing.read(target.path)
    if not target.path.parent.is_dir():
        raise UserError(f"{target.path}: the folder {target.path.parent} does not exist")
    return None


def _addresses_from_pmc(client: EUtils, chosen: list[Person], feedback: Feedback) -> None:
    """Addresses for the chosen people their records gave none for, from the PMC full texts of
    their newest papers as first or last author (where corresponding authors usually are)."""
    pmcids: list[str] = []
    led_by: dict[str, list[tuple[Person, str]]] = {}  # pmid -> (person, their name key there)
    for person in chosen:
        if person.address is not None:
            continue
        led = [(paper.pmcid, paper, author) for paper, author in person.papers
               if paper.pmcid and (author is paper.authors[0] or author is paper.authors[-1])]
        for pmcid, paper, author in led[:PMC_PER_PERSON]:
            pmcids += [pmcid] if pmcid not in pmcids else []
            led_by.setdefault(paper.pmid, []).append((person, name_key(author.last, author.fore)))
    if not pmcids:
        return
    for corresponding in pubmed.corresponding(client, pmcids, feedback):
        for person, key in led_by.get(corresponding.pmid, []):
            if key == name_key(corresponding.last, corresponding.fore):
                year = next(p.year for p, _ in person.papers if p.pmid == corresponding.pmid)
                person.found_address(corresponding.address, year)


def _once(chosen: list[Person], taken: set[str]) -> list[Person]:
    """One row per address: a later person with an address already taken (by the sheet or a
    better-ranked person) is left out."""
    kept = []
    seen = set(taken)
    for person in chosen:
        if person.address is not None:
            key = address_key(person.address)
            if key in seen:
                continue
            seen.add(key)
        kept.append(person)
    return kept
