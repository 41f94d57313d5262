"""Issue 10.4: your name, not the example's. `init` asks who you are; `check` refuses a message
that still carries a placeholder or the example applicant while the sender is someone else."""

from __future__ import annotations

from pathlib import Path


ANSWERS = {"name": "Priya Nair", "email": "priya.nair@uni.example.edu", "school": "Malabar Medical College",
           "country": "Nepal", "degree": "MD", "year": "2021", "exams": "passed Step 1 and taken Step 2 CK",
           "city": "Houston", "experience": "At Malabar, I kept the registry of pediatric fractures for two years."}
# What the example applicant's story is made of: none of it may reach a user's workspace.
EXAMPLE_FACTS = ("Asha", "asha", "Kaveri", "14920376", "555-0147", "India", "MBBS", "2023", "Chicago",
                 "Step 1 and Step 2 CK", "scrub typhus", "tuberculosis")


def example_facts_in(workspace: Path) -> list[str]:
    """Each example fact still in a file of the workspace (but the fictional contacts), with the file."""
    return [f"{path.name}: {fact}" for path in sorted(workspace.rglob("*"))
            if path.is_file() and path.suffix not in (".csv", ".db") for fact in EXAMPLE_FACTS
            if fact in path.read_text()]


def test_init_asks_on_standard_input_and_writes_the_answers(invoke, tmp_path, monkeypatch):
    target = tmp_path / "mine"
    result = invoke("init", target, input="\n".join(ANSWERS.values()) + "\n\n")
    assert result.exit_code == 0, result.output
    assert example_facts_in(target) == []
    mentor = (target / "templates" / "mentor_outreach.txt").read_text()
    assert ("I am Priya Nair, an international medical graduate of Malabar Medical College in Nepal (MD, 2021), "
            "now living in Houston. I have passed Step 1 and taken Step 2 CK and plan to apply") in mentor
    assert f"\n\n{ANSWERS['experience']}\n\n" in mentor and mentor.endswith("Priya Nair, MD\npriya.nair@uni.example.edu\n")
    assert 'OUTREACH_FROM="Priya Nair <priya.nair@uni.example.edu>"' in (target / ".env").read_text()
    for name in ("mentor_outreach.txt", "thank_you.txt", "follow_up.txt"):
        text = (target / "templates" / name).read_text()
        assert "Asha" not in text and "14920376" not in text and "Priya Nair, MD\npriya.nair@uni.example.edu" in text
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
    assert result.exit_code == 2 and ("placeholder: [[YOUR CITY]], [[YOUR COUNTRY]], [[YOUR DEGREE]], "
                                      "[[YOUR GRADUATION YEAR]], [[YOUR MEDICAL SCHOOL]], [[YOUR NAME]], "
                                      "[[YOUR RESEARCH EXPERIENCE]], [[YOUR SIGNATURE]], [[YOUR USMLE PROGRESS]]") \
        in result.output
    assert example_facts_in(target) == []
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


# -- issue 16 item 1: nobody else's life story under your name ---------------------------------
def test_check_refuses_the_example_applicants_research_under_another_name(invoke, tmp_path, monkeypatch):
    """A workspace made before init asked for everything: the name and school are the user's,
    the rest of the story is still the example's."""
    target = tmp_path / "old"
    assert invoke("init", target, "--example").exit_code == 0
    mentor = target / "templates" / "mentor_outreach.txt"
    text = mentor.read_text().replace("Kaveri Valley Medical College", "Malabar Medical College")
    mentor.write_text(text.replace("Kaveri Valley", "Malabar").replace("Asha Rao", "Priya Nair")
                      .replace("asha.rao@example.org | +1 (312) 555-0147", "priya@example.edu"))
    (target / ".env").write_text('OUTREACH_FROM="Priya Nair <priya@example.edu>"\n')
    monkeypatch.chdir(target)
    result = invoke("check", "templates/mentor_outreach.txt", "mentors.csv")
    assert result.exit_code == 2
    assert ("the message still carries the example applicant's details (not priya@example.edu): scrub typhus, "
            "tuberculosis screening dataset; put your own in templates/mentor_outreach.txt") in result.output


def test_every_fact_can_be_given_as_an_option(invoke, tmp_path, monkeypatch):
    target = tmp_path / "opts"
    options = [item for key, value in ANSWERS.items() for item in (f"--{key}", value)]
    assert invoke("init", target, *options, "--no-input").exit_code == 0
    assert example_facts_in(target) == []
    monkeypatch.chdir(target)
    assert invoke("check", "templates/mentor_outreach.txt", "mentors.csv").exit_code == 0


def test_on_a_terminal_init_asks_each_fact_and_enter_leaves_a_placeholder(tmp_path):
    from tests.helpers import OnTerminal

    term = OnTerminal("init", "mine", cwd=tmp_path)
    term.expect("Enter skips a question and leaves a [[PLACEHOLDER]]")
    for key, value in ANSWERS.items():
        term.expect(": ")
        term.answer("" if key in ("school", "city") else value)
    term.expect("Your signature (\\n for a new line) [Priya Nair, MD\\npriya.nair@uni.example.edu]: ")
    term.answer("")
    assert term.finish() == 0, term.seen
    mentor = (tmp_path / "mine" / "templates" / "mentor_outreach.txt").read_text()
    assert "graduate of [[YOUR MEDICAL SCHOOL]] in Nepal (MD, 2021), now living in [[YOUR CITY]]." in mentor
    assert example_facts_in(tmp_path / "mine") == []
    assert "yours to fill in" in term.seen


# -- issue 16 item 6: init asks again ------------------------------------------------------------
def test_on_a_terminal_a_mistyped_address_is_asked_again_with_what_a_valid_one_is(tmp_path):
    from tests.helpers import OnTerminal

    term = OnTerminal("init", "mine", "--name", "Priya Nair", cwd=tmp_path)
    term.expect("Your email address: ")
    term.answer("priya.nair@")
    shown = term.expect("Your email address: ")
    assert "Error: 'priya.nair@': not an email address like priya.nair@example.org (there must be something after " \
           "the @-sign)\n" in shown
    term.answer("priya.nair@uni.example.edu")
    for answer in ("Malabar Medical College", "Nepal", "MD"):
        term.expect(": ")
        term.answer(answer)
    term.expect("The year you graduated (or will): ")
    term.answer("21")
    assert "Error: '21': not a year like 2023; for example: 2024\n" in term.expect("The year you graduated (or will): ")
    term.answer("2021")
    for _ in range(4):
        term.expect(": ")
        term.answer("")
    assert term.finish() == 0, term.seen
    assert "OUTREACH_FROM" not in term.seen and "you <" not in term.seen
    assert 'OUTREACH_FROM="Priya Nair <priya.nair@uni.example.edu>"' in (tmp_path / "mine" / ".env").read_text()


def test_from_standard_input_a_mistyped_address_is_one_sentence_about_that_answer(invoke, tmp_path):
    result = invoke("init", tmp_path / "mine", input="Priya Nair\npriya.nair@\nMalabar Medical College\n")
    assert result.exit_code == 2 and not (tmp_path / "mine").exists()
    error = result.output.splitlines()[-1]
    assert error == ("error: answer 2 on standard input (your email address), 'priya.nair@': not an email address "
                     "like priya.nair@example.org (there must be something after the @-sign)")
    assert "OUTREACH_FROM" not in result.output and "you <" not in result.output


def test_an_option_with_a_wrong_value_names_the_option(invoke, tmp_path):
    result = invoke("init", tmp_path / "mine", "--email", "priya nair", "--no-input")
    assert result.exit_code == 2 and "error: --email 'priya nair': not an email address like" in result.output
    result = invoke("init", tmp_path / "mine", "--experience", "I wrote {{ x }}", "--no-input")
    assert result.exit_code == 2 and "would be read as template code" in result.output
