"""`outreach sync` against a real Dovecot: matching, classification, incremental reads, read-only."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from outreach.store import Store
from tests import mail_samples as samples
from tests.seed import force_state

BACK = date.today() + timedelta(days=20)

# case -> (builder, expected kind, expected strength); each case writes to its own contact.
RESPONSES = {
    "gmail-reply": (samples.gmail_reply, "reply", "header"),
    "outlook-reply": (samples.outlook_reply, "reply", "header"),
    "apple-reply": (samples.apple_mail_reply, "reply", "header"),
    "assistant-reply": (lambda s: samples.references_only_reply(s, "assistant@hospital.example"), "reply", "header"),
    "subject-only-reply": (samples.subject_only_reply, "reply", "subject"),
    "gmail-vacation": (lambda s: samples.gmail_vacation(s, BACK), "auto-reply", "header"),
    "outlook-ooo-en": (lambda s: samples.outlook_ooo_english(s, BACK), "auto-reply", "header"),
    "outlook-ooo-de": (lambda s: samples.outlook_ooo_german(s, BACK), "auto-reply", "header"),
    "ooo-fr": (lambda s: samples.french_ooo(s, BACK), "auto-reply", "subject"),
    "ooo-es": (lambda s: samples.spanish_ooo(s, BACK), "auto-reply", "header"),
    "sieve-vacation": (samples.sieve_vacation, "auto-reply", "header"),
    "postfix-bounce": (samples.postfix_bounce, "bounce", "dsn"),
    "postfix-delay": (samples.postfix_delay, "delayed", "dsn"),
    "exim-bounce": (samples.exim_bounce, "bounce", "dsn"),
    "exim-delay": (samples.exim_delay, "delayed", "address"),
    "exchange-bounce": (samples.exchange_bounce, "bounce", "dsn"),
    "exchange-delay": (samples.exchange_delay, "delayed", "dsn"),
    "gmail-bounce": (samples.gmail_bounce, "bounce", "dsn"),
    "gmail-delay": (samples.gmail_delay, "delayed", "dsn"),
    "qmail-bounce": (samples.qmail_bounce, "bounce", "dsn"),
    "complaint": (samples.arf_complaint, "complaint", "dsn"),
}
UNTIL = {"gmail-vacation", "outlook-ooo-en", "outlook-ooo-de", "ooo-fr", "ooo-es"}
SUPPRESSED = {"postfix-bounce", "exim-bounce", "exchange-bounce", "gmail-bounce", "qmail-bounce", "complaint"}


def contact(case: str) -> str:
    return f"{case}@example.edu"


def sync(invoke, *args):
    result = invoke("sync", "--json", *args)
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout), result.exit_code


def test_every_style_is_classified_and_matched_and_unrelated_mail_is_not(mail_account, record_sent, invoke,
                                                                         workspace):
    sent = dict(zip(RESPONSES, record_sent(*(samples.outgoing(contact(case)) for case in RESPONSES))))
    for case, (build, _, _) in RESPONSES.items():
        mail_account.append(build(sent[case]))
    # Unrelated: a newsletter, friends, another thread, a stranger's out-of-office, a bounce of a
    # message outreach never sent, a reply on another subject, and the user's own copy of one of
    # our messages. (A contact's own new message is an answer too: issue 10, matched by address.)
    stranger = samples.outgoing("someone.else@example.com", "Housing in Boston")
    other_subject = samples.outgoing(contact("gmail-reply"), "Lunch?")
    unrelated = [samples.newsletter(), samples.personal(), samples.unrelated_reply(), samples.stranger_ooo(),
                 samples.postfix_bounce(stranger), samples.personal(from_addr=contact("outlook-reply"),
                                                                    subject="Grand rounds this Thursday"),
                 samples.subject_only_reply(other_subject), samples.own_copy(sent["gmail-reply"])]
    for raw in unrelated:
        mail_account.append(raw)
    flags_before = mail_account.flags()

    report, code = sync(invoke)

    assert code == 0, report
    fresh = [e for e in report["events"] if e["matched_by"] == "a new message from the address we wrote to"]
    assert [(e["address"], e["kind"], e["strength"]) for e in fresh] == [(contact("outlook-reply"), "reply", "address")]
    got = {e["address"]: (e["kind"], e["strength"]) for e in report["events"] if e not in fresh}
    assert got == {contact(case): (kind, strength) for case, (_, kind, strength) in RESPONSES.items()}
    for event in report["events"]:
        case = event["address"].split("@")[0]
        assert event["until"] == (BACK.isoformat() if case in UNTIL else None), event
        assert event["campaign"] == "fall-mentors"
    stored = {e["address"]: e for e in Store(workspace / "outreach.db").mailbox_events()}
    assert stored[contact("outlook-ooo-de")]["until"] == BACK.isoformat()
    assert stored[contact("outlook-ooo-de")]["detail"]["until"] == BACK.isoformat()
    assistant = next(e for e in report["events"] if e["address"] == contact("assistant-reply"))
    assert assistant["from"] == "assistant@hospital.example"
    store = Store(workspace / "outreach.db")
    suppressed = {r["address"] for r in store.db.execute("SELECT address FROM suppressions")}
    assert suppressed == {contact(case) for case in SUPPRESSED}
    # read-only: nothing was marked read, moved or deleted
    assert mail_account.flags() == flags_before
    assert all(b"\\Seen" not in flags for flags in flags_before.values())
    # bodies only for mail that may be ours: every response, the unrelated bounce, and the two
    # messages from contacts (an out-of-office notice without auto-reply headers says so only
    # in its body)
    bodies = len(RESPONSES) + 3
    assert report["stats"]["bodies_fetched"] == bodies
    assert report["stats"]["headers_fetched"] == len(RESPONSES) + len(unrelated)


def test_incremental_sync_reads_only_new_mail_and_counts_nothing_twice(mail_account, record_sent, invoke):
    first, second = record_sent(samples.outgoing(contact("one")), samples.outgoing(contact("two")))
    mail_account.append(samples.gmail_reply(first))
    mail_account.append(samples.newsletter())

    report, _ = sync(invoke)
    assert [(e["address"], e["kind"]) for e in report["events"]] == [(contact("one"), "reply")]
    assert report["stats"]["headers_fetched"] == 2

    again, _ = sync(invoke)  # nothing new: no search, no fetch
    assert again["events"] == [] and again["stats"]["headers_fetched"] == 0
    assert again["stats"]["bodies_fetched"] == 0

    mail_account.append(samples.postfix_bounce(second))  # arrives between two syncs
    later, _ = sync(invoke)
    assert [(e["address"], e["kind"]) for e in later["events"]] == [(contact("two"), "bounce")]
    assert later["stats"]["headers_fetched"] == 1

    full, _ = sync(invoke, "--full")  # everything again: seen, but recorded once
    assert {e["address"] for e in full["events"]} == {contact("one"), contact("two")}
    assert not any(e["new"] for e in full["events"])


def test_a_uidvalidity_change_rescans_the_folder_without_double_counting(mail_account, record_sent, invoke,
                                                                       workspace):
    first, second = record_sent(samples.outgoing(contact("one")), samples.outgoing(contact("two")))
    client = mail_account.client
    client.create_folder("Residency")
    reply = samples.apple_mail_reply(first)
    client.append("Residency", reply)
    report, _ = sync(invoke, "--folder", "Residency")
    assert [e["address"] for e in report["events"]] == [contact("one")]

    # The folder is recreated (a server migration, a restore): new UIDVALIDITY, same mail, one more.
    client.delete_folder("Residency")
    client.create_folder("Residency")
    client.append("Residency", reply)
    client.append("Residency", samples.gmail_reply(second))
    report, _ = sync(invoke, "--folder", "Residency")

    source = next(s for s in report["sources"] if s["source"] == "imap:Residency")
    assert source["rescan"] is True and source["messages"] == 2
    assert [(e["address"], e["new"]) for e in report["events"]] == [(contact("one"), False), (contact("two"), True)]
    store = Store(workspace / "outreach.db")
    assert store.db.execute("SELECT count(*) FROM events").fetchone()[0] == 2


def test_an_uncertain_send_is_confirmed_from_the_sent_folder(mail_account, record_sent, invoke, workspace):
    in_sent, missing, drafted = record_sent(samples.outgoing(contact("a")), samples.outgoing(contact("b")),
                                            samples.outgoing(contact("c")), state="sending")
    force_state(Store(workspace / "outreach.db"), drafted.message_id, "drafted")
    mail_account.client.create_folder("[Gmail]/Sent Mail")  # \Sent by SPECIAL-USE, as on Gmail
    mail_account.append(in_sent.raw, "[Gmail]/Sent Mail", flags=[b"\\Seen"])
    mail_account.append(drafted.raw, "[Gmail]/Sent Mail", flags=[b"\\Seen"])  # a draft sent by hand

    report, code = sync(invoke)

    assert code == 1  # one message is still uncertain: a warning
    assert {c["address"] for c in report["confirmed_sent"]} == {contact("a"), contact("c")}
    assert [u["address"] for u in report["still_uncertain"]] == [contact("b")]
    store = Store(workspace / "outreach.db")
    assert store.by_message_id(in_sent.message_id).state == "sent"
    assert store.by_message_id(in_sent.message_id).sent_at is not None
    # left "sending" by a process that is gone: sync settles it (uncertain) before looking it up
    assert store.by_message_id(missing.message_id).state == "uncertain"
    assert store.by_message_id(drafted.message_id).state == "sent"


def test_a_reply_proves_an_uncertain_message_left(mail_account, record_sent, invoke, workspace):
    sent = record_sent(samples.outgoing(contact("a")), state="uncertain")
    mail_account.append(samples.outlook_reply(sent))
    report, code = sync(invoke)
    assert code == 0 and report["confirmed_sent"][0]["address"] == contact("a")
    assert Store(workspace / "outreach.db").by_message_id(sent.message_id).state == "sent"


def test_the_text_report_names_each_event(mail_account, record_sent, invoke):
    sent = record_sent(samples.outgoing(contact("a")), samples.outgoing(contact("b")))
    mail_account.append(samples.outlook_ooo_german(sent[0], BACK))
    mail_account.append(samples.gmail_bounce(sent[1]))
    result = invoke("sync")
    assert result.exit_code == 0, result.output
    assert f"auto-reply {contact('a')}" in result.output and f"back {BACK.isoformat()}" in result.output
    assert f"bounce     {contact('b')}" in result.output and "suppressed" in result.output
    assert "recorded: 1 auto-reply, 1 bounce" in result.output


def test_starttls_works_and_the_certificate_is_verified(mail_account, record_sent, invoke, workspace, dovecot):
    record_sent(samples.outgoing(contact("a")))
    env = (workspace / ".env").read_text()
    starttls = env.replace(f"OUTREACH_IMAP_PORT={dovecot.imaps_port}", f"OUTREACH_IMAP_PORT={dovecot.imap_port}")
    (workspace / ".env").write_text(starttls.replace("OUTREACH_IMAP_SECURITY=ssl", "OUTREACH_IMAP_SECURITY=starttls"))
    assert invoke("sync").exit_code == 0

    (workspace / ".env").write_text("\n".join(line for line in env.splitlines()
                                              if not line.startswith("OUTREACH_CA_FILE")) + "\n")
    result = invoke("sync")
    assert result.exit_code == 2
    assert "TLS certificate cannot be verified" in result.output and "OUTREACH_CA_FILE" in result.output
    assert "Traceback" not in result.output


def test_a_wrong_password_is_one_sentence(mail_account, record_sent, invoke, workspace):
    record_sent(samples.outgoing(contact("a")))
    env = (workspace / ".env").read_text().replace("OUTREACH_PASSWORD_COMMAND=printf ", "OUTREACH_PASSWORD_COMMAND=printf x")
    (workspace / ".env").write_text(env)
    result = invoke("sync")
    assert result.exit_code == 2
    assert f"login as {mail_account.user} failed" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_sync_refuses_without_a_store_or_a_server(workspace, invoke, record_sent):
    result = invoke("sync")
    assert result.exit_code == 2 and "no tracking store" in result.output
    record_sent(samples.outgoing(contact("a")))
    result = invoke("sync")
    assert result.exit_code == 2 and "OUTREACH_IMAP_HOST" in result.output


def test_a_missing_extra_folder_is_a_warning(mail_account, record_sent, invoke):
    record_sent(samples.outgoing(contact("a")))
    result = invoke("sync", "--folder", "No Such Folder")
    assert result.exit_code == 1
    assert "no folder 'No Such Folder'" in result.output


def test_the_spam_folder_is_read_too(mail_account, record_sent, invoke):
    sent = record_sent(samples.outgoing(contact("a")))
    mail_account.client.create_folder("[Gmail]/Spam")  # \Junk by SPECIAL-USE
    mail_account.append(samples.exim_bounce(sent), "[Gmail]/Spam")
    report, _ = sync(invoke)
    assert [(s["source"], s["matched"]) for s in report["sources"]] == [("imap:INBOX", 0), ("imap:[Gmail]/Spam", 1)]


def test_sync_as_a_subprocess(mail_account, record_sent, run_cli, workspace):
    sent = record_sent(samples.outgoing(contact("a")))
    mail_account.append(samples.gmail_reply(sent))
    done = run_cli("sync", "--json", cwd=workspace)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["events"][0]["kind"] == "reply"


def test_an_oauth2_token_logs_in_with_xoauth2(mail_account, record_sent, invoke, workspace, dovecot):
    from tests.dovecot_server import PASSWORD

    sent = record_sent(samples.outgoing(contact("a")))
    mail_account.append(samples.gmail_reply(sent))
    env = (workspace / ".env").read_text().replace(f"OUTREACH_PASSWORD_COMMAND=printf {PASSWORD}",
                                                   f"OUTREACH_OAUTH2_TOKEN_COMMAND=printf {PASSWORD}")
    (workspace / ".env").write_text(env)
    report, code = sync(invoke)
    assert code == 0 and report["events"][0]["kind"] == "reply"
    assert f"user=<{mail_account.user}>, method=XOAUTH2" in dovecot.log()


def test_imapclients_parser_gives_the_same_result(mail_account, record_sent, invoke, monkeypatch):
    from outreach.mailbox import imap

    monkeypatch.setattr(imap, "parse_header_fetch", lambda data, wanted: None)  # take imapclient's path
    first, second = record_sent(samples.outgoing(contact("one")), samples.outgoing(contact("two")))
    mail_account.append(samples.outlook_reply(first))
    mail_account.append(samples.gmail_delay(second))
    mail_account.append(samples.newsletter())
    report, _ = sync(invoke)
    assert [(e["address"], e["kind"]) for e in report["events"]] == [(contact("one"), "reply"),
                                                                     (contact("two"), "delayed")]
    assert report["stats"]["headers_fetched"] == 3


def test_a_draft_copy_proves_nothing_but_a_sent_copy_does(mail_account, record_sent, invoke, workspace):
    drafted, sent = record_sent(samples.outgoing(contact("a")), samples.outgoing(contact("b")), state="sending")
    client = mail_account.client
    client.create_folder("All Mail")  # Gmail's All Mail holds drafts and sent mail alike
    mail_account.append(drafted.raw, "All Mail", flags=[b"\\Draft"])
    mail_account.append(sent.raw, "All Mail", flags=[b"\\Seen"])
    client.create_folder("Drafts")
    result = invoke("sync", "--json", "--folder", "All Mail", "--folder", "Drafts")
    report = json.loads(result.stdout)
    assert [c["address"] for c in report["confirmed_sent"]] == [contact("b")]
    assert [u["address"] for u in report["still_uncertain"]] == [contact("a")]
    assert "'Drafts' holds drafts, not mail received; it was skipped" in report["warnings"]
    assert Store(workspace / "outreach.db").by_message_id(drafted.message_id).state == "uncertain"


@pytest.mark.parametrize("commit_every", [1.0, 0.0], ids=["chunks committed together", "each chunk committed"])
@pytest.mark.parametrize(("drop_at", "kept"), [(2, 0), (3, 2)], ids=["while screening", "after a chunk"])
def test_a_dropped_connection_keeps_what_was_read_and_the_next_run_finishes(mail_account, record_sent, invoke,
                                                                            workspace, monkeypatch, drop_at, kept,
                                                                            commit_every):
    """Each chunk's headers are asked for before the chunk before it is screened (the server
    prepares them meanwhile): a drop then loses the chunk being screened, whose bodies were not
    read yet, and keeps every chunk read before it, whether it was committed already or was
    waiting to be committed with the next ones; the next run reads on from there."""
    import socket

    from outreach.mailbox import sync as mailbox_sync
    from outreach.mailbox.imap import ImapSession

    sent = record_sent(*(samples.outgoing(contact(f"c{i}")) for i in range(6)))
    for item in sent:
        mail_account.append(samples.gmail_reply(item))
    monkeypatch.setattr(mailbox_sync, "CHUNK", 2)
    monkeypatch.setattr(mailbox_sync, "COMMIT_EVERY", commit_every)
    ask = ImapSession.ask_headers
    calls = []

    def drop(self, uids):
        calls.append(uids)
        if len(calls) == drop_at:
            self.client._imap.sock.shutdown(socket.SHUT_RDWR)  # the network goes away mid-sync
        return ask(self, uids)

    monkeypatch.setattr(ImapSession, "ask_headers", drop)
    result = invoke("sync")
    assert result.exit_code == 1
    assert "the connection failed while reading INBOX" in result.output and "run the command again" in result.output
    store = Store(workspace / "outreach.db")
    assert store.db.execute("SELECT count(*) FROM events").fetchone()[0] == kept

    monkeypatch.setattr(ImapSession, "ask_headers", ask)
    report, code = sync(invoke)
    assert code == 0 and report["stats"]["headers_fetched"] == 6 - kept  # it resumes after what was kept
    assert store.db.execute("SELECT count(*) FROM events").fetchone()[0] == 6


def test_a_folder_the_server_will_not_open_is_one_sentence(mail_account, record_sent, invoke):
    record_sent(samples.outgoing(contact("a")))
    mail_account.client.create_folder("[Gmail]/Spam")  # "[Gmail]" itself is listed but cannot be selected
    result = invoke("sync", "--folder", "[Gmail]")
    assert result.exit_code == 1, result.output
    assert "warning: IMAP server" in result.output
    assert "the server refused a command while reading [Gmail]" in result.output
    assert "imap:[Gmail]/Spam: 0 messages read" in result.output and "recorded: nothing new" in result.output
