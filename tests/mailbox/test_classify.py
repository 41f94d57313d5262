"""outreach.mailbox.classify: what an incoming message is, from its bytes alone (no server, no store)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outreach.mailbox.classify import (
    base_subject,
    classify,
    is_reply_subject,
    parse_headers,
    parse_message,
    return_date,
)
from tests import mail_samples as samples

SENT = samples.outgoing("j.chen@example.edu")
BACK = date.today() + timedelta(days=20)

CASES = [
    # builder, kind, failed recipient expected, original Message-ID found inside, status
    (samples.gmail_reply, "reply", False, False, None),
    (samples.outlook_reply, "reply", False, False, None),
    (samples.apple_mail_reply, "reply", False, False, None),
    (samples.subject_only_reply, "reply", False, False, None),
    (lambda s: samples.gmail_vacation(s, BACK), "auto-reply", False, False, None),
    (lambda s: samples.outlook_ooo_english(s, BACK), "auto-reply", False, False, None),
    (lambda s: samples.outlook_ooo_german(s, BACK), "auto-reply", False, False, None),
    (lambda s: samples.french_ooo(s, BACK), "auto-reply", False, False, None),
    (lambda s: samples.spanish_ooo(s, BACK), "auto-reply", False, False, None),
    (samples.sieve_vacation, "auto-reply", False, False, None),
    (samples.postfix_bounce, "bounce", True, True, "5.1.1"),
    (samples.postfix_delay, "delayed", True, True, "4.4.1"),
    (samples.exim_bounce, "bounce", True, True, "5.1.1"),
    (samples.exim_delay, "delayed", True, False, "4.7.1"),
    (samples.exchange_bounce, "bounce", True, True, "5.1.10"),
    (samples.exchange_delay, "delayed", True, True, "4.4.7"),
    (samples.gmail_bounce, "bounce", True, True, "5.1.1"),
    (samples.gmail_delay, "delayed", True, True, "4.4.1"),
    (samples.qmail_bounce, "bounce", True, True, "5.1.1"),
    (samples.arf_complaint, "complaint", True, True, None),
]


@pytest.mark.parametrize("build, kind, failed, original, status", CASES,
                         ids=[getattr(c[0], "__name__", "x") + f"-{c[1]}" for c in CASES])
def test_samples_are_classified(build, kind, failed, original, status):
    verdict = classify(parse_message(build(SENT)))
    assert verdict.kind == kind, verdict.reason
    assert verdict.failed == ((SENT.to,) if failed else ())
    assert (SENT.message_id in verdict.original_ids) == original
    assert verdict.status == status
    if kind == "auto-reply" and build is not samples.sieve_vacation:
        assert verdict.until == BACK
    if kind in ("reply", "auto-reply"):
        assert verdict.sender.endswith("example.edu")


@pytest.mark.parametrize("raw, kind", [
    (samples.newsletter(), "other"),          # Precedence: bulk, but an answer to nothing
    (samples.personal(), "other"),
    (samples.unrelated_reply(), "reply"),     # a reply, just not to us: matching decides
    (samples.stranger_ooo(), "auto-reply"),
    (samples.own_copy(SENT), "other"),
], ids=["newsletter", "personal", "unrelated-reply", "stranger-ooo", "own-copy"])
def test_unrelated_mail_is_classified_on_its_own_terms(raw, kind):
    assert classify(parse_message(raw)).kind == kind


def test_headers_alone_are_enough_for_a_reply():
    raw = samples.gmail_reply(SENT)
    verdict = classify(parse_headers(raw.split(b"\r\n\r\n")[0] + b"\r\n\r\n"))
    assert verdict.kind == "reply" and verdict.thread_ids == (SENT.message_id,)


def test_a_read_receipt_and_a_success_notice_are_not_bounces():
    receipt = (b"From: j.chen@example.edu\r\nSubject: Read: Hello\r\nMIME-Version: 1.0\r\n"
               b"Content-Type: multipart/report; report-type=disposition-notification; boundary=b\r\n\r\n"
               b"--b\r\nContent-Type: text/plain\r\n\r\nYour message was read.\r\n--b\r\n"
               b"Content-Type: message/disposition-notification\r\n\r\nFinal-Recipient: rfc822; j.chen@example.edu\r\n"
               b"Disposition: manual-action/MDN-sent-manually; displayed\r\n--b--\r\n")
    assert classify(parse_message(receipt)).kind == "other"
    delivered = samples.postfix_bounce(SENT).replace(b"Action: failed", b"Action: delivered") \
        .replace(b"Status: 5.1.1", b"Status: 2.0.0") \
        .replace(b"Undelivered Mail Returned to Sender", b"Successful Mail Delivery Report")
    verdict = classify(parse_message(delivered))
    assert verdict.kind == "other" and "delivered" in verdict.reason


def test_a_gmail_bounce_after_retries_is_a_failure_even_with_a_4xx_status():
    expired = samples.gmail_bounce(SENT).replace(b"Status: 5.1.1", b"Status: 4.4.7")
    verdict = classify(parse_message(expired))
    assert (verdict.kind, verdict.status) == ("bounce", "4.4.7")


def test_a_base64_delivery_status_part_is_still_read():
    import base64

    raw = samples.postfix_bounce(SENT)
    start = raw.index(b"Content-Type: message/delivery-status\r\n\r\n") + len(b"Content-Type: message/delivery-status\r\n\r\n")
    end = raw.index(b"\r\n--", start)
    body = base64.encodebytes(raw[start:end].replace(b"\r\n", b"\n")).replace(b"\n", b"\r\n")
    raw = (raw[:start - 2] + b"Content-Transfer-Encoding: base64\r\n\r\n" + body + raw[end:])
    verdict = classify(parse_message(raw))
    assert verdict.kind == "bounce" and verdict.failed == (SENT.to,) and verdict.status == "5.1.1"


def test_an_encoded_out_of_office_subject_is_recognised():
    raw = (b"From: k.lee@example.kr\r\nTo: asha.rao@example.org\r\nMessage-ID: <x@example.kr>\r\n"
           b"Subject: =?utf-8?b?7J6Q64+ZIOydkeuLtTogSGVsbG8=?=\r\n\r\nI am away.\r\n")
    verdict = classify(parse_message(raw))
    assert verdict.kind == "auto-reply" and "자동 응답" in verdict.reason


REFERENCE = date(2026, 12, 16)  # a Wednesday


@pytest.mark.parametrize("text, expected", [
    ("I am out of the office until Monday, January 12, 2027 with limited access.", date(2027, 1, 12)),
    ("Thanks for your email. I'll be back on 3 March.", date(2027, 3, 3)),
    ("I'm away from the 5th to 12 January and will reply then.", date(2027, 1, 12)),
    ("Out from December 20 - January 4.", date(2027, 1, 4)),
    ("Returning 2027-01-08.", date(2027, 1, 8)),
    ("I am travelling until 01/05/2027.", date(2027, 1, 5)),          # English: month first
    ("Ich bin bis zum 15.01.2027 nicht im Büro.", date(2027, 1, 15)),
    ("Ich bin bis 12. Januar nicht erreichbar.", date(2027, 1, 12)),   # no year: the next 12 January
    ("Ab dem 08.01. bin ich wieder im Büro.", date(2027, 1, 8)),
    ("Je suis absente jusqu'au 1er février 2027.", date(2027, 2, 1)),
    ("Je serai de retour le 6 janvier.", date(2027, 1, 6)),
    ("Estaré fuera de la oficina hasta el 20 de enero de 2027.", date(2027, 1, 20)),
    ("Sono fuori sede fino al 7 gennaio 2027.", date(2027, 1, 7)),
    ("Estou ausente até 10/01/2027.", date(2027, 1, 10)),                # day first outside English
    ("I will be back on Monday.", date(2026, 12, 21)),
    ("I am on leave with no return date.", None),
    ("I was out until December 1.", None),                              # in the past: not a return date
    ("Please call 555-1234 or see room 12.3.", None),
])
def test_return_dates(text, expected):
    assert return_date(text, REFERENCE) == expected


@pytest.mark.parametrize("subject, base, reply", [
    ("Re: Prospective IMG collaborator", "prospective img collaborator", True),
    ("RE: RE:  Prospective   IMG collaborator", "prospective img collaborator", True),
    ("AW: Prospective IMG collaborator", "prospective img collaborator", True),
    ("Automatic reply: Prospective IMG collaborator", "prospective img collaborator", False),
    ("Réponse automatique : Prospective IMG collaborator", "prospective img collaborator", False),
    ("Fwd: Prospective IMG collaborator", "prospective img collaborator", False),
    ("Prospective IMG collaborator", "prospective img collaborator", False),
    ("Regarding the project", "regarding the project", False),
])
def test_subjects(subject, base, reply):
    assert base_subject(subject) == base
    assert is_reply_subject(subject) == reply


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_any_bytes_classify_without_error(raw):
    assert classify(parse_message(raw)).kind in ("reply", "auto-reply", "bounce", "delayed", "complaint", "other")


SAMPLES = [build(SENT) for build, *_ in CASES]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(SAMPLES), st.floats(0, 1), st.integers(1, 400), st.binary(max_size=40))
def test_damaged_samples_classify_without_error(raw, where, length, junk):
    start = int(where * (len(raw) - 1))
    raw = raw[:start] + junk + raw[start + length:]
    assert classify(parse_message(raw)).kind in ("reply", "auto-reply", "bounce", "delayed", "complaint", "other")
