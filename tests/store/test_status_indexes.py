"""Migration 7: the indexes `status`, `followup` and `report` read the messages through.

SQLite's planner, not the code, decides whether an index is used, so these tests ask it
(EXPLAIN QUERY PLAN) about the very statements the store ran: each is recorded by a trace
callback while `status` and `report` read, then explained on the same connection. The store
has no statistics (no ANALYZE), so the plans are the same on these few rows as on 100,000.
Reading the follow-ups in their index's order, and the campaigns by a look-up each, gives the
lookups that 58da969's reads gave (a property test keeps those reads as its oracle).
And a store of schema 6 is upgraded by whatever command opens it first, while a store of
schema 7 is refused by an outreach that knows only six migrations.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from outreach.errors import UserError
from outreach.store import Store, connection
from outreach.store.schema import MIGRATIONS, configure, statements
from tests.seed import add_event, add_message
from tests.track.test_thread_reads import reference_thread_reads

INDEXES = {"messages_first", "messages_followups"}


@pytest.fixture
def store(tmp_path):
    """Two campaigns of four contacts each: a follow-up, a reply, a failure among them."""
    store = Store(tmp_path / "outreach.db")
    for campaign in ("fall", "spring"):
        for i in range(3):
            add_message(store, campaign, f"dr{i}@example.edu", line=i + 2, variant="short")
        add_message(store, campaign, "dr0@example.edu", step=1, sent_at="2026-11-18T10:00:00Z")
        add_message(store, campaign, "dr3@example.edu", line=5, state="failed", error="550 no such user")
        add_event(store, f"<{campaign}.0.dr2.example.edu@example.org>", "dr2@example.edu", "reply",
                  "2026-11-12T10:00:00Z")
    yield store
    store.close()


def plans(store: Store, work: Callable[[], object]) -> dict[str, list[str]]:
    """Each statement ``work`` ran that reads the messages -> SQLite's plan for it, one line per
    step. The temporary tables the statements need are made again first, by the statements
    that made them."""
    ran: list[str] = []
    store.db.set_trace_callback(ran.append)
    try:
        work()
    finally:
        store.db.set_trace_callback(None)
    made = [sql for sql in ran if sql.lstrip().upper().startswith("CREATE TEMP TABLE")]
    for sql in made:
        store.db.execute(sql)
    try:
        return {" ".join(sql.split()): [row[3] for row in store.db.execute(f"EXPLAIN QUERY PLAN {sql}")]
                for sql in ran if sql.lstrip().upper().startswith(("SELECT", "INSERT", "WITH")) and " messages " in sql}
    finally:
        for sql in made:
            store.db.execute(f"DROP TABLE temp.{sql.split()[3]}")


def plan_of(found: dict[str, list[str]], *fragments: str) -> list[str]:
    """The plan of the statements holding every fragment (one, or one a campaign): the same for each."""
    matching = [plan for sql, plan in found.items() if all(f in sql for f in fragments)]
    assert matching and all(plan == matching[0] for plan in matching), (fragments, found)
    return matching[0]


def status_reads(store: Store, campaign: str | None) -> Callable[[], object]:
    def read():
        reads = store.thread_reads(campaign)
        return [reads.first_messages(name).fetchall() for name in reads.campaigns]
    return read


@pytest.mark.parametrize("campaign", [None, "fall"])
def test_status_reads_the_first_messages_and_follow_ups_from_their_indexes_unsorted(store, campaign):
    found = plans(store, status_reads(store, campaign))
    first = plan_of(found, "FROM messages WHERE campaign =", "AND step = 0 ORDER BY contact_line, address")
    assert first == ["SEARCH messages USING COVERING INDEX messages_first (campaign=? AND step=?)"]
    followups = plan_of(found, "FROM messages WHERE step > 0")
    assert [line for line in followups if "messages" in line] == [
        "SCAN messages USING COVERING INDEX messages_followups" if campaign is None
        else "SEARCH messages USING COVERING INDEX messages_followups (campaign=?)"]
    assert not any("TEMP B-TREE" in line for line in followups), followups
    if campaign is None:  # the campaigns: a look-up each, not a read of every first message
        assert plan_of(found, "WITH RECURSIVE") == [
            "CO-ROUTINE c", "SETUP", "SEARCH messages USING COVERING INDEX messages_first", "RECURSIVE STEP",
            "SCAN c", "CORRELATED SCALAR SUBQUERY 2",
            "SEARCH messages USING COVERING INDEX messages_first (campaign>?)", "SCAN c"]


@pytest.mark.parametrize("campaigns", [None, ["fall"], ["fall", "spring"]])
def test_report_reads_the_follow_ups_and_the_first_messages_from_their_indexes(store, campaigns):
    found = plans(store, lambda: store.report_data(campaigns, None))
    mapped = plan_of(found, "INSERT INTO report_f")
    assert any(line.startswith(("SCAN f USING COVERING INDEX messages_followups",
                                "SEARCH f USING COVERING INDEX messages_followups")) for line in mapped), mapped
    first_pass = plan_of(found, "json_group_array")
    assert any(line.startswith(("SCAN m0 USING COVERING INDEX messages_first",
                                "SEARCH m0 USING COVERING INDEX messages_first")) for line in first_pass), first_pass
    assert not any("TEMP B-TREE" in line for line in first_pass), first_pass


def test_report_by_a_column_still_groups_without_a_sort(store):
    """The group is read from each first message's row, reached through the index's order."""
    first_pass = plan_of(plans(store, lambda: store.report_data(None, "variant")), "json_group_array")
    assert any("USING INDEX messages_first" in line for line in first_pass), first_pass
    assert not any("TEMP B-TREE" in line for line in first_pass), first_pass


# -- the reads in the indexes' order give what the reads before them gave -----------------------
MESSAGES = st.lists(st.tuples(st.sampled_from(["fall", "Fall", "été", "spring", "", "fall2"]),
                              st.integers(0, 4), st.integers(0, 3), st.sampled_from(["sent", "failed", "drafted"]),
                              st.sampled_from([None, "2026-11-10T10:00:00Z", "2026-11-12T09:00:00Z", "nonsense"])),
                    max_size=25, unique_by=lambda m: m[:3])
EVENTS = st.lists(st.tuples(st.integers(0, 30), st.sampled_from(["reply", "bounce", "auto-reply",
                                                                  "unconfirmed-bounce", "unconfirmed-complaint"])),
                  max_size=10)


@settings(max_examples=30, deadline=None)
@given(MESSAGES, EVENTS)
@example(messages=[("fall", 0, 0, "sent", "2026-11-10T10:00:00Z"), ("fall", 0, 1, "sent", "2026-11-12T09:00:00Z"),
                   ("fall", 0, 2, "failed", None), ("Fall", 1, 1, "drafted", None), ("", 2, 0, "sent", None)],
         events=[(1, "unconfirmed-complaint"), (2, "unconfirmed-bounce")])  # follow-ups in order; a campaign named ""
def test_campaigns_and_follow_ups_read_in_index_order_are_what_they_were(example_store, messages, events):
    """Several follow-ups of one address (their order decides the last state and which unconfirmed
    report is kept), follow-ups without a first message, campaigns that sort apart by case."""
    store = example_store
    store.db.execute("DELETE FROM events")
    store.db.execute("DELETE FROM messages")
    for campaign, person, step, state, sent_at in messages:
        address = f"p{person}@example.edu"
        store.db.execute(
            "INSERT INTO messages (campaign, address, step, message_id, template, subject, recipients, contact, "
            "state, error, created_at, updated_at, sent_at) VALUES (?,?,?,?,'t.txt','Hi','[]','{}',?,?,?,?,?)",
            (campaign, address, step, f"<{campaign}.{step}.{address}>", state,
             None if state == "sent" else f"{state} {step}", "2026-11-01T00:00:00Z", "2026-11-01T00:00:00Z", sent_at))
    for n, (target, kind) in enumerate(events):
        if messages:
            campaign, person, step, *_ = messages[target % len(messages)]
            store.add_event(message_id=f"<{campaign}.{step}.p{person}@example.edu>", address=f"p{person}@example.edu",
                            kind=kind, source=f"test:{n}", strength="header", detail=None,
                            occurred_at=f"2026-11-{11 + n:02d}T10:00:00Z")
    reads = store.thread_reads(None)
    campaigns, _, followups, _ = reference_thread_reads(store, None)   # 58da969's reads
    assert (reads.campaigns, reads.followups) == (campaigns, followups)


# -- a store written by an older or a newer version ---------------------------------------------
def store_of_schema_6(path) -> None:
    """A store as 58da969 (six migrations) left it, with a thread and a follow-up in it."""
    db = sqlite3.connect(path, isolation_level=None)
    configure(db)  # the functions migration 6 calls
    for number, script in enumerate(MIGRATIONS[:6], start=1):
        for statement in statements(script):
            db.execute(statement)
        db.execute(f"PRAGMA user_version = {number}")
    for step, state, sent_at in ((0, "sent", "2026-11-02T10:00:00Z"), (1, "failed", None)):
        db.execute("INSERT INTO messages (campaign, address, step, message_id, template, subject, recipients, contact, "
                   "contact_line, state, transport, error, created_at, updated_at, sent_at) "
                   "VALUES ('fall', 'jo@example.edu', ?, ?, 't.txt', 'Research', '[\"jo@example.edu\"]', "
                   "'{\"email\": \"jo@example.edu\", \"site\": \"Leeds\"}', 2, ?, 'smtp', ?, "
                   "'2026-11-01T10:00:00Z', '2026-11-01T10:00:00Z', ?)",
                   (step, f"<{step}@x>", state, None if state == "sent" else "421 try later", sent_at))
    db.close()


def indexes(path) -> set[str]:
    with sqlite3.connect(path) as db:
        return {name for name, in db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}


@pytest.mark.parametrize("command", [["status", "--json"], ["report", "--json", "--by", "site"]])
def test_a_store_of_schema_6_is_upgraded_by_the_first_command_that_opens_it(workspace, invoke, command):
    store_of_schema_6(workspace / "outreach.db")
    assert not indexes(workspace / "outreach.db") & INDEXES
    result = invoke(*command)
    assert result.exit_code == 0, result.output
    assert indexes(workspace / "outreach.db") >= INDEXES
    with sqlite3.connect(workspace / "outreach.db") as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 7 == len(MIGRATIONS)
    answer = json.loads(result.output)
    if command[0] == "status":
        [thread] = answer
        assert (thread["address"], thread["state"], thread["action"]) == ("jo@example.edu", "follow-up 1 failed",
                                                                         "follow-up")
    else:
        [campaign] = answer["campaigns"]
        assert [(g["group"], g["sent"], g["followed_up"]) for g in campaign["groups"]] == [("Leeds", 1, 0)]


def test_a_store_of_schema_7_is_refused_by_an_outreach_that_knows_six_migrations(store, monkeypatch):
    """58da969's check, with its migrations: the one sentence it gives any newer store."""
    path = store.path
    store.close()
    monkeypatch.setattr(connection, "MIGRATIONS", MIGRATIONS[:6])
    with pytest.raises(UserError, match=r"was written by a newer outreach \(schema 7\); upgrade outreach$"):
        Store(path)
