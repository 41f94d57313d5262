"""Hostile SMTP replies through the real CLI and a real aiosmtpd server.

A 4xx at any stage of a transaction (MAIL, RCPT, DATA, after the final dot) means "not now":
the contact is deferred and sent by a later run. Only a 5xx fails a contact. A reply after the
final dot that is neither 2xx, 4xx nor 5xx (garbled, 1xx, 3xx) leaves us not knowing whether
the server kept the message: uncertain, never sent again on its own.
"""

from __future__ import annotations

import sqlite3
from collections import deque

import pytest


def states(ws) -> dict[str, tuple[str, str | None]]:
    with sqlite3.connect(ws / "outreach.db") as db:
        return {a: (s, e) for a, s, e in db.execute("SELECT address, state, error FROM messages")}


def inject(server, stage: str, reply: str) -> None:
    if stage == "mail":
        server.fail_mail.append(reply)
    elif stage == "rcpt":
        server.fail_rcpt["dr0@example.edu"] = deque([reply])
    elif stage == "data-command":
        server.fail_data_command.append(reply)
    else:
        server.fail_data.append(reply)


EVERYONE_ONCE = {f"dr{i}@example.edu": 1 for i in range(3)}
STAGES = ["mail", "rcpt", "data-command", "after-dot"]


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("reply", ["450 4.2.1 Mailbox busy", "451 4.3.0 Local error, try later",
                                   "452 4.3.1 Insufficient system storage"])
def test_a_4xx_at_any_stage_defers_and_a_later_run_sends_it(campaign, invoke, smtp_server, stage, reply):
    campaign.configure(OUTREACH_SMTP_ATTEMPTS="1")
    inject(smtp_server, stage, reply)
    first = invoke(*campaign.args("--yes"))
    assert first.exit_code == 1, first.output
    assert "Deferred 1" in first.output and reply in first.output
    assert "need MAIL command" not in first.output
    state, error = states(campaign.ws)["dr0@example.edu"]
    assert state == "queued" and error == f"deferred: {reply}"
    later = invoke(*campaign.args("--yes"))
    assert later.exit_code == 0 and "Sent 1 of 1" in later.output, later.output
    assert smtp_server.received_by() == EVERYONE_ONCE


@pytest.mark.parametrize("stage", ["rcpt", "data-command", "after-dot"])
def test_a_5xx_fails_that_contact_only_and_is_not_retried(campaign, invoke, smtp_server, stage):
    inject(smtp_server, stage, "554 5.7.1 Rejected")
    first = invoke(*campaign.args("--yes"))
    assert first.exit_code == 1 and "Failed 1" in first.output, first.output
    assert states(campaign.ws)["dr0@example.edu"] == ("failed", "554 5.7.1 Rejected")
    later = invoke(*campaign.args("--yes"))
    assert "nothing to send now" in later.output
    assert smtp_server.received_by() == {f"dr{i}@example.edu": 1 for i in (1, 2)}


@pytest.mark.parametrize("reply", ["hello, world", "150 4.0.0 keep waiting", "354 go ahead again", "2 0 0"])
def test_a_garbled_or_1xx_reply_after_the_final_dot_is_uncertain_and_never_resent(campaign, invoke,
                                                                                 smtp_server, reply):
    smtp_server.fail_data.append(reply)
    first = invoke(*campaign.args("--yes"))
    assert first.exit_code == 1 and "Uncertain 1" in first.output, first.output
    state, error = states(campaign.ws)["dr0@example.edu"]
    assert state == "uncertain" and "not understood" in error
    later = invoke(*campaign.args("--yes"))
    assert later.exit_code == 1 and "nothing to send now" in later.output
    assert smtp_server.mail_commands == 3  # dr0 was never tried again
    assert {s for s, _ in states(campaign.ws).values()} == {"uncertain", "sent"}
