"""`outreach report`: counts and rates from the store, the noise verdict, four renderings."""

from __future__ import annotations

import csv
import io
import json
import math
import re
from fractions import Fraction
from itertools import pairwise
from xml.etree import ElementTree

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outreach.track.report import (
    CSS,
    FLOOR_LIMIT,
    MAX_STEPS,
    NARROW,
    SIGNIFICANCE,
    SPREAD,
    Counts,
    _p,
    compare,
    count_ticks,
    fisher_exact,
    fisher_floor,
    wilson,
)
from outreach.store import Store
from tests.seed import add_event, add_message

SENT = "2026-11-10T10:00:00Z"
SVG = "{http://www.w3.org/2000/svg}"


def hours_later(hours: float) -> str:
    from datetime import datetime, timedelta

    return (datetime.fromisoformat(SENT.replace("Z", "+00:00")) + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def store(workspace):
    """Thirteen contacts whose story is told in the comments; the expected numbers follow from it."""
    s = Store(workspace / "outreach.db")

    def contact(i, variant, institution, state="sent"):
        address = f"c{i}@example.edu"
        mid = add_message(s, "fall", address, line=i + 2, variant=variant, state=state,
                          contact={"email": address, "last_name": f"N{i}", "institution": institution})
        return address, mid

    def event(who, kind, hours, **kw):
        add_event(s, who[1], who[0], kind, hours_later(hours), **kw)

    c0 = contact(0, "a", "Inst A"); event(c0, "reply", 48)                  # replied before any follow-up
    c1 = contact(1, "a", "Inst A"); event(c1, "reply", 24)
    c2 = contact(2, "a", "Inst B"); event(c2, "bounce", 1)                  # bounced
    c3 = contact(3, "a", "Inst B"); event(c3, "auto-reply", 2)              # out of office only: not a reply
    c4 = contact(4, "a", "Inst B")                                           # replied to the follow-up
    fu4 = add_message(s, "fall", c4[0], step=1, sent_at=hours_later(192))
    add_event(s, fu4, c4[0], "reply", hours_later(240))
    c5 = contact(5, "b", "Inst A"); event(c5, "bounce", 1); event(c5, "reply", 72)  # a bounce, then a reply
    c6 = contact(6, "b", "Inst A"); event(c6, "auto-reply", 2); event(c6, "reply", 96)
    c7 = contact(7, "b", "Inst B"); event(c7, "delayed", 5)                 # "delayed" is not a bounce
    c8 = contact(8, "b", "Inst B")
    add_message(s, "fall", c8[0], step=1, sent_at=hours_later(192))        # followed up, no answer
    contact(9, "b", "Inst B")
    contact(10, "b", "Inst B", state="failed")
    contact(11, "a", "Inst A", state="sending")                            # uncertain
    contact(12, "a", "Inst A", state="drafted")
    add_message(s, "spring", "z@example.edu", variant="a")                 # another campaign
    yield s
    s.close()


TOTALS = {"planned": 13, "sent": 10, "failed": 1, "uncertain": 1, "bounced": 1, "delivered": 9, "replied": 5,
          "auto_replied": 2, "followed_up": 2, "replied_before_followup": 4, "replied_after_followup": 1,
          "median_hours_to_first_reply": 72.0, "reply_rate": round(5 / 9, 6)}
BY_VARIANT = {
    "a": {"planned": 7, "sent": 5, "failed": 0, "uncertain": 1, "bounced": 1, "delivered": 4, "replied": 3,
          "auto_replied": 1, "followed_up": 1, "replied_before_followup": 2, "replied_after_followup": 1,
          "median_hours_to_first_reply": 48.0, "reply_rate": 0.75},
    "b": {"planned": 6, "sent": 5, "failed": 1, "uncertain": 0, "bounced": 0, "delivered": 5, "replied": 2,
          "auto_replied": 1, "followed_up": 1, "replied_before_followup": 2, "replied_after_followup": 0,
          "median_hours_to_first_reply": 84.0, "reply_rate": 0.4},
}


def report_json(invoke, *args):
    result = invoke("report", *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def subset(data: dict, keys) -> dict:
    return {k: data[k] for k in keys}


def test_wilson_interval():
    assert wilson(0, 0) is None
    low, high = wilson(1, 10)
    assert (round(low, 4), round(high, 4)) == (0.0179, 0.4042)
    low, high = wilson(0, 10)
    assert low == 0.0 and round(high, 4) == 0.2775
    low, high = wilson(10, 10)
    assert round(low, 4) == 0.7225 and high == 1.0


def test_counts_and_rates(store, invoke):
    data = report_json(invoke, "fall")
    assert data["by"] is None and [c["campaign"] for c in data["campaigns"]] == ["fall"]
    fall = data["campaigns"][0]
    assert subset(fall["totals"], TOTALS) == TOTALS
    low, high = wilson(5, 9)
    assert fall["totals"]["reply_rate_ci95"] == [round(low, 6), round(high, 6)]
    assert fall["groups"] == [] and fall["comparison"] is None
    assert fall["cumulative_replies"] == {"all": [["2026-11-11", 1], ["2026-11-12", 2], ["2026-11-13", 3],
                                                  ["2026-11-14", 4], ["2026-11-20", 5]]}
    assert fall["first_followup"] == "2026-11-18"
    everything = report_json(invoke)
    assert [c["campaign"] for c in everything["campaigns"]] == ["fall", "spring"]


def test_by_variant(store, invoke):
    fall = report_json(invoke, "fall", "--by", "variant")["campaigns"][0]
    groups = {g["group"]: g for g in fall["groups"]}
    assert {name: subset(groups[name], BY_VARIANT[name]) for name in groups} == BY_VARIANT
    assert subset(fall["totals"], TOTALS) == TOTALS
    assert fall["comparison"]["within_noise"] is True
    assert fall["comparison"]["small_samples"] == ["a", "b"]
    assert set(fall["cumulative_replies"]) == {"all", "a", "b"}
    assert fall["cumulative_replies"]["all"][-1] == ["2026-11-20", 5]


def test_by_csv_column(store, invoke):
    fall = report_json(invoke, "fall", "--by", " Institution ")["campaigns"][0]  # header-style spelling
    groups = {g["group"]: (g["planned"], g["delivered"], g["replied"]) for g in fall["groups"]}
    assert groups == {"Inst A": (6, 4, 4), "Inst B": (7, 5, 1)}


def test_unknown_column_and_campaign(store, invoke):
    result = invoke("report", "--by", "specialty")
    assert result.exit_code == 2
    assert "--by specialty: no such column" in result.output and "institution" in result.output
    result = invoke("report", "winter")
    assert result.exit_code == 2 and "no campaign 'winter'" in result.output
    assert invoke("report", "--json", "--csv").exit_code == 2


def test_noise_verdict():
    def counts(replied, delivered):
        return Counts(delivered=delivered, replied=replied, sent=delivered, planned=delivered)

    within = compare({"a": counts(3, 10), "b": counts(5, 10)})
    assert within.within_noise and within.text.startswith("within noise")
    beyond = compare({"a": counts(20, 25), "b": counts(2, 25), "c": counts(15, 25)})
    assert not beyond.within_noise
    assert ("a", "b") in beyond.separated and ("c", "b") in beyond.separated and ("a", "c") not in beyond.separated
    assert beyond.text.startswith("beyond noise: a 80.0% (20/25) > b 8.0% (2/25) (p < 0.001)")
    assert beyond.text.endswith("(Fisher's exact test, adjusted for 3 pairs)")
    assert compare({"a": counts(1, 3), "b": counts(0, 0)}) is None  # one group with data: nothing to compare


def test_fisher_exact_where_the_intervals_overlap():
    """3/25 against 11/23: the Wilson intervals overlap, yet the difference is real (p = 0.010)."""
    def counts(replied, delivered):
        return Counts(delivered=delivered, replied=replied, sent=delivered, planned=delivered)

    long, short = counts(3, 25), counts(11, 23)
    assert long.interval[1] > short.interval[0]  # the old rule would call this noise
    verdict = compare({"long": long, "short": short})
    assert not verdict.within_noise and verdict.separated == [("short", "long")]
    assert verdict.text == ("beyond noise: short 47.8% (11/23) > long 12.0% (3/25) (p = 0.010) "
                            "(Fisher's exact test)")
    assert verdict.pairs == [("short", "long", pytest.approx(0.0103345401, abs=1e-9))]
    within = compare({"a": counts(4, 14), "b": counts(6, 15)})
    assert within.text.startswith("within noise: highest b 40.0% (6/15), lowest a 28.6% (4/14) "
                                  "(Fisher's exact test, p = 0.700)")


def exact_fisher(replied_a: int, silent_a: int, replied_b: int, silent_b: int) -> Fraction:
    """The test's own oracle: Fisher's two-sided p-value in exact fractions, from the definition.

    With the margins fixed, P(k replies in group a) = C(a, k) C(b, r - k) / C(a + b, r); the p-value
    sums every table at most as likely as the one observed. "At most" allows a relative 1e-7, as
    SciPy and the code under test do, so that tables equal but for rounding count; here the
    tolerance is applied to exact numbers, so the oracle itself never rounds."""
    size_a, size_b, replies = replied_a + silent_a, replied_b + silent_b, replied_a + replied_b
    tables = range(max(0, replies - size_b), min(size_a, replies) + 1)
    weight = {k: math.comb(size_a, k) * math.comb(size_b, replies - k) for k in tables}
    limit = weight[replied_a] * (1 + Fraction(1, 10**7))
    return Fraction(sum(w for w in weight.values() if w <= limit), math.comb(size_a + size_b, replies))


# SciPy 1.17's scipy.stats.fisher_exact on these tables, kept as numbers so the test needs no SciPy.
SCIPY = {(3, 22, 11, 12): 0.010334540137463107, (0, 10, 0, 7): 1.0, (5, 0, 0, 5): 0.007936507936507938,
         (1, 1, 1, 1): 1.0, (7, 13, 2, 31): 0.018914697559763532, (12, 3, 11, 4): 1.0,
         (0, 1, 40, 2): 0.06976744186046512, (30, 70, 45, 55): 0.040534006514982644}


@pytest.mark.parametrize("table", SCIPY)
def test_fisher_exact_matches_the_exact_oracle_and_scipy(table):
    assert exact_fisher(*table) == pytest.approx(SCIPY[table], rel=1e-12)   # the oracle reads as SciPy does
    assert fisher_exact(*table) == pytest.approx(float(exact_fisher(*table)), rel=1e-9)


TABLES = st.tuples(st.integers(0, 80), st.integers(0, 700), st.integers(0, 80), st.integers(0, 700))


@settings(max_examples=1500, deadline=None)
@given(TABLES)
def test_the_floor_never_exceeds_the_p_value(table):
    """compare() leaves a pair's exact p-value out when the floor shows it is within noise: sound
    only if the floor is never above the p-value (the walk's own rounding included)."""
    floor = fisher_floor(*table)
    assert 0.0 <= floor <= fisher_exact(*table)
    if sum(table) <= FLOOR_LIMIT:
        assert floor > 0.0 or fisher_exact(*table) < 1e-300  # the floor is a real bound, not a give-up


def _group(replied_delivered):
    replied, delivered = replied_delivered
    return Counts(delivered=delivered, replied=min(replied, delivered), sent=delivered, planned=delivered)


GROUPS = st.dictionaries(st.text("abcdefgh", min_size=1, max_size=3),
                         st.tuples(st.integers(0, 60), st.integers(0, 300)).map(_group), min_size=2, max_size=14)


@settings(max_examples=400, deadline=None)
@given(GROUPS)
def test_the_verdict_is_what_every_exact_p_value_says(groups):
    """The verdict walks Fisher's test only for the pairs it names and for the smallest one; it
    must read exactly as the p-values of every pair (computed in full, as the JSON shows them) do."""
    verdict = compare(groups)
    if verdict is None:
        assert sum(1 for c in groups.values() if c.delivered) < 2
        return
    assert compare(groups, every_pair=True) == verdict  # the JSON report's way: every pair walked at once
    pairs = verdict.pairs
    assert [(h, lo) for h, lo, _ in pairs] == list(verdict.tables)
    assert verdict.separated == [(h, lo) for h, lo, p in pairs if p < SIGNIFICANCE]
    assert verdict.within_noise == (not verdict.separated)
    if verdict.within_noise:
        assert f"{_p(min(p for _, _, p in pairs))}); these samples cannot tell" in verdict.text
    else:
        shown = [p for _, _, p in pairs if p < SIGNIFICANCE][:3]
        assert re.findall(r"\((p [<=] [0-9.]+)\)", verdict.text)[:len(shown)] == [_p(p) for p in shown]


def test_text_table(store, invoke):
    result = invoke("report", "fall", "--by", "variant")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0] == "campaign fall — by variant"
    assert re.search(r"^  a\s+7\s+5\s+0\s+1\s+1\s+4\s+3\s+1\s+75\.0%\s+\S+\s+█+░*$", result.output, re.M)
    assert re.search(r"^  all\s+13\s+10\s+1\s+1\s+1\s+9\s+5\s+2\s+55\.6%", result.output, re.M)
    assert "median time to first reply: 3 days; replies before the follow-up: 4, after: 1 (2 followed up)" \
        in result.output
    assert "within noise" in result.output
    assert "\x1b[" not in result.output


def test_csv(store, invoke):
    result = invoke("report", "--by", "variant", "--csv")
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert [(r["campaign"], r["group"]) for r in rows] == [("fall", "a"), ("fall", "b"), ("fall", "all"),
                                                           ("spring", "a"), ("spring", "all")]
    assert rows[2]["replied"] == "5" and rows[2]["reply_rate"] == str(round(5 / 9, 6))


def test_html_is_one_self_contained_page(store, invoke, workspace):
    store.db.execute("""UPDATE messages SET contact=json_set(contact, '$.institution', '<script>x</script>')
                        WHERE address='c0@example.edu'""")
    result = invoke("report", "--by", "institution", "--html", "out/report.html")
    assert result.exit_code == 0 and "wrote out/report.html" in result.output
    page = (workspace / "out" / "report.html").read_text()
    assert page.startswith("<!DOCTYPE html>")
    assert page.count('aria-label="cumulative replies over time"') == 1  # fall's; spring has no reply to chart
    assert page.count('<div class="rates"') == 2  # reply-rate bars (HTML, so names wrap) for both campaigns
    assert "<script>" not in page and "&lt;script&gt;x&lt;/script&gt;" in page
    assert not re.search(r"""(src|href)\s*=|url\(|@import|<link|<script""", page)
    assert "first follow-up" in page and "Inst A" in page
    for svg in re.findall(r"<svg.*?</svg>", page, re.S):
        ElementTree.fromstring(svg)  # well-formed XML, or a browser would show nothing


def test_no_store(workspace, invoke):
    result = invoke("report")
    assert result.exit_code == 2 and "no tracking store here" in result.output
    assert not (workspace / "outreach.db").exists()


def test_fisher_exact_matches_the_exact_oracle_on_random_tables():
    import random

    generator = random.Random(10)
    for _ in range(200):
        table = [generator.randint(0, 60) for _ in range(4)]
        if table[0] + table[1] and table[2] + table[3]:
            expected = float(exact_fisher(*table))
            assert fisher_exact(*table) == pytest.approx(expected, rel=1e-9, abs=1e-300), table


def test_fisher_exact_is_fast_for_large_campaigns():
    import time

    started = time.perf_counter()
    p = fisher_exact(4000, 16000, 5000, 15000)  # two variants of 20,000 contacts each
    assert time.perf_counter() - started < 2 and p == pytest.approx(5.015103372987087e-33, rel=1e-9)


def test_many_groups_keep_the_verdict_short():
    groups = {f"g{i:02d}": Counts(delivered=5 if i < 30 else 40, replied=0 if i < 35 else 40, sent=40)
              for i in range(40)}
    verdict = compare(groups)
    assert not verdict.within_noise and len(verdict.separated) > 3
    assert f"and {len(verdict.separated) - 3} more pairs" in verdict.text
    assert "and 25 more: read those rates with care" in verdict.text


def one_day_store(workspace, groups: int) -> Store:
    """Six contacts per institution, long names among them, every reply on November 10."""
    s = Store(workspace / "outreach.db")
    names = [f"Institution {i} of the Long-Named University Hospital System" for i in range(groups)]
    for g, name in enumerate(names):
        for k in range(6):
            address = f"c{g}.{k}@example.edu"
            mid = add_message(s, "fall", address, line=2 + g * 6 + k, sent_at="2026-11-10T09:00:00Z",
                              contact={"email": address, "institution": name})
            if k <= g % 6:
                add_event(s, mid, address, "reply", f"2026-11-10T09:{k + 1:02d}:00Z")
    return s


def test_html_names_in_full_distinct_colours_and_a_one_day_time_chart(workspace, invoke):
    one_day_store(workspace, groups=10)
    assert invoke("report", "--by", "institution", "--html", "r.html").exit_code == 0
    page = (workspace / "r.html").read_text()
    assert "…" not in page and page.count("Institution 9 of the Long-Named University Hospital System") >= 3
    svg = time_chart(page)
    lines = [path for path in svg.iter(f"{SVG}path") if path.get("class") == "line"]
    strokes = [path.get("stroke") for path in lines]
    assert len(lines) == 8 and len(set(strokes)) == 8  # the eight busiest groups, eight colours
    legend = re.search(r'<ul class="legend">(.*?)</ul>', page).group(1)
    assert all(f'stroke="{colour}"' in legend for colour in strokes)  # a key for each line
    assert "Institution 0 of the Long-Named University Hospital System" not in legend  # 1 reply: not drawn
    counts = [int(n) for n in re.findall(r": (\d+) repl", legend)]
    assert counts == sorted(counts, reverse=True)  # from the top line down
    assert "Lines for the 8 groups with the most replies, of 10" in page
    assert "Every reply came on 2026-11-10." in page
    ticks = [t.text for t in svg.iter(f"{SVG}text")]
    assert ["2026-11-09", "2026-11-10", "2026-11-11"] == sorted(t for t in ticks if t and t.startswith("2026"))
    axis = float(svg.find(f"{SVG}line[@x1]").get("x1"))
    assert all(first_climb(line) - axis > 100 for line in lines)  # the climb is mid-chart, not on the axis
    assert re.search(r"\b1 minute\b", page) and re.search(r"\b6 replies\b", page)
    assert not re.search(r"\b1 (minutes|replies|hours|days)\b", page)


def time_chart(page: str) -> ElementTree.Element:
    return ElementTree.fromstring(re.search(r'<svg[^>]*aria-label="cumulative replies.*?</svg>', page, re.S).group())


def groups_store(workspace, plan: dict[str, list[int]], contacts: int = 8) -> Store:
    """``contacts`` contacts per institution, all sent on November 1; ``plan`` gives each
    institution's reply days in November, one reply per contact."""
    s = Store(workspace / "outreach.db")
    for g, (name, days) in enumerate(plan.items()):
        for k in range(contacts):
            address = f"c{g}.{k}@example.edu"
            mid = add_message(s, "fall", address, line=2 + g * contacts + k, sent_at="2026-11-01T09:00:00Z",
                              contact={"email": address, "institution": name})
            if k < len(days):
                add_event(s, mid, address, "reply", f"2026-11-{days[k]:02d}T12:00:00Z")
    return s


def html_report(invoke, workspace) -> str:
    assert invoke("report", "--by", "institution", "--html", "r.html").exit_code == 0
    return (workspace / "r.html").read_text()


def series_of(svg: ElementTree.Element) -> dict[str, tuple[ElementTree.Element, ElementTree.Element]]:
    """Each group's (line, markers), by the name in the series' title."""
    found = {}
    for group in svg.iter(f"{SVG}g"):
        paths = {path.get("class"): path for path in group.iter(f"{SVG}path")}
        found[group.find(f"{SVG}title").text.split(":")[0]] = (paths["line"], paths["marker"])
    return found


def first_climb(line: ElementTree.Element) -> float:
    """Where a step line leaves the axis."""
    return float(re.match(r"M([\d.]+)", line.get("d")).group(1))


def levels(line: ElementTree.Element) -> list[float]:
    """The heights a step line climbs to (its V commands)."""
    return [float(v) for v in re.findall(r"V([\d.]+)", line.get("d"))]


def grid(svg: ElementTree.Element) -> dict[int, float]:
    """The y-axis: each labelled count and the height of its grid line."""
    lines = [line for line in svg.iter(f"{SVG}line") if line.get("class") == "grid"]
    labels = [text for text in svg.iter(f"{SVG}text") if text.get("class") == "count"]
    assert len(lines) == len(labels)
    return {int(text.text): float(line.get("y1")) for line, text in zip(lines, labels, strict=True)}


def test_lines_that_coincide_are_told_apart_by_dash_marker_and_place(workspace, invoke):
    """Three institutions with the same replies on the same days, one apart from them."""
    groups_store(workspace, {"Inst A": [3, 6], "Inst B": [3, 6], "Inst C": [3, 6], "Inst D": [10, 10, 10, 13]})
    page = html_report(invoke, workspace)
    svg = time_chart(page)
    series = series_of(svg)
    assert list(series) == ["Inst D", "Inst A", "Inst B", "Inst C"]  # the legend's order: the top line first
    looks = {(line.get("stroke"), line.get("stroke-dasharray")) for line, _ in series.values()}
    shapes = {marker.get("data-shape") for _, marker in series.values()}
    assert len(looks) == 4 and len({dash for _, dash in looks}) == 4 and len(shapes) == 4  # not by colour alone
    heights = grid(svg)
    tops = sorted(levels(series[name][0])[-1] for name in ("Inst A", "Inst B", "Inst C"))
    assert tops == pytest.approx([heights[2] - SPREAD, heights[2], heights[2] + SPREAD], abs=0.11)  # around 2
    risers = sorted(first_climb(series[name][0]) for name in ("Inst A", "Inst B", "Inst C"))
    assert [b - a for a, b in pairwise(risers)] == pytest.approx([SPREAD, SPREAD], abs=0.11)  # and sideways
    assert levels(series["Inst D"][0]) == [heights[3], heights[4]]  # a line that touches none stays in place
    assert f"Lines that run together are drawn {SPREAD} px apart" in page
    keys = re.findall(r'<li><svg[^>]*>(.*?)</svg>([^:<]*):', page)
    assert [name for _, name in keys] == list(series)
    for key, name in keys:  # the legend shows each line's own colour, dash and marker
        line, marker = series[name]
        assert f'stroke="{line.get("stroke")}"' in key and f'data-shape="{marker.get("data-shape")}"' in key
        assert (f'stroke-dasharray="{line.get("stroke-dasharray")}"' in key) == bool(line.get("stroke-dasharray"))


@pytest.mark.parametrize("top, ticks", [
    (1, [0, 1]), (2, [0, 1, 2]), (3, [0, 1, 2, 3]), (6, [0, 1, 2, 3, 4, 5, 6]), (7, [0, 2, 4, 6, 8]),
    (15, [0, 5, 10, 15]), (41, [0, 10, 20, 30, 40, 50]), (1168, [0, 200, 400, 600, 800, 1000, 1200])])
def test_count_ticks_are_whole_steps_from_zero(top, ticks):
    assert count_ticks(top) == ticks


def test_count_ticks_never_skip_a_step():
    for top in range(1, 5001):
        ticks = count_ticks(top)
        step = ticks[1]
        assert ticks == list(range(0, ticks[-1] + 1, step)), top  # every step from 0 labelled
        assert re.fullmatch(r"[125]0*", str(step)) and len(ticks) - 1 <= MAX_STEPS, top
        assert ticks[-2] < top <= ticks[-1], top  # reaches the top, no step beyond it


@pytest.mark.parametrize("top", [0, 1, 2, 3, 12, 17])
def test_the_chart_labels_every_whole_count(workspace, invoke, top):
    """Few replies (0 to 3) and more: the y axis is 0, 1, 2, 3 or 0, 5, 10, 15, 20, evenly apart."""
    groups_store(workspace, {"Inst A": [2 + k for k in range(top)], "Inst B": [4] if top else []}, contacts=20)
    page = html_report(invoke, workspace)
    if not top:
        assert "No replies yet." in page and "<svg" not in page
        return
    heights = grid(time_chart(page))
    assert list(heights) == count_ticks(top)
    if top <= 3:
        assert list(heights) == list(range(top + 1))
    gaps = [b - a for a, b in pairwise(heights.values())]
    assert gaps == pytest.approx([gaps[0]] * len(gaps), abs=0.11)  # evenly spaced (to the drawing's 0.1 px)


def test_one_day_of_replies_shows_each_line_end(workspace, invoke):
    """Every reply on the last day of the axis: the climbs stand inside the chart, and each
    line runs on to its right edge, so the last step is not hidden on the frame."""
    groups_store(workspace, {"Inst A": [4, 4], "Inst B": [4]})
    svg = time_chart(html_report(invoke, workspace))
    series = series_of(svg)
    frame = next(float(line.get("x2")) for line in svg.iter(f"{SVG}line") if line.get("class") == "grid")
    for line, _ in series.values():
        end = float(re.findall(r"H([\d.]+)", line.get("d"))[-1])
        assert end == frame and end - first_climb(line) >= 20


def test_the_reply_rate_stands_beside_each_name_on_a_phone(workspace, invoke):
    """Narrower than NARROW px the table is one block per group, the name and its rate first;
    wider, the rate is the column next to the name. Nothing in the page is fixed wider than
    a phone: the charts shrink and long names wrap."""
    one_day_store(workspace, groups=3)
    page = html_report(invoke, workspace)
    table = ElementTree.fromstring(re.search(r"<table.*?</table>", page, re.S).group())
    header = [th.text for th in table.iter("th")]
    assert header[1:3] == ["reply rate", "95% interval"]
    for row in table.iter("tr"):
        cells = row.findall("td")
        if cells:
            assert [td.get("class") for td in cells[:3]] == ["name", "rate", "interval"]
            assert cells[1].get("data-label") == "reply rate" and re.fullmatch(r"\d+\.\d%", cells[1].text)
            assert all(td.get("data-label") for td in cells[1:])  # each value says what it is
    narrow = re.search(rf"@media \(max-width:{NARROW}px\)\{{(.*)\}}", CSS, re.S).group(1)
    for rule in (".scroll{overflow:visible}", "table.counts tr{display:flex;flex-wrap:wrap",
                 "table.counts td.name{flex:1 1 9rem", "table.counts td.rate{flex:0 0 auto",
                 'table.counts td:not(.name)::before{content:attr(data-label) " "'):
        assert rule in narrow, rule
    assert "svg{display:block;margin:.5rem 0;max-width:100%;height:auto}" in CSS
    assert all(int(n) <= 390 for n in re.findall(r"(?<![-\w])(?:min-)?width:(\d+)px", CSS))  # only maxima wider


def test_plurals():
    from outreach.output import plural
    from outreach.track.report import _duration

    assert [plural(1, "reply"), plural(5, "reply"), plural(2, "day"), plural(1.5, "hour")] == \
        ["1 reply", "5 replies", "2 days", "1.5 hours"]
    assert [_duration(1 / 60), _duration(0.5), _duration(1), _duration(30), _duration(72)] == \
        ["1 minute", "30 minutes", "1 hour", "30 hours", "3 days"]
