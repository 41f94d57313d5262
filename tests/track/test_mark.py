"""`outreach mark`: outcomes that arrived another way, and the suppression list."""

from __future__ import annotations

import pytest

from outreach.store import Store
from tests.seed import add_message, message_id


@pytest.fixture
def store(workspace):
    s = Store(workspace / "outreach.db")
    yield s
    s.close()


def events(store, address):
    return [dict(r) for r in store.db.execute(
        "SELECT message_id, kind, source, strength, detail, occurred_at FROM events WHERE address=? ORDER BY id",
        (address,))]


def test_mark_records_a_manual_event_once(store, invoke):
    add_message(store, "fall", "x@example.edu")
    result = invoke("mark", "X@Example.edu", "replied", "--date", "2026-11-20", "--note", "by phone")
    assert result.exit_code == 0, result.output
    assert result.output == "marked x@example.edu replied in campaign 'fall'\n"
    assert events(store, "x@example.edu") == [{
        "message_id": message_id("fall", "x@example.edu"), "kind": "replied",
        "source": "mark:fall:x@example.edu:replied", "strength": "manual", "detail": "by phone",
        "occurred_at": "2026-11-20T00:00:00Z"}]
    result = invoke("mark", "x@example.edu", "reply")  # an alias, and idempotent
    assert result.exit_code == 0 and "already marked replied" in result.output
    assert len(events(store, "x@example.edu")) == 1


def test_a_follow_up_is_what_the_mark_points_at(store, invoke):
    add_message(store, "fall", "x@example.edu")
    second = add_message(store, "fall", "x@example.edu", step=1, sent_at="2026-11-18T10:00:00Z")
    assert invoke("mark", "x@example.edu", "accepted").exit_code == 0
    assert events(store, "x@example.edu")[0]["message_id"] == second


def test_changing_ones_mind(store, invoke):
    add_message(store, "fall", "x@example.edu")
    invoke("mark", "x@example.edu", "replied")
    invoke("mark", "x@example.edu", "declined")
    assert [e["kind"] for e in events(store, "x@example.edu")] == ["replied", "declined"]
    result = invoke("mark", "x@example.edu", "declined", "--undo")
    assert result.output == "removed the mark declined for x@example.edu in campaign 'fall'\n"
    assert [e["kind"] for e in events(store, "x@example.edu")] == ["replied"]
    result = invoke("mark", "x@example.edu", "declined", "--undo")
    assert "was not marked declined" in result.output and result.exit_code == 0


def test_opt_out_suppresses_everywhere_and_undo_lifts_it(store, invoke):
    add_message(store, "fall", "x@example.edu")
    result = invoke("mark", "x@example.edu", "opted out")
    assert "is on the suppression list" in result.output
    assert store.suppressed() == {"x@example.edu": "opted-out"}
    invoke("mark", "x@example.edu", "opted-out", "--undo")
    assert store.suppressed() == {}


def test_opt_out_before_any_message(workspace, invoke):
    result = invoke("mark", "never@example.edu", "opted-out")
    assert result.exit_code == 0, result.output
    assert Store(workspace / "outreach.db").suppressed() == {"never@example.edu": "opted-out"}


def test_complaints_from_sync_suppress_too(store):
    mid = add_message(store, "fall", "x@example.edu")
    store.add_event(message_id=mid, address="X@example.edu", kind="complaint", source="imap:1", strength="header")
    assert store.suppressed() == {"x@example.edu": "complaint"}


@pytest.mark.parametrize("args, text", [
    (("x@example.edu", "ghosted"), "'ghosted' is not an outcome this tool records (use one of replied, declined"),
    (("not-an-address", "replied"), "'not-an-address' is not a valid address"),
    (("nobody@example.edu", "replied"), "no message to nobody@example.edu is in the store"),
    (("x@example.edu", "replied", "--campaign", "spring"), "x@example.edu has no message in campaign 'spring'"),
    (("x@example.edu", "replied", "--date", "last week"), "--date 'last week' is not a date"),
])
def test_refusals(store, invoke, args, text):
    add_message(store, "fall", "x@example.edu")
    result = invoke("mark", *args)
    assert result.exit_code == 2
    assert result.output.startswith(f"error: {text}")


def test_several_campaigns_need_one_named(store, invoke):
    add_message(store, "fall", "x@example.edu")
    add_message(store, "spring", "x@example.edu")
    result = invoke("mark", "x@example.edu", "replied")
    assert result.exit_code == 2 and "is in several campaigns (" in result.output
    assert invoke("mark", "x@example.edu", "replied", "--campaign", "spring").exit_code == 0
    assert events(store, "x@example.edu")[0]["message_id"] == message_id("spring", "x@example.edu")


def test_draft_skips_suppressed_addresses(workspace, store, invoke):
    (workspace / "t.txt").write_text("Subject: Hello {{ last_name }}\n\nBody\n")
    (workspace / "c.csv").write_text("email,last_name\na@example.edu,A\nb@example.edu,B\n")
    assert invoke("mark", "b@example.edu", "opted-out").exit_code == 0
    result = invoke("draft", "t.txt", "c.csv")
    assert result.exit_code == 0, result.output
    assert "skipped b@example.edu: opted out (on the suppression list)" in result.output
    assert (workspace / "drafts" / "t" / "a@example.edu.eml").exists()
    assert not (workspace / "drafts" / "t" / "b@example.edu.eml").exists()
    assert store.get("t", "b@example.edu") is None
