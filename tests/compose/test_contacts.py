import codecs
import tracemalloc

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outreach.compose.columns import normalize_header
from outreach.compose.contacts import ContactFile
from outreach.errors import UserError
from tests.helpers import HEADER, ROWS, contacts_csv, write


def emails(contacts):
    return [c.email for c in contacts]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "cp1252"])
def test_reads_the_encodings_spreadsheets_export(tmp_path, encoding):
    path = contacts_csv(tmp_path, rows=["jose@example.edu,José,García,Universidad,MSK,Él leyó su artículo."],
                        encoding=encoding)
    contacts = ContactFile(path)
    [contact] = list(contacts)
    assert contact.fields["first_name"] == "José"
    assert contact.fields["note"] == "Él leyó su artículo."
    assert contacts.fell_back == (encoding == "cp1252")
    assert bool(contacts.notes) == (encoding == "cp1252")


def test_says_when_it_fell_back_to_windows_1252(tmp_path):
    path = contacts_csv(tmp_path, rows=["a@example.edu,Zoë,Lee,X,Y,Z"], encoding="cp1252")
    assert "Windows-1252" in ContactFile(path).notes[0]


def test_refuses_bytes_that_are_neither_utf8_nor_cp1252(tmp_path):
    path = tmp_path / "c.csv"
    path.write_bytes(b"email,note\na@example.edu,\x81\x8d\n")
    with pytest.raises(UserError, match="neither UTF-8 nor Windows-1252"):
        ContactFile(path)


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_detects_the_delimiter(tmp_path, delimiter):
    text = f"email{delimiter}note\na@example.edu{delimiter}\"one, two; three\"\n"
    [contact] = list(ContactFile(write(tmp_path / "c.csv", text)))
    assert contact.fields["note"] == "one, two; three"


def test_headers_match_ignoring_case_and_spaces(tmp_path):
    path = write(tmp_path / "c.csv", " E-Mail ,First Name\na@example.edu,Ann\n")
    assert [c.email for c in ContactFile(path)] == ["a@example.edu"]
    path = write(tmp_path / "d.csv", " EMAIL ,First Name ,LAST name\r\nA@Example.EDU,Ann,Lee\r\n")
    [contact] = list(ContactFile(path))
    assert contact.fields == {"email": "A@Example.EDU", "first_name": "Ann", "last_name": "Lee"}
    # the cell as typed stays in fields; the address sent to is its identity (outreach.addresses)
    assert contact.email == "a@example.edu"
    assert normalize_header("  Interview Date ") == "interview_date"


def test_same_header_twice_after_normalizing_is_refused(tmp_path):
    path = write(tmp_path / "c.csv", "email,Note,note \n")
    with pytest.raises(UserError, match='"Note" and "note "'):
        ContactFile(path)


def test_missing_email_column(tmp_path):
    with pytest.raises(UserError, match="no email column"):
        ContactFile(write(tmp_path / "c.csv", "name,note\nA,B\n"))


def test_empty_file(tmp_path):
    with pytest.raises(UserError, match="empty"):
        ContactFile(write(tmp_path / "c.csv", "\n\n"))


def test_blank_lines_are_ignored_and_line_numbers_are_physical(tmp_path):
    text = "\n" + HEADER + "\n\n" + ROWS[0] + "\n,,,,,\n" + 'x@example.edu,A,B,C,D,"two\nlines"\n' + ROWS[1] + "\n"
    contacts = list(ContactFile(write(tmp_path / "c.csv", text)))
    assert [c.line for c in contacts] == [4, 6, 8]
    assert contacts[1].fields["note"] == "two\nlines"


def test_bad_and_duplicate_addresses_are_reported_with_line_and_column(tmp_path):
    rows = [ROWS[0], "not-an-address,A,B,C,D,E", ",A,B,C,D,E", ROWS[0].replace("jchen", "JChen")]
    contacts = list(ContactFile(contacts_csv(tmp_path, rows=rows)))
    bad, empty, duplicate = contacts[1], contacts[2], contacts[3]
    assert (bad.problems[0].severity, bad.problems[0].line, bad.problems[0].field) == ("error", 3, "email")
    assert "not a valid address" in bad.problems[0].text
    assert (empty.problems[0].severity, empty.problems[0].text) == ("warning", "no address: this row gets no message")
    assert empty.skipped
    assert duplicate.problems[0].severity == "warning"
    assert "line 2" in duplicate.problems[0].text
    assert duplicate.skipped and not contacts[0].skipped


def test_internationalized_mailbox_is_refused_but_idn_domain_works(tmp_path):
    rows = ["josé@example.edu,A,B,C,D,E", "ana@bücher.example,A,B,C,D,E"]
    local, idn = ContactFile(contacts_csv(tmp_path, rows=rows))
    assert local.problems and "before the @-sign" in local.problems[0].text
    assert idn.email == "ana@xn--bcher-kva.example"


def test_too_many_cells_is_an_error(tmp_path):
    [contact] = ContactFile(contacts_csv(tmp_path, rows=[ROWS[0] + ",extra"]))
    assert contact.problems[0].severity == "error" and "7 cells" in contact.problems[0].text


def test_huge_field_and_nul_bytes_are_clear_errors(tmp_path):
    path = contacts_csv(tmp_path, rows=[f"a@example.edu,A,B,C,D,\"{'x' * 200_000}\""])
    with pytest.raises(UserError, match=r"line 2: a cell is longer than 100,000 characters"):
        list(ContactFile(path))
    path = write(tmp_path / "nul.csv", "email,note\na@example.edu,x\x00y\n")
    with pytest.raises(UserError, match="NUL"):
        ContactFile(path)
    path = tmp_path / "book.csv"
    path.write_bytes(b"PK\x03\x04" + bytes(100))
    with pytest.raises(UserError, match="xlsx"):
        ContactFile(path)


def test_reading_streams_in_flat_memory(tmp_path):
    def peak_for(count):
        rows = (f"user{i}@example.edu,First{i},Last{i},Inst {i % 50},topic,note number {i}" for i in range(count))
        path = contacts_csv(tmp_path, rows=list(rows), name=f"c{count}.csv")
        tracemalloc.start()
        for _ in ContactFile(path):
            pass
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return peak

    small, large = peak_for(500), peak_for(5000)
    # Only the set of seen addresses grows: well under 200 bytes a row.
    assert large - small < 4500 * 200, (small, large)


def test_utf16_bom_is_detected_without_content_sniffing(tmp_path):
    path = tmp_path / "c.csv"
    path.write_bytes(codecs.BOM_UTF16_LE + "email\ta\nx@example.edu\tb\n".encode("utf-16-le"))
    [contact] = ContactFile(path)
    assert contact.fields["a"] == "b"


def test_first_lines_across_buckets_is_the_first_line_of_each_key():
    """Keys repeat within and across buckets; once sorted, one search finds the first line."""
    import random

    from outreach.compose import firstlines

    rng = random.Random(15)
    keys = [f"k{rng.randrange(60)}" for _ in range(500)]
    index = firstlines.FirstLines(((key if n % 11 else "", n) for n, key in enumerate(keys, start=2)), buckets=4)
    expected: dict[str, int] = {}
    for n, key in enumerate(keys, start=2):
        if n % 11:
            expected.setdefault(key, n)
    assert {key: index.first(key) for key in set(keys)} == {key: expected.get(key) for key in set(keys)}
    assert index.first("never") is None


class Colliding(str):
    """A key whose hash is its first character's: keys that differ after it share a hash, as two
    different keys may, once in about 10^9 at 100,000 rows."""

    def __hash__(self) -> int:
        return hash(self[:1])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.text("abcdefgh", min_size=1, max_size=3), st.integers(0, 2**32 - 1)), max_size=60),
       st.sampled_from([1, 2, 4]))
def test_a_rows_own_key_is_answered_as_a_search_would(stored, buckets):
    """``first_of_own(key, number)``, asked about a key stored with ``number``, answers what
    ``first(key)`` does: repeated keys, repeated numbers and keys sharing a hash included."""
    from outreach.compose.firstlines import Fingerprints

    index = Fingerprints(buckets=buckets)
    for key, number in stored:
        index.add(Colliding(key), number)
    index.freeze()
    assert [index.first_of_own(Colliding(key), number) for key, number in stored] == \
        [index.first(Colliding(key)) for key, _ in stored]
