"""What the model test found, each as one focused test through the CLI (aiosmtpd and Dovecot).

Every kill is timed by the server (a held command), never by a sleep.
"""

from __future__ import annotations

import email
from email import policy

from tests.model.test_model import fresh_message
from tests.smtp_server import Hold
from tests.trust.kit import kill, run, spawn, wait_until


def eml_drafts(ws) -> dict[str, str]:
    """File name -> Message-ID of the campaign's .eml drafts."""
    return {path.name: email.message_from_bytes(path.read_bytes(), policy=policy.default)["Message-ID"]
            for path in (ws / "drafts" / "fall").glob("*.eml")}


def imap_drafts(account) -> list[str]:
    return [email.message_from_bytes(raw, policy=policy.default)["Message-ID"] for raw in account.messages("Drafts")]


def test_a_send_killed_after_a_message_left_does_not_leave_its_draft_for_good(world):
    """A send killed between a message's 250 and removing its draft (the server holds the next
    MAIL) left that draft, a second copy of a sent message, until the end of time: the next
    command that takes the outbox lock now removes it."""
    ws, server = world.ws, world.server
    world.write_contacts(2)
    assert run(ws, "draft", world.template, world.contacts, "--campaign", "fall")[0] == 0
    server.hold_mail = hold = Hold(nth=2)
    sending = spawn(ws, "send", world.template, world.contacts, "--campaign", "fall", "--yes")
    wait_until(lambda: hold.reached.is_set() or sending.poll() is not None)
    assert hold.reached.is_set(), sending.communicate()
    kill(sending)
    hold.release()
    server.hold_mail = None
    first = server.messages[0].message_id
    assert first in eml_drafts(ws).values()          # what the dead run could not remove

    code, out, err = run(ws, "send", world.template, world.contacts, "--campaign", "fall", "--yes")

    assert code == 0, out + err
    assert eml_drafts(ws) == {}
    assert server.received_by() == {"dr0@example.edu": 1, "dr1@example.edu": 1}


def test_a_redraft_into_imap_replaces_the_eml_draft(world):
    """Drafted as files, then again with --imap: the row named only the IMAP copy, so the .eml
    file with the same Message-ID outlived the send. The re-draft now removes the earlier copy."""
    ws, account = world.ws, world.account
    world.write_contacts(2)
    account.client.create_folder("Drafts")
    draft = ("draft", world.template, world.contacts, "--campaign", "fall")
    assert run(ws, *draft)[0] == 0
    ids = sorted(eml_drafts(ws).values())

    code, out, err = run(ws, *draft, "--imap")
    assert code == 0, out + err
    assert eml_drafts(ws) == {} and sorted(imap_drafts(account)) == ids

    assert run(ws, "send", world.template, world.contacts, "--campaign", "fall", "--yes")[0] == 0
    assert sorted(m.message_id for m in world.server.messages) == ids
    assert imap_drafts(account) == [] and eml_drafts(ws) == {}


def test_send_reads_the_mailbox_when_the_sheet_was_only_drafted(world):
    """`send` read the mailbox only when someone in the sheet had a message that left: an answer
    from someone only drafted to (the draft sent from a mail client, or their own note) was not
    read, and the cold message went to them. Now a draft counts too."""
    ws, account = world.ws, world.account
    world.write_contacts(3)
    account.client.create_folder("Sent")
    assert run(ws, "draft", world.template, world.contacts, "--campaign", "fall")[0] == 0
    account.append(fresh_message("dr0@example.edu", 0))                       # a note from dr0
    by_hand = (ws / "drafts" / "fall" / "dr1@example.edu.eml").read_bytes()   # dr1's draft sent by hand
    account.append(by_hand, "Sent", flags=[b"\\Seen"])

    code, out, err = run(ws, "send", world.template, world.contacts, "--campaign", "fall", "--yes")

    assert code == 0, out + err
    assert world.server.received_by() == {"dr2@example.edu": 1}
