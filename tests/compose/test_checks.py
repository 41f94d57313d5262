from outreach.compose.batch import render_rows
from outreach.compose.contacts import ContactFile
from outreach.compose.templates import Template
from tests.helpers import HEADER, MENTOR_TEMPLATE, ROWS, contacts_csv, template_file

THANK_YOU = "Subject: Thank you\nKind: thank-you\n\nDear Dr. {{ last_name }},\n\n{{ note }}\n"


def problems(tmp_path, rows, template=MENTOR_TEMPLATE, header=HEADER):
    results = render_rows(Template(template_file(tmp_path, template)),
                          ContactFile(contacts_csv(tmp_path, rows=rows, header=header)))
    return {item.contact.line: [p.text for p in item.problems] for item in results}


def test_clean_rows_have_no_problems(tmp_path):
    assert problems(tmp_path, ROWS) == {2: [], 3: [], 4: []}


def test_empty_personal_note_is_a_warning(tmp_path):
    found = problems(tmp_path, [ROWS[0], "a@example.edu,Ann,Lee,Yale,MSK,"])
    assert found[3] == ["the personal note is empty, but the template uses it"]


def test_same_note_on_two_rows_is_a_warning(tmp_path):
    note = "Your stroke triage paper changed how I read CTs."
    rows = [ROWS[0], f"a@example.edu,Ann,Lee,Yale,MSK,{note.upper()}"]
    assert problems(tmp_path, rows)[3] == ["the same note as line 2, word for word; tailor it"]


def test_another_rows_institution_or_name_is_flagged(tmp_path):
    rows = [ROWS[0], "a@example.edu,Ann,Lee,Yale,MSK,I admired your work with Dr. Chen at Stanford University."]
    found = problems(tmp_path, rows)[3]
    assert any("'Stanford University', the institution of line 2" in text for text in found)
    assert any("'Chen', the last_name of line 2" in text for text in found)
    assert found and not problems(tmp_path, rows)[2]


def test_own_values_inside_another_rows_value_are_not_flagged(tmp_path):
    rows = ["a@example.edu,Ann,Lee,Johns Hopkins University,MSK,Loved the Johns Hopkins University talk.",
            "b@example.edu,Bo,Kim,Johns Hopkins University Hospital,MSK,Your cohort study."]
    assert problems(tmp_path, rows)[2] == []


def test_long_cold_email_warns_but_long_thank_you_does_not(tmp_path):
    rows = ["a@example.edu,Ann,Lee,Yale,MSK," + " ".join(["word"] * 210)]
    assert any("210" in text or "words" in text for text in problems(tmp_path, rows)[2])
    assert problems(tmp_path, rows, template=THANK_YOU)[2] == []


def test_ranking_language_in_thank_you_notes(tmp_path):
    for note in ["You are my top choice.", "I will rank your program first.", "Your program is my #1.",
                 "I plan to rank you highly.", "It is my number one program."]:
        found = problems(tmp_path, [f'a@example.edu,Ann,Lee,Yale,MSK,"{note}"'], template=THANK_YOU)[2]
        assert any("ranking language" in text for text in found), note
    calm = "I appreciated our discussion about your stroke imaging rotation and the 24-hour reading room."
    assert problems(tmp_path, [f"a@example.edu,Ann,Lee,Yale,MSK,{calm}"], template=THANK_YOU)[2] == []
    # The same words in a cold email are not a ranking statement.
    assert problems(tmp_path, ["a@example.edu,Ann,Lee,Yale,MSK,You are my top choice of mentor."])[2] == []
