"""A template part of text and {{ variable }}s is joined without Jinja: exactly what Jinja writes.

Such a part is also recognised without Jinja: the pieces read from its source are the pieces
Jinja's parser finds. Other parts are remembered by the values they read; one with the random
filter never is.
"""

from __future__ import annotations

import jinja2.defaults
from hypothesis import given, settings
from hypothesis import strategies as st
from jinja2 import meta

from outreach.compose.sandbox import ENVIRONMENT, render_shared
from outreach.compose.templates import JINJA_GLOBALS, MEMO_TRIAL, Template, _Part, flat_pieces, flat_source

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


# Sources near the edge of flat: braces, tags of every kind, names Jinja reads otherwise, odd spacing.
edge_names = st.sampled_from(["name", "topic", "_x1", "None", "none", "true", "False", "and", "not", "if", "for", "dict",
                              "range", "loop", "self", "café", "1st", "first name", "name.first", "name|upper",
                              "", "'x'", "x ~ y"])
spaces = st.sampled_from(["", " ", "  ", "\t", "\n", " \n ", "\u00a0", "\u2003"])
tags = st.builds(lambda open_, left, name, right, close: f"{open_}{left}{name}{right}{close}",
                 st.sampled_from(["{{", "{{-", "{{+", "{%", "{#", "{", "{{{"]), spaces, edge_names, spaces,
                 st.sampled_from(["}}", "-}}", "}}}", "%}", "#}", "}", ""]))
edge_texts = st.text(st.sampled_from(list("ab {}%#-\n\r\t\u2028")), max_size=8)
edge_sources = st.lists(st.one_of(edge_texts, tags), max_size=6).map("".join)


@settings(max_examples=800, deadline=None)
@given(edge_sources)
def test_a_part_read_as_flat_without_jinja_is_what_jinja_parses(source):
    pieces = flat_source(source)
    if pieces is None:
        return
    tree = ENVIRONMENT.parse(source)  # and it parses: a flat source is never a syntax error
    assert flat_pieces(tree) == pieces
    assert meta.find_undeclared_variables(tree) == {name for _, name in pieces if name is not None}
    ENVIRONMENT.from_string(tree)


def test_the_names_of_jinjas_globals_are_known_without_it():
    assert set(jinja2.defaults.DEFAULT_NAMESPACE) == JINJA_GLOBALS
    assert set(ENVIRONMENT.globals) <= JINJA_GLOBALS


def test_a_template_of_flat_parts_reads_no_globals_and_one_that_names_them_does(tmp_path):
    flat = tmp_path / "flat.txt"
    flat.write_text("Subject: About {{ topic }}\nTo: {{ name }} <{{ email }}>\n\nDear {{ name }},\n", encoding="utf-8")
    assert Template(flat)._globals == {}
    ranged = tmp_path / "ranged.txt"
    ranged.write_text("Subject: About {{ topic }}\n\n{{ range }}\n", encoding="utf-8")
    assert Template(ranged)._globals is ENVIRONMENT.globals


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
