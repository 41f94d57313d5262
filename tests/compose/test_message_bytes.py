"""`draft` writes the usual message without the email package (message.message_bytes); here random
drafts are written both ways and the bytes must be the same, or both refused alike."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.headerregistry import Address

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outreach.compose import message
from outreach.compose.contacts import Contact
from outreach.compose.templates import Draft
from outreach.config import parse_sender
from outreach.errors import UserError

SENDER = parse_sender("Asha Rao <asha.rao@example.org>")

texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=300)
names = (texts.filter(lambda t: len(t) < 90) | st.sampled_from(
    ["Jia Chen", "Dr. O'Neil", 'García, José "Pepe"', "=?utf-8?q?X?=", "Who?", "x" * 80, ""])).map(
    lambda name: name.replace("\r", " ").replace("\n", " "))
users = st.sampled_from(["j.chen", "a", "o'neil", "x=y", "first.last", "a" * 60])
domains = st.sampled_from(["example.edu", "med.example.org", "xn--univ-epa.fr", "a" * 50 + ".example.org"])
mailboxes = st.builds(lambda name, user, domain: Address(name, user, domain), names, users, domains)
subjects = (texts | st.sampled_from(["Stroke imaging", "Imagerie cérébrale", "a " * 60, "x" * 100])).map(
    lambda s: s.strip() or "x")
bodies = texts | st.sampled_from(["", "Hi\n", "Hi", "a\r\nb\rc\n\n", "x" * 1200 + "\nend", "é" * 200,
                                  "line\x0bbreak\u2028here\n", "=3D and =\n trailing space \n", "From me\n"])
message_ids = st.sampled_from(["<abc@example.org>", "<1a2b.3c@mail.example.edu>", '<"odd"@example.org>',
                               "<" + "a" * 70 + "@example.org>", "<x=?y@example.org>", "<a@[127.0.0.1]>"])
dates = st.builds(lambda seconds, minutes: datetime(2026, 11, 1, tzinfo=timezone(timedelta(minutes=minutes)))
                  + timedelta(seconds=seconds),
                  st.integers(0, 10**8), st.integers(-14 * 60, 14 * 60))


def make_draft(to, cc, subject, text) -> Draft:
    return Draft(contact=Contact(2, {}, to[0].addr_spec), subject=subject, to=to, cc=cc, text=text)


def both_ways(draft, message_id, date, in_reply_to=None, references=(), unsent=False):
    """(the fast bytes, the email package's bytes); a refusal as the UserError's text."""
    def run(write):
        try:
            return write()
        except UserError as e:
            return str(e)
    envelope = message.Envelope(message_id, date, in_reply_to=in_reply_to, references=references, unsent=unsent)
    fast = run(lambda: message.message_bytes(draft, SENDER, envelope))
    full = run(lambda: message.build_message(draft, SENDER, envelope).as_bytes())
    return fast, full


@settings(max_examples=400, deadline=None)
@given(st.lists(mailboxes, min_size=1, max_size=2), st.lists(mailboxes, max_size=1), subjects, bodies, message_ids,
       dates, st.none() | message_ids, st.lists(message_ids, max_size=2), st.booleans())
def test_the_fast_writer_writes_what_the_email_package_writes(to, cc, subject, text, message_id, date, in_reply_to,
                                                                references, unsent):
    draft = make_draft(to, cc, subject, text)
    fast, full = both_ways(draft, message_id, date, in_reply_to, tuple(references), unsent)
    assert fast == full


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["Jia Chen", "Ana María Pérez", "O'Neil", "Dr. Lee"]), subjects, bodies, dates, st.booleans())
def test_the_usual_message_is_written_without_the_email_package(name, subject, text, date, unsent):
    draft = make_draft([Address(name, "j.chen", "example.edu")], [], subject, text)
    envelope = message.Envelope("<abc@example.org>", date, unsent=unsent)
    fast = message._plain_message(draft, SENDER, envelope)
    assert fast is not None
    assert fast == message.build_message(draft, SENDER, envelope).as_bytes()


def test_what_it_does_not_prove_goes_to_the_email_package(tmp_path):
    plain = make_draft([Address("Jia Chen", "j.chen", "example.edu")], [], "Hi", "Hello\n")
    when = datetime(2026, 11, 1, tzinfo=timezone.utc)
    plain_envelope = message.Envelope("<abc@example.org>", when)
    assert message._plain_message(plain, SENDER, plain_envelope) is not None
    assert message._plain_message(plain, SENDER, message.Envelope('<"odd"@example.org>', when)) is None
    long_reply = message.Envelope("<abc@example.org>", when, in_reply_to="<" + "r" * 80 + "@x.org>")
    assert message._plain_message(plain, SENDER, long_reply) is None  # In-Reply-To would be folded
    unproven = make_draft([Address("Who?", "j.chen", "example.edu")], [], "Hi", "Hello\n")
    assert message._plain_message(unproven, SENDER, plain_envelope) is None
    attached = tmp_path / "cv.pdf"
    attached.write_bytes(b"%PDF")
    with_file = make_draft([Address("Jia Chen", "j.chen", "example.edu")], [], "Hi", "Hello\n")
    with_file.attachments = [attached]
    assert message._plain_message(with_file, SENDER, plain_envelope) is None
    assert message.message_bytes(with_file, SENDER, plain_envelope).count(b"cv.pdf") == 1


def test_a_header_that_would_change_is_refused_by_both():
    draft = make_draft([Address("Jia Chen", "j.chen", "example.edu")], [], "Hi", "Hello\n")
    draft.to = [Address("Jia Chen", "j.chen", "example.edu")]
    draft.subject = "Hi"
    with pytest.MonkeyPatch.context() as patch:  # a writer that lost a recipient on the way
        patch.setattr(message.headers, "user_headers",
                      lambda d, s, real=message.headers.user_headers: [
                          w._replace(lines=["To: x@example.edu"], reads_as=("x@example.edu",)) if w.name == "To"
                          else w for w in real(d, s)])
        fast, full = both_ways(draft, "<abc@example.org>", datetime(2026, 11, 1, tzinfo=timezone.utc))
    assert isinstance(fast, str) and "To header would not read back" in fast
