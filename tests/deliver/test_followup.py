"""Follow-ups: who is due, why the others are not, and the threaded drafts they get."""

from __future__ import annotations

import email
import email.policy
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from outreach.store import Store
from outreach.track.threads import DUE, NONE, WAIT, next_action, select
from tests.seed import add_event, add_message, message_id, synced

NOW = "2026-11-22T12:00:00Z"
FOLLOW_UP = """Subject: Re: {{ original.subject }}
Kind: follow-up

Dear Dr. {{ last_name }},

I wrote on {{ original.sent_on }} about {{ topic }}; I would still be glad to help.
"""


@pytest.fixture(autouse=True)
def utc(utc_zone):
    """Calendar dates are the user's local ones: pinned to UTC so the expected dates hold."""


@pytest.fixture
def store(workspace):
    s = Store(workspace / "outreach.db")
    yield s
    s.close()


@pytest.fixture
def fu(workspace, monkeypatch):
    """A follow-up template and a fixed clock; the mailbox synced an hour ago."""
    (workspace / "templates").mkdir(exist_ok=True)
    (workspace / "templates" / "follow_up.txt").write_text(FOLLOW_UP)
    monkeypatch.setenv("OUTREACH_NOW", NOW)
    return "templates/follow_up.txt"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def threads(store, campaign="fall"):
    return {t.address: t for t in store.threads(campaign)}


def action(store, address, now=NOW, after=timedelta(days=7), max_followups=1):
    return next_action(threads(store)[address], at(now), after, max_followups)


# -- who is due ------------------------------------------------------------------------------
def test_the_rules(store):
    sent = "2026-11-10T10:00:00Z"
    for name in ("due", "replied", "bounced", "auto", "away", "recent", "optout", "complaint", "delayed",
                 "other-campaign-reply", "marked", "drafted", "failed", "uncertain"):
        add_message(store, "fall", f"{name}@example.edu", sent_at=sent)
    store.db.execute("UPDATE messages SET sent_at='2026-11-20T10:00:00Z' WHERE address='recent@example.edu'")
    for name, state in (("drafted", "drafted"), ("failed", "failed"), ("uncertain", "sending")):
        store.db.execute("UPDATE messages SET state=?, sent_at=NULL WHERE address=?", (state, f"{name}@example.edu"))

    def ev(name, kind, **kw):
        add_event(store, message_id("fall", f"{name}@example.edu"), f"{name}@example.edu", kind,
                  "2026-11-11T09:00:00Z", **kw)

    ev("replied", "reply")
    ev("bounced", "bounce", strength="dsn")
    ev("auto", "auto-reply", detail="Out of the office this week")                    # no date: no effect
    ev("away", "auto-reply", detail={"return_date": "2026-11-30"})
    ev("complaint", "complaint")
    ev("delayed", "delayed")                                                            # not a bounce
    ev("marked", "declined", strength="manual")
    store.suppress("optout@example.edu", "opted-out")
    # A reply from the same person to another campaign, after this one's message: no reminder.
    other = add_message(store, "spring", "other-campaign-reply@example.edu", sent_at="2026-10-01T10:00:00Z")
    add_event(store, other, "other-campaign-reply@example.edu", "reply", "2026-11-12T08:00:00Z")

    got = {address.split("@")[0]: action(store, address) for address in threads(store)}
    assert {n for n, a in got.items() if a.kind == DUE} == {"due", "auto", "delayed"}
    assert got["replied"].text == "none: replied 2026-11-11"
    assert got["bounced"].text == "none: bounced; check the address"
    assert got["away"].kind == WAIT and got["away"].text == "waiting: out of office until 2026-11-30"
    assert got["away"].due == at("2026-12-01T00:00:00Z")
    assert got["recent"].kind == WAIT and got["recent"].text == "follow-up due 2026-11-27"
    assert got["optout"].text == "none: opted out"
    assert got["complaint"].text == "none: complained (spam report)"
    assert got["other-campaign-reply"].kind == NONE
    assert got["marked"].text == "none: replied 2026-11-11"
    assert got["drafted"].text == "send the drafted message"
    assert got["failed"].kind == "retry" and got["uncertain"].kind == "check"
    assert got["due"].text == "follow-up due now (since 2026-11-17)"
    selection = select(threads(store).values(), at(NOW), timedelta(days=7), 1)
    assert "3 due a follow-up; not now:" in selection.summary()
    assert "(next due 2026-11-27)" in selection.summary()


def test_an_earlier_reply_to_another_campaign_does_not_block(store):
    other = add_message(store, "spring", "x@example.edu", sent_at="2026-09-01T10:00:00Z")
    add_event(store, other, "x@example.edu", "reply", "2026-09-03T08:00:00Z")
    add_message(store, "fall", "x@example.edu")
    assert action(store, "x@example.edu").kind == DUE


def test_an_out_of_office_ending_before_the_due_date_changes_nothing(store):
    mid = add_message(store, "fall", "x@example.edu")
    add_event(store, mid, "x@example.edu", "auto-reply", "2026-11-10T11:00:00Z", detail={"return_date": "2026-11-12"})
    assert action(store, "x@example.edu", now="2026-11-16T12:00:00Z").text == "follow-up due 2026-11-17"


def test_return_date_from_plain_text_detail(store):
    mid = add_message(store, "fall", "x@example.edu")
    add_event(store, mid, "x@example.edu", "auto-reply", "2026-11-10T11:00:00Z",
              detail="back on 2026-12-03 (from: Out of Office)")
    got = action(store, "x@example.edu")
    assert got.text == "waiting: out of office until 2026-12-03"
    assert action(store, "x@example.edu", now="2026-12-04T00:00:01Z").kind == DUE


def test_max_follow_ups_and_the_second_one_waits_for_the_first(store):
    add_message(store, "fall", "x@example.edu", sent_at="2026-11-01T10:00:00Z")
    add_message(store, "fall", "x@example.edu", step=1, sent_at="2026-11-18T10:00:00Z")
    assert action(store, "x@example.edu").text == "none: followed up once, no reply yet"
    assert action(store, "x@example.edu", max_followups=2).text == "follow-up due 2026-11-25"
    assert action(store, "x@example.edu", now="2026-11-26T10:00:00Z", max_followups=2).kind == DUE


def test_a_reply_to_the_follow_up_counts(store):
    add_message(store, "fall", "x@example.edu", sent_at="2026-11-01T10:00:00Z")
    second = add_message(store, "fall", "x@example.edu", step=1, sent_at="2026-11-08T10:00:00Z")
    add_event(store, second, "x@example.edu", "reply", "2026-11-09T10:00:00Z")
    assert action(store, "x@example.edu", max_followups=3).text == "none: replied 2026-11-09"


# -- the command -------------------------------------------------------------------------------
def parse(path):
    return email.message_from_bytes(path.read_bytes(), policy=email.policy.default)


def test_followup_drafts_threaded_messages(workspace, store, fu, invoke):
    contact = {"email": "M.Okafor@Example.edu", "last_name": "Okafor", "topic": "stroke imaging"}
    first = add_message(store, "fall", "m.okafor@example.edu", contact=contact, line=2,
                        subject="Prospective IMG collaborator: stroke imaging", sent_at="2026-11-14T15:00:00Z")
    add_message(store, "fall", "replied@example.edu", line=3)
    add_event(store, message_id("fall", "replied@example.edu"), "replied@example.edu", "reply", "2026-11-15T10:00:00Z")
    synced(store, "2026-11-22T11:00:00Z")
    result = invoke("followup", "fall", "--template", fu)
    assert result.exit_code == 0, result.output
    assert "1 due a follow-up; not now: 1 replied" in result.output
    path = workspace / "drafts" / "fall" / "m.okafor@example.edu.followup1.eml"
    msg = parse(path)
    assert msg["Subject"] == "Re: Prospective IMG collaborator: stroke imaging"
    assert msg["In-Reply-To"] == first and msg["References"] == first
    assert msg["To"].addresses[0].addr_spec == "m.okafor@example.edu"  # its identity, where the first one went
    assert msg["X-Unsent"] == "1"
    assert "I wrote on November 14 about stroke imaging" in msg.get_content()
    row = store.get("fall", "m.okafor@example.edu", step=1)
    assert (row.state, row.parent_id, row.transport) == ("drafted", first, "eml")
    assert row.message_id == msg["Message-ID"]
    assert store.get("fall", "replied@example.edu", step=1) is None
    # Again (say, after editing the template): the same draft, the same Message-ID, no step 2.
    result = invoke("followup", "fall", "--template", fu)
    assert result.exit_code == 0, result.output
    assert parse(path)["Message-ID"] == row.message_id
    assert len(list(store.thread("fall", "m.okafor@example.edu"))) == 2


def test_second_follow_up_references_the_whole_thread(workspace, store, fu, invoke):
    first = add_message(store, "fall", "x@example.edu", sent_at="2026-11-01T10:00:00Z")
    second = add_message(store, "fall", "x@example.edu", step=1, sent_at="2026-11-10T10:00:00Z")
    synced(store, "2026-11-22T11:00:00Z")
    result = invoke("followup", "fall", "--template", fu, "--max", "2")
    assert result.exit_code == 0, result.output
    msg = parse(workspace / "drafts" / "fall" / "x@example.edu.followup2.eml")
    assert msg["In-Reply-To"] == second
    assert msg["References"].split() == [first, second]
    assert msg["Subject"] == "Re: Prospective collaborator: chest imaging"  # not "Re: Re:"
    assert store.get("fall", "x@example.edu", step=2).parent_id == second


def test_stale_mailbox_is_refused_in_one_sentence(workspace, store, fu, invoke):
    add_message(store, "fall", "x@example.edu")
    result = invoke("followup", "fall", "--template", fu)
    assert result.exit_code == 2
    assert result.output.startswith("error: the mailbox has never been synced, so a recent reply could be missed: "
                                    "run `outreach sync --mbox FILE` or `outreach sync --maildir DIR` first")
    assert "--no-sync" in result.output and result.output.count("\n") == 1
    synced(store, "2026-11-22T02:00:00Z")  # ten hours ago; the default allows six
    result = invoke("followup", "fall", "--template", fu)
    assert result.exit_code == 2 and "last synced 10 hours ago" in result.output
    (workspace / ".env").write_text((workspace / ".env").read_text() + "OUTREACH_SYNC_MAX_AGE=12h\n")
    assert invoke("followup", "fall", "--template", fu).exit_code == 0
    assert (workspace / "drafts" / "fall" / "x@example.edu.followup1.eml").is_file()


def test_no_sync_overrides_and_dry_run_writes_nothing(workspace, store, fu, invoke):
    add_message(store, "fall", "x@example.edu")
    result = invoke("followup", "fall", "--template", fu, "--no-sync", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "x@example.edu" in result.output and "follow-up due now (since 2026-11-17)" in result.output
    assert not (workspace / "drafts").exists()
    assert store.get("fall", "x@example.edu", step=1) is None


def test_suppressed_addresses_get_no_follow_up(workspace, store, fu, invoke):
    add_message(store, "fall", "x@example.edu")
    add_message(store, "fall", "y@example.edu")
    synced(store, "2026-11-22T11:00:00Z")
    assert invoke("mark", "y@example.edu", "opted-out").exit_code == 0
    result = invoke("followup", "fall", "--template", fu)
    assert "1 due a follow-up; not now: 1 suppressed" in result.output
    assert not (workspace / "drafts" / "fall" / "y@example.edu.followup1.eml").exists()


def test_unknown_campaign_and_missing_store(workspace, fu, invoke):
    result = invoke("followup", "fall", "--template", fu)
    assert result.exit_code == 2 and "no tracking store here" in result.output
    store = Store(workspace / "outreach.db")
    add_message(store, "spring", "x@example.edu")
    result = invoke("followup", "fall", "--template", fu)
    assert result.exit_code == 2
    assert "no campaign 'fall' in the tracking store (known: spring)" in result.output


def test_template_errors_write_nothing(workspace, store, fu, invoke):
    add_message(store, "fall", "x@example.edu", line=2)
    synced(store, "2026-11-22T11:00:00Z")
    (workspace / fu).write_text("Subject: Re: {{ original.subject }}\n\n{{ hospital }}\n")
    result = invoke("followup", "fall", "--template", fu)
    assert result.exit_code == 2
    assert "undefined variable 'hospital'" in result.output
    assert not (workspace / "drafts").exists()


def test_a_subject_without_re_is_a_warning(workspace, store, fu, invoke):
    add_message(store, "fall", "x@example.edu", line=2)
    synced(store, "2026-11-22T11:00:00Z")
    (workspace / fu).write_text("Subject: Following up\nKind: follow-up\n\nHello again.\n")
    result = invoke("followup", "fall", "--template", fu)
    assert result.exit_code == 1
    assert "does not start with 'Re:'" in result.output
    assert parse(workspace / "drafts" / "fall" / "x@example.edu.followup1.eml")["In-Reply-To"]


def test_after_parsing(workspace, store, fu, invoke):
    add_message(store, "fall", "x@example.edu", sent_at="2026-11-21T10:00:00Z")
    result = invoke("followup", "fall", "--template", fu, "--no-sync", "--after", "1d", "--dry-run")
    assert "1 due a follow-up" in result.output
    result = invoke("followup", "fall", "--template", fu, "--no-sync", "--after", "36h", "--dry-run")
    assert "0 due a follow-up; not now: 1 not due yet (next due 2026-11-22)" in result.output
    result = invoke("followup", "fall", "--template", fu, "--no-sync", "--after", "soon")
    assert result.exit_code == 2 and "--after: 'soon' is not a duration" in result.output


def test_followup_as_a_subprocess(workspace, store, fu, run_cli):
    add_message(store, "fall", "x@example.edu")
    synced(store, "2026-11-22T11:00:00Z")
    store.close()
    done = run_cli("followup", "fall", "-t", fu, cwd=workspace, env={"OUTREACH_NOW": NOW, "TZ": "UTC"})
    assert done.returncode == 0, done.stderr
    assert (workspace / "drafts" / "fall" / "x@example.edu.followup1.eml").is_file()
    assert done.stderr == ""


def test_suppressed_by_sync_for_a_hard_bounce_elsewhere(store):
    add_message(store, "fall", "x@example.edu")
    store.suppress("x@example.edu", "bounce 5.1.1: user unknown", "2026-11-11T00:00:00Z")  # as sync records it
    got = action(store, "x@example.edu")
    assert (got.kind, got.text) == (NONE, "none: the address bounced (suppressed)")


def test_an_opt_out_is_named_before_the_reply_it_came_in(store):
    mid = add_message(store, "fall", "x@example.edu")
    add_event(store, mid, "x@example.edu", "opted-out", "2026-11-12T08:00:00Z", strength="manual")
    assert action(store, "x@example.edu").text == "none: opted out"


# -- the safety properties, over arbitrary threads ---------------------------------------------
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from outreach.store import ThreadRow  # noqa: E402

START = datetime(2026, 10, 1, tzinfo=timezone.utc)
times = st.integers(min_value=0, max_value=60).map(
    lambda d: (START + timedelta(days=d, hours=d % 7)).strftime("%Y-%m-%dT%H:%M:%SZ"))
return_dates = st.one_of(st.none(), st.dates(date(2026, 9, 1), date(2027, 3, 1)).map(str))
reasons = st.one_of(st.none(), st.sampled_from(["opted-out", "complaint: abuse", "bounce 5.1.1"]))
states = st.sampled_from(["drafted", "queued", "claimed", "sending", "uncertain", "sent", "failed"])


@st.composite
def thread_rows(draw):
    state = draw(states)
    sent_at = draw(times) if state == "sent" else None
    last_step = draw(st.integers(0, 3)) if state == "sent" else 0
    last_state = draw(states) if last_step else state
    followups = draw(st.integers(0, last_step)) if last_step else 0
    return ThreadRow("c", "x@example.edu", 2, state, sent_at, last_step, last_state, followups,
                     draw(st.one_of(st.none(), times)) if followups else sent_at, None,
                     draw(st.one_of(st.none(), times)), draw(st.one_of(st.none(), times)),
                     draw(st.integers(0, 1)), draw(return_dates), None, draw(reasons))


@settings(max_examples=200, deadline=None)
@given(thread_rows(), times, st.integers(0, 3))
def test_never_a_follow_up_to_someone_who_answered_or_cannot_receive_it(thread, now, max_followups):
    action = next_action(thread, at(now), timedelta(days=7), max_followups)
    if action.kind == DUE:
        assert thread.state == "sent"
        assert not thread.first_reply_at and not thread.bounced and not thread.suppressed
        assert not (thread.last_reply_any and thread.last_reply_any >= thread.sent_at)
        assert thread.followups_sent < max_followups
        assert at(now) - at(thread.last_sent_at or thread.sent_at) >= timedelta(days=7)
        if thread.back_on:
            assert at(now).date() > datetime.strptime(thread.back_on, "%Y-%m-%d").date()


def test_check_and_preview_a_follow_up_template(workspace, invoke):
    (workspace / "c.csv").write_text("email,last_name,topic\na@example.edu,Okafor,stroke imaging\n")
    shipped = Path(__file__).resolve().parents[2] / "templates" / "follow_up.txt"
    result = invoke("check", shipped, "c.csv")
    assert result.exit_code == 0, result.output
    result = invoke("preview", shipped, "c.csv")
    assert "Subject: Re: (the subject of the first message)" in result.output
    assert "my email of November 14 about helping with your stroke imaging research" in result.output


def test_a_reply_after_the_follow_up_was_drafted_withdraws_it(workspace, store, fu, invoke):
    first = add_message(store, "fall", "x@example.edu", line=2)
    synced(store, "2026-11-22T11:00:00Z")
    assert invoke("followup", "fall", "--template", fu).exit_code == 0
    add_event(store, first, "x@example.edu", "reply", "2026-11-22T11:30:00Z")  # the next morning's mail
    result = invoke("followup", "fall", "--template", fu)
    assert result.exit_code == 1  # completed, with a warning to act on
    assert "0 due a follow-up; not now: 1 replied" in result.stdout
    assert ("warning: x@example.edu replied 2026-11-22, but a follow-up to them is drafted (drafts/fall/"
            "x@example.edu.followup1.eml) and not sent: delete it") in result.stderr
    assert action(store, "x@example.edu").text == "none: replied 2026-11-22; delete the unsent follow-up draft"
