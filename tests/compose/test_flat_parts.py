"""A template part of text and {{ variable }}s is joined without Jinja: exactly what Jinja writes.

Other parts are remembered by the values they read; one with the random filter never is.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from outreach.compose.sandbox import ENVIRONMENT, render_shared
from outreach.compose.templates import MEMO_TRIAL, _Part

names = st.sampled_from(["name", "topic", "note", "first_name"])
texts = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="{}"), max_size=40)
sources = st.lists(st.one_of(texts, names.map(lambda name: f"{{{{ {name} }}}}"),
                             names.map(lambda name: f"{{{{- {name} -}}}}")), max_size=8).map("".join)
values = st.text(st.characters(blacklist_categories=("Cs",)), max_size=60)


@settings(max_examples=300, deadline=None)
@given(sources, st.dictionaries(names, values))
def test_a_flat_part_is_written_as_jinja_renders_it(source, fields):
    part = _Part("body", 1, source)
    assert part.flat is not None
    context = {**ENVIRONMENT.globals, **fields}
    written = part.written(context)
    try:
        rendered = render_shared(part.template, context)
    except Exception:  # noqa: BLE001 (a variable the row does not have: Jinja says so)
        assert written is None
        return
    assert written == rendered


def test_parts_with_more_than_names_are_left_to_jinja():
    for source in ["{{ name | upper }}", "{% if name %}x{% endif %}", "{{ name ~ topic }}", "{{ 'x' }}"]:
        assert _Part("subject", 1, source).flat is None


def test_a_part_is_remembered_by_what_it_reads_but_never_with_the_random_filter():
    part = _Part("subject", 1, "About {{ topic | upper }}")
    assert part.reads == ("topic",)
    chance = _Part("subject", 1, "{{ ['a', 'b'] | random }} {{ topic | upper }}")
    assert chance.reads is None


def test_a_part_whose_values_seldom_repeat_stops_remembering():
    part = _Part("body", 1, "{{ note | upper }}")
    for number in range(MEMO_TRIAL):
        key = part.key({"note": str(number)})
        assert key is not None
        part.remember(key, str(number))
    assert part.reads is None and not part.memo
