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
        """Computed once: the text, JSON and HTML renderings each show it."""
        return compare(self.groups) if len(self.groups) > 1 else None


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

    ``--by institution`` asks for every pair of 40 groups in each campaign (7,800 tables in the
    benchmark): the walk is one loop each way, with no call per table, and a table met again
    (small groups often tie) is answered from the cache.
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


@dataclass
class Comparison:
    within_noise: bool
    text: str
    separated: list[tuple[str, str]]          # pairs that differ beyond noise (higher, lower)
    small: list[str]                          # groups with fewer than SMALL_SAMPLE delivered
    pairs: list[tuple[str, str, float]] = field(default_factory=list)   # (higher, lower, adjusted p)


def compare(groups: dict[str, Counts]) -> Comparison | None:
    """Do the groups' reply rates differ by more than chance? Fisher's exact test on each pair.

    Samples here are 10-50 contacts, where normal approximations and "do the intervals
    overlap" both mislead (3/25 against 11/23 overlaps, yet p = 0.010). With more than two
    groups each pair's p-value is multiplied by the number of pairs (Bonferroni): that errs
    on the side of not claiming a winner, the mistake that costs least.
    """
    rated = {name: c for name, c in groups.items() if c.delivered}
    if len(rated) < 2:
        return None
    names = sorted(rated, key=lambda n: -(rated[n].rate or 0))
    count = len(names) * (len(names) - 1) // 2
    pairs = []
    for i, high in enumerate(names):
        for low in names[i + 1:]:
            a, b = rated[high], rated[low]
            p = fisher_exact(a.replied, a.delivered - a.replied, b.replied, b.delivered - b.replied)
            pairs.append((high, low, min(1.0, p * count)))
    separated = [(high, low) for high, low, p in pairs if p < SIGNIFICANCE]
    small = [n for n in names if rated[n].delivered < SMALL_SAMPLE]
    test = "Fisher's exact test" + (f", adjusted for {count} pairs" if count > 1 else "")
    if not separated:
        best, worst = names[0], names[-1]
        closest = min(p for _, _, p in pairs)
        text = (f"within noise: highest {_rate_of(best, rated[best])}, lowest {_rate_of(worst, rated[worst])} "
                f"({test}, {'smallest ' if count > 1 else ''}{_p(closest)}); "
                "these samples cannot tell the groups apart")
    else:
        shown = [(h, lo, p) for h, lo, p in pairs if p < SIGNIFICANCE][:3]
        text = "beyond noise: " + "; ".join(f"{_rate_of(h, rated[h])} > {_rate_of(lo, rated[lo])} ({_p(p)})"
                                            for h, lo, p in shown)
        if len(separated) > 3:
            text += f"; and {plural(len(separated) - 3, 'more pair', 'more pairs')}"
        text += f" ({test})"
    if small:
        listed = ", ".join(small[:5]) + (f" and {len(small) - 5} more" if len(small) > 5 else "")
        text += f". Fewer than {SMALL_SAMPLE} delivered in {listed}: read those rates with care"
    return Comparison(not separated, text, separated, small, pairs)


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
        comparison = section.comparison
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
# bar also carries its full name in words.
PALETTE = ("#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#7a4fa3", "#8c6d1f")
OTHER, TOTAL_COLOUR = "#8c959f", "#3d444d"
MAX_LINES = len(PALETTE)  # group lines in the cumulative-replies chart
CSS = """
*{box-sizing:border-box}
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1b1f24;margin:2rem auto;
max-width:1040px;padding:0 1rem;overflow-wrap:anywhere}
h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2.5rem;border-bottom:1px solid #d0d7de}
.scroll{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;margin:1rem 0;font-variant-numeric:tabular-nums}
th,td{padding:.25rem .45rem;text-align:right;border-bottom:1px solid #eaeef2;overflow-wrap:normal}
th:first-child,td:first-child{text-align:left;min-width:9rem;overflow-wrap:anywhere;position:sticky;left:0;background:#fff}
tr.total td{font-weight:600;border-top:2px solid #d0d7de}
.verdict{padding:.5rem .8rem;border-left:4px solid #bf8700;background:#fff8c5}
.verdict.beyond{border-color:#1a7f37;background:#dafbe1}
.note{color:#57606a;font-size:.9rem}
.rates{margin:.5rem 0 1rem;max-width:720px}.rate{margin:.45rem 0}
.rate .name{font-size:.9rem}.rate .value{font-size:.85rem;color:#57606a;white-space:nowrap}
.track{position:relative;height:14px;background:#f6f8fa;margin:.15rem 0}
.track .bar{position:absolute;left:0;top:0;bottom:0}
.track .ci{position:absolute;top:6px;height:2px;background:#1b1f24}
.track .ci::before,.track .ci::after{content:"";position:absolute;top:-5px;width:2px;height:12px;background:#1b1f24}
.track .ci::before{left:0}.track .ci::after{right:0}
svg{display:block;margin:.5rem 0;max-width:100%;height:auto}
svg text{font:14px system-ui,sans-serif;fill:#1b1f24}
.legend{list-style:none;padding:0;margin:.25rem 0 1rem;font-size:.9rem}.legend li{margin:.15rem 0}
.swatch{display:inline-block;width:1.6rem;height:.3rem;vertical-align:middle;margin-right:.5rem}
"""


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
        colours = group_colours(section)
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
        parts.append(html_rates(rows, colours))
        parts.append("<h3>Cumulative replies</h3>")
        parts.append(svg_timeline(section, colours))
    parts.append("</body></html>\n")
    return "\n".join(parts)


def _html_table(rows: list[tuple[str, Counts]], by: str | None) -> str:
    head = "".join(f"<th>{_e(label)}</th>" for _, label in COLUMNS)
    out = [(f'<div class="scroll"><table><thead><tr><th>{_e(by or "")}</th>{head}<th>reply rate</th>'
            "<th>95% interval</th><th>median to reply</th></tr></thead><tbody>")]
    for name, counts in rows:
        span = _span(counts.interval)
        cells = "".join(f"<td>{getattr(counts, key)}</td>" for key, _ in COLUMNS)
        klass = ' class="total"' if name == TOTAL else ""
        out.append(f"<tr{klass}><td>{_e(name)}</td>{cells}<td>{_pct(counts.rate)}</td><td>{span}</td>"
                   f"<td>{_e(_duration(counts.median_hours_to_first_reply))}</td></tr>")
    out.append("</tbody></table></div>")
    return "".join(out)


def group_colours(section: CampaignReport) -> dict[str, str]:
    """One colour per group in both charts: the palette for the groups with the most replies
    (the ones the time chart draws), a light grey for the rest, dark grey for the total."""
    ranked = sorted(section.groups, key=lambda name: -section.groups[name].replied)
    colours = {name: PALETTE[i] if i < len(PALETTE) else OTHER for i, name in enumerate(ranked)}
    return {**colours, TOTAL: TOTAL_COLOUR}


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


def svg_timeline(section: CampaignReport, colours: dict[str, str]) -> str:
    """Step lines: cumulative first replies per day, per group; a dashed line at the first
    follow-up; under it a legend with swatches, full names and counts."""
    series, notes = _drawn_series(section, colours)
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
    top_count = max(p[-1][1] for p in series.values())
    left, plot_width, plot_height, top = 44, 420, 200, 14
    width, height = left + plot_width + 40, top + plot_height + 30
    x = lambda day: left + (day - start).days / days * plot_width  # noqa: E731
    y = lambda n: top + plot_height - n / top_count * plot_height  # noqa: E731
    out = [(f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" aria-label="cumulative replies over time">'),
           (f'<line x1="{left}" y1="{top + plot_height}" x2="{left + plot_width}" y2="{top + plot_height}" '
            f'stroke="#8c959f"/><line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_height}" stroke="#8c959f"/>')]
    out.extend(f'<text x="{left - 6}" y="{y(n) + 4:.1f}" text-anchor="end">{n}</text>'
               for n in sorted({0, top_count, top_count // 2}))
    for day, anchor in ticks.items():
        out.append(f'<text x="{x(day):.1f}" y="{top + plot_height + 20}" text-anchor="{anchor}">'
                   f"{day.isoformat()}</text>")
    if section.first_followup:
        fx = x(section.first_followup)
        out.append(f'<line x1="{fx:.1f}" y1="{top}" x2="{fx:.1f}" y2="{top + plot_height}" stroke="#bf8700" '
                   f'stroke-dasharray="5,4"/><text x="{fx + 4:.1f}" y="{top + 12}" fill="#9a6700">'
                   "first follow-up</text>")
    legend = []
    for name, points in series.items():
        colour = colours[name]
        path = [f"M{x(start):.1f},{y(0):.1f}"]
        for day, count in points:
            path.append(f"H{x(day):.1f}V{y(count):.1f}")
        path.append(f"H{x(end):.1f}")
        replies = plural(points[-1][1], "reply")
        out.append(f'<path d="{"".join(path)}" fill="none" stroke="{colour}" stroke-width="2.5">'
                   f"<title>{_e(name)}: {replies}</title></path>")
        legend.append(f'<li><span class="swatch" style="background:{colour}"></span>{_e(name)}: {replies}</li>')
    out.append("</svg>")
    return "".join(out) + f'<ul class="legend">{"".join(legend)}</ul>' + "".join(
        f'<p class="note">{_e(text)}</p>' for text in notes)


def _drawn_series(section: CampaignReport, colours: dict[str, str]) -> tuple[dict, list[str]]:
    """The curves the time chart draws, and notes on what it leaves out: the total when there
    are groups (its curve would squash theirs into the bottom), and groups past the palette."""
    series, notes = dict(section.timeline), []
    groups = [name for name in series if name != TOTAL]
    if groups and TOTAL in series:
        notes.append(f"{plural(series.pop(TOTAL)[-1][1], 'reply')} in all.")
    if len(groups) > MAX_LINES:  # a legend of 40 institutions helps nobody: the busiest ones
        series = {name: points for name, points in series.items() if colours.get(name) != OTHER}
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

