"""`outreach status`: each contact's state, last event and next action."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from outreach.store import Store
from outreach.track.threads import format_status, status_lines
from tests.seed import add_event, add_message


@pytest.fixture(autouse=True)
def utc_clock(utc_zone, monkeypatch):
    monkeypatch.setenv("OUTREACH_NOW", "2026-11-22T12:00:00Z")


@pytest.fixture
def store(workspace):
    s = Store(workspace / "outreach.db")
    add_message(s, "fall", "due@example.edu", line=2)
    add_message(s, "fall", "later@example.edu", line=3, sent_at="2026-11-20T10:00:00Z")
    away = add_message(s, "fall", "away@example.edu", line=4)
    add_event(s, away, "away@example.edu", "auto-reply", "2026-11-10T12:00:00Z", detail={"until": "2026-12-03"})
    replied = add_message(s, "fall", "replied@example.edu", line=5)
    add_event(s, replied, "replied@example.edu", "reply", "2026-11-12T09:00:00Z")
    add_message(s, "fall", "cut@example.edu", line=6, state="uncertain")
    add_message(s, "fall", "drafted@example.edu", line=7, state="drafted")
    add_message(s, "fall", "fu@example.edu", line=8, sent_at="2026-11-01T10:00:00Z")
    add_message(s, "fall", "fu@example.edu", step=1, sent_at="2026-11-09T10:00:00Z")
    add_message(s, "spring", "other@example.edu", line=2)
    yield s
    s.close()


def test_status_text(store, invoke):
    result = invoke("status", "fall")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == ("fall: 4 sent, 1 uncertain, 1 drafted, 1 follow-up 1 sent; "
                        "next: 2 waiting, 2 nothing to do, 1 follow-up due, 1 to check, 1 to send")
    assert lines[1].split() == ["line", "address", "state", "last", "event", "next", "action"]
    assert lines[1].index("address") == lines[2].index("@") - len("due") and lines[2].startswith("      2  due@")
    table = {line.split()[1]: line for line in lines[2:]}
    assert table["due@example.edu"].endswith("follow-up due now (since 2026-11-17)")
    assert table["later@example.edu"].endswith("follow-up due 2026-11-27")
    assert "auto-reply 2026-11-10" in table["away@example.edu"]
    assert table["away@example.edu"].endswith("waiting: out of office until 2026-12-03")
    assert "reply 2026-11-12" in table["replied@example.edu"]
    assert table["replied@example.edu"].endswith("none: replied 2026-11-12")
    assert table["cut@example.edu"].endswith("check your Sent folder: whether it left is unknown")
    assert table["drafted@example.edu"].endswith("send the drafted message")
    assert " follow-up 1 sent " in table["fu@example.edu"]
    assert table["fu@example.edu"].endswith("none: followed up once, no reply yet")
    assert "other@example.edu" not in result.output


def test_every_campaign_printed_as_one_table(store, invoke):
    """`status` prints each campaign's table as it is made; together they are the one table."""
    blocks = status_lines(store.thread_reads(), datetime(2026, 11, 22, 12, tzinfo=UTC), timedelta(days=7), 1)
    output = invoke("status").output
    assert output == format_status(blocks) + "\n"
    assert output.count("\nspring: 1 sent") == 1 and output.startswith("fall: ")


def test_a_failure_says_why(store, invoke):
    add_message(store, "fall", "bad@example.edu", line=9, state="failed", error="550 5.1.1 No such user")
    line = next(l for l in invoke("status", "fall").output.splitlines() if "bad@example.edu" in l)
    assert line.endswith("sending failed: fix it and send again (550 5.1.1 No such user)")


def test_status_options_and_json(store, invoke):
    data = json.loads(invoke("status", "--json", "--max", "2").output)
    assert [r["campaign"] for r in data].count("spring") == 1
    fu = next(r for r in data if r["address"] == "fu@example.edu")
    assert (fu["action"], fu["next_action"]) == ("follow-up", "follow-up due now (since 2026-11-16)")
    due = next(r for r in data if r["address"] == "due@example.edu")
    assert due == {"campaign": "fall", "line": 2, "address": "due@example.edu", "state": "sent", "last_event": "",
                   "next_action": "follow-up due now (since 2026-11-17)", "action": "follow-up",
                   "due": "2026-11-17T10:00:00Z"}
    later = invoke("status", "fall", "--after", "1d", "--json")
    assert next(r for r in json.loads(later.output) if r["address"] == "later@example.edu")["action"] == "follow-up"


def test_status_refusals(workspace, invoke):
    assert "no tracking store here" in invoke("status").output
    Store(workspace / "outreach.db").close()
    assert invoke("status").output == "nothing in the tracking store yet\n"
    result = invoke("status", "winter")
    assert result.exit_code == 2 and "no campaign 'winter'" in result.output
