"""The fast header splitter reads every header block exactly as the email package's parser does."""

import email.policy
import random
import string
from email.parser import BytesHeaderParser

import pytest

from outreach.compose.headers import split_headers


def parser_fields(raw: bytes) -> list[tuple[str, str]]:
    return BytesHeaderParser(policy=email.policy.compat32).parsebytes(raw).items()


def random_block(rng: random.Random) -> bytes:
    pieces = []
    for _ in range(rng.randint(0, 6)):
        name = rng.choice(["Subject", "To", "From", "X-Note", "Cc", "Bcc", "Reply-To"])
        value = "".join(rng.choice(string.printable[:95] + "\t  ") for _ in range(rng.randint(0, 90)))
        folded = "\r\n".join([value[i:i + 30] for i in range(0, len(value), 30)] or [""])
        lines = folded.split("\r\n")
        pieces.append(f"{name}:{rng.choice(['', ' ', '  ', chr(9)])}" + "\r\n".join(
            [lines[0], *(rng.choice([" ", "\t"]) + line for line in lines[1:])]))
    return ("\r\n".join(pieces) + "\r\n\r\n" + "Body line\r\n").encode("ascii") if pieces else b"\r\nBody\r\n"


def test_random_simple_blocks_split_as_the_parser_splits_them():
    rng = random.Random(5)
    for _ in range(3000):
        raw = random_block(rng)
        assert split_headers(raw) == parser_fields(raw), raw


@pytest.mark.parametrize("raw", [
    b"To: a <a@example.edu>\r\nSubject: Hi\nBcc: evil@attacker.example\r\n\r\n",     # a bare LF
    b"To: a <a@example.edu>\r\nSubject: Hi\rBcc: evil@attacker.example\r\n\r\n",     # a bare CR
    b"To: a <a@example.edu>\r\nSubject: H\xc3\xa9\r\n\r\n",                           # 8-bit
    b"To: a <a@example.edu>\r\nnot a header line\r\nSubject: Hi\r\n\r\n",            # no colon
    b"From someone\r\nSubject: Hi\r\n\r\n",                                            # mbox From line
])
def test_anything_unusual_is_left_to_the_parser(raw):
    assert split_headers(raw) == parser_fields(raw)
