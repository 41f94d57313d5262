"""Issue 15, path 4: a draft on the server is always one the store knows.

"`draft --imap` killed right after the server stored a draft: the re-run appends a second draft
under a Message-ID the store does not know; after `send` it stays in Drafts, ready to be sent
again from a mail client (5 of 5 tries)."

The account is reached through a relay (``tests/trust/imap_relay.py``) that holds Dovecot's
answer to a chosen APPEND: the draft is stored, the process has not heard so, and it is killed
then. Three such kills (at the 1st, 2nd and 1st APPEND of a run), then a run to the end.
"""

from __future__ import annotations

import email
import sqlite3
from collections import Counter
from email import policy

import pytest

from tests.smtp_server import Hold
from tests.trust.imap_relay import ImapRelay
from tests.trust.kit import kill, run, spawn, wait_until

CONTACTS = {f"dr{i}@example.edu" for i in range(5)}


@pytest.fixture
def relay(world, tls_cert):
    """The world's IMAP account reached through an :class:`ImapRelay` (set in .env)."""
    relay = ImapRelay(world.account.server, *tls_cert).start()
    world.imap["OUTREACH_IMAP_PORT"] = str(relay.port)
    world.configure()
    yield relay
    relay.stop()


def drafts(account) -> list[email.message.EmailMessage]:
    account.client.select_folder("Drafts", readonly=True)
    fetched = account.client.fetch(account.client.search(), ["BODY.PEEK[]"])
    account.client.unselect_folder()
    return [email.message_from_bytes(data[b"BODY[]"], policy=policy.default) for data in fetched.values()]


def known_ids(ws) -> set[str]:
    with sqlite3.connect(ws / "outreach.db") as db:
        return {row[0] for row in db.execute("SELECT message_id FROM messages")}


def test_imap_draft_killed_after_an_append_leaves_no_unknown_or_second_draft(world, relay):
    """Path 4: killed right after the server stored a draft, then drafted again and sent: Drafts
    holds one draft per contact, each known to the store, and none once they are sent."""
    account, ws = world.account, world.ws
    world.write_contacts(len(CONTACTS))
    account.client.create_folder("Drafts")
    draft = ("draft", world.template, world.contacts, "--campaign", "fall", "--imap")
    for nth in (1, 2, 1):
        hold = relay.hold_append = Hold(nth=relay.appends + nth)
        process = spawn(ws, *draft)
        wait_until(lambda hold=hold, process=process: hold.reached.is_set() or process.poll() is not None)
        assert hold.reached.is_set(), process.communicate()
        kill(process)
        hold.release()
    code, out, err = run(ws, *draft)
    assert code == 0, out + err

    found = drafts(account)
    assert Counter(m["To"].addresses[0].addr_spec for m in found) == Counter(CONTACTS)
    assert {m["Message-ID"] for m in found} - known_ids(ws) == set()

    code, out, err = run(ws, *world.args("--campaign", "fall", "--yes"))
    assert code == 0, out + err
    assert world.server.received_by() == {address: 1 for address in CONTACTS}
    assert [(m["To"], m["Message-ID"]) for m in drafts(account)] == []
