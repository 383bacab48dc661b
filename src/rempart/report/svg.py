"""Small inline SVG charts made on the server: bars, 100 % stacked bars and a time histogram.

Every text is escaped; every chart and every mark carries a `<title>` for screen readers and
tooltips. The SVG has no `xmlns`: it is meant to sit inline in an HTML page.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from html import escape

from rempart.report.i18n import printable

#: Damage first, so that it reads from the left of a stacked bar.
VERDICT_ORDER = (
    "encrypted",
    "partially_encrypted",
    "ransom_note",
    "suspicious",
    "unreadable",
    "intact",
)
#: Okabe-Ito colours: told apart with the common colour-vision deficiencies; labels go with them.
VERDICT_COLOURS = {
    "encrypted": "#D55E00",
    "partially_encrypted": "#E69F00",
    "ransom_note": "#CC79A7",
    "suspicious": "#F0E442",
    "unreadable": "#999999",
    "intact": "#0072B2",
}
OTHER_COLOUR = "#56B4E9"
_FONT = 12
_CHAR = 7.0  # average glyph width at _FONT px, for layout only
_LABEL_W = 180
_ROW = 26


@dataclass(frozen=True)
class Bar:
    """One bar: its label, value and colour."""

    label: str
    value: int
    colour: str = OTHER_COLOUR


def colour(verdict: str) -> str:
    return VERDICT_COLOURS.get(verdict, OTHER_COLOUR)


def _e(text: str) -> str:
    return escape(printable(text), quote=True)


def _clip(text: str, width: float) -> str:
    chars = max(int(width / _CHAR), 2)
    return text if len(text) <= chars else text[: chars - 1] + "…"


def _open(chart_id: str, width: int, height: int, title: str, desc: str = "") -> list[str]:
    labelled = f"{chart_id}-t {chart_id}-d" if desc else f"{chart_id}-t"
    out = [
        f'<svg class="chart" id="{_e(chart_id)}" role="img" aria-labelledby="{_e(labelled)}" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'font-size="{_FONT}" font-family="inherit">',
        f'<title id="{_e(chart_id)}-t">{_e(title)}</title>',
    ]
    if desc:
        out.append(f'<desc id="{_e(chart_id)}-d">{_e(desc)}</desc>')
    return out


def _text(x: float, y: float, text: str, anchor: str = "start", cls: str = "") -> str:
    attr = f' class="{cls}"' if cls else ""
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{attr}>{_e(text)}</text>'


def _rect(x: float, y: float, w: float, h: float, fill: str, title: str) -> str:
    return (
        f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" fill="{_e(fill)}">'
        f"<title>{_e(title)}</title></rect>"
    )


def bar_chart(
    bars: Sequence[Bar],
    *,
    title: str,
    chart_id: str,
    fmt: Callable[[int], str] = str,
    width: int = 640,
) -> str:
    """Horizontal bars, one per row, label on the left and value on the right."""
    top = max((b.value for b in bars), default=0)
    area = width - _LABEL_W - 90
    height = max(len(bars), 1) * _ROW + 8
    out = _open(chart_id, width, height, title)
    for i, bar in enumerate(bars):
        y = 4 + i * _ROW
        w = area * bar.value / top if top else 0.0
        w = max(w, 2.0) if bar.value else 0.0
        out.append(_text(_LABEL_W - 8, y + 15, _clip(bar.label, _LABEL_W - 8), "end"))
        out.append(
            _rect(_LABEL_W, y + 3, w, _ROW - 8, bar.colour, f"{bar.label}: {fmt(bar.value)}")
        )
        out.append(_text(_LABEL_W + w + 6, y + 15, fmt(bar.value), cls="num"))
    out.append("</svg>")
    return "\n".join(out)


def _legend(keys: Sequence[str], labels: Mapping[str, str], width: int) -> tuple[list[str], int]:
    out: list[str] = []
    x, y = 0.0, 4.0
    for key in keys:
        label = labels.get(key, key)
        item = 18 + len(label) * _CHAR + 16
        if x and x + item > width:
            x, y = 0.0, y + 20
        out.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="12" height="12" fill="{colour(key)}"/>')
        out.append(_text(x + 17, y + 11, label))
        x += item
    return out, int(y + 24)


def stacked_bars(
    rows: Sequence[tuple[str, Mapping[str, int]]],
    *,
    labels: Mapping[str, str],
    title: str,
    desc: str,
    chart_id: str,
    fmt: Callable[[int], str] = str,
    width: int = 720,
) -> str:
    """One 100 % bar per row, split by verdict in `VERDICT_ORDER`; the row total on the right.

    A non-zero share gets at least 2 px so that a single encrypted file still shows.
    """
    keys = [k for k in VERDICT_ORDER if any(c.get(k) for _, c in rows)]
    keys += sorted({k for _, c in rows for k, n in c.items() if n and k not in VERDICT_ORDER})
    legend, top = _legend(keys, labels, width)
    area = width - _LABEL_W - 80
    out = _open(chart_id, width, top + max(len(rows), 1) * _ROW + 4, title, desc)
    out.extend(legend)
    for i, (name, counts) in enumerate(rows):
        y = top + i * _ROW
        total = sum(counts.get(k, 0) for k in keys)
        widths = [max(area * counts.get(k, 0) / total, 2.0) if counts.get(k) else 0.0 for k in keys]
        scale = area / sum(widths) if total else 0.0
        out.append(_text(_LABEL_W - 8, y + 15, _clip(name, _LABEL_W - 8), "end"))
        x = float(_LABEL_W)
        for key, w in zip(keys, widths, strict=True):
            if w:
                n = counts.get(key, 0)
                tip = f"{name}: {labels.get(key, key)} {fmt(n)}"
                out.append(_rect(x, y + 3, w * scale, _ROW - 8, colour(key), tip))
                x += w * scale
        out.append(_text(_LABEL_W + area + 6, y + 15, fmt(total), cls="num"))
    out.append("</svg>")
    return "\n".join(out)


def _nice_step(top: int, ticks: int = 4) -> int:
    """A round gridline step (1, 2 or 5 times a power of ten) giving about `ticks` lines."""
    raw = max(top / ticks, 1.0)
    magnitude = int(10 ** math.floor(math.log10(raw)))
    return next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)


def histogram(
    bins: Sequence[tuple[str, str, int]],
    *,
    title: str,
    chart_id: str,
    fmt: Callable[[int], str] = str,
    width: int = 720,
    height: int = 220,
) -> str:
    """Vertical bars over time; each bin is (axis label, tooltip label, count).

    At most about eight axis labels are drawn, evenly spaced; every bar keeps its tooltip.
    """
    left, bottom, plot_h = 56, 40, height - 56
    area = width - left - 10
    top = max((n for _, _, n in bins), default=0)
    step = _nice_step(top)
    ceiling = max(step * -(-top // step), 1)
    out = _open(chart_id, width, height, title)
    base = height - bottom
    for tick in range(0, ceiling + 1, step):
        y = base - plot_h * tick / ceiling
        out.append(f'<line x1="{left}" x2="{width - 10}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>')
        out.append(_text(left - 6, y + 4, fmt(tick), "end", "num"))
    slot = area / max(len(bins), 1)
    every = max(1, -(-len(bins) // 8))
    for i, (axis, tip, n) in enumerate(bins):
        x = left + i * slot
        h = max(plot_h * n / ceiling, 1.5)  # a handful of files late at night still shows
        if n:
            out.append(_rect(x + slot * 0.1, base - h, slot * 0.8, h, colour("encrypted"), tip))
        if i % every == 0:
            out.append(
                f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{base}" y2="{base + 4}" class="axis"/>'
            )
            out.append(_text(x, base + 18, axis, "start"))
    out.append(f'<line x1="{left}" x2="{width - 10}" y1="{base}" y2="{base}" class="axis"/>')
    out.append("</svg>")
    return "\n".join(out)
