"""Issue 16.15: bounces and complaints from every mail system. Each format outside RFC 3464 that
the corpus measurement missed (bench/bounces.py) has a synthetic sample built from its published
structure (tests/mail_samples.py); `classify` recognises each, `sync` records and matches it, and
look-alikes written by people stay what they are."""

from __future__ import annotations

import json

from tests import mail_samples as samples
from tests.helpers import write_mbox

SENT = samples.outgoing("dr.chen@example.edu")


def classified(invoke, workspace, messages: dict[str, bytes]) -> dict[str, dict]:
    for name, raw in messages.items():
        (workspace / f"{name}.eml").write_bytes(raw)
    result = invoke("classify", "--json", *(f"{name}.eml" for name in messages))
    assert result.exit_code == 0, result.output
    return {row["file"].removesuffix(".eml"): row for row in map(json.loads, result.output.splitlines())}


def test_each_format_is_recognised(invoke, workspace):
    rows = classified(invoke, workspace, {
        "ses-bounce": samples.ses_notification(SENT),
        "ses-bounce-sns-envelope": samples.ses_notification(SENT, envelope=True),
        "ses-bounce-event": samples.ses_notification(SENT, event_publishing=True),
        "ses-transient": samples.ses_notification(SENT, bounce_type="Transient"),
        "ses-complaint": samples.ses_notification(SENT, "Complaint"),
        "ses-delivery": samples.ses_notification(SENT, "Delivery"),
        "jmrp": samples.jmrp_complaint(SENT),
        "sendgrid-expired": samples.sendgrid_expired(SENT),
        "apache-james": samples.apache_james_bounce(SENT),
        "null-sender": samples.null_sender_notice(SENT),
        "opensmtpd": samples.opensmtpd_bounce(SENT),
        "mmsc": samples.mmsc_ndr(SENT),
    })
    kinds = {name: (row["kind"], row["address"], row["status"]) for name, row in rows.items()}
    assert kinds == {
        "ses-bounce": ("bounce", SENT.to, "5.1.1"),
        "ses-bounce-sns-envelope": ("bounce", SENT.to, "5.1.1"),
        "ses-bounce-event": ("bounce", SENT.to, "5.1.1"),
        "ses-transient": ("bounce", SENT.to, "4.0.0"),  # not about the address: suppresses nobody
        "ses-complaint": ("complaint", SENT.to, None),
        "ses-delivery": ("other", "no-reply@sns.amazonaws.com", "2.6.0"),  # a success notice: recognised, not recorded
        "jmrp": ("complaint", SENT.to, None),
        "sendgrid-expired": ("bounce", SENT.to, None),
        "apache-james": ("bounce", "post_master@gateway.example.net", None),  # names no address: matched by thread
        "null-sender": ("bounce", None, None),  # names no address: the original's Message-ID matches it
        "opensmtpd": ("bounce", "mailer-daemon@mx.example.net", None),
        "mmsc": ("bounce", "sysadmin@mms.example.net", None),
    }
    for name in ("ses-bounce", "ses-complaint", "jmrp", "sendgrid-expired", "null-sender"):
        assert rows[name]["original_message_ids"] == [SENT.message_id], name
    assert "Amazon SES, Permanent bounce" in rows["ses-bounce"]["reason"]
    assert "550 5.1.1 user unknown" in rows["ses-bounce"]["diagnostic"]
    assert "Microsoft JMRP" in rows["jmrp"]["reason"]


def test_sync_records_them_against_the_message_sent(workspace, record_sent, invoke):
    ses, jmrp, james, gateway, smtpd = record_sent(*(samples.outgoing(f"dr{i}@example.edu") for i in range(5)))
    export = write_mbox(workspace / "reports.mbox", [
        samples.ses_notification(ses, envelope=True), samples.jmrp_complaint(jmrp), samples.apache_james_bounce(james),
        samples.null_sender_notice(gateway), samples.opensmtpd_bounce(smtpd), samples.ses_notification(ses, "Delivery"),
    ])
    result = invoke("sync", "--mbox", export, "--json")
    events = {e["address"]: e for e in json.loads(result.output)["events"]}
    assert {a: (e["kind"], e["strength"]) for a, e in events.items()} == {
        ses.to: ("bounce", "dsn"), jmrp.to: ("complaint", "dsn"), james.to: ("bounce", "header"),
        gateway.to: ("bounce", "dsn"),
        smtpd.to: ("unconfirmed-bounce", "address"),  # names the address only: anyone could write that
    }
    assert [events[a]["suppressed"] for a in (ses.to, jmrp.to, james.to, gateway.to, smtpd.to)] == [
        [ses.to], [jmrp.to], [james.to], [gateway.to], []]
    assert result.exit_code == 1  # the unconfirmed report is a warning naming `outreach mark`


def test_people_writing_like_these_formats_are_still_people(invoke, workspace):
    """The new formats are believed only from mail systems: a person's message with the same
    subject, JSON or quoted SMTP reply stays a reply."""
    person_json = samples.ses_notification(SENT).replace(
        b"From: AWS Notifications <no-reply@sns.amazonaws.com>", b"From: Jane Chen <dr.chen@example.edu>")
    quoting = samples.gmail_reply(SENT, body="Hi Asha, your first message bounced for me with\n"
                                             "550 5.1.1 user unknown, so I am writing from this address.\nJane")
    forwarded_complaint = samples.jmrp_complaint(SENT).replace(
        b"From: staff@hotmail.com", b"From: Jane Chen <dr.chen@example.edu>").replace(
        b"Subject: complaint about message from 192.0.2.25", b"Subject: Fwd: look at this")
    rows = classified(invoke, workspace, {"json": person_json, "quoting": quoting, "forwarded": forwarded_complaint})
    assert {name: row["kind"] for name, row in rows.items()} == {"json": "other", "quoting": "reply",
                                                                  "forwarded": "other"}
