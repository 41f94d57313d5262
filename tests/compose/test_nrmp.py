"""NRMP-aware lints: commitment language in any message, asking for rank information, a second
program promised the same, and near-duplicate notes within a program."""

from __future__ import annotations

import pytest

from outreach.compose.batch import render_rows
from outreach.compose.checks import NEAR_DUPLICATE, similarity, words
from outreach.compose.contacts import ContactFile
from outreach.compose.templates import Template
from tests.helpers import contacts_csv, template_file

NO_KIND = "Subject: Thank you, Dr. {{ last_name }}\n\nDear Dr. {{ last_name }},\n\n{{ note }}\n\nAsha Rao\n"
HEADER = "email,first_name,last_name,program,note"

COMMITMENTS = [
    "I will rank you as my number one choice.",
    "Your program is first on my list.",
    "You are my first choice.",
    "I will be ranking you highly.",
    "Your program is my top choice.",
    "I plan to rank your program first.",
    "Your program is my #1.",
    "It is number one on my rank list.",
    "You are at the top of my list.",
    "I intend to rank you highly.",
    "It is the only program I want to train in.",
    "You will be my number 1.",
    "I am committed to your program.",
    "I ranked you first, as I promised.",
    "This is my top program.",
]
INNOCENT = [
    "Training at the #1 trauma center in the state would be a privilege.",
    "The top-notch training in your ICU impressed me.",
    "Your residency is ranked among the top programs in the country.",
    "I ranked first in my medical school class.",
    "My first choice of elective was cardiology.",
    "Mentorship is a top priority for me.",
    "Sepsis is the number one cause of death in your ICU's catchment area.",
    "I was first author on the perfusion paper we discussed.",
    "Your program is highly ranked for research, and I saw why.",
    "The list of rotations you showed me was impressive.",
    "I enjoyed the top floor tour of the new tower.",
    "Our talk about rank-and-file nursing staff stayed with me.",
]
RANK_QUESTIONS = [
    "Where do I stand on your rank list?",
    "Will you rank me highly?",
    "Could you let me know where I stand on your rank list?",
    "How will you rank me?",
    "Do you plan to rank me to match?",
    "Am I ranked to match?",
    "Please tell me how I am ranked.",
    "I would love to know where I fall on your list.",
    "Will I be ranked high enough?",
    "What is my position on your rank list?",
    "Is your program going to rank me?",
]
NOT_QUESTIONS = [
    "Will you be at the regional meeting in March?",
    "Where do I find the research day schedule?",
    "I was ranked third in the national anatomy olympiad.",
    "How do residents rank the night-float system?",
    "Could you tell me more about the rank-and-file union?",
    "Where I stand on the question of pacing is that it matters.",
    "Do you plan to expand the ultrasound curriculum?",
    "Is your team still recruiting for the sepsis trial?",
    "How are residents evaluated in the first year?",
    "Will your program rank-order the electives?",
]


def check(tmp_path, notes: list[str], *, programs: list[str] | None = None, template: str = NO_KIND,
          commitments=None) -> dict[int, list]:
    programs = programs or ["Mercy Internal Medicine"] * len(notes)
    rows = [f'dr{i}@example.edu,Name{i},Surname{i},{programs[i]},"{note}"' for i, note in enumerate(notes)]
    results = render_rows(Template(template_file(tmp_path, template)),
                          ContactFile(contacts_csv(tmp_path, rows=rows, header=HEADER)), commitments=commitments)
    return {item.contact.line: item.problems for item in results}


@pytest.mark.parametrize("note", COMMITMENTS)
def test_commitment_language_is_flagged_without_a_kind_header(tmp_path, note):
    (problems,) = check(tmp_path, [note]).values()
    assert any(p.severity == "warning" and "ranking language" in p.text for p in problems), note


def test_ordinary_sentences_are_not_flagged_with_or_without_a_kind(tmp_path):
    notes = INNOCENT + NOT_QUESTIONS
    for template in (NO_KIND.replace("\n\n", "\nKind: thank-you\n\n", 1), NO_KIND):
        found = check(tmp_path, notes, programs=[f"Program {i}" for i in range(len(notes))], template=template)
        flagged = [(note, [p.text for p in problems]) for note, problems in zip(notes, found.values()) if problems]
        assert flagged == []


@pytest.mark.parametrize("note", RANK_QUESTIONS)
def test_asking_for_rank_information_is_an_error(tmp_path, note):
    (problems,) = check(tmp_path, [note]).values()
    errors = [p for p in problems if p.severity == "error"]
    assert errors and "asks for ranking information" in errors[0].text, note
    assert "Match Participation Agreement" in errors[0].text


def test_a_commitment_to_a_second_program_in_the_same_file_is_an_error(tmp_path):
    found = check(tmp_path, ["You are my top choice.", "You are my top choice too.", "You are my first choice."],
                  programs=["Mercy Internal Medicine", "Mercy Internal Medicine", "Lakeside Surgery"])
    assert not [p for p in found[3] if p.severity == "error"]            # the same program, another interviewer
    (error,) = [p for p in found[4] if p.severity == "error"]
    assert error.text.startswith("says 'You are my first choice' to Lakeside Surgery, but Mercy Internal "
                                 "Medicine was already told 'You are my top choice' (line 2 of this file)")


def test_near_duplicate_notes_to_one_program_are_a_warning_with_the_similarity(tmp_path):
    first = "Talking with Dr. Surname0 about the night-float redesign and the sepsis quality project was the highlight."
    second = "Talking with Dr. Surname1 about the night-float redesign and the sepsis quality work was the highlight."
    other = "Your point about teaching residents to debrief after codes changed how I think about feedback."
    found = check(tmp_path, [first, second, other, second.replace("Surname1", "Surname3")],
                  programs=["Mercy IM", "Mercy IM", "Mercy IM", "Lakeside Surgery"])
    (warning,) = [p for p in found[3] if "same program" in p.text]
    assert warning.severity == "warning" and warning.field == "note"
    assert "93% the same as the note on line 2 to the same program (names left out)" in warning.text
    assert not [p for p in found[4] if "same program" in p.text]        # a different note
    assert not [p for p in found[5] if "same program" in p.text]        # another program


def test_similarity_is_word_based_and_cheap_pairs_fail_fast():
    a = words("the night float redesign and the sepsis quality project was the highlight of my day")
    assert similarity(a, a) == 1.0
    assert similarity(a, a[:-1] + ["week"]) >= NEAR_DUPLICATE
    assert similarity(a, words("your teaching on codes changed how I give feedback")) == 0.0
