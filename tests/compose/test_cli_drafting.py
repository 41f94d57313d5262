"""check, preview, draft and init through the real CLI: in-process and as a subprocess."""

import email
import email.policy
import json
import os
import sqlite3
import stat

import pytest

from tests.helpers import MENTOR_TEMPLATE, ROWS, contacts_csv, template_file, write


@pytest.fixture
def files(workspace):
    return template_file(workspace), contacts_csv(workspace)


def test_check_clean_exits_0(invoke, files):
    result = invoke("check", *files)
    assert result.exit_code == 0, result.output
    assert "3 rows: 3 clean, 0 with warnings, 0 with errors" in result.output


def test_check_warnings_exit_1_errors_exit_2_grouped_by_line(invoke, workspace):
    template = template_file(workspace)
    contacts = contacts_csv(workspace, rows=[ROWS[0], "a@example.edu,Ann,Lee,Yale,MSK,", "oops,A,B,C,D,E"])
    result = invoke("check", template, contacts)
    assert result.exit_code == 2
    assert "contacts.csv, line 3  a@example.edu\n  warning column \"note\": the personal note is empty" in result.output
    assert "contacts.csv, line 4  oops\n  error   column \"email\"" in result.output
    contacts = contacts_csv(workspace, rows=[ROWS[0], "a@example.edu,Ann,Lee,Yale,MSK,"])
    assert invoke("check", template, contacts).exit_code == 1


def test_check_json(invoke, workspace):
    template = template_file(workspace)
    contacts = contacts_csv(workspace, rows=[ROWS[0], "a@example.edu,Ann,Lee,Yale,MSK,"])
    result = invoke("check", template, contacts, "--json")
    data = json.loads(result.output)
    assert data["summary"] == {"rows": 2, "clean": 1, "warnings": 1, "errors": 0, "skipped": 0}
    assert data["rows"][0]["line"] == 3 and data["rows"][0]["problems"][0]["column"] == "note"


def test_preview_by_line_and_by_address(invoke, files):
    result = invoke("preview", *files, "--line", "3")
    assert result.exit_code == 0
    assert "To: Musa Okafor <m.okafor@example.edu>" in result.output
    assert "From: Asha Rao <asha.rao@example.org>" in result.output
    assert "Dear Dr. Okafor," in result.output
    result = invoke("preview", *files, "--to", "P.SHAH@example.org", "--raw")
    assert "Message-ID: <" in result.output and "Dear Dr. Shah," in result.output
    result = invoke("preview", *files, "--row", "9")
    assert result.exit_code == 2 and "no contact on line 9 (the contacts are on lines 2-4)" in result.output
    result = invoke("preview", *files, "--line", "1")
    assert result.exit_code == 2 and "line 1 is the header" in result.output


def test_preview_line_is_the_line_check_prints(invoke, workspace):
    """One numbering: the CSV line a spreadsheet shows, blank lines counted, as check prints it."""
    template = template_file(workspace)
    contacts = contacts_csv(workspace, rows=[ROWS[1], "", ROWS[2], "a@example.edu,Ann,Lee,Yale,MSK,"])
    checked = invoke("check", template, contacts)
    assert "contacts.csv, line 5  a@example.edu" in checked.output
    result = invoke("preview", template, contacts, "--line", "5")
    assert result.exit_code == 0 and "To: Ann Lee <a@example.edu>" in result.output
    assert "contacts.csv, line 5: column \"note\"" in result.output


def test_unknown_setting_is_a_warning_with_the_closest_name(invoke, files, workspace, monkeypatch):
    with open(workspace / ".env", "a", encoding="utf-8") as env:
        env.write("OUTREACH_SMTP_PROT=2525\n")
    monkeypatch.setenv("OUTREACH_FORM", "x@example.org")
    assert "did you mean OUTREACH_SMTP_PORT?" in invoke("check", *files).stderr
    result = invoke("preview", *files)
    assert result.exit_code == 0
    assert ("warning: OUTREACH_SMTP_PROT is not a setting outreach knows, so it is ignored: "
            "did you mean OUTREACH_SMTP_PORT?") in result.output
    assert "OUTREACH_FORM is not a setting outreach knows, so it is ignored: did you mean OUTREACH_FROM?" \
        in result.output


def test_draft_writes_eml_files_and_records_them(invoke, files, workspace):
    result = invoke("draft", *files, "--campaign", "fall")
    assert result.exit_code == 0, result.output
    assert "wrote 3 drafts to drafts/fall/ (campaign 'fall'" in result.output
    eml = workspace / "drafts" / "fall" / "jchen@example.edu.eml"
    parsed = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert parsed["X-Unsent"] == "1" and parsed["To"] == "Jia Chen <jchen@example.edu>"
    db = workspace / "outreach.db"
    assert stat.S_IMODE(os.stat(db).st_mode) == 0o600
    rows = sqlite3.connect(db).execute("SELECT address, state, message_id, campaign FROM messages").fetchall()
    assert {(r[0], r[1], r[3]) for r in rows} == {("jchen@example.edu", "drafted", "fall"),
                                                  ("m.okafor@example.edu", "drafted", "fall"),
                                                  ("p.shah@example.org", "drafted", "fall")}
    assert {r[2] for r in rows} == {parsed["Message-ID"]} | {r[2] for r in rows if r[0] != "jchen@example.edu"}


def test_drafting_again_keeps_message_ids_and_skips_sent(invoke, files, workspace):
    invoke("draft", *files)
    db = sqlite3.connect(workspace / "outreach.db")
    before = dict(db.execute("SELECT address, message_id FROM messages"))
    db.execute("UPDATE messages SET state='sent' WHERE address='jchen@example.edu'")
    db.commit()
    write(files[0], MENTOR_TEMPLATE.replace("Best regards", "Kind regards"))
    (workspace / "drafts" / "mentor" / "jchen@example.edu.eml").unlink()
    result = invoke("draft", *files)
    assert "wrote 2 drafts" in result.output and "skipped 1 already sent" in result.output
    assert dict(db.execute("SELECT address, message_id FROM messages")) == before
    assert "Kind regards" in (workspace / "drafts" / "mentor" / "m.okafor@example.edu.eml").read_text()
    assert not (workspace / "drafts" / "mentor" / "jchen@example.edu.eml").exists()


def test_draft_with_any_error_writes_nothing(invoke, workspace):
    template = template_file(workspace)
    contacts = contacts_csv(workspace, rows=[ROWS[0], ROWS[1].replace("MSK", "MSK\nBcc: x@example.com")])
    contacts.write_text(contacts.read_text().replace("MSK\nBcc: x@example.com", '"MSK\nBcc: x@example.com"'))
    result = invoke("draft", template, contacts)
    assert result.exit_code == 2
    assert "header injection refused" in result.output and "nothing was drafted" in result.output
    assert not (workspace / "drafts").exists() and not (workspace / "outreach.db").exists()


def test_draft_needs_a_sender(invoke, files, workspace):
    (workspace / ".env").write_text("")
    result = invoke("draft", *files)
    assert result.exit_code == 2 and "set OUTREACH_FROM" in result.output
    assert invoke("draft", *files, "--from", "Asha Rao <asha@example.org>").exit_code == 0


def test_init_scaffolds_a_workspace_that_checks_clean(invoke, tmp_path, monkeypatch):
    target = tmp_path / "new"
    result = invoke("init", target, "--example")
    assert result.exit_code == 0
    for name in ("templates/mentor_outreach.txt", "templates/thank_you.txt", "templates/follow_up.txt",
                 "mentors.csv", "interviews.csv", ".env.example", ".env"):
        assert (target / name).is_file(), name
    monkeypatch.chdir(target)
    assert invoke("check", "templates/mentor_outreach.txt", "mentors.csv").exit_code == 0
    assert invoke("check", "templates/thank_you.txt", "interviews.csv").exit_code == 0
    result = invoke("draft", "templates/thank_you.txt", "interviews.csv")
    assert result.exit_code == 0 and "Dr. " in (target / "drafts" / "thank_you" / sorted(
        p.name for p in (target / "drafts" / "thank_you").iterdir())[0]).read_text()
    (target / "mentors.csv").write_text("changed")
    assert "kept" in invoke("init", target, "--example").output
    assert (target / "mentors.csv").read_text() == "changed"


HOSTILE = [
    ("undefined variable", "Subject: x\n\n{{ nope }}\n", "email\na@example.edu\n", "undefined variable 'nope'"),
    ("sandbox escape", "Subject: x\n\n{{ ''.__class__.__mro__[1].__subclasses__() }}\n", "email\na@example.edu\n",
     "sandbox"),
    ("broken template", "Subject: {{ x\n\nbody\n", "email\na@example.edu\n", "template syntax error"),
    ("header injection", "Subject: {{ t }}\n\nbody\n", 'email,t\na@example.edu,"a\nBcc: b@example.com"\n',
     "injection refused"),
    ("binary file", "Subject: x\n\nbody\n", "email\x00\x01\x02", "NUL bytes"),
    ("huge field", "Subject: x\n\n{{ t }}\n", 'email,t\na@example.edu,"' + "y" * 150_000 + '"\n', "longer than"),
    ("no email column", "Subject: x\n\nbody\n", "name\nAnn\n", "no email column"),
    ("missing file", "Subject: x\n\nbody\n", None, "no such file"),
]


@pytest.mark.parametrize("name, template, csv_text, message", HOSTILE, ids=[case[0] for case in HOSTILE])
def test_hostile_inputs_exit_2_with_one_clear_line_as_a_subprocess(run_cli, workspace, name, template,
                                                                     csv_text, message):
    write(workspace / "t.txt", template)
    if csv_text is not None:
        write(workspace / "c.csv", csv_text)
    done = run_cli("check", "t.txt", "c.csv", cwd=workspace)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert message in done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr


def test_draft_as_subprocess_and_python_dash_m(run_cli, files, workspace):
    done = run_cli("draft", *files, "--out", "out", cwd=workspace)
    assert done.returncode == 0, done.stderr
    assert len(list((workspace / "out" / "mentor").glob("*.eml"))) == 3
    assert "\x1b[" not in done.stdout  # not a terminal: no colour codes
    assert "Examples:" in run_cli("draft", "--help").stdout


def test_counts_read_as_english(invoke, workspace):
    template, contacts = template_file(workspace), contacts_csv(workspace, rows=ROWS[:1])
    assert "1 row: 1 clean, 0 with warnings, 0 with errors" in invoke("check", template, contacts).output
    result = invoke("draft", template, contacts, "--campaign", "one")
    assert "wrote 1 draft to drafts/" in result.output and "(s)" not in result.output
