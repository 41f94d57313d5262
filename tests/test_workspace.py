"""Issue 16 item 2: the wrong folder is not a new, empty history.

The workspace is found as git finds .git: the nearest folder holding .env or outreach.db, from
the current folder upward, else from the template's. A command that would start a new tracking
store says so and needs a word (--yes, OUTREACH_DB, an answer on a terminal, or `init`); a dry
run, and every command that only reads, creates no file at all."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests.conftest import smtp_settings
from tests.helpers import OnTerminal


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` and a digest of its bytes."""
    return {str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(folder.rglob("*")) if path.is_file()}


def exported(campaign, **extra: str) -> dict[str, str]:
    """The workspace's settings as a shell that exported them has them."""
    return smtp_settings(campaign.server, campaign.ca_file, **extra)


@pytest.fixture
def sent_three(campaign, invoke):
    """Five contacts, three of them written to from inside the workspace."""
    campaign.write_contacts(5)
    assert invoke(*campaign.args("--yes", "--limit", "3")).exit_code == 0   # the rest on a later run
    campaign.server.messages.clear()
    return campaign


def test_from_the_folder_above_send_knows_everyone_already_written_to(sent_three, run_cli, tmp_path):
    campaign, above = sent_three, tmp_path
    args = ["send", "ws/templates/outreach.txt", "ws/contacts.csv"]
    before = snapshot(above)
    dry = run_cli(*args, "--dry-run", cwd=above, env=exported(campaign))
    assert dry.returncode == 0, dry.stderr
    assert f"note: using the workspace {campaign.ws} (where ws/templates/outreach.txt is)" in dry.stderr
    assert "Send now:  2 messages" in dry.stdout and "dry run: nothing was sent or recorded" in dry.stdout
    assert snapshot(above) == before                      # the dry run created and changed nothing
    done = run_cli(*args, "--yes", cwd=above, env=exported(campaign))
    assert done.returncode == 0 and "Sent 2 of 2" in done.stdout, done.stdout + done.stderr
    assert campaign.server.received_by() == {"dr3@example.edu": 1, "dr4@example.edu": 1}
    assert not (above / "outreach.db").exists() and not (above / "outreach.db.lock").exists()


def test_from_a_folder_inside_the_workspace_every_command_finds_it(sent_three, run_cli):
    inside = sent_three.ws / "templates"
    status = run_cli("status", cwd=inside)
    assert status.returncode == 0 and "outreach: 3 sent" in status.stdout, status.stdout + status.stderr
    assert f"note: using the workspace {sent_three.ws}\n" in status.stderr
    plan = run_cli("send", "outreach.txt", "../contacts.csv", "--dry-run", cwd=inside)
    assert "Send now:  2 messages" in plan.stdout, plan.stdout + plan.stderr


def test_drafts_made_in_the_workspace_go_when_sent_from_another_folder(campaign, invoke, run_cli, tmp_path):
    assert invoke("draft", campaign.template, campaign.contacts).exit_code == 0
    drafts = sorted((campaign.ws / "drafts" / "outreach").iterdir())
    assert len(drafts) == 3
    done = run_cli("send", "ws/templates/outreach.txt", "ws/contacts.csv", "--yes", cwd=tmp_path)
    assert "Sent 3 of 3" in done.stdout and "Removed 3 drafts of the messages just sent" in done.stdout, done.stderr
    assert not any(path.exists() for path in drafts)


def test_drafts_from_the_folder_above_go_in_the_workspace(campaign, run_cli, tmp_path):
    done = run_cli("draft", "ws/templates/outreach.txt", "ws/contacts.csv", cwd=tmp_path)
    assert done.returncode == 0 and "wrote 3 drafts to ws/drafts/outreach/" in done.stdout, done.stderr
    assert len(list((campaign.ws / "drafts" / "outreach").iterdir())) == 3 and not (tmp_path / "drafts").exists()


def test_a_script_with_no_workspace_is_refused_before_it_starts_a_store(campaign, run_cli, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "t").mkdir(parents=True)
    (elsewhere / "t" / "outreach.txt").write_text((campaign.ws / campaign.template).read_text())
    (elsewhere / "t" / "contacts.csv").write_text((campaign.ws / campaign.contacts).read_text())
    for args in (["draft", "t/outreach.txt", "t/contacts.csv"], ["mark", "dr0@example.edu", "opted-out"]):
        refused = run_cli(*args, cwd=elsewhere, env=exported(campaign))
        assert refused.returncode == 2, refused.stderr
        assert refused.stderr.startswith(f"error: no workspace here: no .env or outreach.db in {elsewhere} or above "
                                         f"it (nor above the files given), so this would start a new tracking store "
                                         f"at {elsewhere / 'outreach.db'} that knows nobody you wrote to; run it in "
                                         "your workspace folder, or ")
        assert refused.stderr.count("\n") == 1 and snapshot(elsewhere) == {"t/outreach.txt": snapshot(elsewhere)[
            "t/outreach.txt"], "t/contacts.csv": snapshot(elsewhere)["t/contacts.csv"]}
    started = run_cli("draft", "t/outreach.txt", "t/contacts.csv", "--yes", cwd=elsewhere, env=exported(campaign))
    assert started.returncode == 0 and f"note: started a new tracking store, {elsewhere / 'outreach.db'}" \
        in started.stderr
    named = run_cli("mark", "dr0@example.edu", "opted-out", cwd=tmp_path / "ws" / "templates",
                    env=exported(campaign, OUTREACH_DB=str(tmp_path / "named.db")))
    assert named.returncode == 0 and f"started a new tracking store, {tmp_path / 'named.db'}" in named.stderr


def test_a_dry_run_with_no_store_says_it_knows_nobody_and_creates_nothing(campaign, run_cli, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "outreach.txt").write_text((campaign.ws / campaign.template).read_text())
    (elsewhere / "contacts.csv").write_text((campaign.ws / campaign.contacts).read_text())
    before = snapshot(elsewhere)
    dry = run_cli("send", "outreach.txt", "contacts.csv", "--dry-run", cwd=elsewhere, env=exported(campaign))
    assert dry.returncode == 0 and "Send now:  3 messages" in dry.stdout, dry.stderr
    assert dry.stderr == (f"note: there is no tracking store at {elsewhere / 'outreach.db'}: this plan knows nobody "
                          "you wrote to before, and a real send would start a new store there\n")
    assert snapshot(elsewhere) == before


def test_commands_that_only_read_create_and_change_no_file(sent_three, invoke, tmp_path, monkeypatch):
    campaign = sent_three
    (campaign.ws / "templates" / "follow_up.txt").write_text(
        "Kind: follow-up\nSubject: Re: {{ original.subject }}\n\nDear Dr. {{ last_name }},\n\n"
        "A short reminder of my note.\n\nAsha Rao\n")
    (campaign.ws / "reply.eml").write_bytes(b"From: dr0@example.edu\r\nTo: asha.rao@example.org\r\n"
                                            b"Subject: Re: hello\r\n\r\nYes, happy to talk.\r\n")
    (campaign.ws / "interviews.csv").write_text("program,interviewer,email,interview_date,time_zone,note\n"
                                                "Lakeshore,Dr. Lopez,m.lopez@example.edu,2026-12-02,"
                                                "America/Chicago,the rotation\n")
    before = snapshot(campaign.ws)
    for args in (["check", campaign.template, campaign.contacts], ["preview", campaign.template, campaign.contacts],
                 campaign.args("--dry-run"), ["followup", "outreach", "-t", "templates/follow_up.txt", "--dry-run",
                                              "--no-sync"],
                 ["status"], ["report"], ["due", "interviews.csv"], ["classify", "reply.eml"]):
        result = invoke(*args)
        assert result.exit_code in (0, 1), (args, result.output)
    assert snapshot(campaign.ws) == before


def test_on_a_terminal_a_new_store_is_asked_for_and_no_means_nothing_happens(campaign):
    ws = campaign.ws
    term = OnTerminal("draft", campaign.template, campaign.contacts, cwd=ws)
    term.expect(f"There is no tracking store at {ws / 'outreach.db'}: start a new one, which knows nobody you "
                "wrote to before? [y/N]: ")
    term.answer("n")
    assert term.finish() == 2
    assert "error: nothing done: no tracking store was started" in term.seen
    assert not (ws / "outreach.db").exists() and not (ws / "drafts").exists()
    term = OnTerminal("draft", campaign.template, campaign.contacts, cwd=ws)
    term.expect("start a new one, which knows nobody you wrote to before? [y/N]: ")
    term.answer("y")
    assert term.finish() == 0, term.seen
    assert f"note: started a new tracking store, {ws / 'outreach.db'}" in term.seen and "wrote 3 drafts" in term.seen


def test_a_workspace_made_by_init_asks_nothing(run_cli, tmp_path):
    assert run_cli("init", "demo", "--example", cwd=tmp_path).returncode == 0
    assert (tmp_path / "demo" / "outreach.db").exists()
    term = OnTerminal("draft", "templates/mentor_outreach.txt", "mentors.csv", cwd=tmp_path / "demo")
    assert term.finish() == 0, term.seen
    assert "wrote 17 drafts" in term.seen and "tracking store" not in term.seen


def test_a_stray_env_above_does_not_hide_the_workspace_the_template_is_in(campaign, run_cli, tmp_path):
    (tmp_path / ".env").write_text("SOMETHING_ELSE=1\n")     # another tool's, in the folder above
    plan = run_cli("send", "ws/templates/outreach.txt", "ws/contacts.csv", "--dry-run", cwd=tmp_path)
    assert plan.returncode == 0 and "Send now:  3 messages" in plan.stdout, plan.stderr
    assert plan.stderr.startswith(f"note: using the workspace {campaign.ws} (where ws/templates/outreach.txt is), "
                                  f"not {tmp_path}, the current folder's\n")


def test_a_virtualenv_called_env_is_not_a_workspace(campaign, run_cli, tmp_path):
    (campaign.ws / "templates" / ".env").mkdir()           # `python -m venv .env` inside templates/
    status = run_cli("status", cwd=campaign.ws / "templates")
    assert f"note: using the workspace {campaign.ws}\n" in status.stderr, status.stderr
