"""Scripts can read every command: `--json` on draft, send, followup and mark prints exactly
one JSON document on stdout (human text goes to stderr), with these keys and no others."""

from __future__ import annotations

import json

from tests.seed import add_event, add_message, message_id, synced

SEND_KEYS = {"campaign", "dry_run", "plan", "result", "rows"}
PLAN_KEYS = {"account", "server", "campaign", "send_now", "later", "later_reason", "skipped", "notes", "mailbox",
             "uncertain", "pacing", "estimate_seconds", "save_sent", "summary"}
PACING_KEYS = {"per_minute", "jitter_seconds", "daily_cap", "used_last_24h", "cap_resumes_at"}
RESULT_KEYS = {"sent", "failed", "deferred", "uncertain", "held", "not_reached", "interrupted", "stopped", "seconds",
               "sent_copies"}
ITEM_KEYS = {"address", "line", "message_id", "variant"}
SUMMARY_KEYS = {"rows", "clean", "warnings", "errors", "skipped"}
FOLLOWUP_KEYS = {"campaign", "mode", "synced", "mailbox", "due", "skipped", "withdraw", "written", "target", "send",
                 "rows"}
FOLLOW_UP = """Subject: Re: {{ original.subject }}
Kind: follow-up

Dear Dr. {{ last_name }},

I wrote on {{ original.sent_on }}; I would still be glad to help.
"""


def document(result) -> dict:
    """The whole of stdout is one JSON document."""
    return json.loads(result.stdout)


def test_draft_json(campaign, invoke):
    campaign.write_contacts(2, extra_rows=["dr9@example.edu,Name9,Surname9,stroke,"])  # an empty note: a warning
    result = invoke("draft", campaign.template, campaign.contacts, "--campaign", "fall", "--json")
    assert result.exit_code == 1, result.output
    data = document(result)
    assert set(data) == {"campaign", "target", "transport", "written", "unchanged", "already_sent", "suppressed",
                         "skipped", "held", "notes", "variants", "summary", "rows"}
    assert (data["campaign"], data["target"], data["transport"], data["unchanged"]) == ("fall", "drafts/fall/", "eml", 0)
    assert sorted(data["written"]) == ["drafts/fall/dr0@example.edu.eml", "drafts/fall/dr1@example.edu.eml",
                                       "drafts/fall/dr9@example.edu.eml"]
    assert data["summary"] == {"rows": 3, "clean": 2, "warnings": 1, "errors": 0, "skipped": 0}
    assert [(r["line"], r["email"], r["problems"][0]["column"]) for r in data["rows"]] == \
        [(4, "dr9@example.edu", "note")]
    assert (data["already_sent"], data["suppressed"], data["variants"]) == ([], [], None)
    assert "contacts.csv, line 4" in result.stderr  # the problem is also said to a person


def test_send_json_plan_and_result(campaign, invoke, smtp_server):
    dry = invoke(*campaign.args("--dry-run", "--json"))
    assert dry.exit_code == 0, dry.output
    data = document(dry)
    assert set(data) == SEND_KEYS and data["dry_run"] is True and data["result"] is None
    plan = data["plan"]
    assert set(plan) == PLAN_KEYS and set(plan["pacing"]) == PACING_KEYS
    assert set(plan["send_now"][0]) == ITEM_KEYS and set(plan["summary"]) == SUMMARY_KEYS
    assert [(i["address"], i["line"]) for i in plan["send_now"]] == \
        [("dr0@example.edu", 2), ("dr1@example.edu", 3), ("dr2@example.edu", 4)]
    assert plan["pacing"]["per_minute"] is None and plan["save_sent"] is False  # unlimited rate; no IMAP
    assert smtp_server.messages == []

    sent = invoke(*campaign.args("--yes", "--json"))
    assert sent.exit_code == 0, sent.output
    data = document(sent)
    assert set(data) == SEND_KEYS and data["dry_run"] is False
    result = data["result"]
    assert set(result) == RESULT_KEYS
    assert set(result["sent"][0]) == ITEM_KEYS | {"refused_recipients"}
    assert sorted(i["message_id"] for i in result["sent"]) == sorted(m.message_id for m in smtp_server.messages)
    assert (result["failed"], result["not_reached"], result["interrupted"], result["sent_copies"]) == ([], 0, False, None)
    assert "Sent 3 of 3" in sent.stderr and "Sent 3 of 3" not in sent.stdout

    again = invoke(*campaign.args("--yes", "--json"))
    data = document(again)
    assert data["plan"]["send_now"] == [] and data["plan"]["skipped"] == {
        "sent": ["dr0@example.edu", "dr1@example.edu", "dr2@example.edu"]}


def test_followup_json_due_skipped_and_written(workspace, invoke, monkeypatch, utc_zone):
    from outreach.store import Store

    store = Store(workspace / "outreach.db")
    add_message(store, "fall", "due@example.edu", line=2, sent_at="2026-11-10T10:00:00Z")
    add_message(store, "fall", "replied@example.edu", line=3)
    add_event(store, message_id("fall", "replied@example.edu"), "replied@example.edu", "reply", "2026-11-12T10:00:00Z")
    add_message(store, "fall", "recent@example.edu", line=4, sent_at="2026-11-20T10:00:00Z")
    synced(store, "2026-11-22T11:00:00Z")
    store.close()
    (workspace / "follow_up.txt").write_text(FOLLOW_UP, encoding="utf-8")
    monkeypatch.setenv("OUTREACH_NOW", "2026-11-22T12:00:00Z")

    dry = invoke("followup", "fall", "-t", "follow_up.txt", "--dry-run", "--json")
    assert dry.exit_code == 0, dry.output
    data = document(dry)
    assert set(data) == FOLLOWUP_KEYS and data["mode"] == "dry-run"
    assert [d["address"] for d in data["due"]] == ["due@example.edu"] and set(data["due"][0]) == {"address", "action"}
    assert {(s["address"], s["reason"]) for s in data["skipped"]} == {("replied@example.edu", "replied"),
                                                                       ("recent@example.edu", "not-yet")}
    assert set(data["skipped"][0]) == {"address", "reason", "detail"}
    assert (data["written"], data["send"]) == (None, None)
    assert "1 due a follow-up" in dry.stderr

    written = invoke("followup", "fall", "-t", "follow_up.txt", "--json")
    assert written.exit_code == 0, written.output
    data = document(written)
    assert data["mode"] == "draft" and data["written"] == ["drafts/fall/due@example.edu.followup1.eml"]
    assert data["target"] == "drafts/fall/"


def test_followup_send_json(campaign, invoke, monkeypatch, smtp_server):
    assert invoke(*campaign.args("--yes")).exit_code == 0
    (campaign.ws / "follow_up.txt").write_text(FOLLOW_UP, encoding="utf-8")
    monkeypatch.setenv("OUTREACH_NOW", "2030-01-01T09:00:00Z")
    result = invoke("followup", "outreach", "-t", "follow_up.txt", "--send", "--yes", "--no-sync", "--json")
    assert result.exit_code == 0, result.output
    data = document(result)
    assert data["mode"] == "send" and set(data["send"]) == SEND_KEYS
    assert len(data["send"]["result"]["sent"]) == 3 and len(smtp_server.messages) == 6


def test_mark_json(workspace, invoke):
    from outreach.store import Store

    store = Store(workspace / "outreach.db")
    add_message(store, "fall", "m.okafor@example.edu")
    store.close()
    result = invoke("mark", "m.okafor@example.edu", "replied", "--date", "2026-11-20", "--json")
    assert result.exit_code == 0, result.output
    assert document(result) == {"address": "m.okafor@example.edu", "outcome": "replied", "campaign": "fall",
                                "undo": False, "changed": True, "suppressed": False, "at": "2026-11-20T00:00:00Z"}
    again = document(invoke("mark", "m.okafor@example.edu", "replied", "--date", "2026-11-20", "--json"))
    assert again["changed"] is False
