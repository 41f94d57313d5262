"""`outreach send` end to end through the CLI, against a real STARTTLS + AUTH server."""

from __future__ import annotations

import json
import sqlite3
from collections import deque
from datetime import datetime, timedelta, timezone

import pytest

from outreach.cli import common as cli_common
from outreach.store import Outgoing, Store
from tests.conftest import SMTP_PASSWORD


def message_ids(server) -> list[str]:
    return [m.message_id for m in server.messages]


def rows(ws) -> dict[str, dict]:
    with sqlite3.connect(ws / "outreach.db") as db:
        db.row_factory = sqlite3.Row
        return {r["address"]: dict(r) for r in db.execute("SELECT * FROM messages")}


def test_send_shows_the_plan_sends_and_records(campaign, invoke, smtp_server):
    result = invoke(*campaign.args("--yes"))
    assert result.exit_code == 0, result.output
    out = result.output
    assert f"via 127.0.0.1:{smtp_server.port} (starttls), login asha.rao@example.org" in out
    assert "Send now:  3 messages" in out
    assert "First message (contacts.csv, line 2):" in out and "Dear Dr. Surname0," in out
    assert "Sent 3 of 3" in out
    assert sorted(smtp_server.received_by()) == ["dr0@example.edu", "dr1@example.edu", "dr2@example.edu"]
    assert smtp_server.logins == [("PLAIN", "asha.rao@example.org")]  # one connection for the batch
    stored = rows(campaign.ws)
    assert {r["state"] for r in stored.values()} == {"sent"}
    assert sorted(r["message_id"] for r in stored.values()) == sorted(message_ids(smtp_server))
    assert all(r["sent_at"] and r["account"] == "asha.rao@example.org" and r["transport"] == "smtp"
               for r in stored.values())
    sent = smtp_server.messages[0]
    assert sent.mail_from == "asha.rao@example.org"
    assert sent.message["From"] == "Asha Rao <asha.rao@example.org>" and "X-Unsent" not in sent.message


def test_rerunning_sends_only_what_was_never_sent_and_picks_up_new_rows(campaign, invoke, smtp_server):
    assert invoke(*campaign.args("--yes")).exit_code == 0
    again = invoke(*campaign.args("--yes"))
    assert again.exit_code == 0
    assert "3 already sent" in again.output and "nothing to send now" in again.output
    assert len(smtp_server.messages) == 3
    campaign.write_contacts(5)
    more = invoke(*campaign.args("--yes"))
    assert more.exit_code == 0 and "Sent 2 of 2" in more.output
    assert all(n == 1 for n in smtp_server.received_by().values()) and len(smtp_server.received_by()) == 5
    assert len(set(message_ids(smtp_server))) == 5


def test_another_campaign_name_is_another_send(campaign, invoke, smtp_server):
    assert invoke(*campaign.args("--yes")).exit_code == 0
    held = invoke(*campaign.args("--yes", "--campaign", "spring"))  # the same people, minutes ago: held
    assert "3 written to in another campaign within --recent-days" in held.output
    assert len(smtp_server.messages) == 3
    assert invoke(*campaign.args("--yes", "--campaign", "spring", "--include-recent")).exit_code == 0
    assert len(smtp_server.messages) == 6


def test_dry_run_changes_nothing(campaign, invoke, smtp_server):
    result = invoke(*campaign.args("--dry-run"))
    assert result.exit_code == 0, result.output
    assert "Send now:  3 messages" in result.output and "dry run: nothing was sent or recorded" in result.output
    assert smtp_server.messages == [] and smtp_server.logins == []
    assert not (campaign.ws / "outreach.db").exists()
    assert invoke(*campaign.args("--yes")).exit_code == 0
    assert invoke(*campaign.args("--dry-run")).exit_code == 0
    assert set(rows(campaign.ws)) == {f"dr{i}@example.edu" for i in range(3)}


def test_without_a_terminal_and_without_yes_it_refuses(campaign, invoke, smtp_server):
    result = invoke(*campaign.args())
    assert result.exit_code == 2
    assert "error: standard input is not a terminal" in result.output and "--yes" in result.output
    assert smtp_server.messages == [] and "Traceback" not in result.output


@pytest.mark.parametrize("answer, sent", [("n\n", 0), ("\n", 0), ("y\n", 3)])
def test_it_asks_on_a_terminal(campaign, invoke, smtp_server, monkeypatch, answer, sent):
    monkeypatch.setattr(cli_common, "interactive", lambda: True)
    result = invoke(*campaign.args(), input="y\n" + answer)   # yes to starting the workspace's store, first
    assert result.exit_code == 0
    assert f"There is no tracking store at {campaign.ws / 'outreach.db'}: start a new one" in result.output
    assert "Send 3 messages now? [y/N]" in result.output
    assert len(smtp_server.messages) == sent
    if not sent:
        assert "nothing sent" in result.output


def test_errors_stop_everything(campaign, invoke, smtp_server):
    campaign.write_contacts(3, extra_rows=["not-an-address,X,Y,stroke,A note that is long enough here."])
    result = invoke(*campaign.args("--yes"))
    assert result.exit_code == 2
    assert "contacts.csv, line 5" in result.output and "nothing was sent" in result.output
    assert smtp_server.messages == []


def test_a_drafted_campaign_is_sent_with_its_message_ids(campaign, invoke, smtp_server):
    assert invoke("draft", campaign.template, campaign.contacts).exit_code == 0
    drafted = {a: r["message_id"] for a, r in rows(campaign.ws).items()}
    result = invoke(*campaign.args("--yes"))
    assert result.exit_code == 0
    assert "3 messages (3 drafted before; same Message-ID)" in result.output
    assert sorted(message_ids(smtp_server)) == sorted(drafted.values())
    assert all("X-Unsent" not in m.message for m in smtp_server.messages)


def test_limit_sends_some_now_and_the_rest_later(campaign, invoke, smtp_server):
    first = invoke(*campaign.args("--yes", "--limit", "2"))
    assert first.exit_code == 0
    assert "Later:     1 over the --limit" in first.output and "Sent 2 of 2" in first.output
    assert "To send the rest: outreach send templates/outreach.txt contacts.csv" in first.output
    second = invoke(*campaign.args("--yes"))
    assert "Sent 1 of 1" in second.output
    assert len(smtp_server.received_by()) == 3


def seed_sent(ws, count: int, hours_ago: float, account="asha.rao@example.org") -> None:
    store = Store(ws / "outreach.db")
    when = (datetime.now(timezone.utc) - timedelta(hours=hours_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")
    for i in range(count):
        store.record("queue", Outgoing(campaign="earlier", address=f"old{i}@example.edu",
                                       message_id=f"<old{i}@example.org>", template="t", subject="s",
                                       recipients=[f"old{i}@example.edu"], contact={}, contact_line=i + 2,
                                       transport="smtp", account=account))
        store.db.execute("UPDATE messages SET state='sent', sent_at=? WHERE message_id=?", (when, f"<old{i}@example.org>"))
    store.close()


def test_daily_cap_counts_every_campaign_of_the_account_over_24_hours(campaign, invoke, smtp_server):
    seed_sent(campaign.ws, 3, hours_ago=2)
    result = invoke(*campaign.args("--yes", "--daily-cap", "4"))
    assert result.exit_code == 1, result.output
    assert "daily cap 4 (--daily-cap), 3 used in the last 24 h" in result.output
    assert "Later:     2 over the daily cap" in result.output
    assert "Sent 1 of 1" in result.output
    assert "The daily cap of 4 for asha.rao@example.org is reached; sending can resume after" in result.output
    assert len(smtp_server.messages) == 1
    blocked = invoke(*campaign.args("--yes", "--daily-cap", "4"))
    assert blocked.exit_code == 1 and "nothing to send now" in blocked.output
    assert "the daily cap is reached: sending can resume after" in blocked.output
    assert len(smtp_server.messages) == 1


def test_daily_cap_from_a_preset_and_messages_older_than_a_day_do_not_count(campaign, invoke, smtp_server):
    seed_sent(campaign.ws, 5, hours_ago=25)
    campaign.configure(OUTREACH_DAILY_CAP="3")
    result = invoke(*campaign.args("--yes", "--dry-run"))
    assert "daily cap 3 (OUTREACH_DAILY_CAP), 0 used in the last 24 h" in result.output


def test_a_refused_recipient_fails_alone_and_is_not_retried_unless_asked(campaign, invoke, smtp_server):
    smtp_server.refuse["dr1@example.edu"] = "550 5.1.1 <dr1@example.edu>: Recipient address rejected"
    result = invoke(*campaign.args("--yes"))
    assert result.exit_code == 1
    assert "Sent 2 of 3" in result.output and "Failed 1" in result.output
    assert "dr1@example.edu (line 3): 550 5.1.1" in result.output
    assert rows(campaign.ws)["dr1@example.edu"]["state"] == "failed"
    assert "550 5.1.1" in rows(campaign.ws)["dr1@example.edu"]["error"]
    again = invoke(*campaign.args("--yes"))
    assert "1 refused by the server before (send --retry-failed" in again.output and len(smtp_server.messages) == 2
    del smtp_server.refuse["dr1@example.edu"]
    retried = invoke(*campaign.args("--yes", "--retry-failed"))
    assert retried.exit_code == 0 and "Sent 1 of 1" in retried.output
    assert smtp_server.received_by() == {f"dr{i}@example.edu": 1 for i in range(3)}


def test_greylisting_is_retried_within_the_run(campaign, invoke, smtp_server):
    smtp_server.fail_rcpt["dr0@example.edu"] = deque(["451 4.7.1 Greylisted, try again later"])
    result = invoke(*campaign.args("--yes"))
    assert result.exit_code == 0 and len(smtp_server.messages) == 3


def test_a_server_that_keeps_deferring_leaves_the_message_queued(campaign, invoke, smtp_server):
    smtp_server.fail_rcpt["dr0@example.edu"] = deque(["451 4.7.1 Greylisted, try again later"] * 4)
    result = invoke(*campaign.args("--yes"))
    assert result.exit_code == 1
    assert "Deferred 1" in result.output and "451 4.7.1 Greylisted" in result.output
    assert rows(campaign.ws)["dr0@example.edu"]["state"] == "queued"
    assert "To send the rest:" in result.output
    later = invoke(*campaign.args("--yes"))
    assert later.exit_code == 0 and "Sent 1 of 1" in later.output
    assert smtp_server.received_by() == {f"dr{i}@example.edu": 1 for i in range(3)}


def test_421_mid_batch_reconnects(campaign, invoke, smtp_server):
    campaign.write_contacts(5)
    smtp_server.close_every = 2
    smtp_server.fail_mail.append("421 4.7.0 Try again later, closing connection")
    result = invoke(*campaign.args("--yes"))
    assert result.exit_code == 0
    assert len(smtp_server.messages) == 5 and len(smtp_server.logins) == 4


def test_a_drop_during_data_is_uncertain_shown_and_never_resent_automatically(campaign, invoke, smtp_server):
    smtp_server.fail_data.append("drop-keep")
    result = invoke(*campaign.args("--yes"))
    assert result.exit_code == 1
    assert "Sent 2 of 3" in result.output and "Uncertain 1" in result.output
    assert rows(campaign.ws)["dr0@example.edu"]["state"] == "uncertain"
    again = invoke(*campaign.args("--yes"))
    assert again.exit_code == 1 and "nothing to send now" in again.output
    assert "Uncertain: 1" in again.output and "dr0@example.edu (line 2)" in again.output
    assert "--resend-uncertain" in again.output
    assert smtp_server.received_by() == {f"dr{i}@example.edu": 1 for i in range(3)}
    resolved = invoke("resolve", "dr0@example.edu", "sent")
    assert resolved.exit_code == 0 and rows(campaign.ws)["dr0@example.edu"]["state"] == "sent"
    assert invoke(*campaign.args("--yes")).exit_code == 0


def test_resend_uncertain_is_explicit_and_keeps_the_message_id(campaign, invoke, smtp_server):
    smtp_server.fail_data.append("drop")  # lost: the server did not keep it
    invoke(*campaign.args("--yes"))
    first_id = rows(campaign.ws)["dr0@example.edu"]["message_id"]
    result = invoke(*campaign.args("--yes", "--resend-uncertain"))
    assert result.exit_code == 0 and "Sent 1 of 1" in result.output
    assert smtp_server.received_by() == {f"dr{i}@example.edu": 1 for i in range(3)}
    assert rows(campaign.ws)["dr0@example.edu"]["message_id"] == first_id
    assert first_id in message_ids(smtp_server)


def test_resolve_unsent_queues_it_again(campaign, invoke, smtp_server):
    smtp_server.fail_data.append("drop")
    invoke(*campaign.args("--yes"))
    assert invoke("resolve", "dr0@example.edu", "unsent").exit_code == 0
    assert invoke(*campaign.args("--yes")).exit_code == 0
    assert smtp_server.received_by() == {f"dr{i}@example.edu": 1 for i in range(3)}
    nothing = invoke("resolve", "dr0@example.edu", "sent")
    assert nothing.exit_code == 2 and "has no uncertain message" in nothing.output


def test_partial_recipient_refusal_is_recorded(campaign, invoke, smtp_server):
    template = campaign.ws / campaign.template
    template.write_text(template.read_text().replace("Subject:", "Cc: lab-manager@example.edu\nSubject:", 1))
    smtp_server.refuse["lab-manager@example.edu"] = "550 5.1.1 No such user"
    result = invoke(*campaign.args("--yes"))
    assert result.exit_code == 1 and "Sent 3 of 3" in result.output
    assert "Refused recipients on 3" in result.output
    assert rows(campaign.ws)["dr0@example.edu"]["error"] == "refused recipients: lab-manager@example.edu: 550 5.1.1 No such user"
    assert smtp_server.messages[0].rcpt_tos == ["dr0@example.edu"]


def test_bcc_goes_in_the_envelope_only(campaign, invoke, smtp_server):
    template = campaign.ws / campaign.template
    template.write_text(template.read_text().replace("Subject:", "Bcc: advisor@example.edu\nSubject:", 1))
    assert invoke(*campaign.args("--yes")).exit_code == 0
    sent = smtp_server.messages[0]
    assert sent.rcpt_tos == ["dr0@example.edu", "advisor@example.edu"]
    assert "Bcc" not in sent.message and b"advisor@example.edu" not in sent.data


def test_bad_password_stops_with_advice_and_nothing_is_lost(campaign, invoke, smtp_server):
    campaign.configure(OUTREACH_PASSWORD_COMMAND="printf %s wrong-password-123")
    result = invoke(*campaign.args("--yes"))
    assert result.exit_code == 2
    assert "refused the login for asha.rao@example.org (535" in result.output
    assert "wrong-password-123" not in result.output
    assert smtp_server.messages == []
    assert {r["state"] for r in rows(campaign.ws).values()} == {"queued"}
    campaign.configure()
    assert invoke(*campaign.args("--yes")).exit_code == 0 and len(smtp_server.messages) == 3


def test_an_untrusted_certificate_is_refused(campaign, invoke, smtp_server):
    campaign.configure(OUTREACH_CA_FILE=None)
    result = invoke(*campaign.args("--yes"))
    assert result.exit_code == 2
    assert "is not trusted" in result.output and "OUTREACH_CA_FILE" in result.output
    assert smtp_server.messages == [] and smtp_server.logins == []


def test_implicit_tls_account(workspace, smtps_server, tls_cert, invoke):
    from tests.conftest import Campaign

    campaign = Campaign(workspace, smtps_server, tls_cert[0])
    result = invoke(*campaign.args("--yes"))
    assert result.exit_code == 0 and "(ssl)" in result.output
    assert len(smtps_server.messages) == 3 and all(m.tls for m in smtps_server.messages)


def test_the_password_never_appears_in_output_store_or_lock(campaign, invoke, smtp_server, run_cli):
    campaign.configure(OUTREACH_PASSWORD_COMMAND=None)
    env = {"OUTREACH_PASSWORD": SMTP_PASSWORD, "OUTREACH_DEBUG": "1"}
    done = run_cli(*campaign.args("--yes"), cwd=campaign.ws, env=env)
    assert done.returncode == 0, done.stderr
    assert "warning: the password comes from OUTREACH_PASSWORD" in done.stderr
    smtp_server.fail_mail.append("550 5.7.1 Sender not allowed")
    campaign.write_contacts(4)
    failed = run_cli(*campaign.args("--yes"), cwd=campaign.ws, env=env)
    wrong = run_cli(*campaign.args("--yes"), cwd=campaign.ws, env={**env, "OUTREACH_PASSWORD": "Wr0ng-Secret!"})
    for run in (done, failed, wrong):
        assert SMTP_PASSWORD not in run.stdout + run.stderr and "Wr0ng-Secret!" not in run.stdout + run.stderr
    for path in campaign.ws.iterdir():
        if path.is_file():
            data = path.read_bytes()
            assert SMTP_PASSWORD.encode() not in data and b"Wr0ng-Secret!" not in data, path


def test_missing_secret_is_caught_before_the_question(campaign, invoke, smtp_server, monkeypatch):
    campaign.configure(OUTREACH_PASSWORD_COMMAND=None)
    monkeypatch.setattr(cli_common, "interactive", lambda: True)
    result = invoke(*campaign.args(), input="y\n")
    assert result.exit_code == 2
    assert "no password for asha.rao@example.org: run `outreach login`" in result.output
    assert "now? [y/N]" not in result.output


def test_no_keyring_backend_names_the_alternatives(campaign, invoke, smtp_server):
    import keyring
    from keyring.backends import fail

    campaign.configure(OUTREACH_PASSWORD_COMMAND=None)
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        result = invoke(*campaign.args("--yes"))
    finally:
        keyring.set_keyring(previous)
    assert result.exit_code == 2
    assert "no OS keyring is available on this machine: set OUTREACH_PASSWORD_COMMAND" in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "OUTREACH_OAUTH2_TOKEN_COMMAND" in errors[0] and "OUTREACH_PASSWORD" in errors[0]


def test_keyring_password_is_used(campaign, invoke, smtp_server, memory_keyring):
    campaign.configure(OUTREACH_PASSWORD_COMMAND=None)
    memory_keyring.set_password("outreach", "asha.rao@example.org", SMTP_PASSWORD)
    assert invoke(*campaign.args("--yes")).exit_code == 0 and len(smtp_server.messages) == 3


def test_oauth2_token_command(workspace, tls_cert, invoke):
    from tests.conftest import Campaign
    from tests.smtp_server import MailServer

    with MailServer(*tls_cert, mode="ssl", token="ya29.a0-token") as server:
        campaign = Campaign(workspace, server, tls_cert[0])
        campaign.configure(OUTREACH_PASSWORD_COMMAND=None, OUTREACH_OAUTH2_TOKEN_COMMAND="echo ya29.a0-token")
        result = invoke(*campaign.args("--yes"))
        assert result.exit_code == 0, result.output
        assert server.logins == [("XOAUTH2", "asha.rao@example.org")]


def test_one_send_at_a_time(campaign, invoke, smtp_server):
    from outreach.store.lock import OutboxLock

    with OutboxLock(campaign.ws / "outreach.db", "send"):
        result = invoke(*campaign.args("--yes"))
    assert result.exit_code == 2
    assert "another outreach command (send, process " in result.output
    assert smtp_server.messages == []
    assert invoke(*campaign.args("--yes", "--dry-run")).exit_code == 0  # a dry run needs no lock


def test_rate_is_held_end_to_end(campaign, invoke, smtp_server):
    campaign.write_contacts(11)
    result = invoke(*campaign.args("--yes", "--rate", "600/min"))
    assert result.exit_code == 0
    assert "Pacing:    10/s (--rate)" in result.output
    span = smtp_server.arrivals[-1] - smtp_server.arrivals[0]
    # The schedule starts a send every 0.1 s (ten gaps: 1 s). The server sees each message when its
    # transaction ends, so a first transaction slower than the last (a loaded machine) shortens the
    # span by that difference; one interval of it still fails 20/s (0.5 s), and half the rate (2 s) fails.
    assert 0.9 <= span < 1.8


def test_status_lists_each_contact(campaign, invoke, smtp_server):
    smtp_server.refuse["dr2@example.edu"] = "550 5.1.1 No such user"
    invoke(*campaign.args("--yes", "--limit", "3"))
    campaign.write_contacts(4)
    invoke("draft", campaign.template, campaign.contacts, "--campaign", "other", "--include-recent")
    result = invoke("status", "outreach")
    assert result.exit_code == 0
    assert "outreach: 2 sent, 1 failed" in result.output
    assert "dr2@example.edu" in result.output and "550 5.1.1 No such user" in result.output
    everything = invoke("status")
    assert "other: 4 drafted" in everything.output
    data = json.loads(invoke("status", "outreach", "--json").output)
    assert {d["address"]: d["state"] for d in data} == {"dr0@example.edu": "sent", "dr1@example.edu": "sent",
                                                          "dr2@example.edu": "failed"}
    missing = invoke("status", "nope")
    assert missing.exit_code == 2 and "no campaign 'nope'" in missing.output and "known: other, outreach" in missing.output


def test_help_has_examples(invoke):
    for command in ("send", "status", "resolve", "login", "logout"):
        result = invoke(command, "--help")
        assert result.exit_code == 0 and "Example" in result.output, command


def test_an_account_quota_leaves_the_contacts_queued(campaign, invoke, smtp_server):
    smtp_server.refuse["dr1@example.edu"] = "550 5.4.5 Daily user sending limit exceeded."
    result = invoke(*campaign.args("--yes"))
    assert result.exit_code == 1
    assert "Sent 1 of 3" in result.output and "sending limit: try again tomorrow" in result.output
    assert campaign.states() == {"dr0@example.edu": "sent", "dr1@example.edu": "queued", "dr2@example.edu": "queued"}


def test_the_date_is_stamped_when_the_message_leaves(campaign, invoke, smtp_server):
    from email.utils import parsedate_to_datetime

    before = datetime.now(timezone.utc).replace(microsecond=0)
    assert invoke(*campaign.args("--yes")).exit_code == 0
    for received in smtp_server.messages:
        assert received.data.count(b"\nDate: ") + received.data.startswith(b"Date: ") == 1
        assert before <= parsedate_to_datetime(received.message["Date"]) <= datetime.now(timezone.utc)


def test_refusals_in_a_row_stop_the_batch(campaign, invoke, smtp_server):
    campaign.write_contacts(7)
    for i in range(6):
        smtp_server.refuse[f"dr{i}@example.edu"] = "550 5.1.1 No such user"
    result = invoke(*campaign.args("--yes"))
    assert result.exit_code == 1
    assert "stopped: the server refused 5 messages in a row" in result.output
    states = campaign.states()
    assert [states[f"dr{i}@example.edu"] for i in range(7)] == ["failed"] * 5 + ["queued"] * 2
    assert smtp_server.messages == []


def test_a_refused_sender_stops_before_anything_is_sent(campaign, invoke, smtp_server):
    smtp_server.fail_mail.append("553 5.7.1 Sender address rejected: not owned by user")
    result = invoke(*campaign.args("--yes"))
    assert result.exit_code == 2
    assert "error: the server refused the sender asha.rao@example.org (553 5.7.1" in result.output
    assert set(campaign.states().values()) == {"queued"}


def test_a_refusal_at_rcpt_naming_the_sender_stops_and_leaves_everyone_queued(campaign, invoke, smtp_server):
    """Issue 16.7: university servers check that From belongs to the login and refuse at RCPT
    (Postfix's reject_sender_login_mismatch); that is the account's setting, not the contacts'."""
    for i in range(3):
        smtp_server.refuse[f"dr{i}@example.edu"] = ("553 5.7.1 <asha.rao@example.org>: Sender address rejected: "
                                                     "not owned by user asha.rao@example.org")
    result = invoke(*campaign.args("--yes"))
    assert result.exit_code == 2, result.output
    error = result.output.split("error: ", 1)[1]
    assert error.startswith("the server refused the sender asha.rao@example.org (553 5.7.1")
    assert "OUTREACH_FROM" in error and "the login asha.rao@example.org" in error
    assert "Failed" not in result.output and "fix the address" not in result.output
    assert set(campaign.states().values()) == {"queued"} and smtp_server.messages == []


def test_the_same_refusal_for_the_first_two_contacts_is_about_the_sender(campaign, invoke, smtp_server):
    for i in range(3):
        smtp_server.refuse[f"dr{i}@example.edu"] = f"553 5.7.1 <dr{i}@example.edu>: Access denied"
    result = invoke(*campaign.args("--yes"))
    assert result.exit_code == 2, result.output
    assert "error: the server refused the sender asha.rao@example.org (553 5.7.1" in result.output
    assert "OUTREACH_FROM" in result.output and "Failed" not in result.output
    assert set(campaign.states().values()) == {"queued"}
    assert not any(r["error"] for r in rows(campaign.ws).values())
    del smtp_server.refuse["dr0@example.edu"], smtp_server.refuse["dr1@example.edu"], smtp_server.refuse["dr2@example.edu"]
    assert invoke(*campaign.args("--yes")).exit_code == 0  # once OUTREACH_FROM is fixed, the same command sends
    assert set(campaign.states().values()) == {"sent"}


def test_two_unknown_mailboxes_first_are_still_the_contacts_fault(campaign, invoke, smtp_server):
    smtp_server.refuse["dr0@example.edu"] = "550 5.1.1 <dr0@example.edu>: User unknown"
    smtp_server.refuse["dr1@example.edu"] = "550 5.1.1 <dr1@example.edu>: User unknown"
    result = invoke(*campaign.args("--yes"))
    assert result.exit_code == 1 and "Sent 1 of 3" in result.output and "Failed 2" in result.output
    assert campaign.states() == {"dr0@example.edu": "failed", "dr1@example.edu": "failed", "dr2@example.edu": "sent"}


def test_a_redraft_does_not_call_a_failed_message_sent(campaign, invoke, smtp_server):
    """Issue 16.12: a message the server refused is not "already sent" when the campaign is drafted again."""
    smtp_server.refuse["dr0@example.edu"] = "550 5.1.1 No such user"
    assert invoke(*campaign.args("--yes")).exit_code == 1
    redraft = invoke("draft", str(campaign.template), str(campaign.contacts))
    assert redraft.exit_code == 0, redraft.output
    assert "skipped 2 already sent in this campaign" in redraft.output
    assert "skipped dr0@example.edu: refused by the server before (send --retry-failed to try again)" in redraft.output
    listed = json.loads(invoke("draft", str(campaign.template), str(campaign.contacts), "--json").output)
    assert listed["already_sent"] == ["dr1@example.edu", "dr2@example.edu"]
    assert listed["held"] == [{"address": "dr0@example.edu", "reason": "failed"}]


def test_status_shows_the_latest_reply_recorded(campaign, invoke, smtp_server):
    assert invoke(*campaign.args("--yes")).exit_code == 0
    store = Store(campaign.ws / "outreach.db")
    row = store.get("outreach", "dr1@example.edu")
    store.db.execute("INSERT INTO events (message_id, address, kind, source, occurred_at, recorded_at) "
                     "VALUES (?, ?, 'reply', 'test:1', '2026-11-23T09:00:00Z', '2026-11-23T09:05:00Z')",
                     (row.message_id, row.address))
    store.close()
    result = invoke("status")
    line = next(line for line in result.output.splitlines() if "dr1@example.edu" in line)
    assert "sent" in line and "reply 2026-11-23" in line  # status shows dates; the next action says "none: replied"
