"""Response-rate reports: the numbers come from SQL (:meth:`Store.report_data`); this module
does the statistics that need no data (Wilson intervals, the noise verdict) and the renderings:
a terminal table with bars, JSON, CSV, and one self-contained HTML page with inline SVG charts.

Definitions (per campaign, counting contacts by their first message):
planned = every first message in the store (drafted, queued, sent, failed, uncertain);
sent = its state is "sent"; failed; uncertain = left in "sending" (or "uncertain");
bounced = sent, a bounce came back and no reply did; delivered = sent - bounced;
replied = sent and a human answered any message of the thread (synced reply or a mark);
auto-replied = delivered and an auto-reply came back (whether or not a reply came later);
reply rate = replied / delivered, with a 95% Wilson score interval.
"""

from __future__ import annotations

import csv
import html
import io
import json
import math
import re
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from functools import cached_property, lru_cache
from itertools import pairwise
from pathlib import Path

from outreach.clock import iso, parse_day
from outreach.compose.columns import normalize_header
from outreach.errors import UserError
from outreach.output import plural, style
from outreach.store import Store

Z95 = 1.959963984540054
SMALL_SAMPLE = 10
BAR_WIDTH = 20
TOTAL = "all"


def wilson(successes: int, trials: int, z: float = Z95) -> tuple[float, float] | None:
    """The Wilson score interval for a proportion (None when there are no trials)."""
    if trials <= 0:
        return None
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == trials else min(1.0, centre + half)
    return low, high


@dataclass
class Counts:
    planned: int = 0
    sent: int = 0
    failed: int = 0
    uncertain: int = 0
    bounced: int = 0
    delivered: int = 0
    replied: int = 0
    auto_replied: int = 0
    followed_up: int = 0
    replied_before_followup: int = 0
    replied_after_followup: int = 0
    median_hours_to_first_reply: float | None = None

    @property
    def rate(self) -> float | None:
        return self.replied / self.delivered if self.delivered else None

    @property
    def interval(self) -> tuple[float, float] | None:
        return wilson(self.replied, self.delivered)

    def as_dict(self) -> dict:
        data = asdict(self)
        interval = self.interval
        data["reply_rate"] = _round(self.rate)
        data["reply_rate_ci95"] = [_round(interval[0]), _round(interval[1])] if interval else None
        data["median_hours_to_first_reply"] = _round(self.median_hours_to_first_reply, 2)
        return data


def _round(value: float | None, digits: int = 6) -> float | None:
    return None if value is None else round(value, digits)


@dataclass
class CampaignReport:
    """One campaign's section of a report; ``campaign`` is the campaign's name."""

    campaign: str
    total: Counts
    groups: dict[str, Counts] = field(default_factory=dict)
    # group (or TOTAL) -> [(day, cumulative first replies)]
    timeline: dict[str, list[tuple[date, int]]] = field(default_factory=dict)
    first_sent: date | None = None
    last_reply: date | None = None
    first_followup: date | None = None
    thank_you: bool = False     # a thank-you campaign: never followed up, so no follow-up figures

    @property
    def followups(self) -> str:
        """The follow-up sentence of the text and HTML reports."""
        total = self.total
        if self.thank_you:
            return "thank-you notes are never followed up"
        return (f"replies before the follow-up: {total.replied_before_followup}, after: "
                f"{total.replied_after_followup} ({total.followed_up} followed up)")

    @cached_property
    def comparison(self) -> Comparison | None:
        """Computed once: the text and HTML renderings both show its verdict."""
        return compare(self.groups) if len(self.groups) > 1 else None

    @cached_property
    def comparison_of_every_pair(self) -> Comparison | None:
        """The JSON report's: it lists every pair's p-value, so each is walked at once."""
        return compare(self.groups, every_pair=True) if len(self.groups) > 1 else None


@dataclass
class Report:
    by: str | None
    campaigns: list[CampaignReport]
    generated_at: datetime


def report_for(store: Store, campaigns: list[str] | None, by: str | None, now: datetime) -> Report:
    """`outreach report`: the named campaigns (all when None), grouped by a contact column or by
    ``variant``; an unknown campaign or column is refused, naming the ones there are."""
    for campaign in campaigns or ():
        store.require_campaign(campaign)
    if by is not None:
        by = "variant" if by.strip().casefold() == "variant" else normalize_header(by)
        if by != "variant":
            columns = store.contact_columns(campaigns)
            if by not in columns:
                raise UserError(f"--by {by}: no such column in the contacts of these campaigns "
                                f"(columns: {', '.join(columns) or 'none'}; or use --by variant)")
    return build(store.report_data(campaigns, by), by, now)


def build(data: dict[str, list], by: str | None, generated_at: datetime) -> Report:
    """Turn :meth:`Store.report_data` rows into a :class:`Report`."""
    sections: dict[str, CampaignReport] = {}   # campaign name -> its part of the report
    for campaign, group, *numbers in data["counts"]:
        counts = Counts(*(int(n or 0) for n in numbers))
        section = sections.setdefault(campaign, CampaignReport(campaign, Counts()))
        if group is None:
            section.total = counts
        else:
            section.groups[group_label(group, by)] = counts
    for campaign, group, hours in data["medians"]:
        section = sections[campaign]
        target = section.total if group is None else section.groups[group_label(group, by)]
        target.median_hours_to_first_reply = hours
    running: dict[tuple[str, str], int] = {}
    for campaign, group, day, count in data["timeline"]:
        key = TOTAL if group is None else group_label(group, by)
        total = running[(campaign, key)] = running.get((campaign, key), 0) + count
        stored = parse_day(day)
        if stored is not None:
            sections[campaign].timeline.setdefault(key, []).append((stored, total))
    for campaign, first_sent, last_reply, first_followup in data["spans"]:
        section = sections[campaign]
        section.first_sent = parse_day(first_sent)
        section.last_reply = parse_day(last_reply)
        section.first_followup = parse_day(first_followup)
    for campaign in data.get("thank_you", ()):
        sections[campaign].thank_you = True
    if by is not None:  # the totals' curve, from the groups' daily counts
        for section in sections.values():
            daily: dict[date, int] = {}
            for points in section.timeline.values():
                previous = 0
                for day, cumulative in points:
                    daily[day] = daily.get(day, 0) + cumulative - previous
                    previous = cumulative
            total = 0
            curve = []
            for day in sorted(daily):
                total += daily[day]
                curve.append((day, total))
            section.timeline = {TOTAL: curve, **section.timeline} if curve else section.timeline
    return Report(by, list(sections.values()), generated_at)


def group_label(value: str, by: str | None) -> str:
    if by == "variant" and ("/" in value or "\\" in value or value.endswith(".txt")):
        return Path(value).stem  # a message planned before variants were recorded: its template
    return value if value != "" else "(blank)"


# -- is it noise? ----------------------------------------------------------------------------
SIGNIFICANCE = 0.05
RULE = "Fisher's exact test (two-sided) on replied / not replied, p < 0.05, Bonferroni-adjusted for several pairs"


@lru_cache(maxsize=4096)
def fisher_exact(replied_a: int, silent_a: int, replied_b: int, silent_b: int) -> float:
    """Two-sided p-value of Fisher's exact test on the 2x2 table [[replied_a, silent_a], [replied_b, silent_b]].

    With the margins fixed, the number of replies in group a is hypergeometric; the p-value is
    the probability of every table at most as likely as the one observed. Each table's
    probability is taken relative to the most likely one, walking outwards by the ratio of
    neighbouring terms (no factorials, no overflow, a few operations a table), and "at most as
    likely" allows a relative 1e-7, for rounding, as SciPy does, so that ties count.

    ``--by institution --json`` asks for every pair of 40 groups in each campaign (7,800 tables
    in the benchmark): the walk is one loop each way, with no call per table, and a table met
    again (small groups often tie) is answered from the cache. The verdict alone needs far fewer
    (:func:`fisher_floor`).
    """
    size_a, size_b = replied_a + silent_a, replied_b + silent_b
    replies = replied_a + replied_b
    low, high = max(0, replies - size_b), min(size_a, replies)
    mode = min(high, max(low, (replies + 1) * (size_a + 1) // (size_a + size_b + 2)))
    gap = size_b - replies + 1  # P(k + 1) / P(k) = (size_a - k)(replies - k) / ((k + 1)(gap + k))
    weights = [1.0]             # k = mode, mode + 1, ..., high, then mode - 1, ..., low
    weight = 1.0
    for k in range(mode, high):
        weight = weight * ((size_a - k) * (replies - k) / ((k + 1) * (gap + k)))
        weights.append(weight)
    weight = 1.0
    for k in range(mode - 1, low - 1, -1):
        weight = weight / ((size_a - k) * (replies - k) / ((k + 1) * (gap + k)))
        weights.append(weight)
    observed = replied_a - mode if replied_a >= mode else high - replied_a  # its place in weights
    limit = weights[observed] * (1 + 1e-7)
    extreme = math.fsum([w for w in weights if w <= limit])
    return min(1.0, extreme / math.fsum(weights))


# math.comb's integers grow with the groups: with 1,000 contacts in a pair the floor costs a
# fifth of the walk, with 20,000 more than the walk. Pairs that large are few (two variants), so
# past this many contacts a pair gets no floor (0.0) and is walked.
FLOOR_LIMIT = 1000


def fisher_floor(replied_a: int, silent_a: int, replied_b: int, silent_b: int) -> float:
    """A lower bound of :func:`fisher_exact`'s p-value, for a fraction of its cost: the observed
    table is among the tables the p-value sums, so p >= P(observed) = C(a, k) C(b, r - k) / C(a + b, r),
    taken in exact integers (Python's int division rounds once). The margin of 1e-9 covers the
    rounding of fisher_exact's own walk (about 1e-16 a step), so the floor never exceeds the
    p-value it computes. Most pairs of groups lie close together: their floor alone shows that
    they are within noise, and their exact p-value is needed only where it is shown."""
    size_a, size_b = replied_a + silent_a, replied_b + silent_b
    if size_a + size_b > FLOOR_LIMIT:
        return 0.0
    observed = _comb(size_a, replied_a) * _comb(size_b, replied_b)
    return observed / _comb(size_a + size_b, replied_a + replied_b) * (1 - 1e-9)


# A group's own term, C(size, replied), is the same in each of its 39 pairs (--by institution):
# math.comb is a third of the floors' cost, and the cache answers most of its calls.
_comb = lru_cache(maxsize=16384)(math.comb)


@dataclass
class Comparison:
    within_noise: bool
    text: str
    separated: list[tuple[str, str]]          # pairs that differ beyond noise (higher, lower)
    small: list[str]                          # groups with fewer than SMALL_SAMPLE delivered
    # every pair, in the order shown: (higher, lower) -> (replied, not replied) of each
    tables: dict[tuple[str, str], tuple[int, int, int, int]] = field(default_factory=dict)

    @cached_property
    def pairs(self) -> list[tuple[str, str, float]]:
        """(higher, lower, adjusted p) for every pair: only the JSON report shows them all."""
        return [(high, low, _adjusted(table, len(self.tables))) for (high, low), table in self.tables.items()]


def _adjusted(table: tuple[int, int, int, int], count: int) -> float:
    """The p-value of one pair among ``count``, Bonferroni-adjusted."""
    return min(1.0, fisher_exact(*table) * count)


def compare(groups: dict[str, Counts], *, every_pair: bool = False) -> Comparison | None:
    """Do the groups' reply rates differ by more than chance? Fisher's exact test on each pair.

    Samples here are 10-50 contacts, where normal approximations and "do the intervals
    overlap" both mislead (3/25 against 11/23 overlaps, yet p = 0.010). With more than two
    groups each pair's p-value is multiplied by the number of pairs (Bonferroni): that errs
    on the side of not claiming a winner, the mistake that costs least.

    The verdict needs an exact p-value only for the pairs it names and for the smallest one;
    every other pair is settled by :func:`fisher_floor` (``--by institution``: 780 pairs a
    campaign, a few dozen walked). With ``every_pair`` (the caller will read every p-value),
    each pair is walked at once and is its own floor: the same verdict, without the floors' cost.
    """
    rated = {name: c for name, c in groups.items() if c.delivered}
    if len(rated) < 2:
        return None
    names = sorted(rated, key=lambda n: -(rated[n].rate or 0))
    tables = {(high, low): (rated[high].replied, rated[high].delivered - rated[high].replied,
                            rated[low].replied, rated[low].delivered - rated[low].replied)
              for i, high in enumerate(names) for low in names[i + 1:]}
    count = len(tables)
    floors = {pair: _adjusted(table, count) if every_pair else min(1.0, fisher_floor(*table) * count)
              for pair, table in tables.items()}
    separated = [pair for pair, table in tables.items()
                 if floors[pair] < SIGNIFICANCE and _adjusted(table, count) < SIGNIFICANCE]
    small = [n for n in names if rated[n].delivered < SMALL_SAMPLE]
    test = "Fisher's exact test" + (f", adjusted for {count} pairs" if count > 1 else "")
    if not separated:
        best, worst = names[0], names[-1]
        text = (f"within noise: highest {_rate_of(best, rated[best])}, lowest {_rate_of(worst, rated[worst])} "
                f"({test}, {'smallest ' if count > 1 else ''}{_p(_smallest(tables, floors, count))}); "
                "these samples cannot tell the groups apart")
    else:
        shown = [(h, lo, _adjusted(tables[h, lo], count)) for h, lo in separated[:3]]
        text = "beyond noise: " + "; ".join(f"{_rate_of(h, rated[h])} > {_rate_of(lo, rated[lo])} ({_p(p)})"
                                            for h, lo, p in shown)
        if len(separated) > 3:
            text += f"; and {plural(len(separated) - 3, 'more pair', 'more pairs')}"
        text += f" ({test})"
    if small:
        listed = ", ".join(small[:5]) + (f" and {len(small) - 5} more" if len(small) > 5 else "")
        text += f". Fewer than {SMALL_SAMPLE} delivered in {listed}: read those rates with care"
    return Comparison(not separated, text, separated, small, tables)


def _smallest(tables: dict[tuple[str, str], tuple[int, int, int, int]], floors: dict[tuple[str, str], float],
              count: int) -> float:
    """The smallest adjusted p-value: pairs are walked from the lowest floor up, until a floor
    reaches the smallest found (no pair past it can be smaller)."""
    smallest = math.inf
    for pair in sorted(floors, key=floors.__getitem__):
        if floors[pair] >= smallest:
            break
        smallest = min(smallest, _adjusted(tables[pair], count))
    return smallest


def _rate_of(name: str, counts: Counts) -> str:
    return f"{name} {_pct(counts.rate)} ({counts.replied}/{counts.delivered})"


def _p(value: float) -> str:
    return "p < 0.001" if value < 0.001 else f"p = {value:.3f}"


def _span(interval: tuple[float, float] | None) -> str:
    return f"{interval[0] * 100:.1f}–{interval[1] * 100:.1f}%" if interval else "—"


def _pct(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value * 100:.{digits}f}%"


def _duration(hours: float | None) -> str:
    if hours is None:
        return "—"
    if hours >= 48:
        return plural(round(hours / 24, 1), "day")
    if hours >= 1:
        return plural(round(hours, 1), "hour")
    return plural(round(hours * 60), "minute")


# -- text --------------------------------------------------------------------------------------
COLUMNS = (("planned", "planned"), ("sent", "sent"), ("failed", "failed"), ("uncertain", "uncertain"),
           ("bounced", "bounced"), ("delivered", "delivered"), ("replied", "replied"), ("auto_replied", "auto"))


def bar(counts: Counts, scale: float, width: int = BAR_WIDTH) -> str:
    """``█`` up to the reply rate, ``░`` on to the top of its 95% interval."""
    interval = counts.interval
    if counts.rate is None or interval is None or scale <= 0:
        return " " * width
    high = interval[1]
    cells = []
    for i in range(width):
        centre = (i + 0.5) / width * scale
        cells.append("█" if centre <= counts.rate else "░" if centre <= high else " ")
    return "".join(cells)


def render_text(report: Report) -> str:
    if not report.campaigns:
        return "nothing to report: no message is in the store yet"
    out = []
    for section in report.campaigns:
        rows = ([(name, c) for name, c in section.groups.items()] if report.by else []) + [(TOTAL, section.total)]
        scale = _scale(c for _, c in rows)
        title = f"campaign {section.campaign}" + (f" — by {report.by}" if report.by else "")
        out.append(style(title, "note"))
        width = max(len(TOTAL), *(len(name) for name, _ in rows))
        widths = [max(len(label), *(len(str(getattr(c, key))) for _, c in rows)) for key, label in COLUMNS]
        spans = [_span(c.interval) for _, c in rows]
        span_width = max(len("95% interval"), *map(len, spans))
        header = f"  {'':<{width}}" + "".join(f"  {label:>{w}}" for (_, label), w in zip(COLUMNS, widths, strict=True))
        header += f"  {'reply rate':>10}  {'95% interval':<{span_width}}  0{_pct(scale, 0):>{BAR_WIDTH - 1}}"
        out.append(header)
        for (name, counts), span in zip(rows, spans, strict=True):
            line = f"  {name:<{width}}" + "".join(f"  {getattr(counts, key):>{w}}"
                                                  for (key, _), w in zip(COLUMNS, widths, strict=True))
            line += f"  {_pct(counts.rate):>10}  {span:<{span_width}}  {bar(counts, scale)}"
            out.append(line.rstrip())
        total = section.total
        out.append(f"  median time to first reply: {_duration(total.median_hours_to_first_reply)}; "
                   f"{section.followups}")
        if report.by and len(section.groups) > 1:
            medians = ", ".join(f"{n} {_duration(c.median_hours_to_first_reply)}" for n, c in section.groups.items())
            out.append(f"  median time to first reply by {report.by}: {medians}")
        comparison = section.comparison
        if comparison:
            out.append("  " + style(comparison.text, "ok" if not comparison.within_noise else "warning"))
        out.append("")
    out.append("█ reply rate (replied / delivered)  ░ up to the top of its 95% Wilson interval; "
               "auto-replies are never counted as replies")
    return "\n".join(out)


def _scale(counts) -> float:
    """The bar scale: the highest interval top, rounded up to 10%."""
    top = max((c.interval[1] for c in counts if c.interval), default=0.0)
    return min(1.0, max(0.1, math.ceil(top * 10 - 1e-9) / 10))


# -- JSON and CSV ------------------------------------------------------------------------------
def as_json(report: Report) -> dict:
    campaigns = []
    for section in report.campaigns:
        comparison = section.comparison_of_every_pair
        campaigns.append({
            "campaign": section.campaign,
            "totals": section.total.as_dict(),
            "groups": [{"group": name, **counts.as_dict()} for name, counts in section.groups.items()],
            "comparison": None if comparison is None else {
                "within_noise": comparison.within_noise, "text": comparison.text,
                "separated": [list(pair) for pair in comparison.separated], "small_samples": comparison.small,
                "pairs": [{"higher": high, "lower": low, "p": _round(p)} for high, low, p in comparison.pairs],
                "rule": RULE},
            "cumulative_replies": {name: [[day.isoformat(), n] for day, n in points]
                                   for name, points in section.timeline.items()},
            "first_followup": section.first_followup.isoformat() if section.first_followup else None,
            "thank_you": section.thank_you,   # never followed up: its follow-up figures do not apply
        })
    return {"generated_at": iso(report.generated_at), "by": report.by, "campaigns": campaigns}


CSV_FIELDS = ("campaign", "group", "planned", "sent", "failed", "uncertain", "bounced", "delivered", "replied",
              "auto_replied", "reply_rate", "ci95_low", "ci95_high", "median_hours_to_first_reply", "followed_up",
              "replied_before_followup", "replied_after_followup")


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def as_csv(report: Report) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")  # RFC 4180; and a cell's CR gets quoted
    writer.writerow(CSV_FIELDS)
    for section in report.campaigns:
        for name, counts in [*section.groups.items(), (TOTAL, section.total)]:
            data = counts.as_dict()
            interval = data.pop("reply_rate_ci95") or [None, None]
            data.update(campaign=section.campaign, group=name if report.by else TOTAL,
                        ci95_low=interval[0], ci95_high=interval[1])
            writer.writerow(["" if data[f] is None else spreadsheet_safe(data[f]) for f in CSV_FIELDS])
    return buffer.getvalue()


def spreadsheet_safe(value):
    """A cell a spreadsheet shows as text, never runs as a formula (OWASP's CSV injection advice):
    text starting with ``= + - @``, tab or CR gets a leading ``'``. Numbers, negative ones
    included, stay numbers."""
    if isinstance(value, str) and value[:1] in FORMULA_STARTS and not NUMBER.fullmatch(value):
        return "'" + value
    return value


# -- HTML --------------------------------------------------------------------------------------
# Eight colours told apart by most colour-blind readers (after Okabe and Ito), for the eight
# busiest groups; the others are drawn in OTHER, the total in TOTAL_COLOUR, and every line and
# bar also carries its full name in words. Colour alone fails in print and for some readers, so
# each line of the time chart also has its own dash pattern and point marker (SHAPES).
PALETTE = ("#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#7a4fa3", "#8c6d1f")
OTHER, TOTAL_COLOUR = "#8c959f", "#3d444d"
SHAPES = (("", "circle", False), ("9,3", "square", False), ("2,2.5", "triangle", False), ("9,3,2,3", "diamond", False),
          ("5,4", "circle", True), ("1.5,3", "square", True), ("14,4", "triangle", True), ("5,2,5,6", "diamond", True))
MAX_LINES = len(PALETTE)  # group lines in the cumulative-replies chart
MAX_STEPS = 6             # y-axis steps at most: every one labelled
MAX_MARKERS = 12          # markers on one line at most: enough to follow it, few enough to read the line
SPREAD = 4                # px between lines that would lie on each other (stroke 2 px: a gap shows)
RUN_TOGETHER = 0.1        # lines that share a tenth of the chart's width or height are spread apart
NARROW = 700              # px: below this the table turns into one block per group
CSS = f"""
*{{box-sizing:border-box}}
body{{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1b1f24;margin:2rem auto;
max-width:1040px;padding:0 1rem;overflow-wrap:anywhere}}
h1{{font-size:1.5rem}}h2{{font-size:1.2rem;margin-top:2.5rem;border-bottom:1px solid #d0d7de}}
.scroll{{overflow-x:auto;max-width:100%}}
table{{border-collapse:collapse;margin:1rem 0;font-variant-numeric:tabular-nums}}
th,td{{padding:.25rem .4rem;text-align:right;border-bottom:1px solid #eaeef2;overflow-wrap:normal}}
th:first-child,td:first-child{{text-align:left;min-width:9rem;overflow-wrap:anywhere;position:sticky;left:0;background:#fff}}
td.rate{{font-weight:600}}td.interval,td.median{{white-space:nowrap}}
tr.total td{{font-weight:600;border-top:2px solid #d0d7de}}
.verdict{{padding:.5rem .8rem;border-left:4px solid #bf8700;background:#fff8c5}}
.verdict.beyond{{border-color:#1a7f37;background:#dafbe1}}
.note{{color:#57606a;font-size:.9rem}}
.rates{{margin:.5rem 0 1rem;max-width:720px}}.rate{{margin:.45rem 0}}
.rate .name{{font-size:.9rem}}.rate .value{{font-size:.85rem;color:#57606a;white-space:nowrap}}
.track{{position:relative;height:14px;background:#f6f8fa;margin:.15rem 0}}
.track .bar{{position:absolute;left:0;top:0;bottom:0}}
.track .ci{{position:absolute;top:6px;height:2px;background:#1b1f24}}
.track .ci::before,.track .ci::after{{content:"";position:absolute;top:-5px;width:2px;height:12px;background:#1b1f24}}
.track .ci::before{{left:0}}.track .ci::after{{right:0}}
svg{{display:block;margin:.5rem 0;max-width:100%;height:auto}}
svg text{{font:14px system-ui,sans-serif;fill:#1b1f24}}
.legend{{list-style:none;padding:0;margin:.25rem 0 1rem;font-size:.9rem}}.legend li{{margin:.15rem 0}}
.legend svg{{display:inline-block;vertical-align:middle;margin:0 .5rem 0 0}}
@media (max-width:{NARROW}px){{
.scroll{{overflow:visible}}
table.counts,table.counts tbody,table.counts td{{display:block}}
table.counts thead{{position:absolute;width:1px;height:1px;overflow:hidden;clip-path:inset(50%)}}
table.counts tr{{display:flex;flex-wrap:wrap;align-items:baseline;gap:.1rem .9rem;padding:.45rem 0;
border-bottom:1px solid #eaeef2}}
table.counts td{{border:0;padding:0;text-align:left;position:static;min-width:0}}
table.counts td.name{{flex:1 1 9rem;font-weight:600}}
table.counts td.rate{{flex:0 0 auto;margin-left:auto;text-align:right;font-size:1.15rem}}
table.counts td.interval{{flex:1 0 100%;text-align:right;font-size:.9rem}}
table.counts td:not(.name,.rate,.interval){{font-size:.85rem}}
table.counts td:not(.name,.rate,.interval)::before{{font-size:inherit}}
table.counts td:not(.name)::before{{content:attr(data-label) " ";color:#57606a;font-size:.85rem;font-weight:400}}
table.counts tr.total{{border-top:2px solid #d0d7de}}table.counts tr.total td{{border-top:0}}
svg text{{font-size:19px}}
}}
"""


@dataclass(frozen=True)
class LineStyle:
    """How one group is drawn: colour, dash pattern ("" for solid) and point marker."""

    colour: str
    dash: str = ""
    marker: str = "circle"
    hollow: bool = False


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def render_html(report: Report) -> str:
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             "<title>outreach report</title>", f"<style>{CSS}</style></head><body>",
             "<h1>Outreach: response rates</h1>",
             f'<p class="note">Generated {_e(iso(report.generated_at))}'
             + (f", grouped by {_e(report.by)}" if report.by else "")
             + ". Reply rate = replied / delivered (sent minus bounced), with a 95% Wilson interval. "
               "Auto-replies (out of office) are never counted as replies.</p>"]
    if not report.campaigns:
        parts.append("<p>No message is in the store yet.</p>")
    for section in report.campaigns:
        rows = [*(section.groups.items() if report.by else []), (TOTAL, section.total)]
        styles = group_styles(section)
        parts.append(f"<h2>Campaign {_e(section.campaign)}</h2>")
        parts.append(_html_table(rows, report.by))
        total = section.total
        followups = section.followups
        parts.append(f'<p>Median time to first reply: {_e(_duration(total.median_hours_to_first_reply))}. '
                     f"{_e(followups[0].upper() + followups[1:])}.</p>")
        comparison = section.comparison
        if comparison:
            kind = "verdict" if comparison.within_noise else "verdict beyond"
            parts.append(f'<p class="{kind}">{_e(comparison.text)}.</p>')
        parts.append(f"<h3>Reply rate{' by ' + _e(report.by) if report.by else ''}</h3>")
        parts.append(html_rates(rows, {name: style.colour for name, style in styles.items()}))
        parts.append("<h3>Cumulative replies</h3>")
        parts.append(svg_timeline(section, styles))
    parts.append("</body></html>\n")
    return "\n".join(parts)


def _html_table(rows: list[tuple[str, Counts]], by: str | None) -> str:
    """The counts, the reply rate and its interval next to the name: on a wide screen a table
    that scrolls in its own box past the rate; narrower than NARROW each row is a block (the
    name with its rate beside it, then the interval, then the counts, each labelled)."""
    labels = [("rate", "reply rate"), ("interval", "95% interval"), *COLUMNS, ("median", "median to reply")]
    head = "".join(f"<th>{_e(label)}</th>" for _, label in labels)
    out = [f'<div class="scroll"><table class="counts"><thead><tr><th>{_e(by or "")}</th>{head}</tr></thead><tbody>']
    for name, counts in rows:
        values = {"rate": _pct(counts.rate), "interval": _span(counts.interval),
                  "median": _duration(counts.median_hours_to_first_reply),
                  **{key: getattr(counts, key) for key, _ in COLUMNS}}
        cells = "".join(f'<td class="{key}" data-label="{_e(label)}">{_e(values[key])}</td>' for key, label in labels)
        klass = ' class="total"' if name == TOTAL else ""
        out.append(f'<tr{klass}><td class="name">{_e(name)}</td>{cells}</tr>')
    out.append("</tbody></table></div>")
    return "".join(out)


def group_styles(section: CampaignReport) -> dict[str, LineStyle]:
    """One style per group in both charts: colour, dash and marker for the groups with the most
    replies (the ones the time chart draws), a light grey for the rest, dark grey for the total."""
    ranked = sorted(section.groups, key=lambda name: -section.groups[name].replied)
    styles = {name: LineStyle(PALETTE[i], *SHAPES[i]) if i < len(PALETTE) else LineStyle(OTHER)
              for i, name in enumerate(ranked)}
    return {**styles, TOTAL: LineStyle(TOTAL_COLOUR)}


def html_rates(rows: list[tuple[str, Counts]], colours: dict[str, str]) -> str:
    """One bar per group with its 95% interval as a whisker; the name in full above it. HTML
    rather than SVG, so that long names wrap and the bars fit a phone's width."""
    scale = _scale(c for _, c in rows)
    share = lambda value: f"{value / scale * 100:.1f}%"  # noqa: E731
    out = ['<div class="rates" role="img" aria-label="reply rate by group">']
    for name, counts in rows:
        out.append(f'<div class="rate"><div class="name">{_e(name)}</div>')
        interval = counts.interval
        if counts.rate is None or interval is None:
            out.append('<div class="value">no delivered messages</div></div>')
            continue
        low, high = interval
        out.append(f'<div class="track" title="{_e(name)}: 95% interval {_span(counts.interval)}">'
                   f'<span class="bar" style="width:{share(counts.rate)};background:{colours[name]}"></span>'
                   f'<span class="ci" style="left:{share(low)};width:{share(high - low)}"></span></div>'
                   f'<div class="value">{_pct(counts.rate)} ({counts.replied}/{counts.delivered}), '
                   f"95% {_span(counts.interval)}</div></div>")
    out.append(f'<p class="note">Scale 0 to {_pct(scale, 0)}; the black whisker spans the 95% interval.</p></div>')
    return "".join(out)


def count_ticks(top: int) -> list[int]:
    """The y axis of a count: 0 up to at least ``top`` in whole steps of 1, 2 or 5 times a power
    of ten, the smallest step that needs at most MAX_STEPS of them; every step is labelled."""
    magnitude = 1
    while True:
        for step in (magnitude, 2 * magnitude, 5 * magnitude):
            steps = max(1, math.ceil(top / step))
            if steps <= MAX_STEPS:
                return [k * step for k in range(steps + 1)]
        magnitude *= 10


def svg_timeline(section: CampaignReport, styles: dict[str, LineStyle]) -> str:
    """Step lines: cumulative first replies per day, per group, each in its own colour, dash and
    marker, and lines that would lie on each other drawn a few pixels apart; a dashed line at the
    first follow-up; under it a legend with the same line and marker, full names and counts."""
    series, notes = _drawn_series(section, styles)
    if not series:
        return '<p class="note">No replies yet.</p>'
    first = min(points[0][0] for points in series.values())
    last = max(points[-1][0] for points in series.values())
    start = min(first, section.first_sent) if section.first_sent else first
    end = max(last, section.first_followup) if section.first_followup else last
    ticks = {start: "start", end: "end"}
    if (end - start).days < 2:  # one day (or two): widen the axis so the step is seen, not hidden at an edge
        start, end = start - timedelta(days=1), end + timedelta(days=1)
        ticks = {start: "start", end: "end", **({first: "middle"} if first == last else {})}
    if first == last:
        notes.append(f"Every reply came on {first.isoformat()}.")
    days = (end - start).days
    counts = count_ticks(max(p[-1][1] for p in series.values()))
    # the days run from `inset` inside the left edge to `after` inside the right one: room to spread
    # lines apart, and to show where each ends even when its last reply came on the last day
    left, plot_width, plot_height, top, inset, after = 44, 420, 200, 14, 16, 28
    width, height = left + plot_width + 40, top + plot_height + 30
    x = lambda day: left + inset + (day - start).days / days * (plot_width - inset - after)  # noqa: E731
    y = lambda n: top + plot_height - n / counts[-1] * plot_height  # noqa: E731
    out = [(f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" aria-label="cumulative replies over time">')]
    out.extend(f'<line class="grid" x1="{left}" y1="{y(n):.1f}" x2="{left + plot_width}" y2="{y(n):.1f}" '
               f'stroke="{"#8c959f" if n == 0 else "#eaeef2"}"/>'  # a light grid line at every step, the axis at 0
               f'<text class="count" x="{left - 6}" y="{y(n) + 5:.1f}" text-anchor="end">{n}</text>' for n in counts)
    out.append(f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_height}" stroke="#8c959f"/>')
    for day, anchor in ticks.items():
        out.append(f'<text x="{x(day):.1f}" y="{top + plot_height + 22}" text-anchor="{anchor}">'
                   f"{day.isoformat()}</text>")
    if section.first_followup:
        fx = x(section.first_followup)
        out.append(f'<line x1="{fx:.1f}" y1="{top}" x2="{fx:.1f}" y2="{top + plot_height}" stroke="#bf8700" '
                   f'stroke-dasharray="5,4"/><text x="{fx + 4:.1f}" y="{top + 12}" fill="#9a6700">'
                   "first follow-up</text>")
    shifts = _shifts(series, days, counts[-1], end)
    if any(shift != (0, 0) for shift in shifts.values()):
        notes.append(f"Lines that run together are drawn {SPREAD} px apart, so that each stays in sight; "
                     "the table has the exact counts.")
    legend = []
    for name, points in series.items():
        style, (dx, dy) = styles[name], shifts[name]
        corners = [(x(day) + dx, min(y(count) + dy, y(0))) for day, count in points]  # never below the axis
        path = f"M{corners[0][0]:.1f},{y(0):.1f}" + "".join(
            ("" if i == 0 else f"H{cx:.1f}") + f"V{cy:.1f}" for i, (cx, cy) in enumerate(corners))
        marked = corners if len(corners) <= MAX_MARKERS else [
            corners[round(k * (len(corners) - 1) / (MAX_MARKERS - 1))] for k in range(MAX_MARKERS)]
        replies = plural(points[-1][1], "reply")
        out.append(f'<g class="series"><title>{_e(name)}: {replies}</title>'
                   f'{_line(style, f"{path}H{left + plot_width}")}{_markers(style, marked)}</g>')
        legend.append(f'<li><svg width="44" height="14" viewBox="0 0 44 14" aria-hidden="true">'
                      f'{_line(style, "M2,7H42")}{_markers(style, [(22, 7)])}</svg>{_e(name)}: {replies}</li>')
    out.append("</svg>")
    return "".join(out) + f'<ul class="legend">{"".join(legend)}</ul>' + "".join(
        f'<p class="note">{_e(text)}</p>' for text in notes)


def _line(style: LineStyle, path: str) -> str:
    dash = f' stroke-dasharray="{style.dash}"' if style.dash else ""
    return f'<path class="line" d="{path}" fill="none" stroke="{style.colour}" stroke-width="2"{dash}/>'


def _markers(style: LineStyle, points: list[tuple[float, float]], r: float = 3.5) -> str:
    """One path of ``style.marker`` shapes centred on ``points``: filled, or white inside when hollow."""
    shapes = {"circle": lambda x, y: f"M{x - r:.1f},{y:.1f}a{r},{r} 0 1,0 {2 * r},0a{r},{r} 0 1,0 {-2 * r},0Z",
              "square": lambda x, y: f"M{x - r:.1f},{y - r:.1f}h{2 * r}v{2 * r}h{-2 * r}Z",
              "triangle": lambda x, y: f"M{x:.1f},{y - 1.2 * r:.1f}l{1.2 * r:.1f},{2 * r:.1f}h{-2.4 * r:.1f}Z",
              "diamond": lambda x, y: f"M{x:.1f},{y - 1.3 * r:.1f}l{1.2 * r:.1f},{1.3 * r:.1f}"
                                      f"l{-1.2 * r:.1f},{1.3 * r:.1f}l{-1.2 * r:.1f},{-1.3 * r:.1f}Z"}
    fill = "#fff" if style.hollow else style.colour
    d = "".join(shapes[style.marker](px, py) for px, py in points)
    return (f'<path class="marker" data-shape="{style.marker}{" hollow" if style.hollow else ""}" d="{d}" '
            f'fill="{fill}" stroke="{style.colour}" stroke-width="1.5"/>')


def _shifts(series: dict[str, list[tuple[date, int]]], days: int, top: int,
            end: date) -> dict[str, tuple[float, float]]:
    """Pixel offsets (dx, dy) that keep lines apart where they would lie on each other. Lines that
    run at the same count for a tenth of the chart's days or more move apart vertically, lines
    that climb through a tenth of its height together on the same day move apart sideways; each
    set of lines that touch (directly or through others) is spread around its true place, SPREAD
    px apart in legend order. Lines that only cross or meet for a moment stay exactly in place."""
    names = list(series)
    flat = _clusters(names, lambda a, b: _days_alike(series[a], series[b], end) >= max(1, RUN_TOGETHER * days))
    rising = _clusters(names, lambda a, b: _climb_alike(series[a], series[b]) >= max(1, RUN_TOGETHER * top))
    return {name: (rising[name] * SPREAD, flat[name] * SPREAD) for name in names}


def _clusters(names: list[str], touch) -> dict[str, float]:
    """Each name's place in its set of names that touch (directly or through others), centred on 0."""
    root = {name: name for name in names}

    def find(name: str) -> str:
        while root[name] != name:
            name = root[name]
        return name

    for i, a in enumerate(names):
        for b in names[i + 1:]:
            if touch(a, b):
                root[find(b)] = find(a)
    members: dict[str, list[str]] = {}
    for name in names:
        members.setdefault(find(name), []).append(name)
    return {name: group.index(name) - (len(group) - 1) / 2 for group in members.values() for name in group}


def _days_alike(a: list[tuple[date, int]], b: list[tuple[date, int]], end: date) -> int:
    """For how many days two step lines run at the same count (above 0)."""
    days = sorted({day for day, _ in a} | {day for day, _ in b} | {end})
    return sum((until - since).days for since, until in pairwise(days)
               if _count_on(a, since) and _count_on(a, since) == _count_on(b, since))


def _climb_alike(a: list[tuple[date, int]], b: list[tuple[date, int]]) -> int:
    """Through how many counts two step lines climb together on the same days."""
    theirs = {day: (before, count) for day, before, count in _climbs(a)}
    return sum(max(0, min(count, theirs[day][1]) - max(before, theirs[day][0]))
               for day, before, count in _climbs(b) if day in theirs)


def _climbs(points: list[tuple[date, int]]) -> list[tuple[date, int, int]]:
    """A step line's climbs: (day, count before, count after)."""
    befores = [0, *(count for _, count in points[:-1])]
    return [(day, before, count) for (day, count), before in zip(points, befores, strict=True)]


def _count_on(points: list[tuple[date, int]], day: date) -> int:
    """A step line's count at the end of ``day``."""
    return max((count for when, count in points if when <= day), default=0)


def _drawn_series(section: CampaignReport, styles: dict[str, LineStyle]) -> tuple[dict, list[str]]:
    """The curves the time chart draws, and notes on what it leaves out: the total when there
    are groups (its curve would squash theirs into the bottom), and groups past the palette."""
    series, notes = dict(section.timeline), []
    groups = [name for name in series if name != TOTAL]
    if groups and TOTAL in series:
        notes.append(f"{plural(series.pop(TOTAL)[-1][1], 'reply')} in all.")
    if len(groups) > MAX_LINES:  # a legend of 40 institutions helps nobody: the busiest ones
        series = {name: points for name, points in series.items() if styles[name].colour != OTHER}
        notes.append(f"Lines for the {MAX_LINES} groups with the most replies, of {len(groups)}; "
                     "the table has them all.")
    ranked = sorted(series.items(), key=lambda item: -item[1][-1][1])  # the legend reads from the top line down
    return dict(ranked), notes


def write_html(report: Report, path: Path) -> None:
    from outreach.files import write_atomically

    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, render_html(report).encode("utf-8"))


def dumps(report: Report) -> str:
    return json.dumps(as_json(report), ensure_ascii=False, indent=2)

