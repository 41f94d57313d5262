"""The NRMP expressions run with ``re.ASCII`` on text that re reads the same either way
(checks.ascii_alike): they find the same first match as the Unicode expressions."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from outreach.compose.checks import COMMITMENT_PHRASES, RANK_QUESTIONS, ascii_alike

WORDS = ["I", "will", "would", "rank", "ranked", "ranking", "your", "you", "program", "this", "the", "first", "1st",
         "my", "our", "top", "choice", "#1", "# 1", "no. 1", "number one", "number 1", "on", "of", "list", "where",
         "do", "stand", "am", "was", "be", "how", "highly", "I'm", "only", "that", "commit", "committed", "to",
         "commitment", "place", "spot", "position", "team", "highest", "head", "above", "all", "plan", "intend",
         "going", "me", "choiceless", "listing", "x_y", "a-b"]
SEPARATORS = [" ", "  ", "\n", "\t", "\x0b", "\x0c", "\r", "\x1c", "\x1f", ".", "!", "?", ", ", "-", "'", "_", "\u2028"]
# The phrases' own word sequences, so that the expressions match often (the separators vary).
SHAPES = [["rank", "your", "program", "first"], ["top", "choice"], ["first", "on", "my", "list"], ["my", "#1"],
          ["where", "do", "I", "stand"], ["will", "you", "rank", "me"], ["my", "number", "one"], ["am", "I", "ranked"],
          ["only", "program", "I"], ["commit", "to", "your", "program"], ["my", "place", "on", "your", "list"],
          ["how", "I", "am", "ranked"], ["I", "will", "rank", "you"], ["#", "1", "choice"],
          ["no.", "1", "on", "my", "list"]]
words = st.one_of(st.sampled_from(WORDS).map(lambda word: [word]), st.sampled_from(SHAPES))
cased = words.flatmap(lambda run: st.sampled_from([run, [w.upper() for w in run], [w.title() for w in run]]))
texts = st.lists(st.tuples(cased, st.lists(st.sampled_from(SEPARATORS), min_size=1, max_size=6)), max_size=6).map(
    lambda pairs: "".join(word + separators[at % len(separators)]
                          for run, separators in pairs for at, word in enumerate(run)))


@settings(max_examples=150, deadline=None)
@given(texts)
def test_the_ascii_expressions_find_what_the_unicode_ones_find(text):
    if not ascii_alike(text):
        return
    for phrase in COMMITMENT_PHRASES + RANK_QUESTIONS:
        unicode_match, ascii_match = phrase.pattern.search(text), phrase.ascii_pattern.search(text)
        assert (unicode_match and (unicode_match.span(), unicode_match.group(0))) == \
            (ascii_match and (ascii_match.span(), ascii_match.group(0)))


def test_text_re_reads_otherwise_is_left_to_the_unicode_expressions():
    [top_choice] = [p for p in COMMITMENT_PHRASES if p.label == '"top choice" / "first choice"']
    text = "You are my top\x1cchoice."  # 0x1c is white space to Unicode's \s only
    assert top_choice.pattern.search(text) and not top_choice.ascii_pattern.search(text)
    assert not ascii_alike(text) and not ascii_alike("You are my top choice, José.") and ascii_alike("top choice")
