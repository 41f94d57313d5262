import email
import email.policy
from datetime import datetime, timezone
from email.headerregistry import Address

from outreach.compose.contacts import Contact
from outreach.compose.message import Envelope, build_message, make_message_id
from outreach.compose.templates import Draft
from outreach.config import parse_sender

SENDER = parse_sender("Asha Rao <asha.rao@example.org>")


def parse(message):
    return email.message_from_bytes(message.as_bytes(), policy=email.policy.default)


def draft(**overrides):
    values = dict(contact=Contact(2, {}, "jose@example.edu"), subject="Gracias por la entrevista",
                  to=[Address("José García", addr_spec="jose@example.edu")], text="Hola José,\n\nGracias.\n")
    values.update(overrides)
    return Draft(**values)


def test_non_ascii_display_name_round_trips():
    raw = build_message(draft(), SENDER, Envelope("<x@example.org>", datetime.now(timezone.utc))).as_bytes()
    assert raw.isascii()  # encoded words and quoted-printable: safe through any relay
    parsed = parse(build_message(draft(), SENDER, Envelope("<x@example.org>", datetime.now(timezone.utc))))
    [to] = parsed["To"].addresses
    assert (to.display_name, to.addr_spec) == ("José García", "jose@example.edu")
    assert parsed.get_content().replace("\r\n", "\n") == "Hola José,\n\nGracias.\n"


def test_display_names_with_specials_stay_parseable():
    tricky = [Address('García, José "Pepe"', addr_spec="jose@example.edu"), Address("Dr. O'Neil", addr_spec="o@example.edu")]
    envelope = Envelope("<x@example.org>", datetime.now(timezone.utc))
    parsed = parse(build_message(draft(to=tricky), SENDER, envelope))
    assert [(a.display_name, a.addr_spec) for a in parsed["To"].addresses] == [
        ('García, José "Pepe"', "jose@example.edu"), ("Dr. O'Neil", "o@example.edu")]


def test_message_id_on_sender_domain_date_and_threading():
    message_id = make_message_id(SENDER)
    assert message_id.startswith("<") and message_id.endswith("@example.org>")
    assert make_message_id(SENDER) != message_id
    when = datetime(2026, 11, 22, 9, 30, tzinfo=timezone.utc)
    parsed = parse(build_message(draft(), SENDER, Envelope(message_id, when, in_reply_to="<orig@example.org>",
                                                           references=("<root@example.org>",))))
    assert parsed["Message-ID"] == message_id
    assert parsed["Date"].datetime == when
    assert parsed["In-Reply-To"] == "<orig@example.org>"
    assert parsed["References"] == "<root@example.org> <orig@example.org>"
    assert parsed["X-Unsent"] is None


def test_drafts_are_marked_unsent_for_outlook():
    parsed = parse(build_message(draft(), SENDER, Envelope("<x@example.org>", datetime.now(timezone.utc), unsent=True)))
    assert parsed["X-Unsent"] == "1"


def test_attachment_is_attached_with_guessed_type(tmp_path):
    pdf = tmp_path / "CV.pdf"
    pdf.write_bytes(b"%PDF-1.4 fake")
    envelope = Envelope("<x@example.org>", datetime.now(timezone.utc))
    parsed = parse(build_message(draft(attachments=[pdf]), SENDER, envelope))
    [part] = list(parsed.iter_attachments())
    assert part.get_content_type() == "application/pdf" and part.get_filename() == "CV.pdf"
    assert part.get_content() == b"%PDF-1.4 fake"


def test_long_non_ascii_subject_keeps_its_spaces():
    # CPython 3.11 folding at 78 columns turned "医院 José" into "医院José"; see message.POLICY.
    subject = "José é Ω Nguyễn Ω São 北京 医院 José cardíaca MRI Ω MRI cardíaca Ærø stroke García"
    envelope = Envelope("<x@example.org>", datetime.now(timezone.utc))
    parsed = parse(build_message(draft(subject=subject), SENDER, envelope))
    assert parsed["Subject"] == subject


def test_every_line_of_a_follow_up_with_a_long_file_name_stays_within_78(tmp_path):
    pdf = tmp_path / ("Lebenslauf_Jürgen_Müller-Lüdenscheidt_Universitätsklinikum_Köln_" * 2 + ".pdf")
    pdf.write_bytes(b"%PDF-1.4")
    references = tuple(f"<{i}{'y' * 40}@example.org>" for i in range(4))
    message = build_message(draft(attachments=[pdf], text="Grüße, " + "eine lange Zeile mit Umlauten äöü " * 10),
                            SENDER, Envelope("<x@example.org>", datetime.now(timezone.utc),
                                             in_reply_to="<first@example.org>", references=references))
    raw = message.as_bytes()
    assert max(len(line) for line in raw.split(b"\r\n")) <= 78
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["References"].split() == [*references, "<first@example.org>"]
    assert [part.get_filename() for part in parsed.iter_attachments()] == [pdf.name]
