"""What the header writer proves a header reads back as, the email package's parser reads too.

`check` and `draft` take a header's reading from how it was written (headers.Written.reads_as)
instead of parsing what they wrote; here random display names, addresses and subjects are written
and parsed in full, and wherever the writer claims a reading, the parser must agree. With a
weaker encoder (a cell's `=?` left in a quoted name or a subject) the writer must claim nothing
it cannot show, so the parse-back still catches it.
"""

from __future__ import annotations

import email
import email.policy
import re
from email.headerregistry import Address

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outreach.compose import headers

names = (st.text(st.characters(blacklist_categories=("Cs",)), max_size=90) | st.sampled_from(
    ["Jia Chen", "Dr. O'Neil", 'García, José "Pepe"', "=?utf-8?q?X=0D=0ABcc=3A_evil=40attacker.example?=",
     "a=?b", "Who?", "x" * 80, "José " * 20, "Chen, Jia", "\\", ""])).map(
    lambda name: name.replace("\r", " ").replace("\n", " "))  # Address itself refuses line ends
users = st.sampled_from(["j.chen", "a", "o'neil", "x=y", "a?b", "a+b", "a b", "a\"b", "first.last"])
domains = st.sampled_from(["example.edu", "med.example.org", "xn--univ-epa.fr"])
mailboxes = st.builds(lambda name, user, domain: Address(name, user, domain), names, users, domains)
subjects = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=200) | st.sampled_from(
    ["Research on =?utf-8?q?X=0D=0ABcc=3A_evil=40attacker.example?=", "a " * 60, "x" * 100, "Hello  there"])


def parsed(written: headers.Written) -> email.message.EmailMessage:
    return email.message_from_bytes(headers.block([written]) + b"body\r\n", policy=email.policy.default)


def assert_reads_as_claimed(written: headers.Written) -> None:
    if written.reads_as is None:
        return
    message = parsed(written)
    assert list(message.keys()) == [written.name]
    if written.name == "Subject":
        assert message["Subject"] == written.reads_as
    else:
        assert tuple(a.addr_spec for a in message[written.name].addresses) == written.reads_as


@settings(max_examples=300, deadline=None)
@given(st.lists(mailboxes, min_size=1, max_size=3), subjects)
def test_the_writers_proof_agrees_with_the_parser(mailboxes, subject):
    assert_reads_as_claimed(headers.address_list("To", mailboxes))
    assert_reads_as_claimed(headers.unstructured("Subject", subject.strip() or "x"))


@settings(max_examples=150, deadline=None)
@given(st.lists(mailboxes, min_size=1, max_size=3), subjects)
def test_a_weaker_encoder_proves_nothing_it_cannot_show(mailboxes, subject):
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(headers, "needs_encoding", lambda text: False)
        assert_reads_as_claimed(headers.address_list("To", mailboxes))
        assert_reads_as_claimed(headers.unstructured("Subject", subject.strip() or "x"))


def test_plain_headers_are_proven_and_hostile_ones_are_not():
    plain = headers.address_list("To", [Address("Jia Chen", "j.chen", "example.edu")])
    assert plain.reads_as == ("j.chen@example.edu",)
    assert headers.unstructured("Subject", "Stroke imaging").reads_as == "Stroke imaging"
    assert headers.unstructured("Subject", "Imagerie cérébrale").reads_as == "Imagerie cérébrale"  # encoded words
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(headers, "needs_encoding", lambda text: False)
        hostile = "=?utf-8?q?X=0D=0ABcc=3A_evil=40attacker.example?="
        assert headers.address_list("To", [Address(hostile, "j.chen", "example.edu")]).reads_as is None
        assert headers.unstructured("Subject", f"Research on {hostile}").reads_as is None


def test_an_unproven_header_is_parsed_back():
    to = headers.address_list("To", [Address("Who?", "j.chen", "example.edu")])  # "?" in an atom: not proven
    subject = headers.unstructured("Subject", "Hi")
    assert to.reads_as is None
    assert headers.read_back_problem([to, subject], {"To": ["j.chen@example.edu"], "Subject": "Hi"}) is None
    assert headers.read_back_problem([to, subject], {"To": ["x@example.edu"], "Subject": "Hi"}) == "To"
    proven = headers.address_list("To", [Address("Jia", "j.chen", "example.edu")])
    assert headers.read_back_problem([proven, subject], {"To": ["x@example.edu"], "Subject": "Hi"}) == "To"


class Headed:
    """What the header writer reads of a Draft."""

    def __init__(self, to, cc, subject):
        self.to, self.cc, self.bcc, self.reply_to, self.subject = to, cc, [], to[:1], subject
        self.written = None  # the headers a Draft keeps once written (none yet)


usual = st.sampled_from(["Jia Chen", "Ann", "", "Dr. Lee", "O'Neil", "x" * 76, "Anne-Marie Ng"])
plain_mailboxes = st.builds(lambda name, user, domain: Address(name, user, domain), usual | names, users, domains)
senders = st.sampled_from([Address("You", "you", "example.org"), Address("Dr. Rao", "a.rao", "example.edu"),
                           Address("Who?", "a", "example.edu"), Address("", "x y", "example.edu")])


@settings(max_examples=400, deadline=None)
@given(st.lists(plain_mailboxes, max_size=3), st.lists(plain_mailboxes, max_size=2),
       subjects | subjects.map(str.strip) | st.sampled_from(["Hello", " Hello", "Hi\u3000", "", "On =?utf-8?q?X?="]),
       senders)
def test_headers_proven_without_writing_them_are_proven_when_written(to, cc, subject, sender):
    draft = Headed(to, cc, subject)
    for weaker in (False, True):  # with a weaker encoder, the proof without writing must claim no more
        with pytest.MonkeyPatch.context() as patch:
            if weaker:
                patch.setattr(headers, "needs_encoding", lambda text: False)
            full = outcome(lambda: headers.written_problem(draft, sender, headers.user_headers(draft, sender)))
            if headers.plainly_proven(draft, sender):
                assert full is None
            assert outcome(lambda: headers.written_problem(draft, sender)) == full


def outcome(problem):
    """The header that would not read back, or that the block could not be written (a weaker
    encoder leaves non-ASCII text in it)."""
    try:
        return problem()
    except UnicodeEncodeError:
        return "not ASCII"


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["Subject", "X"]), st.text(st.sampled_from(" \t a=?bcZ~!."), max_size=80)
       | st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7e), max_size=80))
def test_a_short_plain_subject_is_written_as_the_folder_writes_it(name, text):
    if len(name) + 2 + len(text) <= headers.MAX_LINE and not headers.needs_encoding(text):
        assert headers._one_line(name, text) == headers._fold_plain.__wrapped__(name, text)


def test_plain_text_is_printable_ascii_as_the_expression_said():
    """headers.plain replaced ``[\\x20-\\x7e]*``: the same answer for every character, so for every text."""
    every = "".join(chr(code) for code in range(0x110000) if not 0xD800 <= code < 0xE000)
    assert "".join(filter(headers.plain, every)) == "".join(re.findall(r"[\x20-\x7e]", every))
    assert headers.plain("") and headers.plain("Stroke imaging ~ 2026") and not headers.plain("Imagerie cérébrale")
