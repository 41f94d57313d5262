"""Issue 15, path 5: `draft` must not run while a `send` of the campaign is running.

"`draft` of a campaign while a paced `send` of it runs: rows flip to drafted, the send sends
them anyway, and 36 drafts of messages already sent remain on disk."

The send is paced (one message every half second, so it claims one row at a time); the server
holds its second MAIL FROM while `draft` runs, so the two overlap whatever the machine's speed.
"""

from __future__ import annotations

import email
from email import policy

from tests.smtp_server import Hold
from tests.trust.kit import finish, run, spawn, store_rows

CONTACTS = [f"dr{i}@example.edu" for i in range(4)]


def test_draft_is_refused_while_a_paced_send_of_the_campaign_runs(campaign, smtp_server):
    """Path 5: `draft` exits 2 naming the running send; the send ends with one message each,
    every row sent, and no draft of a sent message on disk."""
    campaign.write_contacts(len(CONTACTS))
    smtp_server.hold_mail = Hold(nth=2)
    sending = spawn(campaign.ws, *campaign.args("--campaign", "fall", "--yes", "--rate", "120/min"))
    assert smtp_server.hold_mail.reached.wait(20)
    assert len(smtp_server.messages) == 1                          # the send is under way

    code, out, err = run(campaign.ws, "draft", campaign.template, campaign.contacts, "--campaign", "fall")
    smtp_server.hold_mail.release()
    send_code, send_out, send_err = finish(sending)
    assert send_code == 0, send_out + send_err
    assert smtp_server.received_by() == {address: 1 for address in CONTACTS}
    sent_ids = {m.message_id for m in smtp_server.messages}
    left = [path.name for path in (campaign.ws / "drafts" / "fall").glob("*.eml")
            if email.message_from_bytes(path.read_bytes(), policy=policy.default)["Message-ID"] in sent_ids]
    assert left == []
    assert {row["address"]: row["state"] for row in store_rows(campaign.ws)} == dict.fromkeys(CONTACTS, "sent")
    assert code == 2, out + err
    assert "another outreach" in err or "process" in err, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
