"""Issue 10.1: a contact's history follows them across campaigns.

Two campaigns over one contact list: what the first one learned (replied, declined, opted out,
bounced, no answer yet, written to last week) decides what the second may do."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone

THANK_YOU = """Kind: thank-you
Subject: Thank you, Dr. {{ last_name }}

Dear Dr. {{ last_name }},

Thank you for the conversation about {{ topic }} imaging.

Best regards,
Asha Rao
"""


def campaigns_of(ws) -> dict[str, set[str]]:
    with sqlite3.connect(ws / "outreach.db") as db:
        found: dict[str, set[str]] = {}
        for campaign, address in db.execute("SELECT campaign, address FROM messages WHERE state='sent'"):
            found.setdefault(campaign, set()).add(address)
        return found


def later(monkeypatch, days: int) -> None:
    moment = datetime.now(timezone.utc) + timedelta(days=days)
    monkeypatch.setenv("OUTREACH_NOW", moment.strftime("%Y-%m-%dT%H:%M:%SZ"))


def test_sending_a_drafted_pair_without_campaign_continues_its_campaign(campaign, invoke, smtp_server):
    assert invoke("draft", campaign.template, campaign.contacts, "--campaign", "fall-mentors").exit_code == 0
    result = invoke(*campaign.args("--yes"))
    assert result.exit_code == 0, result.output
    assert "campaign 'fall-mentors': templates/outreach.txt and contacts.csv were drafted or sent under it" \
        in result.output
    assert "Campaign:  fall-mentors" in result.output and "3 drafted before" in result.output
    assert set(campaigns_of(campaign.ws)) == {"fall-mentors"}
    again = invoke(*campaign.args("--yes"))
    assert "3 already sent" in again.output and len(smtp_server.messages) == 3


def test_a_second_campaign_skips_and_holds_by_history(campaign, invoke, smtp_server, monkeypatch):
    campaign.write_contacts(5)
    assert invoke(*campaign.args("--yes", "--campaign", "fall-mentors")).exit_code == 0
    for address, outcome in [("dr0", "replied"), ("dr1", "declined"), ("dr2", "opted-out"), ("dr3", "bounced")]:
        assert invoke("mark", f"{address}@example.edu", outcome).exit_code == 0
    spring = ("send", campaign.template, campaign.contacts, "--campaign", "spring")

    checked = invoke("check", campaign.template, campaign.contacts, "--campaign", "spring")
    assert "5 contacts known from other campaigns:" in checked.output
    assert "contacts.csv, line 2  dr0@example.edu: fall-mentors, written " in checked.output
    assert checked.output.count(", replied") == 1 and ", declined" in checked.output
    assert "line 6  dr4@example.edu: fall-mentors, written" in checked.output and "no answer yet" in checked.output

    plan = invoke(*spring, "--dry-run")
    assert "Send now:  0 messages" in plan.output, plan.output
    assert "5 contacts known from other campaigns:" in plan.output
    assert "bounced or opted out in another campaign" not in plan.output  # both marks also suppress
    for group, addresses in [("on the suppression list", ["dr2", "dr3"]),
                             ("replied or declined in another campaign", ["dr0", "dr1"]),
                             ("written to in another campaign within --recent-days", ["dr4"])]:
        block = plan.output.split(group)[1].split("\n")[1:1 + len(addresses)]
        assert [line.strip() for line in block] == [f"{a}@example.edu" for a in addresses], (group, plan.output)

    later(monkeypatch, 40)  # a month and more later, the quiet one may hear from us again
    plan = invoke(*spring, "--dry-run")
    assert "Send now:  1 message\n             dr4@example.edu (line 6)\n" in plan.output
    assert invoke(*spring, "--yes").exit_code == 0
    assert campaigns_of(campaign.ws)["spring"] == {"dr4@example.edu"}
    assert invoke(*spring, "--yes", "--include-answered").exit_code == 0
    assert campaigns_of(campaign.ws)["spring"] == {"dr0@example.edu", "dr1@example.edu", "dr4@example.edu"}
    assert "dr2@example.edu" not in str(campaigns_of(campaign.ws)["spring"])


def test_a_thank_you_shows_the_history_but_is_not_held(campaign, invoke, smtp_server):
    assert invoke(*campaign.args("--yes", "--campaign", "fall-mentors")).exit_code == 0
    assert invoke("mark", "dr0@example.edu", "replied").exit_code == 0
    assert invoke("mark", "dr1@example.edu", "opted-out").exit_code == 0
    (campaign.ws / "templates" / "thanks.txt").write_text(THANK_YOU)
    result = invoke("send", "templates/thanks.txt", campaign.contacts, "--yes")
    assert result.exit_code == 0, result.output
    assert "3 contacts known from other campaigns:" in result.output
    assert campaigns_of(campaign.ws)["thanks"] == {"dr0@example.edu", "dr2@example.edu"}


def test_draft_holds_as_send_does(campaign, invoke, smtp_server):
    assert invoke(*campaign.args("--yes", "--campaign", "fall-mentors")).exit_code == 0
    assert invoke("mark", "dr0@example.edu", "replied").exit_code == 0
    result = invoke("draft", campaign.template, campaign.contacts, "--campaign", "spring")
    assert "skipped dr0@example.edu: replied or declined in another campaign" in result.output
    assert "skipped dr1@example.edu: written to in another campaign within --recent-days" in result.output
    assert not (campaign.ws / "drafts" / "spring").exists() or not list((campaign.ws / "drafts" / "spring").iterdir())
    result = invoke("draft", campaign.template, campaign.contacts, "--campaign", "spring", "--include-recent")
    assert sorted(p.name for p in (campaign.ws / "drafts" / "spring").iterdir()) == \
        ["dr1@example.edu.eml", "dr2@example.edu.eml"]


def test_a_suppressed_address_is_never_a_copy_recipient(campaign, invoke, smtp_server):
    (campaign.ws / campaign.template).write_text("Cc: {{ cc }}\n" + (campaign.ws / campaign.template).read_text())
    rows = ["email,first_name,last_name,topic,note,cc",
            "dr0@example.edu,A,Adams,stroke,Your stroke paper was a revelation to me.,chair@example.edu",
            "dr1@example.edu,B,Brown,cardiac,Your cardiac paper was a revelation to me.,"]
    (campaign.ws / campaign.contacts).write_text("\n".join(rows) + "\n")
    assert invoke("mark", "chair@example.edu", "opted-out").exit_code == 0
    result = invoke(*campaign.args("--yes"))
    assert "1 a Cc or Bcc recipient is on the suppression list" in result.output
    assert [m.rcpt_tos for m in smtp_server.messages] == [["dr1@example.edu"]]
    drafted = invoke("draft", campaign.template, campaign.contacts, "--campaign", "other")
    assert "skipped dr0@example.edu (Cc/Bcc chair@example.edu): opted out" in drafted.output


def test_the_plan_shows_the_split_and_the_warnings(campaign, invoke, smtp_server):
    (campaign.ws / "templates" / "long.txt").write_text((campaign.ws / campaign.template).read_text() + "\nP.S. x\n")
    campaign.write_contacts(6, extra_rows=["dr9@example.edu,N,Nine,stroke,"])
    result = invoke(*campaign.args("--dry-run", "--variant", "templates/long.txt"))
    assert "Variants:  long 4, outreach 3" in result.output  # balanced and reproducible (hash of campaign, address)
    assert "Warnings:  1 message would go out with warnings" in result.output

