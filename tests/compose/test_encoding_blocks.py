"""A file's encoding is looked at a block of lines at a time (in C for a block of ASCII or of
UTF-8 lines): the same verdict, error and counts as looking at each line, on random files."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outreach.compose import contacts
from outreach.compose.contacts import FALLBACK_ENCODING, MAX_LINES_NAMED, Encoding, _decode_line, detect_encoding
from outreach.errors import UserError

PIECES = [b"a", b"7,", b" ", b"\r", b"\xc3\xa9", b"\xe9", b"\x81", b"\x00", b"\xef\xbb\xbf", b"\xe2\x80\x99", b"\xc3"]
lines = st.lists(st.sampled_from(PIECES), max_size=6).map(b"".join)
files = st.tuples(st.lists(lines, max_size=12), st.booleans()).map(
    lambda drawn: b"\n".join(drawn[0]) + (b"\n" if drawn[1] and drawn[0] else b""))


def line_by_line(path) -> Encoding:
    """The plain definition: every line looked at in turn."""
    data = path.read_bytes()
    encoding = Encoding("utf-8-sig" if data.startswith(b"\xef\xbb\xbf") else "utf-8")
    with open(path, "rb") as f:
        for number, raw in enumerate(f, start=1):
            if b"\x00" in raw:
                raise UserError(f"{path}: contains NUL bytes, so it is not a CSV text file; export it as CSV UTF-8")
            if raw.isascii():
                continue
            text = _decode_line(raw, number, encoding.name, path)
            if text is contacts._FELL_BACK:
                if len(encoding.fallback_lines) < MAX_LINES_NAMED:
                    encoding.fallback_lines.append(number)
            elif not text.isascii():
                encoding.utf8_lines += 1
    return encoding


def verdict(read, path):
    try:
        return read(path)
    except UserError as e:
        return str(e)


@settings(max_examples=400, deadline=None)
@given(files, st.sampled_from([3, 7, 64, 1 << 16]))
def test_blocks_give_what_lines_give(tmp_path_factory, data, block):
    path = tmp_path_factory.mktemp("enc") / "c.csv"
    path.write_bytes(data)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(contacts, "BLOCK_BYTES", block)
        assert verdict(detect_encoding, path) == verdict(line_by_line, path)


def test_a_windows_line_among_utf8_ones_is_named(tmp_path):
    path = tmp_path / "c.csv"
    path.write_bytes(b"email,name\na@x.org,Jos\xc3\xa9\nb@x.org,Jos\xe9\n" + b"c@x.org,Ann\n" * 5000)
    found = detect_encoding(path)
    assert found.fallback_lines == [3] and found.utf8_lines == 1 and found.label == f"utf-8+{FALLBACK_ENCODING}"
