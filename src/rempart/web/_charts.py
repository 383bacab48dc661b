"""Charts of the workspace pages, drawn on the server as inline SVG (no script, no library).

They reuse the report's SVG bars (escaped text, a <title> on every mark for screen readers).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence

from markupsafe import Markup

from rempart.report.svg import Bar, bar_chart
from rempart.web._i18n import Messages
from rempart.workspace.scans import ScanResult
from rempart.workspace.status import Level, ServiceStatus
from rempart.workspace.tasks import TaskStatus, TaskView

#: Okabe-Ito colours, as in the scan reports: told apart with colour-vision deficiencies.
TASK_COLOURS = {
    TaskStatus.DONE: "#009E73",
    TaskStatus.DOING: "#56B4E9",
    TaskStatus.TODO: "#999999",
    TaskStatus.BLOCKED: "#D55E00",
    TaskStatus.SKIPPED: "#CC79A7",
}
LEVEL_COLOURS = {
    Level.WORKING: "#009E73",
    Level.DEGRADED: "#F0E442",
    Level.READ_ONLY: "#56B4E9",
    Level.PARTIAL_OUTAGE: "#E69F00",
    Level.DOWN: "#D55E00",
}
#: How far from "working" each level is: the bar's length on the services chart.
LEVEL_WEIGHT = {
    Level.WORKING: 1,
    Level.READ_ONLY: 2,
    Level.DEGRADED: 3,
    Level.PARTIAL_OUTAGE: 4,
    Level.DOWN: 5,
}


def tasks(items: Sequence[TaskView], t: Messages, chart_id: str = "chart-tasks") -> Markup:
    """How many tasks are in each status."""
    counts = {st: sum(1 for i in items if i.status is st) for st in TASK_COLOURS}
    return task_counts(counts, t, chart_id)


def task_counts(counts: Mapping[TaskStatus, int], t: Messages, chart_id: str) -> Markup:
    """The same chart from counts already made (the dashboard's, one query for all)."""
    labels = tuple(t[f"ts.{st.value}"] for st in TASK_COLOURS)
    values = tuple(counts.get(st, 0) for st in TASK_COLOURS)
    return _task_svg(labels, values, t["chart_tasks"], chart_id)


@functools.lru_cache(maxsize=1024)
def _task_svg(
    labels: tuple[str, ...], values: tuple[int, ...], title: str, chart_id: str
) -> Markup:
    # A pure function of its arguments, drawn again on every dashboard for the same few
    # counts: kept per process (bounded; nothing about who may see it is decided here).
    colours = TASK_COLOURS.values()
    bars = [Bar(label, v, c) for label, v, c in zip(labels, values, colours, strict=True)]
    return Markup(bar_chart(bars, title=title, chart_id=chart_id, width=520))


def scans(items: Sequence[ScanResult], t: Messages) -> Markup:
    """The encrypted share of files of each scanned share, in percent."""
    bars = [
        Bar(f"{r.town or '?'} · {r.share}", round(100 * r.encrypted_share), "#D55E00")
        for r in items
    ]
    chart = bar_chart(bars, title=t["chart_scans"], chart_id="chart-scans", fmt=lambda v: f"{v} %")
    return Markup(chart)


def services(items: Sequence[ServiceStatus], t: Messages, lang: str, chart_id: str) -> Markup:
    """Each service of a town, longer and redder the further it is from working."""
    bars = [
        Bar(
            s.service.en if lang == "en" else s.service.fr,
            LEVEL_WEIGHT[s.level],
            LEVEL_COLOURS[s.level],
        )
        for s in items
    ]
    names = {weight: t[f"st.{lv.value}"] for lv, weight in LEVEL_WEIGHT.items()}
    chart = bar_chart(
        bars,
        title=t["chart_services"],
        chart_id=chart_id,
        fmt=lambda v: names.get(v, str(v)),
        width=560,
    )
    return Markup(chart)
