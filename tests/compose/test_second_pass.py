"""The second pass over a sheet takes the first pass's word that an address is valid, and its
identity the cell lowered (ContactFile.scan): the contacts are those of validating every address
again, on sheets of usual, unusual and invalid addresses, repeated and not; and a sheet that
changed between the passes is refused, so that word is never taken for another file's cell."""

from __future__ import annotations

import csv
import io
import os
import re
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outreach.compose.contacts import ContactFile
from outreach.errors import UserError

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


def _edit_in_place(path: Path) -> None:  # one address changed, same size: as an editor saves it
    path.write_text(path.read_text(encoding="utf-8").replace("jane@", "jill@"), encoding="utf-8")


def _replace(path: Path) -> None:  # a new file renamed over it, same bytes but one address
    other = path.with_name("saved.tmp")
    other.write_text(path.read_text(encoding="utf-8").replace("jane@", "jill@"), encoding="utf-8")
    other.replace(path)


def _append(path: Path) -> None:
    with path.open("a", encoding="utf-8") as f:
        f.write("late@example.edu,Late\n")


@pytest.mark.parametrize("change", [_edit_in_place, _replace, _append])
@pytest.mark.parametrize("when", ["before the first pass", "between the passes", "during the second pass"])
def test_a_sheet_changed_while_it_is_read_is_refused(tmp_path, change, when):
    """The second pass trusts what the first found (valid addresses, first lines): a sheet saved
    again meanwhile would pair one file's index with another's rows, so no contact comes of it."""
    path = tmp_path / "mentors.csv"
    path.write_text("email,name\njane@example.edu,Jane\nkofi@example.org,Kofi\n", encoding="utf-8")
    os.utime(path, ns=(1_000_000_000, 1_000_000_000))  # an mtime no save can have now
    sheet = ContactFile(path)
    made = []
    with pytest.raises(UserError, match=rf"^{re.escape(str(path))}: the file changed while outreach was reading it"):
        if when == "before the first pass":
            change(path)
        sheet.scan()
        if when == "between the passes":
            change(path)
        for contact in sheet:
            made.append(contact.email)
            if when == "during the second pass" and len(made) == 1:
                change(path)
    # Changed during the second pass, the sheet is refused at the pass's end, before a caller uses its contacts
    assert made[:2] == ([] if when != "during the second pass" else ["jane@example.edu", "kofi@example.org"])


def test_a_sheet_read_twice_unchanged_is_not_refused(tmp_path):
    path = tmp_path / "mentors.csv"
    path.write_text("email,name\njane@example.edu,Jane\n", encoding="utf-8")
    sheet = ContactFile(path)
    assert [c.email for c in sheet] == [c.email for c in sheet] == ["jane@example.edu"]
