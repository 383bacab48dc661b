"""The inline SVG charts: well-formed, escaped, titled, with bars in proportion."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from rempart.report import svg

HOSTILE = '<script>alert("x")</script>&amp;\x01\u202e'


def parse(chart: str) -> ET.Element:
    root = ET.fromstring(chart)
    assert root.tag == "svg" and root.get("role") == "img"
    title = root.find("title")
    assert title is not None and title.get("id") in (root.get("aria-labelledby") or "").split()
    assert "http" not in chart
    return root


def widths(root: ET.Element) -> list[float]:
    return [float(r.get("width", "0")) for r in root.iter("rect")]


def test_bar_chart_is_proportional_and_titled() -> None:
    bars = [svg.Bar("a", 100), svg.Bar("b", 50), svg.Bar("c", 0), svg.Bar("d", 1)]
    root = parse(svg.bar_chart(bars, title="t", chart_id="c1"))
    rects = list(root.iter("rect"))
    assert len(rects) == 4
    a, b, c, d = widths(root)
    assert a == pytest.approx(2 * b, abs=0.2) and c == 0 and d >= 2
    assert all(r.find("title") is not None for r in rects)


def test_hostile_text_is_escaped_everywhere() -> None:
    bars = [svg.Bar(HOSTILE, 3, colour='"/><script>')]
    charts = [
        svg.bar_chart(bars, title=HOSTILE, chart_id="c2"),
        svg.stacked_bars(
            [(HOSTILE, {"encrypted": 1, HOSTILE: 2})],
            labels={},
            title=HOSTILE,
            desc=HOSTILE,
            chart_id="c3",
        ),
        svg.histogram([(HOSTILE, HOSTILE, 4)], title=HOSTILE, chart_id="c4"),
    ]
    for chart in charts:
        assert "<script" not in chart and "\x01" not in chart and "\u202e" not in chart
        root = parse(chart)
        title = root.find("title")
        assert title is not None and title.text == '<script>alert("x")</script>&amp;\\x01\\u202e'


def test_stacked_bars_fill_the_row_in_verdict_order() -> None:
    rows = [("Finances", {"intact": 998, "encrypted": 1, "ransom_note": 1}), ("RH", {})]
    root = parse(
        svg.stacked_bars(rows, labels={"intact": "Intact"}, title="t", desc="d", chart_id="c5")
    )
    bar = [r for r in root.iter("rect") if r.find("title") is not None]
    assert [r.get("fill") for r in bar] == [
        svg.VERDICT_COLOURS["encrypted"],
        svg.VERDICT_COLOURS["ransom_note"],
        svg.VERDICT_COLOURS["intact"],
    ]
    assert sum(widths(root)[3:]) == pytest.approx(720 - 180 - 80, abs=0.5)
    assert min(widths(root)[3:]) > 1.5  # one file in a thousand stays visible
    legend = [t.text for t in root.iter("text")][:3]
    assert legend == ["encrypted", "ransom_note", "Intact"]


def test_histogram_ticks_labels_and_empty_slots() -> None:
    bins = [(f"h{i}", f"slot {i}", n) for i, n in enumerate([0, 5, 10412, 0, 3] * 8)]
    root = parse(svg.histogram(bins, title="t", chart_id="c6", fmt=lambda n: f"{n:,}"))
    texts = [t.text for t in root.iter("text")]
    assert texts[:4] == ["0", "5,000", "10,000", "15,000"]
    assert 1 < len([t for t in texts if t and t.startswith("h")]) <= 8
    assert len(list(root.iter("rect"))) == 24  # empty slots draw no bar


@pytest.mark.parametrize("chart", ["bar", "stacked", "histogram"])
def test_empty_charts_are_well_formed(chart: str) -> None:
    out = {
        "bar": lambda: svg.bar_chart([], title="t", chart_id="e1"),
        "stacked": lambda: svg.stacked_bars([], labels={}, title="t", desc="", chart_id="e2"),
        "histogram": lambda: svg.histogram([("x", "x", 0)], title="t", chart_id="e3"),
    }[chart]()
    parse(out)


def test_verdict_colours_are_distinct() -> None:
    assert set(svg.VERDICT_ORDER) == set(svg.VERDICT_COLOURS)
    assert len(set(svg.VERDICT_COLOURS.values())) == len(svg.VERDICT_COLOURS)
    assert svg.colour("something_new") == svg.OTHER_COLOUR
