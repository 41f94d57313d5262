"""Issue 15, path 8: a delivery report that names a contact but points at none of our messages.

Anyone who knows the list can write one ("your message to dr0@example.edu could not be
delivered"), so it must not silence the contact for good. It is recorded and shown (sync, status),
suppresses nobody, holds no follow-up and no later campaign; `outreach mark ADDRESS bounced`
(or `opted-out`, for a complaint) confirms it. The same report quoting a Message-ID we sent
suppresses as before. Built from the real report shapes in tests/mail_samples.py.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from outreach.store import Store
from tests import mail_samples as samples
from tests.helpers import write_mbox

FOLLOW_UP = "Subject: Re: {{ original.subject }}\nKind: follow-up\n\nDear colleague,\n\nFollowing up.\n\nAsha Rao\n"
BOUNCES = [samples.postfix_bounce, samples.exim_bounce, samples.exchange_bounce, samples.gmail_bounce,
           samples.qmail_bounce]
REPORTS = [*BOUNCES, samples.arf_complaint]
TARGET, OTHER = "dr0@example.edu", "dr1@example.edu"


def forged(report, sent: samples.Sent) -> bytes:
    """``report`` about a message to ``sent.to`` that we never sent: it quotes someone else's Message-ID."""
    theirs = samples.outgoing(sent.to, sent.subject, message_id=f"<{uuid.uuid4().hex}@forger.example>")
    return report(theirs)


def kind_of(report) -> str:
    return "complaint" if report is samples.arf_complaint else "bounce"


def confirming_mark(report) -> str:
    return "opted-out" if report is samples.arf_complaint else "bounced"


@pytest.fixture
def sent(record_sent, workspace, monkeypatch):
    """Two contacts written to; the clock eight days on, so that both are due a follow-up."""
    target, other = record_sent(samples.outgoing(TARGET), samples.outgoing(OTHER))
    (workspace / "fu.txt").write_text(FOLLOW_UP, encoding="utf-8")
    later = datetime.now(timezone.utc) + timedelta(days=8)
    monkeypatch.setenv("OUTREACH_NOW", later.strftime("%Y-%m-%dT%H:%M:%SZ"))
    monkeypatch.setenv("OUTREACH_SYNC_MAX_AGE", "9d")
    return target, other


def sync(invoke, workspace, *messages: bytes):
    export = write_mbox(workspace / f"export-{uuid.uuid4().hex[:6]}.mbox", list(messages))
    return invoke("sync", "--mbox", export)


def status_of(invoke, address: str) -> dict:
    return next(s for s in json.loads(invoke("status", "--json").output) if s["address"] == address)


def due(invoke) -> list[str]:
    result = invoke("followup", "fall-mentors", "--template", "fu.txt", "--dry-run", "--json")
    assert result.exit_code == 0, result.output
    return sorted(item["address"] for item in json.loads(result.stdout)["due"])


@pytest.mark.parametrize("report", REPORTS, ids=lambda r: r.__name__)
def test_a_report_that_quotes_none_of_our_message_ids_is_shown_but_silences_nobody(sent, report, workspace,
                                                                                   invoke):
    target, _ = sent
    result = sync(invoke, workspace, forged(report, target))
    assert result.exit_code == 1, result.output  # a warning: something to look at
    kind, mark = kind_of(report), confirming_mark(report)
    assert f"unconfirmed-{kind} {TARGET}" in result.output
    assert f"names {TARGET} but quotes none of our Message-IDs" in result.output
    assert f"`outreach mark {TARGET} {mark}`" in result.output

    store = Store(workspace / "outreach.db")
    [event] = store.mailbox_events()
    assert (event["address"], event["kind"], event["strength"]) == (TARGET, f"unconfirmed-{kind}", "address")
    assert store.suppressed() == {} and store.suppression(TARGET) is None

    status = status_of(invoke, TARGET)
    assert status["next_action"].startswith("follow-up due now"), status
    words = "bounce report" if kind == "bounce" else "spam complaint"
    assert status["next_action"].endswith(f"; unconfirmed {words} (no Message-ID of ours): "
                                          f"`outreach mark {TARGET} {mark}` to confirm")
    assert status["last_event"].startswith(f"unconfirmed-{kind} ")
    assert due(invoke) == sorted([TARGET, OTHER])  # still followed up
    report_totals = json.loads(invoke("report", "--json").output)["campaigns"][0]["totals"]
    assert report_totals["bounced"] == 0


@pytest.mark.parametrize("report", REPORTS, ids=lambda r: r.__name__)
def test_the_same_report_quoting_our_message_id_suppresses(sent, report, workspace, invoke):
    target, _ = sent
    result = sync(invoke, workspace, report(target))
    assert result.exit_code == 0, result.output
    assert "unconfirmed" not in result.output and "quotes none" not in result.output
    store = Store(workspace / "outreach.db")
    assert [(e["kind"], e["strength"]) for e in store.mailbox_events()] == [(kind_of(report), "dsn")]
    assert list(store.suppressed()) == [TARGET]
    assert status_of(invoke, TARGET)["next_action"].startswith("none: ")
    assert due(invoke) == [OTHER]


@pytest.mark.parametrize("report", REPORTS, ids=lambda r: r.__name__)
def test_the_user_confirms_an_unconfirmed_report_with_mark(sent, report, workspace, invoke):
    target, _ = sent
    sync(invoke, workspace, forged(report, target))
    mark = confirming_mark(report)
    result = invoke("mark", TARGET, mark)
    assert result.exit_code == 0, result.output
    assert f"{TARGET} is on the suppression list" in result.output
    assert TARGET in Store(workspace / "outreach.db").suppressed()
    next_action = status_of(invoke, TARGET)["next_action"]
    assert next_action.startswith("none: ") and "unconfirmed" not in next_action
    assert due(invoke) == [OTHER]

    assert invoke("mark", TARGET, mark, "--undo").exit_code == 0  # a mistake: taken back
    assert Store(workspace / "outreach.db").suppressed() == {}
    assert due(invoke) == sorted([TARGET, OTHER])


def test_an_unconfirmed_report_does_not_hold_the_contact_in_a_later_campaign(sent, workspace, invoke,
                                                                              monkeypatch):
    target, _ = sent
    sync(invoke, workspace, forged(samples.postfix_bounce, target), forged(samples.arf_complaint, target))
    (workspace / "t.txt").write_text("Subject: Spring\n\nDear colleague,\n\nHello.\n\nAsha Rao\n", encoding="utf-8")
    (workspace / "spring.csv").write_text(f"email\n{TARGET}\n", encoding="utf-8")
    later = datetime.now(timezone.utc) + timedelta(days=60)  # past --recent-days
    monkeypatch.setenv("OUTREACH_NOW", later.strftime("%Y-%m-%dT%H:%M:%SZ"))
    result = invoke("draft", "t.txt", "spring.csv", "--campaign", "spring")
    assert result.exit_code == 0, result.output
    assert (workspace / "drafts" / "spring" / f"{TARGET}.eml").exists()

    assert invoke("mark", TARGET, "bounced", "--campaign", "fall-mentors").exit_code == 0
    result = invoke("draft", "t.txt", "spring.csv", "--campaign", "autumn")
    assert not (workspace / "drafts" / "autumn" / f"{TARGET}.eml").exists(), result.output
    assert f"skipped {TARGET}: " in result.output, result.output


def test_a_delivery_report_that_answers_our_message_by_its_headers_suppresses(sent, workspace, invoke):
    """No Message-ID of ours inside, but In-Reply-To points at our message: it is about ours."""
    target, _ = sent
    raw = forged(samples.postfix_bounce, target).replace(
        b"Subject: Undelivered", f"In-Reply-To: {target.message_id}\r\nSubject: Undelivered".encode(), 1)
    assert sync(invoke, workspace, raw).exit_code == 0
    store = Store(workspace / "outreach.db")
    assert [(e["kind"], e["strength"]) for e in store.mailbox_events()] == [("bounce", "header")]
    assert list(store.suppressed()) == [TARGET]
