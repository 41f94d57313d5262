"""sync screens every message from a short reader of plain header blocks (classify.screening_headers)
and parses in full only what may concern us: the short reader must give the fields the email
parser gives, and screening must decide the same from either."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from email.utils import parseaddr

from outreach.mailbox.classify import (
    DAEMON,
    DAEMON_NAME,
    _may_name_a_mail_system,
    _plain_fields,
    parse_headers,
    screening_headers,
)
from outreach.mailbox.sync import Index, SentMessage, screen
from tests import mail_samples as samples

SENT = samples.outgoing("j.chen@example.edu")
BACK = date.today() + timedelta(days=20)
BUILDERS = [samples.gmail_reply, samples.outlook_reply, samples.apple_mail_reply, samples.subject_only_reply,
            lambda s: samples.gmail_vacation(s, BACK), lambda s: samples.outlook_ooo_german(s, BACK),
            samples.sieve_vacation, samples.postfix_bounce, samples.exim_bounce, samples.exchange_bounce,
            samples.gmail_bounce, samples.qmail_bounce, samples.arf_complaint, samples.ses_notification,
            samples.jmrp_complaint, samples.null_sender_notice, samples.mmsc_ndr, samples.own_copy,
            lambda s: samples.newsletter(3), lambda s: samples.personal(4), lambda s: samples.unrelated_reply(5),
            lambda s: samples.stranger_ooo()]
SAMPLES = [build(SENT) for build in BUILDERS]
INDEX = Index([SentMessage(SENT.message_id, "fall", SENT.to, 0, SENT.subject, (SENT.to,), "sent",
                           datetime.now(UTC) - timedelta(days=3))], [samples.SENDER])


def header_block(raw: bytes) -> bytes:
    return raw.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n"


def same_fields(raw: bytes) -> bool:
    short, full = screening_headers(raw), parse_headers(raw)
    names = [*full.keys(), "From", "Content-Type", "X-Missing"]
    return (list(short.raw_items()) == list(full.raw_items())
            and [short.get(n.upper()) for n in names] == [full.get(n.upper()) for n in names]
            and short.get_content_type() == full.get_content_type())


def test_every_sample_reads_the_same_and_screens_the_same():
    for raw in SAMPLES:
        block = header_block(raw)
        assert same_fields(block), block
        assert screen(screening_headers(block), INDEX) == screen(parse_headers(block), INDEX), block
    assert sum(_plain_fields(header_block(raw)) is not None for raw in SAMPLES) >= len(SAMPLES) - 3  # mostly plain


NAME = st.text(st.sampled_from([chr(c) for c in range(33, 127) if c != ord(":")]), min_size=1, max_size=12)
TEXT = st.text(st.sampled_from([chr(c) for c in range(32, 127)] + ["\t"]), max_size=30)
FIELD = st.tuples(st.one_of(NAME, st.sampled_from(["From", "Subject", "References", "Content-Type", "Message-ID"])),
                  TEXT, st.lists(st.tuples(st.sampled_from([" ", "\t", "  "]), TEXT), max_size=3))


def block_of(fields, end: str) -> bytes:
    lines = []
    for name, first, continued in fields:
        lines.append(f"{name}:{first}")
        lines += [space + rest for space, rest in continued]
    return ("\r\n".join(lines) + end).encode("ascii")


@settings(max_examples=400, deadline=None)
@given(st.lists(FIELD, max_size=8), st.sampled_from(["\r\n\r\n", "\r\n", "", "\r\n\r\nbody text\r\n"]))
def test_plain_blocks_take_the_short_reader_and_read_as_the_parser_reads_them(fields, end):
    raw = block_of(fields, end)
    assert _plain_fields(raw) is not None
    assert same_fields(raw)


@settings(max_examples=400, deadline=None)
@given(st.lists(FIELD, max_size=6), st.floats(0, 1), st.binary(max_size=12))
def test_damaged_blocks_read_as_the_parser_reads_them(fields, where, junk):
    raw = block_of(fields, "\r\n\r\n")
    at = int(where * len(raw))
    raw = raw[:at] + junk + raw[at:]  # stray CR, LF, 8-bit bytes, colons, a "From " line...
    assert same_fields(raw)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(SAMPLES), st.floats(0, 1), st.integers(0, 60), st.binary(max_size=20))
def test_damaged_samples_screen_the_same(raw, where, length, junk):
    block = header_block(raw)
    at = int(where * (len(block) - 1))
    block = block[:at] + junk + block[at + length:]
    assert same_fields(block)
    assert screen(screening_headers(block), INDEX) == screen(parse_headers(block), INDEX)


WORDS = st.sampled_from(["mailer", "daemon", "mail", "post", "master", "delivery", "system", "subsystem", "Mail",
                         "DAEMON", "Post", "MASTER", "x", "m", "aster", "dae", "mon", "deli", "very", "example.org"])
GLUE = st.sampled_from([" ", "", ".", "-", "_", "@", "<", ">", "<>", ",", ";", ":", "\t", "\r\n ", '"', "\\", "(",
                        ")", "[", "]", "ſ", "é"])


@settings(max_examples=800, deadline=None)
@given(st.lists(st.tuples(WORDS, GLUE), max_size=8))
def test_the_address_parser_is_skipped_only_where_no_mail_system_can_be_named(parts):
    """from_mail_system asks parseaddr only when the From line may name a mail system."""
    value = "".join(word + glue for word, glue in parts)
    name, address = parseaddr(value)
    if DAEMON.match(address) or DAEMON_NAME.search(name) or (not address and "<>" in value):
        assert _may_name_a_mail_system(value), value


TYPE_WORDS = st.sampled_from(["multipart", "MULTIPART", "Multipart", "report", "REPORT", "RePoRt", "rep", "ort",
                              "mixed", "text", "plain", "delivery-status", "report-type", "boundary", "x"])
TYPE_GLUE = st.sampled_from([";", "; ", "/", "", " ", "\t", "=", '"', "(", ")", "İ", "K", "Σ", "ſ", "é", "\r\n "])


@settings(max_examples=800, deadline=None)
@given(st.sampled_from(["", " ", "\t", "x", "İ"]), st.sampled_from(["multipart", "MULTIPART", "Multipart", "mixed"]),
       st.sampled_from(["/", "/", " /", "//"]), st.sampled_from(["report", "REPORT", "RePoRt", "rep", "plain"]),
       st.lists(st.tuples(TYPE_GLUE, TYPE_WORDS), max_size=4))
def test_get_content_type_is_skipped_only_where_it_cannot_say_multipart_report(before, main, slash, sub, rest):
    """looks_like_bounce parses the Content-Type only when its value may name multipart/report."""
    from email.message import Message

    from outreach.mailbox.classify import _may_be_a_report

    msg = Message()
    msg["Content-Type"] = before + main + slash + sub + "".join(glue + word for glue, word in rest)
    if msg.get_content_type() == "multipart/report":
        assert _may_be_a_report(msg), msg["Content-Type"]
