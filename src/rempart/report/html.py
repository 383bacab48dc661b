"""`render_html`: the scan report as one self-contained HTML page (inline CSS and SVG, no links)."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jinja2
from markupsafe import Markup

from rempart.report import svg
from rempart.report.i18n import Messages, printable
from rempart.report.model import NoteRow, ScanSummary
from rempart.triage.verdicts import DAMAGED

TOP_FOLDERS = 15
TOP_FORMATS = 25
TOP_FAMILIES = 12
NOTE_GROUPS = 30
PATHS_PER_NOTE = 5
MAX_BINS = 96
_SLOTS = (1, 2, 3, 4, 6, 12, 24, 48, 168)


@dataclass(frozen=True)
class NoteGroup:
    """Copies of one note (same family and indicators), as ransomware drops one per folder."""

    family: str | None
    confidence: float
    indicators: tuple[tuple[str, str], ...]
    paths: tuple[str, ...]
    count: int


@dataclass(frozen=True)
class TimeBin:
    """One slot of the encryption histogram."""

    axis: str  # short form, under the chart
    label: str  # the slot in full: start → end
    count: int


@functools.cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("rempart.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["p"] = printable
    return env


def render_html(
    summary: ScanSummary, lang: str = "fr", *, generated: datetime | None = None
) -> str:
    """The report page for `summary` in `lang` ("fr" or "en").

    Raises:
        UsageError: `lang` has no catalog.
    """
    t = Messages(lang)
    template = _environment().get_template("report.html.j2")
    return template.render(t=t, s=summary, generated=generated, **_view(summary, t))


def verdict_keys(counts: Iterable[str]) -> list[str]:
    """Verdicts in report order: the known ones first, then any other in name order."""
    seen = set(counts)
    return [v for v in svg.VERDICT_ORDER if v in seen] + sorted(seen - set(svg.VERDICT_ORDER))


def damaged(counts: Mapping[str, int]) -> int:
    return sum(n for v, n in counts.items() if v in DAMAGED)


def top_rows(
    table: Mapping[str, Mapping[str, int]], limit: int, key: Any, t: Messages
) -> list[tuple[str, dict[str, int]]]:
    """The first `limit` rows by `key`, the rest summed into one "others (n)" row."""
    rows = sorted(table.items(), key=key)
    head = [(name, dict(counts)) for name, counts in rows[:limit]]
    if len(rows) > limit:
        rest: dict[str, int] = {}
        for _, counts in rows[limit:]:
            for v, n in counts.items():
                rest[v] = rest.get(v, 0) + n
        head.append((t("others", n=t.number(len(rows) - limit)), rest))
    return head


def group_notes(notes: Iterable[NoteRow]) -> list[NoteGroup]:
    groups: dict[tuple[str | None, tuple[tuple[str, str], ...]], list[NoteRow]] = {}
    for note in notes:
        groups.setdefault((note.family, note.indicators), []).append(note)
    out = [
        NoteGroup(
            family=family,
            confidence=max(n.confidence for n in rows),
            indicators=indicators,
            paths=tuple(n.path for n in rows[:PATHS_PER_NOTE]),
            count=len(rows),
        )
        for (family, indicators), rows in groups.items()
    ]
    return sorted(out, key=lambda g: (-g.count, -g.confidence, g.family or ""))


def indicators(notes: Iterable[NoteRow], t: Messages) -> dict[str, list[str]]:
    """Distinct indicator values per (translated) kind, in the order first found."""
    out: dict[str, list[str]] = {}
    for note in notes:
        for kind, value in note.indicators:
            values = out.setdefault(t.ioc(kind), [])
            if value not in values:
                values.append(value)
    return out


def time_bins(timeline: Iterable[tuple[datetime, int]], t: Messages) -> tuple[int, list[TimeBin]]:
    """(slot width in hours, slots): empty slots filled in, at most `MAX_BINS` slots."""
    points = sorted(timeline)
    if not points:
        return 1, []
    first = points[0][0].replace(minute=0, second=0, microsecond=0)
    span = int((points[-1][0] - first) / timedelta(hours=1)) + 1
    width = next((w for w in _SLOTS if span / w <= MAX_BINS), 168 * -(-span // (168 * MAX_BINS)))
    first = first.replace(hour=0 if width >= 24 else first.hour - first.hour % width)
    slot = timedelta(hours=width)
    counts = [0] * (int((points[-1][0] - first) / slot) + 1)
    for when, n in points:
        counts[int((when - first) / slot)] += n
    axis = ("%d/%m", "%d/%m %Hh") if t.lang == "fr" else ("%m-%d", "%m-%d %H:00")
    bins = []
    for i, n in enumerate(counts):
        start, end = first + i * slot, first + (i + 1) * slot
        until = end.strftime("%H:%M") if width < 24 else t.when(end, seconds=False)
        label = f"{t.when(start, seconds=False)} → {until}"
        bins.append(TimeBin(start.strftime(axis[width < 24]), label, n))
    return width, bins


def family_label(family: str | None, t: Messages) -> str:
    return t("family.unknown") if family in (None, "", "unknown", "none") else family


def _charts(s: ScanSummary, t: Messages, view: dict[str, Any]) -> dict[str, Markup | None]:
    labels = {v: t.verdict(v) for v in view["verdicts"]}
    bars = [svg.Bar(labels[v], s.by_verdict.get(v, 0), svg.colour(v)) for v in view["verdicts"]]
    families = [
        svg.Bar(family_label(f, t), n, svg.colour("encrypted"))
        for f, n in view["families"][:TOP_FAMILIES]
    ]
    slots = [
        (b.axis, f"{b.label}: {t.number(b.count)} {t('files')}", b.count) for b in view["bins"]
    ]
    folders = svg.stacked_bars(
        view["folders"],
        labels=labels,
        title=t("chart.folders"),
        desc=t("chart.folders.desc"),
        chart_id="c-folders",
        fmt=t.number,
    )
    charts = {
        "verdict_chart": (
            svg.bar_chart(bars, title=t("chart.verdicts"), chart_id="c-verdicts", fmt=t.number),
            s.total_files,
        ),
        "folder_chart": (folders, view["folders"]),
        "family_chart": (
            svg.bar_chart(families, title=t("chart.families"), chart_id="c-families", fmt=t.number),
            families,
        ),
        "histogram": (
            svg.histogram(
                slots, title=view["histogram_title"], chart_id="c-timeline", fmt=t.number
            ),
            slots,
        ),
    }
    # Charts hold escaped text only (see svg), so they go into the page as they are; a chart
    # with nothing to show is left out.
    return {name: Markup(chart) if data else None for name, (chart, data) in charts.items()}


def _view(s: ScanSummary, t: Messages) -> dict[str, Any]:
    by_damage = lambda r: (-damaged(r[1]), -sum(r[1].values()), r[0])  # noqa: E731
    folders = [
        (t("folder.root") if name == "." else name, counts)
        for name, counts in top_rows(s.by_folder, TOP_FOLDERS, by_damage, t)
    ]
    formats = top_rows(s.by_format, TOP_FORMATS, lambda r: (-sum(r[1].values()), r[0]), t)
    notes = group_notes(s.notes)
    width, bins = time_bins(s.timeline, t)
    view: dict[str, Any] = {
        "palette": svg.VERDICT_COLOURS,
        "verdicts": verdict_keys([*s.by_verdict, *svg.VERDICT_ORDER]),
        "damaged": damaged(s.by_verdict),
        "damage": damaged,
        "family_label": family_label,
        "folders": folders,
        "folder_verdicts": verdict_keys(v for _, c in folders for v, n in c.items() if n),
        "formats": formats,
        "format_verdicts": verdict_keys(v for _, c in formats for v, n in c.items() if n),
        "families": sorted(s.by_family.items(), key=lambda r: (-r[1], r[0])),
        "note_groups": notes[:NOTE_GROUPS],
        "note_groups_hidden": max(len(notes) - NOTE_GROUPS, 0),
        "indicators": indicators(s.notes, t),
        "histogram_title": (
            t("window.chart") if width == 1 else t("window.bin", width=t.hours(width))
        ),
        "bins": bins,
        "samples": [(v, s.samples[v]) for v in verdict_keys(s.samples) if s.samples[v]],
    }
    return view | _charts(s, t, view)
