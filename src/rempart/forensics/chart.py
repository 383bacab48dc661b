"""`timeline show --html`: events per hour and per host as an inline SVG, detections marked.

One self-contained page (no script, no CDN, no external font): it opens offline on the
responder's laptop and can be attached to the incident file as it is. Counts are computed
by the store (GROUP BY host and hour), so the chart costs the same for 10 or 10 million events.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from html import escape

from sqlalchemy import ColumnElement, Engine, func, select

from rempart.forensics._db import incident_id
from rempart.forensics._time import iso_from_us
from rempart.forensics.query import Filters
from rempart.forensics.sigma._rules import LEVELS
from rempart.store.timeline import EVENTS, MATCHES

HOUR_US = 3_600 * 1_000_000
#: at most this many columns: longer spans are drawn in buckets of several hours
MAX_COLUMNS = 240
_LANE, _LEFT, _TOP, _WIDTH = 46, 170, 40, 960
_LEVEL_COLOURS = {"critical": "#7f0000", "high": "#c0392b", "medium": "#e67e22"}


@dataclass
class Chart:
    incident: str
    first_hour: int = 0  # microseconds, start of the first bucket
    bucket_hours: int = 1
    columns: int = 0
    #: host -> {column: events}
    counts: dict[str, dict[int, int]] = field(default_factory=dict)
    #: host -> {column: (events a rule matched, highest level)}
    detections: dict[str, dict[int, tuple[int, str]]] = field(default_factory=dict)


def _where(inc: int, filters: Filters) -> list[ColumnElement[bool]]:
    e = EVENTS.c
    where: list[ColumnElement[bool]] = [e.incident_id == inc, e.ts_us.is_not(None)]
    if filters.host:
        where.append(func.lower(e.host) == filters.host.lower())
    if filters.account:
        where.append(func.lower(e.account).contains(filters.account.lower()))
    if filters.since_us is not None:
        where.append(e.ts_us >= filters.since_us)
    if filters.until_us is not None:
        where.append(e.ts_us <= filters.until_us)
    return where


def hourly(engine: Engine, incident: str, filters: Filters) -> Chart:
    """Events per host and hour (and those a rule matched) of an incident."""
    inc = incident_id(engine, incident, create=False)
    e, m = EVENTS.c, MATCHES.c
    where = _where(inc, filters)
    hour = e.ts_us // HOUR_US  # integer division in SQLite and PostgreSQL
    chart = Chart(incident)
    with engine.connect() as conn:
        low, high = conn.execute(select(func.min(hour), func.max(hour)).where(*where)).one()
        if low is None:
            return chart
        span = int(high) - int(low) + 1
        chart.bucket_hours = max(1, math.ceil(span / MAX_COLUMNS))
        chart.first_hour = int(low) * HOUR_US
        chart.columns = math.ceil(span / chart.bucket_hours)
        column = (e.ts_us - chart.first_hour) // (HOUR_US * chart.bucket_hours)
        rows = conn.execute(
            select(e.host, column.label("col"), func.count()).where(*where).group_by(e.host, "col")
        )
        for host, col, count in rows:
            chart.counts.setdefault(host or "(no host)", {})[int(col)] = int(count)
        rows = conn.execute(
            select(e.host, column.label("col"), m.level, func.count(func.distinct(e.id)))
            .join(MATCHES, m.event_pk == e.id)
            .where(*where)
            .group_by(e.host, "col", m.level)
        )
        for host, col, level, count in rows:
            lanes = chart.detections.setdefault(host or "(no host)", {})
            seen, top = lanes.get(int(col), (0, "informational"))
            if LEVELS.index(level) > LEVELS.index(top):
                top = level
            lanes[int(col)] = (seen + int(count), top)
    return chart


def render_html(chart: Chart) -> str:
    """The chart as one XHTML page with an inline SVG (well-formed XML: it parses as both)."""
    hosts = sorted(chart.counts)
    title = f"Timeline of incident {chart.incident}"
    parts = [
        "<!DOCTYPE html>",
        '<html xmlns="http://www.w3.org/1999/xhtml" lang="en"><head><meta charset="utf-8"/>',
        f"<title>{escape(title)}</title>",
        "<style>body{font-family:sans-serif;margin:1.5em}svg text{font-size:12px}"
        ".axis{fill:#555}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
    ]
    if not hosts:
        parts.append("<p>No dated events.</p></body></html>")
        return "\n".join(parts)
    unit = "hour" if chart.bucket_hours == 1 else f"{chart.bucket_hours} hours"
    parts.append(
        f"<p>Events per {unit} and host, from {iso_from_us(chart.first_hour)} (UTC). "
        "Red marks: events a detection rule matched (hover for counts).</p>"
    )
    parts.append(_svg(chart, hosts))
    parts.append("</body></html>")
    return "\n".join(parts)


def _svg(chart: Chart, hosts: list[str]) -> str:
    step = _WIDTH / max(chart.columns, 1)
    height = _TOP + _LANE * len(hosts) + 30
    peak = max(max(c.values()) for c in chart.counts.values())
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_LEFT + _WIDTH + 100}" '
        f'height="{height}" role="img" aria-label="events per host over time">'
    ]
    for lane, host in enumerate(hosts):
        y = _TOP + lane * _LANE
        out.append(f'<text x="4" y="{y + _LANE / 2:.0f}">{escape(host[:24])}</text>')
        out.append(
            f'<line x1="{_LEFT}" y1="{y + _LANE - 4}" x2="{_LEFT + _WIDTH}" '
            f'y2="{y + _LANE - 4}" stroke="#ccc"/>'
        )
        for col, count in sorted(chart.counts[host].items()):
            # Square root: one burst of 100,000 events must not flatten the rest to nothing.
            bar = max(1.0, (_LANE - 12) * math.sqrt(count / peak))
            x = _LEFT + col * step
            when = iso_from_us(chart.first_hour + col * chart.bucket_hours * HOUR_US)[:16]
            out.append(
                f'<rect x="{x:.1f}" y="{y + _LANE - 4 - bar:.1f}" width="{max(step - 1, 1):.1f}" '
                f'height="{bar:.1f}" fill="#4a78a8"><title>{escape(host)} {when}Z: '
                f"{count:,} events</title></rect>"
            )
        for col, (count, level) in sorted(chart.detections.get(host, {}).items()):
            x = _LEFT + col * step + step / 2
            colour = _LEVEL_COLOURS.get(level, "#f1c40f")
            out.append(
                f'<path d="M{x:.1f},{y + 2} l5,8 l-10,0 z" fill="{colour}" class="detection">'
                f"<title>{escape(host)}: {count:,} events matched a rule (up to {level})"
                "</title></path>"
            )
    axis_y = _TOP + _LANE * len(hosts) + 16
    ticks = 6
    for i in range(ticks + 1):
        col = round(i * chart.columns / ticks)
        when = iso_from_us(chart.first_hour + col * chart.bucket_hours * HOUR_US)[:13]
        x = _LEFT + col * step
        out.append(f'<text class="axis" x="{x:.0f}" y="{axis_y}">{when}h</text>')
    out.append("</svg>")
    return "\n".join(out)
