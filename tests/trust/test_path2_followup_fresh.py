"""Issue 15, path 2: `followup --send` must read the mailbox first, however recent the last sync.

"`followup --send` a minute after a threaded reply reached the INBOX sends that person a
reminder: the mailbox is re-read only when the last sync is older than six hours."

Eight days after the cold emails (``OUTREACH_NOW``) the mailbox is synced, then dr1's threaded
reply lands in the INBOX, then `followup --send` runs. On that clock the real-time sync is eight
days old, so ``OUTREACH_SYNC_MAX_AGE=9d`` makes it count as recent, as a sync a minute old does
under the default 6h: the store cannot hold a sync time in the future.
"""

from __future__ import annotations

import json

from tests import mail_samples as samples
from tests.trust.kit import days_later, received_by_mailbox, sent_samples


def test_followup_send_syncs_first_and_spares_who_just_replied(world, invoke, monkeypatch):
    """Path 2: a reply that arrived after the last (recent) sync means no reminder for that person."""
    server = world.server
    result = invoke(*world.args("--campaign", "fall", "--yes"))
    assert result.exit_code == 0, result.output
    originals = sent_samples(server)
    server.messages.clear()

    monkeypatch.setenv("OUTREACH_NOW", days_later(8))
    monkeypatch.setenv("OUTREACH_SYNC_MAX_AGE", "9d")
    result = invoke("sync")
    assert result.exit_code == 0, result.output
    world.account.append(samples.gmail_reply(originals["dr1@example.edu"]))  # In-Reply-To the cold email

    result = invoke("followup", "fall", "-t", "templates/follow_up.txt", "--send", "--yes")
    assert received_by_mailbox(server) == {"dr0@example.edu": 1, "dr2@example.edu": 1}, result.output
    for received in server.messages:
        assert received.message["In-Reply-To"] == originals[received.message["To"].addresses[0].addr_spec].message_id
    status = {row["address"]: row for row in json.loads(invoke("status", "fall", "--json").stdout)}
    assert status["dr1@example.edu"]["action"] == "none"  # none: replied
