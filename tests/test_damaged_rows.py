"""A hand-edited or damaged store, row by row (issue 17 item 4): every column a reader turns
into a time, a date, JSON or a number is given values outreach never wrote, and every command
that reads it must either show the row (its time unknown) or name it in one sentence: never an
internal error. Checked at the terminal: the output of the real CLI."""

from __future__ import annotations

import json
import sqlite3

import pytest

from outreach.store import Store
from tests.seed import add_event, add_message, message_id, synced

NOW = "2026-12-01T09:00:00Z"
TIMES = ["9999-12-31T00:00:00Z", "9999-12-31", "0001-01-01T00:00:00Z", "nonsense", "2026-13-45T00:00:00Z",
         "2026-11-14T09:30:00+23:59", "", "1e999"]
DAYS = ["9999-12-31", "0001-01-01", "nonsense", "2026-02-30", ""]
JSON = ["not json{", "[1, 2]", "42", "null", '"text"', '{"email": 7}']

# (table, column, values): every column a reader parses.
DAMAGE = ([("messages", "sent_at", TIMES), ("messages", "created_at", TIMES), ("events", "occurred_at", TIMES),
           ("events", "recorded_at", TIMES), ("suppressions", "at", TIMES), ("sync_state", "synced_at", TIMES),
           ("events", "until", DAYS), ("events", "detail", [*JSON, '{"until": "9999-12-31"}']),
           ("messages", "contact", JSON), ("messages", "recipients", JSON),
           ("messages", "contact_line", ["x", -1, 2.5]), ("messages", "state", ["bogus"]),
           ("events", "kind", ["bogus"])])
# and in each of those columns a value of the wrong kind altogether (a hand edit's X'00ff')
CASES = [(table, column, value) for table, column, values in DAMAGE for value in [*values, b"\x00\xff"]]

COMMANDS = {
    "status": ["status"],
    "followup --dry-run": ["followup", "fall", "--template", "fu.txt", "--dry-run"],
    "followup": ["followup", "fall", "--template", "fu.txt"],
    "send --dry-run": ["send", "first.txt", "contacts.csv", "--campaign", "fall", "--dry-run"],
    "report": ["report"],
    "report --by": ["report", "--by", "first_name"],
    "report --html": ["report", "--html", "report.html"],
    "sync": ["sync", "--mbox", "in.mbox"],
}


@pytest.fixture
def campaign_store(workspace):
    """A campaign in every state a reader meets: sent and followed up, replied, out of office
    until a date, bounced and suppressed, queued; and a mailbox read an hour ago."""
    (workspace / ".env").write_text(
        f"OUTREACH_FROM=Asha Rao <asha.rao@example.org>\nOUTREACH_NOW={NOW}\nOUTREACH_SMTP_HOST=127.0.0.1\n"
        "OUTREACH_SMTP_PORT=9\nOUTREACH_SMTP_SECURITY=none\nOUTREACH_PASSWORD=x\nOUTREACH_RATE=unlimited\n")
    (workspace / "fu.txt").write_text("Subject: Re: {{ original.subject }}\nKind: follow-up\n\n"
                                      "Dear {{ first_name }}, following up on {{ original.sent_on }}.\n")
    (workspace / "first.txt").write_text("Subject: Hello\n\nDear {{ first_name }},\n")
    (workspace / "contacts.csv").write_text("email,first_name\n" + "".join(
        f"{who}@example.edu,{who.title()}\n" for who in ("ann", "bo", "cy", "di", "ed", "flo")))
    (workspace / "in.mbox").write_text("")
    store = Store(workspace / "outreach.db")
    with store.transaction():
        for line, who in enumerate(("ann", "bo", "cy", "di", "ed", "flo"), start=2):
            add_message(store, "fall", f"{who}@example.edu", line=line, state="queued" if who == "ed" else "sent",
                        contact={"email": f"{who}@example.edu", "first_name": who.title()})
        add_message(store, "fall", "ann@example.edu", step=1, sent_at="2026-11-17T10:00:00Z")
        add_event(store, message_id("fall", "bo@example.edu"), "bo@example.edu", "reply", "2026-11-11T10:00:00Z",
                  detail={"from": "bo@example.edu", "subject": "Re: hello"})
        add_event(store, message_id("fall", "cy@example.edu"), "cy@example.edu", "auto-reply",
                  "2026-11-10T11:00:00Z", detail={"until": "2026-11-20"})
        store.db.execute("UPDATE events SET until='2026-11-20' WHERE kind='auto-reply'")
        add_event(store, message_id("fall", "di@example.edu"), "di@example.edu", "bounce", "2026-11-10T12:00:00Z")
        store.suppress("di@example.edu", "bounce 5.1.1: user unknown")
        synced(store, "2026-12-01T08:00:00Z")
    store.close()
    return workspace


def damage(workspace, table: str, column: str, value) -> None:
    with sqlite3.connect(workspace / "outreach.db") as db:
        db.execute(f"UPDATE {table} SET {column}=?", (value,))


def assert_shown_or_named(result, command: str) -> None:
    output = result.output
    assert "internal error" not in output and "Traceback" not in output, f"{command}: {output}"
    assert result.exit_code in (0, 1, 2), f"{command}: {output}"
    if result.exit_code == 2:  # one sentence, last: the damaged row named, or what the store does not tell
        errors = [line for line in output.splitlines() if line.startswith("error: ")]
        assert len(errors) == 1 and output.rstrip("\n").endswith(errors[0]), f"{command}: {output}"
        assert any(words in errors[0] for words in ("is damaged", "synced", "no such column")), f"{command}: {output}"


@pytest.mark.parametrize("table, column, value", CASES, ids=[f"{t}.{c}={v!r}" for t, c, v in CASES])
def test_every_reader_shows_or_names_a_damaged_value(campaign_store, invoke, table, column, value):
    damage(campaign_store, table, column, value)
    for name, args in COMMANDS.items():
        assert_shown_or_named(invoke(*args), name)


# One row's value of another kind (a blob) beside the good ones of its thread: Python must not
# compare a blob with text (SQLite orders them; Python raises), in any reader.
ONE_ROW = [("events", "occurred_at", "kind = 'reply'"), ("events", "until", "kind = 'auto-reply'"),
           ("events", "detail", "kind = 'auto-reply' AND until IS NULL"), ("messages", "sent_at", "step = 2"),
           ("suppressions", "reason", "1"), ("messages", "error", "state = 'failed'")]


@pytest.mark.parametrize(("table", "column", "where"), ONE_ROW, ids=[f"{t}.{c}" for t, c, _ in ONE_ROW])
def test_a_value_of_another_kind_beside_good_ones(campaign_store, invoke, table, column, where):
    store = Store(campaign_store / "outreach.db")
    with store.transaction():   # a second of each, so that the blob meets good text
        add_event(store, message_id("fall", "bo@example.edu"), "bo@example.edu", "reply", "2026-11-12T10:00:00Z")
        add_event(store, message_id("fall", "cy@example.edu"), "cy@example.edu", "auto-reply",
                  "2026-11-12T11:00:00Z", detail="back on 2026-11-25")
        store.db.execute("UPDATE events SET until = NULL WHERE occurred_at = '2026-11-12T11:00:00Z'")
        add_message(store, "fall", "ann@example.edu", step=2, sent_at="2026-11-24T10:00:00Z")
        add_message(store, "fall", "flo@example.edu", step=1, state="failed", error="421 try later")
        store.suppress("flo@example.edu", "opted-out")
    store.close()
    with sqlite3.connect(campaign_store / "outreach.db") as db:
        db.execute(f"UPDATE {table} SET {column} = X'00ff' WHERE rowid = (SELECT MIN(rowid) FROM {table} "
                   f"WHERE {where})")
    for name, args in COMMANDS.items():
        assert_shown_or_named(invoke(*args), name)
    assert_shown_or_named(invoke("status", "--json"), "status --json")
    assert_shown_or_named(invoke("status", "--max", "3"), "status --max 3")


@pytest.mark.parametrize("value", ["9999-12-31T00:00:00Z", "nonsense"])
def test_a_send_time_that_cannot_be_used_is_shown_as_unknown(campaign_store, invoke, value):
    with sqlite3.connect(campaign_store / "outreach.db") as db:
        db.execute("UPDATE messages SET sent_at=? WHERE address='flo@example.edu'", (value,))
    status = invoke("status")
    assert status.exit_code == 0, status.output
    [flo] = [line for line in status.output.splitlines() if "flo@example.edu" in line]
    assert "the store does not say when" in flo


def test_a_return_date_in_year_9999_is_no_date(campaign_store, invoke):
    damage(campaign_store, "events", "until", "9999-12-31")
    damage(campaign_store, "events", "detail", '{"until": "9999-12-31"}')
    status = invoke("status")
    [cy] = [line for line in status.output.splitlines() if "cy@example.edu" in line]
    assert "follow-up due now" in cy and "9999" not in cy


@pytest.mark.parametrize("value", ["nonsense", "", "9999-12-31T00:00:00Z", b"\x00\xff"])
def test_a_reply_at_an_unusable_time_still_counts_as_a_reply(campaign_store, invoke, value):
    """Unsure when a person answered is not unsure whether they did: no follow-up is due, in the
    report, the status table and its JSON, and followup's plan."""
    damage(campaign_store, "events", "occurred_at", value)
    report = json.loads(invoke("report", "--json").output)
    [fall] = report["campaigns"]
    assert fall["totals"]["replied"] == 1
    status = invoke("status")
    [bo] = [line for line in status.output.splitlines() if "bo@example.edu" in line]
    assert "none: replied" in bo, status.output
    [row] = [row for row in json.loads(invoke("status", "--json").output) if row["address"] == "bo@example.edu"]
    assert row["action"] == "none", row
    plan = invoke(*COMMANDS["followup --dry-run"], "--no-sync")
    assert "bo@example.edu" not in plan.output.split("skipped:")[0], plan.output


@pytest.mark.parametrize("value", [None, "", "nonsense", b"\x00\xff"])
def test_a_follow_up_sent_at_a_missing_time_plans_no_second(campaign_store, invoke, value):
    """Ann's follow-up left on 2026-11-17, so a second (--max 2) is due; with its time missing or
    unreadable nobody knows when it left, so none is planned (it is not counted from the first)."""
    status = invoke("status", "--max", "2")
    [ann] = [line for line in status.output.splitlines() if "ann@example.edu" in line]
    assert "follow-up due now (since 2026-11-24)" in ann, status.output
    with sqlite3.connect(campaign_store / "outreach.db") as db:
        db.execute("UPDATE messages SET sent_at=? WHERE step=1", (value,))
    status = invoke("status", "--max", "2")
    [ann] = [line for line in status.output.splitlines() if "ann@example.edu" in line]
    assert "the store does not say when; no follow-up is planned" in ann, status.output
    plan = invoke(*COMMANDS["followup --dry-run"], "--max", "2", "--no-sync")
    assert "ann@example.edu" not in plan.output.split("skipped:")[0], plan.output


def test_a_damaged_contact_is_named_where_it_is_needed(campaign_store, invoke):
    with sqlite3.connect(campaign_store / "outreach.db") as db:
        db.execute("UPDATE messages SET contact='not json{' WHERE address='flo@example.edu'")
    assert invoke("status").exit_code == 0  # status does not read the contact's cells
    followup = invoke(*COMMANDS["followup"])
    assert followup.exit_code == 2
    assert followup.output.strip().splitlines()[-1] == (
        f"error: {campaign_store / 'outreach.db'}: the message to flo@example.edu in campaign fall "
        "(<fall.0.flo.example.edu@example.org>) is damaged: its contact column is not what outreach wrote there; "
        "restore the store from a backup")
    report = invoke(*COMMANDS["report --by"])
    assert report.exit_code == 2 and "flo@example.edu in campaign fall" in report.output


def test_damaged_recipients_are_a_warning_of_sync_which_matches_by_address(campaign_store, invoke):
    from tests import mail_samples as samples
    from tests.helpers import write_mbox

    damage(campaign_store, "messages", "recipients", "not json{")
    sent = samples.outgoing("flo@example.edu", message_id=message_id("fall", "flo@example.edu"))
    write_mbox(campaign_store / "in.mbox", [samples.gmail_reply(sent)])
    result = invoke("sync", "--mbox", campaign_store / "in.mbox", "--json")
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert any("its recipients column is not what outreach wrote there; mail is matched to it by its address only"
               in warning for warning in report["warnings"]), report["warnings"]
    assert [(e["kind"], e["address"]) for e in report["events"]] == [("reply", "flo@example.edu")]
