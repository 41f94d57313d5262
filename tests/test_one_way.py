"""One way to say things: --campaign on every command that takes a campaign, the follow-up
template found where `init` puts it, help that says the real default and wraps at one width,
and a mistyped command answered with the closest one."""

from __future__ import annotations

import json

import pytest

from outreach.cli import COMMANDS
from outreach.store import Store
from tests.deliver.test_followup import FOLLOW_UP
from tests.seed import add_message


@pytest.fixture
def sent(workspace, monkeypatch):
    """Two campaigns in the store, each with a message sent a week and a half ago."""
    monkeypatch.setenv("OUTREACH_NOW", "2026-11-25T12:00:00Z")
    store = Store(workspace / "outreach.db")
    add_message(store, "fall", "x@example.edu", contact={"email": "x@example.edu", "last_name": "X", "topic": "MRI"})
    add_message(store, "spring", "y@example.edu")
    store.close()


def test_campaign_is_an_option_everywhere(invoke, workspace, sent):
    (workspace / "templates").mkdir()
    (workspace / "templates" / "follow_up.txt").write_text(FOLLOW_UP)
    by_option = invoke("followup", "--campaign", "fall", "--no-sync", "--dry-run", "--json")
    assert by_option.exit_code == 0, by_option.output
    assert [d["address"] for d in json.loads(by_option.stdout)["due"]] == ["x@example.edu"]
    assert by_option.stdout == invoke("followup", "fall", "--no-sync", "--dry-run", "--json").stdout
    status = json.loads(invoke("status", "--campaign", "spring", "--json").stdout)
    assert [row["address"] for row in status] == ["y@example.edu"]
    report = json.loads(invoke("report", "--campaign", "fall", "--json").stdout)
    assert [c["campaign"] for c in report["campaigns"]] == ["fall"]
    both = invoke("status", "fall", "--campaign", "spring")
    assert both.exit_code == 2 and "two campaigns given, 'fall' and --campaign 'spring': give one" in both.output
    none = invoke("followup", "--no-sync")
    assert none.exit_code == 2 and "which campaign? `outreach followup --campaign NAME`" in none.output


def test_followup_finds_templates_follow_up_txt(invoke, workspace, sent):
    missing = invoke("followup", "fall", "--no-sync", "--dry-run")
    assert missing.exit_code == 2
    assert "no follow-up template: give --template FILE (there is no templates/follow_up.txt)" in missing.output
    (workspace / "templates").mkdir()
    (workspace / "templates" / "follow_up.txt").write_text(FOLLOW_UP)
    result = invoke("followup", "fall", "--no-sync")
    assert result.exit_code == 0, result.output
    assert (workspace / "drafts" / "fall" / "x@example.edu.followup1.eml").exists()


def test_help_says_the_real_campaign_default(invoke):
    for command in ("check", "draft", "send"):
        text = " ".join(invoke(command, "--help").output.split())
        assert ("The campaign (default: the one this template and contact list were drafted or sent under, else "
                "the template's file name)") in text, command


def test_a_mistyped_command_gets_the_closest(invoke):
    result = invoke("follow-up", "fall")
    assert result.exit_code == 2
    assert "No such command 'follow-up'. Did you mean `outreach followup`?" in result.output
    assert "Did you mean `outreach status`?" in invoke("stauts").output
    assert "Did you mean" not in invoke("xyzzy").output


@pytest.mark.parametrize("command", ["", *sorted(COMMANDS)])
def test_help_wraps_at_one_width(invoke, monkeypatch, command):
    args = [command, "--help"] if command else ["--help"]
    monkeypatch.setenv("COLUMNS", "200")
    wide = invoke(*args).output
    monkeypatch.setenv("COLUMNS", "60")
    assert invoke(*args).output == wide  # the terminal's width changes nothing
    too_long = [line for line in wide.splitlines() if len(line) > 80]
    assert not too_long, too_long
