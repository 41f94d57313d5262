"""The second pass over a sheet takes the first pass's word that an address is valid, and its
identity the cell lowered (ContactFile.scan): the contacts are those of validating every address
again, on sheets of usual, unusual and invalid addresses, repeated and not."""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from outreach.compose.contacts import ContactFile

ADDRESSES = ["jane@example.edu", "Jane@Example.EDU", " jane@example.edu ", "o'neil+lab@med.example.org",
             "jose@univé.fr", "JOSE@UNIVÉ.FR", "jose@xn--univ-epa.fr", "jose@unive\u0301.fr", "\uff4aane@example.edu",
             "jane@\uff45xample.edu", "josé@example.edu", "bad", "", "a@b", "x@lab.test", "x@localhost",
             "two@@example.edu", "x@example..edu", "a.@example.edu", '"a b"@example.edu', "x@-example.edu"]
FOLDER = Path(tempfile.mkdtemp(prefix="second-pass-"))


def contacts(path: Path, trust_first_pass: bool) -> list[tuple]:
    sheet = ContactFile(path)
    sheet.scan()
    if not trust_first_pass:
        sheet._lowered = bytearray()  # nothing remembered: every address validated again
    return [(c.line, c.email, c.fields, c.problems) for c in sheet]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(ADDRESSES), min_size=1, max_size=20))
def test_the_second_pass_makes_the_contacts_of_validating_again(addresses):
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(["email", "name"])
    writer.writerows([address, f"Person {n}"] for n, address in enumerate(addresses))
    path = FOLDER / "sheet.csv"
    path.write_text(text.getvalue(), encoding="utf-8")
    assert contacts(path, trust_first_pass=True) == contacts(path, trust_first_pass=False)
