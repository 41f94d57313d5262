"""Issue 10.4: your name, not the example's. `init` asks who you are; `check` refuses a message
that still carries a placeholder or the example applicant while the sender is someone else."""

from __future__ import annotations

from pathlib import Path


def test_init_asks_on_standard_input_and_writes_the_answers(invoke, tmp_path, monkeypatch):
    target = tmp_path / "mine"
    answers = "Priya Nair\npriya.nair@uni.example.edu\nMalabar Medical College\n\n"
    result = invoke("init", target, input=answers)
    assert result.exit_code == 0, result.output
    assert 'OUTREACH_FROM="Priya Nair <priya.nair@uni.example.edu>"' in (target / ".env").read_text()
    for name in ("mentor_outreach.txt", "thank_you.txt", "follow_up.txt"):
        text = (target / "templates" / name).read_text()
        assert "Asha" not in text and "14920376" not in text and "Priya Nair\npriya.nair@uni.example.edu" in text
    assert "Malabar Medical College" in (target / "templates" / "mentor_outreach.txt").read_text()
    monkeypatch.chdir(target)
    assert invoke("check", "templates/mentor_outreach.txt", "mentors.csv").exit_code == 0
    assert invoke("check", "templates/thank_you.txt", "interviews.csv").exit_code == 0
    assert invoke("draft", "templates/thank_you.txt", "interviews.csv").exit_code == 0


def test_init_options_and_a_signature_with_line_breaks(invoke, tmp_path):
    target = tmp_path / "opts"
    result = invoke("init", target, "--name", "Li Wei", "--email", "li.wei@example.net", "--school",
                    "Fudan University", "--signature", r"Li Wei, MD\nAAMC ID 1234567", "--no-input")
    assert result.exit_code == 0, result.output
    assert (target / "templates" / "thank_you.txt").read_text().endswith("Best regards,\nLi Wei, MD\nAAMC ID 1234567\n")


def test_no_input_leaves_placeholders_that_check_draft_and_send_refuse(invoke, tmp_path, monkeypatch):
    target = tmp_path / "blank"
    result = invoke("init", target, "--no-input")
    assert result.exit_code == 0 and "[[PLACEHOLDERS]]" in result.output
    monkeypatch.chdir(target)
    assert "[[YOUR NAME]]" in (target / ".env").read_text()
    result = invoke("draft", "templates/mentor_outreach.txt", "mentors.csv")
    assert result.exit_code == 2 and "still a placeholder" in result.output
    (target / ".env").write_text('OUTREACH_FROM="Priya Nair <priya@example.edu>"\n')
    result = invoke("check", "templates/mentor_outreach.txt", "mentors.csv")
    assert result.exit_code == 2 and "placeholder: [[YOUR MEDICAL SCHOOL]], [[YOUR NAME]], [[YOUR SIGNATURE]]" \
        in result.output
    assert invoke("draft", "templates/mentor_outreach.txt", "mentors.csv").exit_code == 2
    assert not (target / "drafts").exists()


def test_init_without_answers_says_what_to_do(invoke, tmp_path):
    result = invoke("init", tmp_path / "x", input="")
    assert result.exit_code == 2 and "--no-input" in result.output and "Traceback" not in result.output


def test_the_example_persona_is_refused_under_another_sender(invoke, tmp_path, monkeypatch):
    target = tmp_path / "demo"
    assert invoke("init", target, "--example").exit_code == 0
    monkeypatch.chdir(target)
    assert invoke("check", "templates/thank_you.txt", "interviews.csv").exit_code == 0  # the demo is consistent
    (target / ".env").write_text('OUTREACH_FROM="Priya Nair <priya@example.edu>"\n')
    result = invoke("check", "templates/thank_you.txt", "interviews.csv")
    assert result.exit_code == 2
    assert "example applicant's details (not priya@example.edu): Asha Rao, asha.rao@, 14920376" in result.output
    result = invoke("draft", "templates/mentor_outreach.txt", "mentors.csv")
    assert result.exit_code == 2 and "Kaveri Valley" in result.output and not Path("drafts").exists()


def test_the_readme_set_up_command_still_drafts(run_cli, tmp_path):
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert "outreach init demo --example && (cd demo && outreach draft" in readme
    assert run_cli("init", "demo", "--example", cwd=tmp_path).returncode == 0
    done = run_cli("draft", "templates/mentor_outreach.txt", "mentors.csv", "--campaign", "mentors",
                   cwd=tmp_path / "demo")
    assert done.returncode == 0, done.stderr
