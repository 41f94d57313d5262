import email
import email.policy
from datetime import datetime, timezone

import pytest

from outreach.compose.contacts import Contact
from outreach.compose.message import Envelope, build_message
from outreach.compose.templates import LINE_BREAKS, RenderError, Template, breaks_line
from outreach.config import parse_sender
from outreach.errors import UserError
from tests.helpers import MENTOR_TEMPLATE, template_file, write


def contact(line=2, **fields):
    base = {"email": "jchen@example.edu", "first_name": "Jia", "last_name": "Chen", "institution": "Stanford",
            "topic": "neuro", "note": "A note."}
    base.update(fields)
    return Contact(line, base, email=base["email"])


def render(tmp_path, text, **fields):
    return Template(template_file(tmp_path, text)).render(contact(**fields))


def test_renders_subject_default_to_and_body(tmp_path):
    draft = render(tmp_path, MENTOR_TEMPLATE)
    assert draft.subject == "Prospective IMG collaborator interested in neuro radiology research"
    assert [str(a) for a in draft.to] == ["Jia Chen <jchen@example.edu>"]
    assert "Dear Dr. Chen," in draft.text and "A note." in draft.text
    assert draft.kind == "outreach" and not draft.markdown


def test_explicit_address_headers_and_kind(tmp_path):
    text = ("Subject: Thanks\nTo: {{ first_name }} <{{ email }}>\nCc: coordinator@example.edu\n"
            "Bcc: me@example.org\nReply-To: Asha <asha@example.org>\nKind: thank-you\n\nHi\n")
    draft = render(tmp_path, text)
    assert [a.addr_spec for a in draft.to] == ["jchen@example.edu"]
    assert draft.recipients == ["jchen@example.edu", "coordinator@example.edu", "me@example.org"]
    assert str(draft.reply_to[0]) == "Asha <asha@example.org>"
    assert draft.kind == "thank-you"


@pytest.mark.parametrize("text, message", [
    ("To: x@example.edu\n\nbody", "no Subject header"),
    ("Subject: hi\nBody starts here without a blank line", "no blank line"),
    ("Subject: hi\nSubjekt: typo\n\nbody", "'Subjekt' is not a header"),
    ("Subject: hi\nSubject: again\n\nbody", "appears twice"),
    ("Subject: hi\nKind: sales\n\nbody", "Kind must be one of"),
    ("Subject: hi\n\nDear {{ last_name }\n", "line 3: template syntax error"),
    ("Subject: {% if %}\n\nbody", "line 1: template syntax error"),
    ("Subject: hi\nCc: {% if a %}A <{{ a }}>{% endif %}\n\nbody", "line 2: Cc items are written .* each {% %} block inside one name"),
    ("Subject: hi\nTo: {{ name }} <{{ email }}\n\nbody", "line 2: To items are written 'Name <address>'"),
    ("Subject: hi\nTo: <a@example.edu> tail\n\nbody", "line 2: To items are written"),
])
def test_template_file_errors_name_the_line(tmp_path, text, message):
    with pytest.raises(UserError, match=message):
        Template(template_file(tmp_path, text))


def test_address_items_are_split_where_the_template_writes_the_syntax(tmp_path):
    text = ('Subject: hi\nTo: "Dr. {{ last_name }}, MD" <{{ email }}>, Lab <lab@example.edu>\n'
            'Cc: {{ note }} <{{ institution }}>\n\nbody\n')
    draft = render(tmp_path, text, last_name="Chen, Jr.", note="Bob, <x>", institution="")
    assert [(a.display_name, a.addr_spec) for a in draft.to] == [("Dr. Chen, Jr., MD", "jchen@example.edu"),
                                                                ("Lab", "lab@example.edu")]
    assert draft.cc == []  # an empty address cell leaves its item out, whatever the name says


def test_not_utf8_template(tmp_path):
    path = write(tmp_path / "t.txt", "Subject: Café\n\nbody", encoding="cp1252")
    with pytest.raises(UserError, match="not UTF-8"):
        Template(path)


def test_undefined_variable_names_template_line_and_row(tmp_path):
    with pytest.raises(RenderError) as caught:
        render(tmp_path, "Subject: hi\n\nHello\n\nAbout {{ reserch_topic }}.\n", line=7)
    problem = caught.value.problem
    assert problem.line == 7 and problem.field == "reserch_topic"
    assert "mentor.txt, line 5: undefined variable 'reserch_topic'" in problem.text


@pytest.mark.parametrize("expression", [
    "''.__class__.__mro__[1].__subclasses__()",
    "cycler.__init__.__globals__",
    "contact.__class__.__init__.__globals__['os']",
    "self._TemplateReference__context",
])
def test_sandbox_refuses_python_internals(tmp_path, expression):
    with pytest.raises(RenderError) as caught:
        render(tmp_path, "Subject: x\n\n{{ " + expression + " }}\n")
    text = caught.value.problem.text
    assert "line 3" in text and ("sandbox" in text or "undefined" in text)


def test_runaway_repetition_is_refused(tmp_path):
    with pytest.raises(RenderError, match="line 3: the template went past a resource limit"):
        render(tmp_path, "Subject: x\n\n{{ 'a' * 10000000 }}\n")


@pytest.mark.parametrize("value", ["neuro\nBcc: victim@example.com", "neuro\r\nX-Evil: 1", "neuro\u2028x", "a\x00b"])
def test_line_break_in_a_header_value_is_refused_naming_the_column(tmp_path, value):
    with pytest.raises(RenderError) as caught:
        render(tmp_path, MENTOR_TEMPLATE, topic=value)
    problem = caught.value.problem
    assert problem.field == "topic" and "Subject header" in problem.text and "injection" in problem.text


def test_line_breaks_in_the_body_are_fine(tmp_path):
    draft = render(tmp_path, MENTOR_TEMPLATE, note="Line one.\r\nLine two.")
    assert "Line one.\nLine two." in draft.text


def test_attachments_relative_to_template_and_missing_ones(tmp_path):
    (tmp_path / "templates" / "cv").mkdir(parents=True)
    (tmp_path / "templates" / "cv" / "CV.pdf").write_bytes(b"%PDF-1.4 fake")
    text = 'Subject: x\nAttachments: cv/{{ cv_file | default("CV.pdf") }}\n\nbody\n'
    draft = render(tmp_path, text, cv_file="")
    assert [p.name for p in draft.attachments] == ["CV.pdf"]
    with pytest.raises(RenderError, match="attachment 'cv/Other.pdf' not found"):
        render(tmp_path, text, cv_file="Other.pdf")


def test_commented_header_line_is_skipped(tmp_path):
    draft = render(tmp_path, "Subject: x\n{# Attachments: cv/{{ missing }} #}\n\nbody\n")
    assert draft.attachments == []


def test_empty_subject_is_an_error(tmp_path):
    with pytest.raises(RenderError, match="subject is empty"):
        render(tmp_path, "Subject: {{ topic }}\n\nbody\n", topic="")


def test_invalid_address_in_to_header(tmp_path):
    with pytest.raises(RenderError, match="To address"):
        render(tmp_path, "Subject: x\nTo: {{ first_name }}\n\nbody\n")


def test_variables_and_optional_ones(tmp_path):
    template = Template(template_file(tmp_path, 'Subject: {{ topic }}\n\n{{ note }} {{ cv | default("x") }}\n'))
    assert template.variables == {"topic", "note", "cv"}
    assert template.optional == {"cv"}


def test_markdown_body_becomes_text_and_html_alternative(tmp_path):
    draft = render(tmp_path, "Subject: x\nContent-Type: text/markdown\n\nHello **{{ first_name }}** <b>raw</b>\n")
    envelope = Envelope("<1@example.org>", datetime.now(timezone.utc))
    message = build_message(draft, parse_sender("A <a@example.org>"), envelope)
    parsed = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
    assert parsed.get_content_type() == "multipart/alternative"
    html = parsed.get_body(("html",)).get_content()
    assert "<strong>Jia</strong>" in html and "&lt;b&gt;raw&lt;/b&gt;" in html  # raw HTML is escaped
    assert "**Jia**" in parsed.get_body(("plain",)).get_content()


@pytest.mark.parametrize("expression, message", [
    ("lipsum(10**6)", "undefined variable 'lipsum'"),  # removed: it would render for minutes
    ("range(10**9)|list", "Range too big"),
])
def test_runaway_builtins_are_refused_quickly(tmp_path, expression, message):
    with pytest.raises(RenderError, match=message):
        render(tmp_path, "Subject: x\n\n{{ " + expression + " }}\n")


def test_every_character_that_breaks_a_line_is_unprintable():
    """So printable text is known to hold none without the expression (templates.breaks_line)."""
    every = "".join(chr(code) for code in range(0x110000) if not 0xD800 <= code < 0xE000)
    found = LINE_BREAKS.findall(every)
    assert len(found) == 11 and not any(char.isprintable() for char in found)
    assert not breaks_line("Dear Dr. Chen, about stroke imaging") and breaks_line("Dear\u2028Bcc: x@example.org")
