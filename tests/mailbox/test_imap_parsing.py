"""outreach.mailbox.imap's short parser for the bulk header FETCH, on the response shapes servers send."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from outreach.mailbox.imap import HEADERS_ITEM, internal_date, parse_header_fetch, uid_set

# How servers name what was asked for (Dovecot, as seen): the partial range <0.N> comes back as <0>.
KEY = HEADERS_ITEM.replace("BODY.PEEK[", "BODY[").rsplit("<", 1)[0].encode() + b"<0>"
HEADERS = b"From: a@example.edu\r\nSubject: Re: Hello\r\n\r\n"


def test_dovecot_shape():
    data = [(b'1 (UID 41 INTERNALDATE "01-Dec-2026 10:00:00 +0000" ' + KEY + b" {44}", HEADERS), b")",
            (b'2 (UID 42 INTERNALDATE "02-Dec-2026 10:00:00 +0100" ' + KEY + b" {44}", HEADERS), b")"]
    parsed = parse_header_fetch(data, {41, 42})
    assert set(parsed) == {41, 42} and parsed[41].headers == HEADERS
    assert parsed[42].arrived.utcoffset() is not None and not parsed[42].draft


def test_uid_after_the_literal_and_unsolicited_flags():
    data = [(b'7 (INTERNALDATE "01-Dec-2026 10:00:00 +0000" ' + KEY + b" {44}", HEADERS),
            b" UID 70 FLAGS (\\Seen \\Draft))", b"9 (FLAGS (\\Seen))"]
    parsed = parse_header_fetch(data, {70})
    assert set(parsed) == {70} and parsed[70].draft


def test_unrequested_uids_are_dropped():
    data = [(b"1 (UID 5 " + KEY + b" {44}", HEADERS), b")"]
    assert parse_header_fetch(data, {6}) == {}


def test_a_server_that_names_the_whole_block_is_read_too():
    whole = KEY.removesuffix(b"<0>")
    data = [(b"1 (UID 5 " + whole + b" {44}", HEADERS), b")"]
    assert parse_header_fetch(data, {5})[5].headers == HEADERS


def test_shapes_it_does_not_know_go_to_imapclient():
    quoted = [b'1 (UID 5 ' + KEY + b' "From: a@b\\r\\n\\r\\n")']
    assert parse_header_fetch(quoted, {5}) is None
    other_literal = [(b"1 (UID 5 BODY[TEXT] {5}", b"hello"), b")"]
    assert parse_header_fetch(other_literal, {5}) is None
    no_uid = [(b"1 (" + KEY + b" {44}", HEADERS), b")"]
    assert parse_header_fetch(no_uid, {5}) is None


def test_uid_sets():
    assert uid_set([1, 2, 3, 7]) == "1:3,7"
    assert uid_set([9, 1, 2]) == "1:2,9"
    assert uid_set([5]) == "5"


@pytest.mark.parametrize(("raw", "expected"), [
    (b"15-Jan-2027 12:00:05 +0000", datetime(2027, 1, 15, 12, 0, 5, tzinfo=timezone.utc)),
    (b"15-Jul-2027 12:00:05 +0000", datetime(2027, 7, 15, 12, 0, 5, tzinfo=timezone.utc)),
    (b" 7-Feb-1994 21:52:25 -0800", datetime(1994, 2, 8, 5, 52, 25, tzinfo=timezone.utc)),
    (b"31-DEC-2026 23:30:00 +0530", datetime(2026, 12, 31, 18, 0, tzinfo=timezone.utc)),
    (b"Tue, 15 Jul 2027 12:00:05 +0200", datetime(2027, 7, 15, 10, 0, 5, tzinfo=timezone.utc)),  # to imapclient
])
def test_internaldate_is_the_instant_the_server_named(raw, expected, local_zone):
    """Whatever the local zone and the season today: the offset in the text, nothing else."""
    local_zone("America/New_York")
    parsed = internal_date(raw)
    assert parsed == expected and parsed.utcoffset() is not None


@pytest.mark.parametrize("raw", [b"31-Feb-2027 12:00:00 +0000", b"15-Foo-2027 12:00:00 +0000", b"yesterday",
                                 b"15-Jan-2027 25:00:00 +0000"])
def test_an_internaldate_that_cannot_be_read_is_none(raw):
    assert internal_date(raw) is None


def test_each_offset_is_its_own():
    east, west = internal_date(b"01-Jun-2027 10:00:00 +0200"), internal_date(b"01-Jun-2027 10:00:00 -0200")
    assert east.utcoffset() == timedelta(hours=2) and west.utcoffset() == timedelta(hours=-2)
