"""The NRMP scan searches only the windows around a row's cells (checks.CellWindows): it finds
the same trigger words, and so the same phrases, as the search of the whole message.

Texts are made of halves of trigger words, so that words straddle a cell and the template's
text next to it, two cells, or an empty cell; with characters that casefold to more than one
("ﬁ", "ß", "İ"), CRLFs (the body's become LFs) and white space at the subject's ends (stripped).
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from outreach.compose.checks import _TRIGGERS, WINDOW_TRIAL, CellWindows, Checker, scan, trigger_words
from outreach.compose.contacts import Contact
from outreach.compose.templates import Draft, RenderError, Template

# Every trigger word cut in two (so that its halves meet across a cell's edge), a few whole, and
# characters that fold to more than one or to a trigger's letters.
HALVES = sorted({half for word in _TRIGGERS for cut in range(1, len(word)) for half in (word[:cut], word[cut:])})
FRAGMENTS = [*HALVES, "ﬁ", "ß", "İ", "K", "FIR", "ST", "my first choice", "x", "%", ",", "-"]
SPACES = [" ", "\n", "\r\n", "\t", "\u00a0", "  "]
variables = st.sampled_from([*"abcabcabc", "missing"]).map(lambda name: f"{{{{ {name} }}}}")


def texts(spaces: list[str], most: int = 3) -> st.SearchStrategy[str]:
    return st.lists(st.sampled_from(FRAGMENTS + spaces), max_size=most).map("".join)


subjects = st.lists(st.one_of(texts([" ", "\t"]), variables), min_size=1, max_size=5).map("".join)
bodies = st.lists(st.one_of(texts(SPACES), variables), max_size=8).map("".join)
rows = st.lists(st.fixed_dictionaries({name: texts([" ", "\t", "\r\n"]) for name in "abc"}), min_size=1, max_size=4)


FOLDER = Path(tempfile.mkdtemp(prefix="cell-windows-"))  # one file, written again for each template
atexit.register(shutil.rmtree, FOLDER, ignore_errors=True)


def template_of(subject: str, body: str) -> Template:
    path = FOLDER / "t.txt"
    path.write_text(f"Subject: {subject}\n\n{body}", encoding="utf-8", newline="")
    return Template(path)


def drafts(template: Template, cells: list[dict[str, str]]) -> list[Draft]:
    made = []
    for line, fields in enumerate(cells, start=2):
        contact = Contact(line, {**fields, "email": "jchen@example.edu"}, "jchen@example.edu")
        try:
            made.append(template.render(contact))
        except RenderError as e:  # a missing variable: rendered with its stand-in, and checked
            if e.draft is not None:
                made.append(e.draft)
    return made


def found(scanned) -> tuple:
    return ([(m.span(), m.group(0), p.label) for m, p in scanned.commitments],
            [(m.span(), m.group(0), p.label) for m, p in scanned.questions])


@settings(max_examples=100, deadline=None)
@given(subjects, bodies, rows)
def test_the_windows_find_the_trigger_words_of_the_whole_message(subject, body, cells):
    template = template_of(subject, body)
    windows = CellWindows.of(template)
    if windows is None:  # the template's own text holds a trigger word: every message is searched in full
        assert trigger_words(subject + "\n" + body.replace("\r\n", "\n"))
        return
    for draft in drafts(template, cells):
        text = f"{draft.subject}\n{draft.text}"
        found_here = windows.triggers(draft)
        if found_here is None:  # only a missing variable's stand-in (a str of another type) is searched in full
            assert "{{ missing }}" in text
        else:
            assert found_here == trigger_words(text)
        assert found(scan(draft, windows)) == found(scan(replace(draft, scanned=None)))


def test_the_windows_of_one_cell_are_searched_together_yet_apart():
    template = template_of("Hello", "{{ a }}ablisqqqqtcdef{{ a }}\n")  # "lis" ends one window of a, "t" starts the next
    windows = CellWindows.of(template)
    assert windows is not None and len(windows._forms) == 1
    for cell in ["x", "t", "first"]:
        draft = template.render(Contact(2, {"a": cell, "email": "j@example.edu"}, "j@example.edu"))
        assert windows.triggers(draft) == trigger_words(f"{draft.subject}\n{draft.text}")


def test_a_template_whose_own_text_holds_a_trigger_word_is_searched_in_full():
    assert CellWindows.of(template_of("Hello {{ a }}", "My first choice, {{ b }}.\n")) is None
    assert CellWindows.of(template_of("{{ a }} rank", "Dear {{ b }},\n")) is None
    assert CellWindows.of(template_of("Hello {{ a }}", "{% if b %}{{ b }}{% endif %}\n")) is None


def test_a_draft_not_rendered_by_the_template_is_searched_in_full():
    template = template_of("Hello {{ a }}", "Dear {{ b }},\n")
    draft = template.render(Contact(2, {"a": "x", "b": "y", "email": "j@example.edu"}, "j@example.edu"))
    windows = CellWindows.of(template)
    assert windows is not None and windows.triggers(draft) == frozenset()
    made = replace(draft, text="I will rank your program first.\n")  # the same cells, other text
    assert windows.triggers(made) is None
    assert found(scan(made, windows))[0] != []
    other = Checker(template_of("Hello {{ a }}", "Dear {{ b }},\n"))
    assert other.windows is not None and other.windows.triggers(draft) is None


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(_TRIGGERS), st.lists(st.integers(0, 6), min_size=3, max_size=3), st.booleans(),
       st.sampled_from(["Dear ", "", "x", " on "]), st.sampled_from([", thanks", "", "y"]))
def test_a_trigger_word_cut_by_cells_is_found(word, cuts, in_subject, before, after):
    first, second, third = sorted(min(cut, len(word)) for cut in cuts)
    text = f"{before}{word[:first]}{{{{ a }}}}{word[second:third]}{{{{ b }}}}{after}"
    template = template_of(text, "Hello.\n") if in_subject else template_of("Hello", text)
    windows = CellWindows.of(template)
    if windows is None:  # a piece the template writes holds a trigger word itself
        assert trigger_words(text)
        return
    fields = {"a": word[first:second], "b": word[third:], "c": "", "email": "j@example.edu"}
    draft = template.render(Contact(2, fields, "j@example.edu"))
    assert word in windows.triggers(draft) == trigger_words(f"{draft.subject}\n{draft.text}")


def test_a_window_whose_values_seldom_repeat_stops_remembering_and_still_finds_them():
    template = template_of("Hello {{ a }}", "Dear {{ b }},\n{{ c }}\n")
    windows = CellWindows.of(template)
    assert windows is not None
    for line in range(2, WINDOW_TRIAL + 200):
        note = f"Your paper number {line} was my top choice" if line % 100 == 0 else f"Your paper {line}"
        fields = {"a": "Dr. Chen", "b": ["Lee", "Okafor"][line % 2], "c": note, "email": "j@example.edu"}
        draft = template.render(Contact(line, fields, "j@example.edu"))
        assert windows.triggers(draft) == trigger_words(f"{draft.subject}\n{draft.text}")
    assert [len(answers) for answers in windows._answers] == [1, 2, 0]  # the notes' window forgot them
