"""A good citizen of NCBI, measured at the server: who is asking, how fast, backing off on 429 and
5xx, never asking twice (a second run, a run cut short, a forgotten history session), and one
clear sentence when the answer is bad or the network is down."""

from __future__ import annotations

import socket

import pytest

from outreach.discover import pubmed
from outreach.discover.cache import Cache
from outreach.discover.eutils import EUtils, Patience, Service
from outreach.discover.mentors import Sheet, discover
from outreach.discover.pubmed import Query
from outreach.errors import UserError
from tests.discover.eutils_server import busiest_second
from tests.discover.kit import pubmed_set

FAST = Patience(attempts=3, first_delay=0.05, longest_delay=2.0, timeout=10)
GROWING = Patience(attempts=4, first_delay=0.15, longest_delay=2.0, timeout=10)
YEAR = 2026


def client(server, tmp_path, *, api_key="k3y", patience=FAST):
    """A client of the test server; with a key (10 requests a second) unless the test is about the rate without."""
    return EUtils(Service(server.url, "asha.rao@example.org", api_key), Cache(tmp_path / "cache"), patience)


def run(server, tmp_path, out="m.csv", *, api_key="k3y", patience=FAST, query=None, eutils=None):
    eutils = eutils or client(server, tmp_path, api_key=api_key, patience=patience)
    found = discover(query or Query("asthma imaging"), Sheet(tmp_path / out, "asthma imaging"), eutils,
                     this_year=YEAR)
    return eutils, found


def gaps(server):
    times = [s.at for s in server.seen]
    return [b - a for a, b in zip(times, times[1:], strict=False)]


def test_every_request_names_the_tool_and_the_user(eutils, tmp_path):
    run(eutils, tmp_path, api_key=None)
    assert len(eutils.seen) >= 3  # search, records, PMC full texts
    for seen in eutils.seen:
        assert seen.params["tool"] == "outreach" and seen.params["email"] == "asha.rao@example.org"
        assert "api_key" not in seen.params
    search = eutils.seen[0]
    assert search.endpoint == "esearch.fcgi" and search.params["usehistory"] == "y"
    fetch = eutils.seen[1]
    assert fetch.params["WebEnv"].startswith("MCID_") and fetch.params["query_key"] == "1"


def test_at_most_three_requests_a_second_without_a_key(eutils, tmp_path, monkeypatch):
    monkeypatch.setattr(pubmed, "BATCH", 2)  # 13 records: 7 batches, so 9 requests in all
    used, _ = run(eutils, tmp_path, api_key=None)
    times = [s.at for s in eutils.seen]
    assert len(times) == used.asked == 9
    assert busiest_second(times) <= 3
    assert (times[-1] - times[0]) / (len(times) - 1) < 1.2 / 3  # the allowance is used, not wasted


def test_at_most_ten_a_second_with_an_api_key(eutils, tmp_path, monkeypatch):
    monkeypatch.setattr(pubmed, "BATCH", 1)  # 13 batches, so 15 requests
    run(eutils, tmp_path, api_key="k3y")
    times = [s.at for s in eutils.seen]
    assert len(times) == 15 and all(s.params["api_key"] == "k3y" for s in eutils.seen)
    assert busiest_second(times) <= 10
    assert (times[-1] - times[0]) / (len(times) - 1) < 1.2 / 10


def test_a_429_storm_is_waited_out_with_growing_delays(eutils, tmp_path):
    eutils.fail(429, 3)
    _, found = run(eutils, tmp_path, patience=GROWING)
    assert found.people
    assert [s.endpoint for s in eutils.seen[:4]] == ["esearch.fcgi"] * 4
    first, second, third = gaps(eutils)[:3]
    assert 0.15 <= first < second < third and third >= 0.6  # 0.15, 0.3, 0.6 s


def test_retry_after_is_obeyed(eutils, tmp_path):
    eutils.fail(429, 1, retry_after="1")
    run(eutils, tmp_path, api_key="k3y")
    assert gaps(eutils)[0] >= 1.0


def test_a_5xx_storm_on_the_records_is_waited_out(eutils, tmp_path):
    eutils.fail(500, 1, endpoint="efetch.fcgi")
    eutils.fail(503, 1, endpoint="efetch.fcgi")
    _, found = run(eutils, tmp_path)
    assert found.read == 13
    assert [s.endpoint for s in eutils.seen[:4]] == ["esearch.fcgi"] + ["efetch.fcgi"] * 3


@pytest.mark.parametrize("status", [429, 500])
def test_a_storm_that_never_ends_is_one_sentence_and_nothing_written(eutils, tmp_path, status):
    eutils.fail(status, 10, endpoint="efetch.fcgi")
    with pytest.raises(UserError, match=rf"kept failing \(HTTP {status} .*3 tries over \d+ s\).*run the same "
                                        "command again later"):
        run(eutils, tmp_path)
    assert not (tmp_path / "m.csv").exists()
    assert len(list((tmp_path / "cache").iterdir())) == 1  # the search only: a failure is never kept


def test_a_second_run_asks_nothing(eutils, tmp_path):
    run(eutils, tmp_path, "first.csv")
    asked = len(eutils.seen)
    again, _ = run(eutils, tmp_path, "second.csv")
    assert len(eutils.seen) == asked and again.asked == 0 and again.reused == asked
    assert (tmp_path / "first.csv").read_bytes() == (tmp_path / "second.csv").read_bytes()


def test_a_run_cut_short_resumes_without_asking_again(eutils, tmp_path, monkeypatch):
    monkeypatch.setattr(pubmed, "BATCH", 3)  # 5 batches
    eutils.fail(500, 3, endpoint="efetch.fcgi", skip=2)  # the third batch fails, and the run stops
    with pytest.raises(UserError, match="kept failing"):
        run(eutils, tmp_path)
    answered = [s.what for s in eutils.seen[:3]]  # the search and two batches
    assert [s.params.get("retstart") for s in eutils.seen[3:]] == ["6"] * 3  # the third, tried 3 times
    first_run = len(eutils.seen)
    run(eutils, tmp_path)
    second_run = [s.what for s in eutils.seen[first_run:]]
    assert not set(second_run) & set(answered)
    assert [(w[0], dict(w[1]).get("retstart")) for w in second_run] == [
        ("efetch.fcgi", "6"), ("efetch.fcgi", "9"), ("efetch.fcgi", "12"), ("efetch.fcgi", None)]  # + PMC texts
    assert (tmp_path / "m.csv").exists()


def test_a_forgotten_history_session_means_one_new_search(eutils, tmp_path, monkeypatch):
    monkeypatch.setattr(pubmed, "BATCH", 5)
    eutils.fail(500, 3, endpoint="efetch.fcgi", skip=1)
    with pytest.raises(UserError):
        run(eutils, tmp_path)
    eutils.forget()  # the next day: NCBI no longer knows the WebEnv the kept search names
    first_run = len(eutils.seen)
    run(eutils, tmp_path)
    second = [(s.endpoint, s.params.get("retstart")) for s in eutils.seen[first_run:] if s.params.get("db") != "pmc"]
    # the kept search's session is refused, searched again once; batch 1 is kept, 2 and 3 asked
    assert second == [("efetch.fcgi", "5"), ("esearch.fcgi", None), ("efetch.fcgi", "5"), ("efetch.fcgi", "10")]


def test_malformed_xml_is_one_sentence_not_kept_and_asked_again_next_time(eutils, tmp_path):
    eutils.answer_next(pubmed_set([])[:-30], endpoint="efetch.fcgi")
    with pytest.raises(UserError, match=r"NCBI's answer to efetch.fcgi could not be read: not valid XML \(.*\); "
                                        "nothing was written"):
        run(eutils, tmp_path)
    assert not (tmp_path / "m.csv").exists()
    first_run = len(eutils.seen)
    run(eutils, tmp_path)
    assert [s.endpoint for s in eutils.seen[first_run:]][0] == "efetch.fcgi"  # the search was kept
    assert (tmp_path / "m.csv").exists()


def test_an_empty_result_writes_nothing(eutils, tmp_path):
    eutils.empty_terms.add("no such topic")
    _, found = run(eutils, tmp_path, query=Query("no such topic"))
    assert (found.count, found.people) == (0, [])
    assert not (tmp_path / "m.csv").exists()
    assert len(eutils.seen) == 1


def test_no_network_is_one_sentence_at_once(tmp_path):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    closed = EUtils(Service(f"http://127.0.0.1:{port}/", "asha.rao@example.org"), Cache(tmp_path / "cache"),
                    Patience(attempts=5, first_delay=30))  # no retries: they would take minutes
    with pytest.raises(UserError, match=rf"cannot reach NCBI's E-utilities at http://127.0.0.1:{port}/: "
                                        "127.0.0.1 refused the connection. Check the connection"):
        discover(Query("asthma"), Sheet(tmp_path / "m.csv", "asthma"), closed, this_year=YEAR)
    assert closed.asked == 1


@pytest.mark.parametrize("url, refused", [
    ("http://eutils.example.org/entrez/eutils/", "plain http is only for a server on this computer"),
    ("ftp://127.0.0.1/", "is not an http(s) address"),
])
def test_the_service_address_must_be_https_unless_local(url, refused):
    with pytest.raises(UserError, match=refused.replace("(", r"\(").replace(")", r"\)")):
        Service.from_settings({"eutils_url": url}, "a@example.org")
    assert Service.from_settings({"eutils_url": "http://localhost:8080/e"}, "a@example.org").base.endswith("/e/")


class Progress:
    """Feedback that keeps the progress it is told about."""

    def __init__(self):
        self.steps: list[list] = []

    def start(self, label, total):
        self.steps.append([label, total, 0])

    def advance(self, count=1):
        self.steps[-1][2] += count

    def finish(self):
        pass

    def note(self, text):
        pass

    warn = note


def test_progress_is_reported_batch_by_batch(eutils, tmp_path, monkeypatch):
    monkeypatch.setattr(pubmed, "BATCH", 5)
    progress = Progress()
    discover(Query("asthma imaging", people=70), Sheet(tmp_path / "m.csv", "asthma"), client(eutils, tmp_path),
             this_year=YEAR, feedback=progress)
    assert progress.steps == [["Reading PubMed records", 13, 13], ["Reading PMC full texts", 6, 6]]
