"""Absurd dates in mail (issue 17 item 11): a Date header that cannot be used (year 9999, an
offset that overflows, February 30th, a clock years ahead of the arrival) is not used; the
arrival time (IMAP's INTERNALDATE) stands in for it. An out-of-office notice so dated is an
auto-reply, never "unreadable" and so counted as a reply; a reply so dated is still a reply.
Checked through `sync` (mbox and a real Dovecot), `classify` and `status`."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta, timezone

import pytest

from tests import mail_samples as samples
from tests.helpers import write_mbox

UNUSABLE = {
    "year 9999": "Fri, 31 Dec 9999 23:59:59 +0000",
    "year 9999, west of UTC": "Fri, 31 Dec 9999 23:59:59 -1200",
    "February 30th": "Mon, 30 Feb 2026 10:00:00 +0000",
    "nonsense": "the day after tomorrow",
    "an hour of 99": "Mon, 30 Nov 2026 99:00:00 +0000",
}
BACK = date.today() + timedelta(days=10)


def dated(raw: bytes, value: str) -> bytes:
    return re.sub(rb"(?m)^Date: [^\r\n]*", f"Date: {value}".encode(), raw, count=1)


def sync_mbox(invoke, workspace, raw: bytes) -> tuple[int, dict]:
    write_mbox(workspace / "in.mbox", [raw])
    result = invoke("sync", "--mbox", workspace / "in.mbox", "--json")
    assert "internal error" not in result.output, result.output
    return result.exit_code, json.loads(result.stdout)


@pytest.mark.parametrize("value", UNUSABLE.values(), ids=UNUSABLE.keys())
def test_an_out_of_office_with_an_unusable_date_is_an_auto_reply(invoke, workspace, record_sent, value):
    sent = record_sent(samples.outgoing("chen@example.edu"))
    code, report = sync_mbox(invoke, workspace, dated(samples.outlook_ooo_english(sent, BACK), value))
    assert code == 0 and report["unreadable"] == [], report
    [event] = report["events"]
    assert event["kind"] == "auto-reply" and event["until"] == BACK.isoformat(), event
    status = invoke("status")
    [line] = [line for line in status.output.splitlines() if "chen@example.edu" in line]
    assert "replied" not in line and f"out of office until {BACK.isoformat()}" in line, line
    classified = json.loads(invoke("classify", workspace / "in.mbox", "--json").output)
    assert classified["kind"] == "auto-reply" and classified.get("error") is None, classified


@pytest.mark.parametrize("value", UNUSABLE.values(), ids=UNUSABLE.keys())
def test_a_reply_with_an_unusable_date_is_a_reply_recorded_now(invoke, workspace, record_sent, value):
    sent = record_sent(samples.outgoing("chen@example.edu"))
    code, report = sync_mbox(invoke, workspace, dated(samples.gmail_reply(sent), value))
    assert code == 0 and [e["kind"] for e in report["events"]] == ["reply"], report
    [line] = [line for line in invoke("status").output.splitlines() if "chen@example.edu" in line]
    assert f"none: replied {date.today().isoformat()}" in line, line


def test_over_imap_the_arrival_stands_in_for_an_unusable_or_wrong_date(mail_account, invoke, record_sent, workspace):
    ahead = (datetime.now(timezone.utc) + timedelta(days=3 * 365)).strftime("%a, %d %b %Y %H:%M:%S +0000")
    record_sent(*(samples.outgoing(f"{who}@example.edu") for who in ("okafor", "shah")))
    ooo = record_sent(samples.outgoing("chen@example.edu"))
    mail_account.append(dated(samples.outlook_ooo_english(ooo, BACK), UNUSABLE["year 9999"]))
    # Fresh messages from the contacts, matched by address to what was sent before they were written:
    # dated three years on, or in 2001 (the email package reads a year "0001" so), they would match nothing.
    mail_account.append(dated(samples.personal(from_addr="okafor@example.edu", subject="Coffee?"), ahead))
    mail_account.append(dated(samples.personal(from_addr="shah@example.edu", subject="Hello"),
                              "Mon, 01 Jan 0001 00:00:00 +0000"))
    result = invoke("sync", "--json")
    assert result.exit_code == 0, result.output
    events = {e["address"]: e for e in json.loads(result.stdout)["events"]}
    assert events["chen@example.edu"]["kind"] == "auto-reply"
    assert events["chen@example.edu"]["until"] == BACK.isoformat()
    assert events["okafor@example.edu"]["kind"] == events["shah@example.edu"]["kind"] == "reply"
    lines = {line.split()[1]: line for line in invoke("status").output.splitlines() if "@example.edu" in line}
    for who in ("okafor", "shah"):  # the arrival, not three years on or 2001
        assert f"none: replied {date.today().isoformat()}" in lines[f"{who}@example.edu"]
    assert "out of office" in lines["chen@example.edu"]


def test_over_imap_the_arrival_is_exact_in_either_half_of_the_year(mail_account, invoke, record_sent, workspace,
                                                                   local_zone):
    """imapclient made INTERNALDATE local with today's daylight-saving offset, not that date's:
    mail that arrived in the other half of the year was recorded an hour off. Last January and
    last July: one of them is always in the other half from today, whenever the test runs."""
    from outreach.store import Store

    local_zone("Europe/London")  # daylight-saving time: GMT in winter, BST in summer

    year = date.today().year - 1
    arrivals = {"okafor@example.edu": datetime(year, 1, 15, 12, 0, 5, tzinfo=timezone.utc),
                "shah@example.edu": datetime(year, 7, 15, 12, 0, 5, tzinfo=timezone(timedelta(hours=-7)))}
    record_sent(*(samples.outgoing(address) for address in arrivals))
    store = Store(workspace / "outreach.db")
    with store.transaction():  # written to before either answer arrived
        store.db.execute("UPDATE messages SET created_at = ?, sent_at = ?", (f"{year - 1}-12-01T09:00:00Z",) * 2)
    store.close()
    for address, arrived in arrivals.items():  # no usable Date: the arrival is when it was written
        mail_account.append(dated(samples.personal(from_addr=address, subject="Coffee?"), UNUSABLE["nonsense"]),
                            arrived=arrived)
    result = invoke("sync", "--json")
    assert result.exit_code == 0, result.output
    store = Store(workspace / "outreach.db")
    recorded = dict(store.db.execute("SELECT address, occurred_at FROM events WHERE kind = 'reply'").fetchall())
    store.close()
    assert recorded == {address: arrived.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
                        for address, arrived in arrivals.items()}
