"""The lints' text helpers take a C path for ASCII text; on any text they give what the plain
definitions give: WORD's matches, ``len(text.split())``, white space squashed to single spaces."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from outreach.compose.checks import WORD, _squash, word_count, words

ascii_texts = st.text(st.characters(max_codepoint=127), max_size=80)
near_ascii = st.text(st.sampled_from([*" \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0\u2003\u2019", "a", "B", "7", "_", ".", "-",
                                      "'", ",", "é", "ß"]), max_size=40)
texts = ascii_texts | near_ascii | st.text(max_size=40)


@settings(max_examples=1000, deadline=None)
@given(texts)
def test_words_are_the_expressions_matches(text):
    assert words(text) == WORD.findall(text)


@settings(max_examples=1000, deadline=None)
@given(texts)
def test_words_are_counted_as_split_counts_them(text):
    assert word_count(text) == len(text.split())


@settings(max_examples=1000, deadline=None)
@given(texts)
def test_squashed_is_each_run_of_white_space_made_one_space(text):
    assert _squash(text) == " ".join(text.split())


def test_the_usual_cells_take_the_c_path_and_give_the_same():
    note = "I took the IDWeek 2018 workshop you led, and tried the same on 289 charts."
    assert words(note) == WORD.findall(note) and word_count(note) == 15 and _squash(note) is note
