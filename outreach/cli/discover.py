"""`discover`: a contacts sheet from PubMed, each person with what they published."""

from __future__ import annotations

from pathlib import Path

import click

from outreach.output import plural, say, style


@click.command()
@click.argument("query")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="The sheet to write (a CSV that check, draft and send read as it is).")
@click.option("--institution", metavar="TEXT",
              help='Only people whose affiliation names it, e.g. "Northwestern University".')
@click.option("--since", type=click.IntRange(1900, 2999), metavar="YEAR", help="Only papers published since YEAR.")
@click.option("--max", "most", type=click.IntRange(min=1), default=50, show_default=True, metavar="N",
              help="People in the sheet, best ranked first.")
@click.option("--papers", type=click.IntRange(1, 9999), default=500, show_default=True, metavar="N",
              help="How many of the most recent matching papers to read.")
@click.option("--topic", metavar="TEXT", help="What the topic column says (default: the query).")
@click.option("--append", is_flag=True,
              help="Add the people not already in FILE to it (same address, else same name and institution).")
def discover(query: str, out: Path, institution: str | None, since: int | None, most: int, papers: int,
             topic: str | None, append: bool):
    """Find the people who publish on QUERY in PubMed and write a contacts sheet.

    Authors are grouped by person (ORCID, address, or name and institution) and ranked by how
    often and how recently they published on it (last and corresponding authors count more).
    Each row has their latest paper (recent_paper, journal, year, pmid), their paper count,
    an address only when a record gives one (email_seen: the year of that record), what the
    store already knows of them (history), and an empty note for the line you write.

    NCBI's rules are kept: your OUTREACH_FROM address goes with every request, at most 3
    requests a second (10 with OUTREACH_NCBI_API_KEY), and every answer is kept in
    .outreach/pubmed/, so running again, or after an interruption, asks nothing twice.

    \b
    Examples:
      outreach discover "stroke thrombectomy" \\
          --institution "Northwestern University" --out mentors.csv
      outreach discover "chest radiograph deep learning" \\
          --since 2021 --max 30 --out chest.csv
      outreach discover "prostate MRI" --out mentors.csv --append
    """
    from outreach.cli.common import Terminal, load_settings
    from outreach.clock import now
    from outreach.compose.address_age import COLUMN, AddressAge
    from outreach.config import parse_sender
    from outreach.discover.cache import FOLDER, Cache
    from outreach.discover.eutils import EUtils, Service
    from outreach.discover.mentors import Sheet
    from outreach.discover.mentors import discover as run
    from outreach.discover.pubmed import Query
    from outreach.errors import UserError

    settings = load_settings()
    if not settings.sender:
        raise UserError("NCBI asks every program to say who runs it: set OUTREACH_FROM in .env (your name and "
                        "address), which goes with each request")
    service = Service.from_settings(settings.raw, parse_sender(settings.sender).addr_spec)
    this_year = now(settings.raw).year
    age = AddressAge.from_settings(settings.raw, this_year)
    client = EUtils(service, Cache(Path.cwd() / FOLDER))
    the_query = Query(query, institution=institution, since=since, people=most, papers=papers)
    store = _existing_store(settings)
    try:
        found = run(the_query, Sheet(out, topic or query, append), client, this_year=this_year,
                    feedback=Terminal(minimum=1), store=store)
    finally:
        if store is not None:
            store.close()
    cached = f", {plural(client.reused, 'answer')} from the cache" if client.reused else ""
    requests = f"NCBI: {plural(client.asked, 'request')}{cached}"
    if found.not_found:
        say(style("note: ", "note") + f"PubMed did not find {', '.join(map(repr, found.not_found))} "
            "and left it out of the search")
    if not found.people:
        papers_read = plural(found.read, "paper")
        why = (f"PubMed has no papers for {the_query.term()!r}" if not found.count
               else f"none of the people in {papers_read} is new" if found.skipped
               else f"nobody in {papers_read} is at {institution}" if institution
               else f"the {papers_read} name no authors")
        say(style(f"{why}; {out} is unchanged. {requests}", "warning"))
        raise click.exceptions.Exit(1)
    verb = "added to" if found.appended else "in"
    say(style(f"{out}: {plural(len(found.people), 'person', 'people')} {verb} the sheet, from the "
              f"{plural(found.read, 'most recent paper')} of {found.count:,} in PubMed", "ok"))
    with_address = len(found.people) - found.without_address
    old = found.old_addresses(this_year, age.max_age)
    old_text = f" ({old} from papers over {age.max_age} years old: see {COLUMN})" if old else ""
    say(f"  {with_address} with an address from their own records{old_text}")
    if found.without_address:
        say(f"  {found.without_address} without one: find theirs on their department's page, or delete the row")
    for person in found.people:
        if person.address in found.known:
            say(f"  known to the store: {person.address}: {found.known[person.address]}")
    if found.skipped:
        say(f"  {plural(found.skipped, 'person', 'people')} already in {out}, left out")
    if found.left_out:
        say(f"  {out} has no column {', '.join(found.left_out)}: left out of the new rows")
    say(f"  {requests}")
    say(f"next: write each note, then `outreach check templates/mentor_outreach.txt {out}`")


def _existing_store(settings):
    """The store, to read what it knows of the people found; None when there is none (never made here)."""
    if not settings.db.exists():
        return None
    from outreach.store import Store

    return Store(settings.db)
