"""Any cell content either renders into a message that parses back intact, or is refused clearly."""

import email
import email.policy
import re
from datetime import datetime, timezone
from email.header import decode_header, make_header

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outreach.compose.contacts import Contact
from outreach.compose.message import Envelope, build_message
from outreach.compose.templates import (
    ADDRESS_SYNTAX,
    LINE_BREAKS,
    MAX_HEADER_CHARS,
    RenderError,
    Template,
)
from outreach.config import parse_sender

SENDER = parse_sender("Asha Rao <asha.rao@example.org>")
TEMPLATE_TEXT = "Subject: About {{ topic }}\n\nDear {{ name }},\n\n{{ note }}\n"

def display_name_of(raw: bytes) -> str:
    """The To display name, decoded as RFC 2047 says. CPython's address parser inserts a space
    between the adjacent encoded words of a long non-ASCII name, which mail clients do not."""
    header = "".join(email.message_from_bytes(raw, policy=email.policy.compat32)["To"].splitlines())
    phrase = header.rsplit(" <", 1)[0]
    if "=?" in phrase:
        return str(make_header(decode_header(phrase)))
    return email.message_from_bytes(raw, policy=email.policy.default)["To"].addresses[0].display_name


cells = st.text(st.characters(blacklist_categories=("Cs",)), max_size=300)


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    path = tmp_path_factory.mktemp("property") / "t.txt"
    path.write_text(TEMPLATE_TEXT, encoding="utf-8")
    return Template(path)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(topic=st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7e), min_size=64, max_size=170))
def test_plain_subjects_fold_within_78_even_without_spaces(template, topic):
    """One long ASCII word cannot be folded at white space: it is encoded instead, never left long."""
    draft = template.render(Contact(2, {"email": "a@example.edu", "topic": topic, "name": "", "note": ""},
                                    email="a@example.edu"))
    raw = build_message(draft, SENDER, Envelope("<1@example.org>", datetime.now(timezone.utc))).as_bytes()
    assert all(len(line) <= 78 for line in raw.split(b"\r\n\r\n", 1)[0].split(b"\r\n"))
    assert email.message_from_bytes(raw, policy=email.policy.default)["Subject"] == f"About {topic}"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(topic=cells, name=cells, note=cells)
def test_any_cell_round_trips_or_is_refused(template, topic, name, note):
    fields = {"email": "a@example.edu", "topic": topic, "name": name, "note": note}
    try:
        draft = template.render(Contact(2, fields, email="a@example.edu"))
    except RenderError as refused:
        problem = refused.problem
        assert problem.severity == "error" and problem.line == 2
        if LINE_BREAKS.search(topic) or LINE_BREAKS.search(name):
            assert problem.field in ("topic", "name") and "injection refused" in problem.text
        elif "address syntax" in problem.text:
            assert problem.field == "name" and ADDRESS_SYNTAX.search(name)
        elif "characters long" in problem.text:
            assert max(len(f"About {topic}".strip()), len(" ".join(name.split()))) > MAX_HEADER_CHARS
        else:
            assert "subject is empty" in problem.text and not f"About {topic}".strip()
        return
    assert not LINE_BREAKS.search(topic) and not ADDRESS_SYNTAX.search(name)
    message = build_message(draft, SENDER, Envelope("<1@example.org>", datetime.now(timezone.utc)))
    raw = message.as_bytes()
    header_lines = raw.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    assert all(len(line) <= 78 for line in header_lines)
    assert all(len(word) <= 75 for word in re.findall(rb"=\?[^?]*\?[bq]\?[^?]*\?=", raw.split(b"\r\n\r\n")[0]))
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert sorted(parsed.keys()) == ["Content-Transfer-Encoding", "Content-Type", "Date", "From",
                                     "MIME-Version", "Message-ID", "Subject", "To"]
    assert parsed["Subject"] == f"About {topic}".strip()
    assert display_name_of(message.as_bytes()) == " ".join(name.split())
    assert parsed["To"].addresses[0].addr_spec == "a@example.edu"
    body = parsed.get_content()
    expected = f"Dear {name},\n\n{note}\n".replace("\r\n", "\n")
    assert body.replace("\r\n", "\n") == expected.replace("\r", "\n")
