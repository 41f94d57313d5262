"""Issue 15, path 1: an answer in the same campaign must stop the first message.

"A contact marked `replied` in campaign `fall` (drafted, not yet sent) receives the cold email
when the drafts are sent; `status` says "next action: none: replied" at the same moment."

The campaign `fall` is drafted for dr0..dr3; then dr1 is marked replied, dr2 declined, and dr3
writes to us first (a message from their address, read by `sync --mbox`: a recorded reply).
Only dr0 may receive the cold email.
"""

from __future__ import annotations

import json

from tests import mail_samples as samples
from tests.trust.kit import received_by_mailbox, store_rows, write_mbox

ANSWERED = ["dr1@example.edu", "dr2@example.edu", "dr3@example.edu"]


def answer_drafted_contacts(campaign, invoke) -> None:
    campaign.write_contacts(4)
    assert invoke("draft", campaign.template, campaign.contacts, "--campaign", "fall").exit_code == 0
    for address, outcome in (("dr1@example.edu", "replied"), ("dr2@example.edu", "declined")):
        result = invoke("mark", address, outcome, "--campaign", "fall")
        assert result.exit_code == 0, result.output
    write_mbox(campaign.ws / "inbox.mbox",
               samples.personal(from_addr="dr3@example.edu", subject="Your email about stroke imaging"))
    result = invoke("sync", "--mbox", "inbox.mbox")
    assert result.exit_code in (0, 1), result.output
    status = {row["address"]: row for row in json.loads(invoke("status", "fall", "--json").stdout)}
    assert [status[a]["action"] for a in ANSWERED] == ["none"] * 3  # "none: replied ...", as the user is told


def test_plan_skips_contacts_who_answered_in_the_same_campaign(campaign, invoke):
    """Path 1: `send --dry-run --json` must list the answered contacts under skipped["answered"]."""
    answer_drafted_contacts(campaign, invoke)
    result = invoke(*campaign.args("--campaign", "fall", "--dry-run", "--json"))
    plan = json.loads(result.stdout)["plan"]
    assert [item["address"] for item in plan["send_now"]] == ["dr0@example.edu"]
    assert sorted(plan["skipped"].get("answered", [])) == ANSWERED


def test_send_does_not_write_to_contacts_who_answered_in_the_same_campaign(campaign, smtp_server, invoke):
    """Path 1: `send --yes` delivers the cold email to dr0 only; the server gets nothing for the others."""
    answer_drafted_contacts(campaign, invoke)
    result = invoke(*campaign.args("--campaign", "fall", "--yes", "--json"))
    assert received_by_mailbox(smtp_server) == {"dr0@example.edu": 1}, result.output
    plan = json.loads(result.stdout)["plan"]
    assert sorted(plan["skipped"].get("answered", [])) == ANSWERED
    states = {row["address"]: row["state"] for row in store_rows(campaign.ws)}
    assert states["dr0@example.edu"] == "sent"
    assert [states[a] for a in ANSWERED if states[a] in ("claimed", "sending", "sent", "uncertain")] == []
