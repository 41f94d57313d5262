"""Issue 15, path 8: only a delivery report about our own message may stop mail to an address.

"A forged delivery report that names a contact and quotes none of our Message-IDs suppresses
that contact for good."

Both reports are Postfix's (``tests.mail_samples.postfix_bounce``: multipart/report,
message/delivery-status, 5.1.1, the returned headers in a text/rfc822-headers part) naming dr1
as the failed recipient. The forged one returns the headers of a message we never sent; the
genuine one returns the headers of the message our server received for dr1.
"""

from __future__ import annotations

import json
import sqlite3

from tests import mail_samples as samples
from tests.trust.kit import FOLLOW_UP, days_later, run, sent_samples, write_mbox

VICTIM = "dr1@example.edu"


def sent_and_synced(campaign, server, report: bytes) -> None:
    code, out, err = run(campaign.ws, *campaign.args("--campaign", "fall", "--yes"))
    assert code == 0, out + err
    write_mbox(campaign.ws / "reports.mbox", report(sent_samples(server)))
    code, out, err = run(campaign.ws, "sync", "--mbox", "reports.mbox")
    assert code in (0, 1), out + err


def suppressed(ws) -> list[str]:
    with sqlite3.connect(ws / "outreach.db") as db:
        return [row[0] for row in db.execute("SELECT address FROM suppressions")]


def events_about(ws, address: str) -> list[str]:
    with sqlite3.connect(ws / "outreach.db") as db:
        return [row[0] for row in db.execute("SELECT kind FROM events WHERE address = ?", (address,))]


def forged(sent: dict) -> bytes:
    return samples.postfix_bounce(samples.outgoing(VICTIM))   # someone else's Message-ID and headers


def genuine(sent: dict) -> bytes:
    return samples.postfix_bounce(sent[VICTIM])


def test_forged_bounce_naming_a_contact_is_recorded_but_suppresses_nobody(campaign, smtp_server):
    """Path 8: the forged DSN is recorded; dr1 stays writable (not suppressed, follow-up still due,
    a new campaign still writes to them)."""
    (campaign.ws / "templates" / "follow_up.txt").write_text(FOLLOW_UP, encoding="utf-8")
    sent_and_synced(campaign, smtp_server, forged)
    assert events_about(campaign.ws, VICTIM) != []
    assert VICTIM not in suppressed(campaign.ws)

    env = {"OUTREACH_NOW": days_later(8)}
    _, out, err = run(campaign.ws, "followup", "fall", "-t", "templates/follow_up.txt", "--dry-run", "--json",
                         "--no-sync", env=env)
    assert VICTIM in [due["address"] for due in json.loads(out)["due"]], out + err
    _, out, err = run(campaign.ws, *campaign.args("--campaign", "spring", "--include-recent", "--dry-run", "--json"))
    assert VICTIM in [item["address"] for item in json.loads(out)["plan"]["send_now"]], out + err


def test_bounce_quoting_our_message_id_suppresses_the_contact(campaign, smtp_server):
    """Path 8, the counterpart (passes today, must keep passing): the same DSN returning our own
    headers suppresses dr1."""
    sent_and_synced(campaign, smtp_server, genuine)
    assert "bounce" in events_about(campaign.ws, VICTIM)
    assert suppressed(campaign.ws) == [VICTIM]
