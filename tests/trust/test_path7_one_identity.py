"""Issue 15, path 7: one mailbox is one contact, however the sheet spells it.

"One mailbox typed two ways in one sheet — a full-width domain (`ｅｘａｍｐｌｅ.edu`), an accent as a
combining character, the punycode form — receives one copy per form; the store keeps one."
"""

from __future__ import annotations

import json
from collections import Counter

from tests.trust.kit import mailbox_key, received_by_mailbox, run, store_rows

# (CSV line, address as typed); the header is line 1
ROWS = [(2, "dr0@example.edu"),
        (3, "a.b@\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45.edu"),    # full-width "example"
        (4, "a.b@example.edu"),
        (5, "A.B@EXAMPLE.EDU"),
        (6, "m.lee@caf\u00e9.edu"),                                    # precomposed é
        (7, "m.lee@cafe\u0301.edu"),                                   # e + combining acute
        (8, "m.lee@xn--caf-dma.edu")]                                  # its punycode
FIRST = {4: 3, 5: 3, 7: 6, 8: 6}                                       # duplicate line -> line of the first
MAILBOXES = {"dr0@example.edu", "a.b@example.edu", "m.lee@xn--caf-dma.edu"}


def write_sheet(campaign) -> None:
    rows = ["email,first_name,last_name,topic,note"]
    rows += [f"{address},Name{line},Surname{line},stroke,Your paper number {line} was a revelation."
             for line, address in ROWS]
    (campaign.ws / campaign.contacts).write_text("\n".join(rows) + "\n", encoding="utf-8")


def test_check_names_every_spelling_of_a_mailbox_as_a_duplicate_of_its_first_line(campaign):
    """Path 7: `check` exits 1 and names lines 4 and 5 as repeats of line 3, 7 and 8 of line 6."""
    write_sheet(campaign)
    code, out, err = run(campaign.ws, "check", campaign.template, campaign.contacts, "--json")
    assert code == 1, out + err
    messages = {row["line"]: " ".join(p["message"] for p in row["problems"]) for row in json.loads(out)["rows"]}
    assert sorted(messages) == sorted(FIRST), messages
    for line, first in FIRST.items():
        assert f"line {first}" in messages[line], (line, messages[line])


def test_send_delivers_one_message_per_mailbox_and_keeps_one_row_each(campaign, smtp_server):
    """Path 7: `send --yes` gives each mailbox one message (counted by RCPT) and one store row."""
    write_sheet(campaign)
    _, out, err = run(campaign.ws, *campaign.args("--yes"))
    assert received_by_mailbox(smtp_server) == dict.fromkeys(MAILBOXES, 1), out + err
    rows = Counter(mailbox_key(row["address"]) for row in store_rows(campaign.ws))
    assert rows == dict.fromkeys(MAILBOXES, 1)
