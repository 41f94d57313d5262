"""Warnings are chosen, not scrolled past: the rows with warnings are listed right above the
question, --skip-warnings leaves them out before the gate is asked, --strict makes them errors."""

from __future__ import annotations

import json
import sqlite3

import pytest

from outreach.cli import common as cli_common

EMPTY_NOTE = "dr9@example.edu,Name9,Surname9,stroke,"   # line 4: the personal note is empty


@pytest.fixture
def with_warning(campaign):
    campaign.write_contacts(2, extra_rows=[EMPTY_NOTE])
    return campaign


def addresses(ws) -> set[str]:
    with sqlite3.connect(ws / "outreach.db") as db:
        return {address for (address,) in db.execute("SELECT address FROM messages")}


def test_the_rows_with_warnings_are_listed_right_above_the_question(with_warning, invoke, smtp_server,
                                                                    monkeypatch):
    monkeypatch.setattr(cli_common, "interactive", lambda: True)
    result = invoke(*with_warning.args(), input="y\nn\n")  # start the store: yes; send: no
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    asked = next(n for n, line in enumerate(lines) if line.startswith("Send 3 messages now?"))
    assert lines[asked - 2].startswith("Warnings:  1 message would go out with warnings (--skip-warnings")
    assert lines[asked - 1].strip() == ('line 4 dr9@example.edu: column "note": the personal note is empty, '
                                        "but the template uses it")
    assert smtp_server.messages == []


def test_skip_warnings_leaves_them_out_and_opens_no_hold(with_warning, invoke, smtp_server):
    assert invoke("mark", "dr0@example.edu", "opted-out").exit_code == 0  # a hold of the gate, no warning
    result = invoke(*with_warning.args("--yes", "--skip-warnings"))
    assert result.exit_code == 1, result.output  # completed, with a row left out
    assert "1 with warnings, left out by --skip-warnings" in result.output
    assert "1 on the suppression list" in result.output
    assert sorted(smtp_server.received_by()) == ["dr1@example.edu"]
    assert "dr9@example.edu" not in addresses(with_warning.ws)  # never queued: left out before the gate
    again = invoke(*with_warning.args("--yes"))  # without the flag, the row goes; the opted-out one never
    assert sorted(smtp_server.received_by()) == ["dr1@example.edu", "dr9@example.edu"], again.output


def test_strict_makes_warnings_errors(with_warning, invoke, smtp_server, workspace):
    result = invoke(*with_warning.args("--yes", "--strict"))
    assert result.exit_code == 2
    assert 'error   column "note": the personal note is empty' in result.output
    assert "(warnings count as errors with --strict); nothing was sent" in result.output
    assert smtp_server.messages == []
    drafted = invoke("draft", with_warning.template, with_warning.contacts, "--strict")
    assert drafted.exit_code == 2 and "nothing was drafted" in drafted.output
    assert not (workspace / "drafts").exists()
    assert invoke("check", with_warning.template, with_warning.contacts).exit_code == 1
    assert invoke("check", with_warning.template, with_warning.contacts, "--strict").exit_code == 2
    both = invoke(*with_warning.args("--skip-warnings", "--strict"))
    assert both.exit_code == 2 and "choose one" in both.output


def test_draft_skip_warnings(with_warning, invoke, workspace):
    result = invoke("draft", with_warning.template, with_warning.contacts, "--skip-warnings", "--json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert [p.rsplit("/", 1)[1] for p in data["written"]] == ["dr0@example.edu.eml", "dr1@example.edu.eml"]
    assert data["skipped"] == [{"address": "dr9@example.edu", "reason": 'left out by --skip-warnings: column '
                                '"note": the personal note is empty, but the template uses it'}]
    assert addresses(workspace) == {"dr0@example.edu", "dr1@example.edu"}
