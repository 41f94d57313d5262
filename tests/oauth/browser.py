"""The person at the browser, scripted: signs in on oidc-provider's own HTML pages (its test-only
login takes any password) and consents, or cancels. Forms are read with html.parser and sent with
requests, cookies kept, redirects followed one by one so the last one, to the tool's loopback
address, is seen and requested as a browser would.

    browser = Browser("applicant@applicant.test")
    page = browser.authorize(url_the_tool_printed)        # the tool's loopback page answers
    text = browser.device(address, code)                  # the provider's "Sign-in Success" page
"""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urlencode, urljoin, urlsplit

import requests


class _Forms(HTMLParser):
    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []
        self.links: dict[str, str] = {}
        self._link: list[str] | None = None
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.forms.append({"id": a.get("id"), "action": a.get("action") or "", "method": a.get("method", "get"),
                               "fields": {}})
        elif tag == "input" and self.forms and a.get("name"):
            self.forms[-1]["fields"][a["name"]] = a.get("value") or ""
        elif tag == "a" and a.get("href"):
            self._link = [a["href"], ""]

    def handle_endtag(self, tag):
        if tag == "a" and self._link is not None:
            self.links[self._link[1].strip()] = self._link[0]
            self._link = None

    def handle_data(self, data):
        if self._link is not None:
            self._link[1] += data
        if data.strip():
            self.text.append(data.strip())


class Browser:
    def __init__(self, login: str, verify: bool | str = True):
        self.login = login
        self.session = requests.Session()
        self.verify = verify  # given with each request: REQUESTS_CA_BUNDLE would win over the session's
        self.visited: list[str] = []
        self.left_for: str | None = None   # the address outside the provider the last redirect went to

    def _get(self, url: str, data: dict | None = None) -> requests.Response:
        self.visited.append(url)
        method = "POST" if data is not None else "GET"
        return self.session.request(method, url, data=data, allow_redirects=False, timeout=10, verify=self.verify)

    def _walk(self, response: requests.Response, approve: bool, code: str = "") -> requests.Response:
        origin = urlsplit(response.url)[:2]
        typed = False
        for _ in range(20):
            if response.is_redirect:
                target = urljoin(response.url, response.headers["Location"])
                if urlsplit(target)[:2] != origin:  # back to the tool
                    self.left_for = target
                    return self._get(target)
                response = self._get(target)
                continue
            assert response.status_code < 400, f"{response.status_code} at {response.url}: {response.text[:300]}"
            page = _Forms()
            page.feed(response.text)
            form = None
            for f in page.forms:
                fields, prompt = f["fields"], f["fields"].get("prompt")
                if prompt == "login":
                    fields.update(login=self.login, password="anything")
                    form = f
                elif prompt == "consent" and approve:
                    form = f
                elif f["id"] == "op.deviceInputForm" and not typed:
                    typed, fields["user_code"] = True, code
                    form = f
                elif f["id"] == "op.deviceConfirmForm":
                    if not approve:
                        fields.pop("confirm", None)
                        fields["abort"] = "yes"
                    form = f
                if form is not None:
                    break
            if form is None and not approve and "[ Cancel ]" in page.links:
                response = self._get(urljoin(response.url, page.links["[ Cancel ]"]))
                continue
            if form is None:
                return response  # a page with nothing left to do
            action = urljoin(response.url, form["action"])
            if form["method"].lower() == "post":
                response = self._get(action, data=form["fields"])
            else:
                response = self._get(f"{action}?{urlencode(form['fields'])}")
        raise AssertionError(f"the sign-in pages went on and on: {self.visited[-5:]}")

    def authorize(self, url: str, approve: bool = True) -> requests.Response:
        """Open the authorization address, sign in, consent (or cancel); the answer of the tool's
        loopback address is returned."""
        self.left_for = None
        response = self._walk(self._get(url), approve)
        assert self.left_for is not None, f"the provider never sent the browser back: {response.text[:300]}"
        return response

    def device(self, address: str, code: str, approve: bool = True) -> str:
        """Open the device address, type the code, confirm, sign in, consent; the last page's text."""
        page = _Forms()
        page.feed(self._walk(self._get(address), approve, code).text)
        return " ".join(page.text)
