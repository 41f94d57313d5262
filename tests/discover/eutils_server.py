"""A local E-utilities server on 127.0.0.1 for the discover tests: esearch with a history
server, efetch of PubMed records (from the history or by id) and of PMC articles.

It answers with real records (tests/discover/data) and the esearch shape of a real answer
(data/esearch2.xml). Every request is logged with its arrival time, so the tests measure the
request rate at the server. Faults are scripted: the next N requests get a status (429, 500)
or a body (malformed XML); ``forget`` drops the history sessions, as NCBI's expire.
"""

from __future__ import annotations

import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from tests.discover.kit import PMC_HEAD, pubmed_set, year_of

ESEARCH_HEAD = (b'<?xml version="1.0" encoding="UTF-8" ?>\n<!DOCTYPE eSearchResult PUBLIC "-//NLM//DTD esearch '
                b'20060628//EN" "https://eutils.ncbi.nlm.nih.gov/eutils/dtd/20060628/esearch.dtd">\n')


@dataclass
class Seen:
    at: float           # time.monotonic() on arrival
    endpoint: str       # esearch.fcgi, efetch.fcgi
    params: dict[str, str]

    @property
    def what(self) -> tuple:
        """What was asked, without who asked or the history session: the same question twice is the same tuple."""
        skip = {"tool", "email", "api_key", "WebEnv"}
        return self.endpoint, tuple(sorted((k, v) for k, v in self.params.items() if k not in skip))


@dataclass
class Fault:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    endpoint: str | None = None     # only requests to it (with db=pubmed for efetch.fcgi); None: any
    skip: int = 0                   # let this many such requests through first

    def matches(self, endpoint: str, params: dict[str, str]) -> bool:
        return self.endpoint is None or (endpoint == self.endpoint and params.get("db") != "pmc")


class EUtilsServer:
    """``records``: the PubMed records (newest first, the order esearch's sort=pub_date gives);
    ``pmc``: numeric PMC id -> the <article> bytes."""

    def __init__(self, records: list[ET.Element], pmc: dict[str, bytes] | None = None):
        self.records = list(records)
        self.pmc = dict(pmc or {})
        self.seen: list[Seen] = []
        self.faults: list[Fault] = []
        self.sessions: dict[str, list[ET.Element]] = {}
        self.empty_terms: set[str] = set()
        self.lock = threading.Lock()
        self.httpd = _Server(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/entrez/eutils/"

    def __enter__(self) -> EUtilsServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def fail(self, status: int, times: int, retry_after: str | None = None, *, endpoint: str | None = None,
             skip: int = 0) -> None:
        """The next ``times`` requests (to ``endpoint``, after ``skip`` of them) get ``status``."""
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        body = b'{"error":"API rate limit exceeded","count":"4"}' if status == 429 else b"<html>Server Error</html>"
        self.faults.append(Fault(status, body, headers, endpoint, skip))
        self.faults.extend(Fault(status, body, headers, endpoint) for _ in range(times - 1))

    def answer_next(self, body: bytes, status: int = 200, *, endpoint: str | None = None) -> None:
        self.faults.append(Fault(status, body, endpoint=endpoint))

    def take_fault(self, endpoint: str, params: dict[str, str]) -> Fault | None:
        """The first scripted fault for this request, if its turn has come."""
        for fault in self.faults:
            if fault.matches(endpoint, params):
                if fault.skip:
                    fault.skip -= 1
                    return None
                self.faults.remove(fault)
                return fault
        return None

    def forget(self) -> None:
        """The history server forgets every session (they expire after some hours at NCBI)."""
        self.sessions.clear()

    def asked(self) -> list[tuple]:
        return [s.what for s in self.seen]

    # -- answers -------------------------------------------------------------------------
    def answer(self, endpoint: str, params: dict[str, str]) -> tuple[int, bytes]:
        if endpoint == "esearch.fcgi":
            return 200, self._esearch(params)
        if endpoint == "efetch.fcgi" and params.get("db") == "pmc":
            ids = params.get("id", "").split(",")
            return 200, PMC_HEAD + b"<pmc-articleset>" + b"".join(self.pmc[i] for i in ids if i in self.pmc) \
                + b"</pmc-articleset>\n"
        if endpoint == "efetch.fcgi" and params.get("db") == "pubmed":
            if "WebEnv" in params:
                session = self.sessions.get(params["WebEnv"])
                if session is None or params.get("query_key") != "1":
                    return 400, b"<eFetchResult><ERROR>Unable to obtain query #1</ERROR></eFetchResult>"
                start, count = int(params.get("retstart", 0)), int(params.get("retmax", 20))
                return 200, pubmed_set(session[start:start + count])
            wanted = params.get("id", "").split(",")
            by_pmid = {r.findtext("MedlineCitation/PMID"): r for r in self.records}
            return 200, pubmed_set([by_pmid[p] for p in wanted if p in by_pmid])
        return 404, b"<html>Not Found</html>"

    def _esearch(self, params: dict[str, str]) -> bytes:
        term = params.get("term", "")
        found = [] if term in self.empty_terms else list(self.records)
        if params.get("mindate"):
            found = [r for r in found if year_of(r) >= int(params["mindate"])]
        retmax = int(params.get("retmax", 20))
        ids = "".join(f"<Id>{r.findtext('MedlineCitation/PMID')}</Id>\n" for r in found[:retmax])
        history = ""
        if params.get("usehistory") == "y":
            webenv = f"MCID_{len(self.seen):04d}{int(time.time() * 1000) % 10**8:08d}"
            self.sessions[webenv] = found
            history = f"<QueryKey>1</QueryKey><WebEnv>{webenv}</WebEnv>"
        term_xml = term.replace("&", "&amp;").replace("<", "&lt;")
        return ESEARCH_HEAD + (f"<eSearchResult><Count>{len(found)}</Count><RetMax>{min(retmax, len(found))}</RetMax>"
                               f"<RetStart>0</RetStart>{history}<IdList>\n{ids}</IdList><TranslationSet/>"
                               f"<QueryTranslation>{term_xml}</QueryTranslation></eSearchResult>\n").encode()

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format, *args):  # quiet
                pass

            def do_GET(self):
                self._serve(urlsplit(self.path).query)

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                self._serve(self.rfile.read(length).decode())

            def _serve(self, query: str):
                arrived = server.httpd.arrivals.pop(id(self.request), time.monotonic())
                endpoint = urlsplit(self.path).path.rsplit("/", 1)[-1]
                params = dict(parse_qsl(query, keep_blank_values=True))
                with server.lock:
                    server.seen.append(Seen(arrived, endpoint, params))
                    fault = server.take_fault(endpoint, params)
                    if fault is not None:
                        status, body, headers = fault.status, fault.body, fault.headers
                    else:
                        (status, body), headers = server.answer(endpoint, params), {}
                self.send_response(status)
                self.send_header("Content-Type", "text/xml; charset=UTF-8")
                self.send_header("Content-Length", str(len(body)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

        return Handler


class _Server(ThreadingHTTPServer):
    """Notes when each connection was accepted (urllib makes one per request): the arrival time,
    before the handler's thread starts."""

    daemon_threads = True

    def __init__(self, *args):
        super().__init__(*args)
        self.arrivals: dict[int, float] = {}

    def process_request(self, request, client_address):
        self.arrivals[id(request)] = time.monotonic()
        super().process_request(request, client_address)


def busiest_second(times: list[float]) -> int:
    """The most requests that arrived within any one second (a sliding window)."""
    times = sorted(times)
    best = 0
    start = 0
    for end, moment in enumerate(times):
        while moment - times[start] >= 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best
