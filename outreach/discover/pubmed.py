"""What to ask PubMed and PMC: one search on the history server, its records in batches, and the
full texts that may name a corresponding author's address.

The search is kept on NCBI's history server (``usehistory=y``) and its records are fetched
from there :data:`BATCH` at a time. Each batch is kept in the cache under the PMIDs it holds,
not under the history server's session (``WebEnv``), which expires: a run resumed the next day
whose session is gone searches again (fresh), and every batch whose PMIDs it already has costs
no request.
"""

from __future__ import annotations

from dataclasses import dataclass

from outreach.discover.cache import SEARCH_LIFETIME, Cache
from outreach.discover.eutils import EUtils, Refused
from outreach.discover.records import (
    Corresponding,
    Paper,
    Search,
    ServiceError,
    read_corresponding,
    read_papers,
    read_search,
)
from outreach.errors import UserError
from outreach.feedback import SILENT, Feedback

BATCH = 200         # records per efetch
PMC_BATCH = 20      # PMC full texts per efetch: each is large


@dataclass(frozen=True)
class Query:
    """What `outreach discover` was asked: the search, who to keep, and how far to read."""

    text: str
    institution: str | None = None
    since: int | None = None
    people: int = 50        # --max: people in the sheet
    papers: int = 500       # --papers: the most recent papers read

    def term(self) -> str:
        """The PubMed search: the query, and the institution in some author's affiliation."""
        if not self.institution:
            return self.text
        institution = " ".join(self.institution.replace('"', " ").split())
        return f'({self.text}) AND "{institution}"[Affiliation]'


def search(client: EUtils, query: Query, *, fresh: bool = False) -> Search:
    """The most recent ``query.papers`` matches, kept on the history server."""
    params = {"db": "pubmed", "term": query.term(), "usehistory": "y", "retmax": str(query.papers),
              "sort": "pub_date"}
    if query.since:
        params.update(datetype="pdat", mindate=str(query.since), maxdate="3000")
    try:
        return client.get("esearch.fcgi", params, read_search, max_age=SEARCH_LIFETIME, fresh=fresh)
    except ServiceError as e:
        raise UserError(f"PubMed refused the search {query.term()!r}: {e}") from None


def papers(client: EUtils, query: Query, found: Search, feedback: Feedback = SILENT) -> list[Paper]:
    """Every record of the search, fetched in batches from the history server (or by PMID when
    the server keeps no history); a session the server has forgotten is searched again, once."""
    renewed = False
    while True:
        ids = found.ids[:query.papers]
        feedback.start("Reading PubMed records", len(ids))
        try:
            result = []
            for start in range(0, len(ids), BATCH):
                result += _batch(client, found, ids[start:start + BATCH], start)
                feedback.advance(len(ids[start:start + BATCH]))
            return result
        except (ServiceError, Refused) as e:
            if renewed or found.webenv is None:
                raise UserError(f"PubMed would not give the records of the search {query.term()!r}: {e}") from None
            renewed, found = True, search(client, query, fresh=True)
        finally:
            feedback.finish()


def _batch(client: EUtils, found: Search, ids: tuple[str, ...], start: int) -> list[Paper]:
    key = Cache.key("efetch.fcgi", {"db": "pubmed", "id": ",".join(ids)})
    if found.webenv and found.query_key:
        params = {"db": "pubmed", "retmode": "xml", "WebEnv": found.webenv, "query_key": found.query_key,
                  "retstart": str(start), "retmax": str(len(ids))}
    else:
        params = {"db": "pubmed", "retmode": "xml", "id": ",".join(ids)}
    return client.get("efetch.fcgi", params, read_papers, key=key)


def corresponding(client: EUtils, pmcids: list[str], feedback: Feedback = SILENT) -> list[Corresponding]:
    """The corresponding authors' addresses in these PMC articles; a batch PMC will not give is
    skipped with a warning (an address is a bonus, not the point of the run)."""
    found: list[Corresponding] = []
    feedback.start("Reading PMC full texts", len(pmcids))
    try:
        for start in range(0, len(pmcids), PMC_BATCH):
            batch = pmcids[start:start + PMC_BATCH]
            try:
                found += client.get("efetch.fcgi", {"db": "pmc", "retmode": "xml", "id": ",".join(batch)},
                                    read_corresponding)
            except (ServiceError, Refused) as e:
                feedback.warn(f"PMC would not give articles {', '.join('PMC' + i for i in batch)} ({e}); "
                              "their authors' addresses are left out")
            feedback.advance(len(batch))
    finally:
        feedback.finish()
    return found
