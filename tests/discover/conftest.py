"""A workspace whose E-utilities are a local server answering with real records (data/README.md)."""

from __future__ import annotations

import pytest

from tests.discover.eutils_server import EUtilsServer
from tests.discover.kit import article, derived, pmc_article, pubmed_from_pmc, with_address, year_of

NOW = "2026-06-01T12:00:00Z"
PARRAGA = "gparraga@robarts.example.org"


def corpus():
    """The records the server holds, newest first: the real ones, two more papers of the Parraga
    group (one with her address added to her affiliation), and PubMed records of the two PMC articles."""
    newest = with_address(derived("29963580", "90000002", 2024, "Xenon MRI ventilation in asthma after therapy"),
                          "Parraga", f"Electronic address: {PARRAGA}.")
    again = derived("29963580", "90000001", 2022, "Pulmonary ventilation heterogeneity measured by MRI")
    real = [article(p) for p in ("29963580", "27797938", "28775130", "30108519", "29768149", "11748933",
                                 "11700088", "12091962", "9997")]
    from_pmc = [pubmed_from_pmc("pntd.0002065.nxml"), pubmed_from_pmc("pone.0046493.nxml")]
    return sorted([newest, again, *real, *from_pmc], key=year_of, reverse=True)


def pmc_articles():
    return dict(pmc_article(name) for name in ("pone.0046493.nxml", "pntd.0002065.nxml"))


@pytest.fixture
def eutils():
    with EUtilsServer(corpus(), pmc_articles()) as server:
        yield server


@pytest.fixture
def pubmed_workspace(workspace, eutils, monkeypatch):
    """The workspace with OUTREACH_EUTILS_URL at the local server, a fixed clock, and an API key
    (10 requests a second: the rate without one is measured in test_politeness)."""
    with (workspace / ".env").open("a", encoding="utf-8") as env:
        env.write(f"OUTREACH_EUTILS_URL={eutils.url}\nOUTREACH_NOW={NOW}\nOUTREACH_NCBI_API_KEY=test-key\n")
    return workspace
