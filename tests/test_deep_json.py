"""JSON nested too deeply for Python's parser, wherever outreach reads JSON it did not just write:
the store's event details, contacts and recipients, the send lock's file, a stored OAuth token,
a mail server's SASL challenge, an OAuth server's reply. Python's parser recurses once per
bracket and raises RecursionError, which escapes every ``except ValueError``; each reader must
refuse such text as text that is not JSON, and a command must never stop on it with an internal
error."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from outreach import json_text
from outreach.sasl import _decode
from outreach.store import Store
from outreach.store.lock import _read
from outreach.store.messages import stored_json
from outreach.store.schema import _address_list
from outreach.tokens import Stored
from tests.seed import add_event, add_message

DEEP = "[" * 100_000 + "]" * 100_000
DEEP_OBJECT = '{"status": ' + DEEP + ', "until": ' + DEEP + "}"


def test_loads_refuses_deep_nesting_as_text_that_is_not_json():
    with pytest.raises(ValueError, match="nested too deeply"):
        json_text.loads(DEEP)
    assert json_text.loads("[[1], {\"a\": [2]}]") == [[1], {"a": [2]}]


def test_every_read_of_json_goes_through_json_text():
    """The class, not the examples: no module but json_text parses JSON itself (an HTTP reply's
    too: ``json_text.loads(reply.content)``), except the report's reading of the arrays its own
    SQL just built. (authlib parses the token endpoint's replies itself, inside
    ``OAuthClient.talking_to``, which turns a RecursionError into one sentence.)"""
    package = Path(__file__).resolve().parent.parent / "outreach"
    readers = {f"{path.relative_to(package)}:{n}"
               for path in package.rglob("*.py") if path.name != "json_text.py"
               for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
               if re.search(r"\bjson\.loads?\(|\.json\(\)", line)}
    assert {reader.split(":")[0] for reader in readers} == {"store/reports.py"}, readers  # json_group_array's


@pytest.mark.parametrize("read, nothing", [
    (lambda: stored_json(DEEP, list), None),
    (lambda: stored_json('{"name": ' + DEEP + "}", dict), None),
    (lambda: _address_list(DEEP), DEEP),
    (lambda: Stored.loads(DEEP), None),
    (lambda: _decode(DEEP.encode()), {}),
], ids=["contact list", "contact cells", "recipients (migration 6)", "stored OAuth token", "SASL challenge"])
def test_each_reader_takes_it_as_not_json(read, nothing):
    assert read() == nothing


def test_a_lock_file_holding_it_is_an_unknown_holder(tmp_path):
    path = tmp_path / "send.lock"
    path.write_text(DEEP + "\nbegan <m1@example.org>\n", encoding="utf-8")
    fd = os.open(path, os.O_RDONLY)
    try:
        record = _read(fd)
    finally:
        os.close(fd)
    assert record.info == {} and record.describe() == "an earlier outreach command"


@pytest.mark.parametrize("command", [["status"], ["status", "--json"], ["report"], ["report", "--json"]])
def test_commands_read_a_store_whose_event_details_are_nested_too_deeply(workspace, invoke, command):
    """A hand-edited store: a bounce and an auto-reply whose details are nested 100,000 deep. The
    bounce stays a bounce (its status unreadable, so not "gave up after retries"), the auto-reply
    announces no return date, and every command answers."""
    store = Store(workspace / "outreach.db")
    bounced = add_message(store, "fall", "bounced@example.edu", line=2)
    away = add_message(store, "fall", "away@example.edu", line=3)
    add_event(store, bounced, "bounced@example.edu", "bounce", "2026-11-11T10:00:00Z")
    add_event(store, away, "away@example.edu", "auto-reply", "2026-11-11T10:00:00Z")
    store.db.execute("UPDATE events SET detail = ?", (DEEP_OBJECT,))
    store.close()
    result = invoke(*command)
    assert result.exit_code == 0, result.output
    assert "internal error" not in result.output and "Traceback" not in result.output
    if command == ["status"]:
        lines = {line.split()[1]: line for line in result.output.splitlines()[2:]}
        assert lines["bounced@example.edu"].endswith("none: bounced; check the address")
        assert "out of office" not in lines["away@example.edu"]
