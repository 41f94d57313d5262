"""`outreach sync --mbox/--maildir` (no server) and `outreach classify FILE...`."""

from __future__ import annotations

import json
import mailbox
from datetime import date, timedelta

import pytest

from outreach.store import Store
from tests import mail_samples as samples
from tests.helpers import write_mbox

BACK = date.today() + timedelta(days=20)


def write_maildir(path, messages: list[bytes]):
    box = mailbox.Maildir(path, create=True)
    for raw in messages:
        box.add(raw)
    return path


@pytest.fixture
def campaign(record_sent):
    """Three sent messages and one whose send was interrupted."""
    sent = record_sent(*(samples.outgoing(f"{name}@example.edu") for name in ("chen", "okafor", "natarajan")))
    uncertain = record_sent(samples.outgoing("lee@example.edu"), state="sending")
    return sent, uncertain


def test_an_mbox_export_is_synced_like_a_mailbox(workspace, campaign, invoke):
    (chen, okafor, natarajan), uncertain = campaign
    export = write_mbox(workspace / "export.mbox", [
        samples.gmail_reply(chen), samples.spanish_ooo(okafor, BACK), samples.exchange_bounce(natarajan),
        samples.newsletter(), samples.own_copy(uncertain),  # a Takeout export holds the Sent mail too
    ])

    result = invoke("sync", "--mbox", export, "--json")

    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert [(e["address"], e["kind"]) for e in report["events"]] == [
        ("chen@example.edu", "reply"), ("okafor@example.edu", "auto-reply"), ("natarajan@example.edu", "bounce")]
    assert report["events"][1]["until"] == BACK.isoformat()
    assert [c["address"] for c in report["confirmed_sent"]] == ["lee@example.edu"]
    assert report["sources"] == [{"source": f"mbox:{export}", "messages": 5, "matched": 3}]
    store = Store(workspace / "outreach.db")
    assert store.by_message_id(uncertain.message_id).state == "sent"
    assert store.last_synced() is not None

    again = json.loads(invoke("sync", "--mbox", export, "--json").stdout)
    assert not any(e["new"] for e in again["events"])
    assert store.db.execute("SELECT count(*) FROM events").fetchone()[0] == 3


def test_a_maildir_is_synced(workspace, campaign, invoke):
    (chen, okafor, _), _ = campaign
    folder = write_maildir(workspace / "Maildir", [samples.exim_bounce(chen), samples.outlook_reply(okafor)])
    result = invoke("sync", "--maildir", folder)
    assert result.exit_code == 1  # lee@example.edu is still uncertain: a warning
    assert "bounce chen@example.edu  " in result.output
    assert "reply  okafor@example.edu" in result.output
    assert "may or may not have left: lee@example.edu" in result.output


def test_mail_seen_over_imap_and_in_an_export_counts_once(mail_account, workspace, record_sent, invoke):
    sent = record_sent(samples.outgoing("chen@example.edu"))
    reply = samples.apple_mail_reply(sent)
    mail_account.append(reply)
    assert json.loads(invoke("sync", "--json").stdout)["events"][0]["new"] is True
    export = write_mbox(workspace / "export.mbox", [reply])
    assert json.loads(invoke("sync", "--mbox", export, "--json").stdout)["events"][0]["new"] is False


def test_file_sync_refuses_imap_options_and_bad_paths(workspace, campaign, invoke):
    export = write_mbox(workspace / "export.mbox", [samples.newsletter()])
    result = invoke("sync", "--mbox", export, "--folder", "Spam")
    assert result.exit_code == 2 and "--folder is for IMAP" in result.output
    result = invoke("sync", "--mbox", workspace / "missing.mbox")
    assert result.exit_code == 2 and "does not exist" in result.output
    (workspace / "plain").mkdir()
    result = invoke("sync", "--maildir", workspace / "plain")
    assert result.exit_code == 2 and "not a Maildir" in result.output


def test_classify_says_what_each_file_is(workspace, invoke):
    sent = samples.outgoing("chen@example.edu")
    (workspace / "bounce.eml").write_bytes(samples.postfix_bounce(sent))
    (workspace / "ooo.eml").write_bytes(samples.outlook_ooo_german(sent, BACK))
    result = invoke("classify", "bounce.eml", "ooo.eml")
    assert result.exit_code == 0, result.output
    bounce, ooo = result.output.splitlines()
    assert bounce.startswith("bounce.eml: bounce  chen@example.edu  delivery status notification: Action failed")
    assert ooo.startswith("ooo.eml: auto-reply  chen@example.edu  Auto-Submitted: auto-generated")
    assert ooo.endswith(f"back {BACK.isoformat()}")


def test_classify_json_reads_every_message_of_an_mbox_and_shows_the_match(workspace, record_sent, invoke):
    sent = record_sent(samples.outgoing("chen@example.edu"))
    export = write_mbox(workspace / "mixed.mbox", [samples.gmail_delay(sent), samples.outlook_reply(sent),
                                                   samples.newsletter(), samples.arf_complaint(sent)])
    result = invoke("classify", "--json", export)
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(x["file"], x["kind"]) for x in lines] == [
        (f"{export}#1", "delayed"), (f"{export}#2", "reply"), (f"{export}#3", "other"), (f"{export}#4", "complaint")]
    assert lines[0]["match"] == {"campaign": "fall-mentors", "address": "chen@example.edu",
                                 "message_id": sent.message_id, "strength": "dsn",
                                 "matched_by": "the original Message-ID inside the report"}
    assert lines[1]["match"]["strength"] == "header" and lines[2]["match"] is None
    assert lines[3]["address"] == "chen@example.edu"
    assert Store(workspace / "outreach.db").mailbox_events() == []  # classify records nothing


def test_classify_outside_a_workspace_and_as_a_subprocess(tmp_path, run_cli):
    sent = samples.outgoing("chen@example.edu")
    (tmp_path / "a.eml").write_bytes(samples.qmail_bounce(sent))
    done = run_cli("classify", "--json", "a.eml", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["kind"] == "bounce" and json.loads(done.stdout)["match"] is None
    assert not (tmp_path / "outreach.db").exists()
    done = run_cli("classify", "missing.eml", cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr


def test_draft_copies_in_exports_prove_nothing(workspace, record_sent, invoke):
    a, b, c = record_sent(*(samples.outgoing(f"{n}@example.edu") for n in "abc"), state="sending")
    folder = workspace / "Maildir"
    box = mailbox.Maildir(folder, create=True)
    draft = mailbox.MaildirMessage(a.raw)
    draft.set_flags("DS")
    box.add(draft)
    sent = mailbox.MaildirMessage(b.raw)
    sent.set_flags("S")
    box.add(sent)
    takeout = write_mbox(workspace / "takeout.mbox", [b"X-Gmail-Labels: Drafts,Opened\r\n" + c.raw])
    report = json.loads(invoke("sync", "--maildir", folder, "--mbox", takeout, "--json").stdout)
    assert [x["address"] for x in report["confirmed_sent"]] == ["b@example.edu"]
    assert {x["address"] for x in report["still_uncertain"]} == {"a@example.edu", "c@example.edu"}


def test_an_empty_store_needs_no_mailbox(workspace, invoke):
    from outreach.store import Store

    Store(workspace / "outreach.db").close()
    result = invoke("sync")  # no IMAP server configured: not even needed
    assert result.exit_code == 0 and "nothing drafted or sent yet" in result.output


def test_a_delay_that_expired_is_not_called_a_dead_address(workspace, campaign, invoke):
    """Issue 16.12: Gmail's "gave up" notice (Action failed, Status 4.4.7) is a bounce that does
    not suppress; status must not tell the user to check an address that may be fine."""
    (chen, okafor, _), _ = campaign
    expired = samples.gmail_bounce(chen).replace(b"Status: 5.1.1", b"Status: 4.4.7").replace(
        b"550-5.1.1 The email account that you tried to reach does not exist.", b"421 4.4.7 Gave up after 2 days")
    export = write_mbox(workspace / "export.mbox", [expired, samples.gmail_bounce(okafor)])
    assert invoke("sync", "--mbox", export).exit_code in (0, 1)

    status = {line.split()[1]: line for line in invoke("status", "fall-mentors").output.splitlines()[1:]
              if "@" in line}
    assert "check the address" in status[okafor.to]
    assert "check the address" not in status[chen.to]
    assert "gave up retrying (4.x.x status)" in status[chen.to] and "the address may be fine" in status[chen.to]
