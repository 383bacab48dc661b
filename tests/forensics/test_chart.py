"""`timeline show --html`: a self-contained page with an SVG of events per host and hour."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

from _timeline_samples import ATOMIC, WMI_LATERAL

from rempart.cli import main
from rempart.forensics.chart import hourly, render_html
from rempart.forensics.detect import detect, load_rules, rule_dirs
from rempart.forensics.ingest import ingest
from rempart.forensics.query import Filters
from rempart.store import open_store

_SVG = "{http://www.w3.org/2000/svg}"


def _hosts(tree: ET.Element) -> set[str]:
    return {t.text or "" for t in tree.iter(f"{_SVG}text") if "class" not in t.attrib}


def test_chart_counts_hosts_and_marks_detections(store_url: str, text_logs: Path) -> None:
    shutil.copy(ATOMIC, text_logs / "sysmon.evtx")
    shutil.copy(WMI_LATERAL, text_logs / "security.evtx")
    engine = open_store(store_url)
    summary = ingest(engine, [text_logs], "town", scans=False)
    detect(engine, "town", load_rules(rule_dirs([])))  # the built-in rules
    chart = hourly(engine, "town", Filters())
    assert sum(sum(c.values()) for c in chart.counts.values()) <= summary.events
    assert "fs1" in chart.counts and len(chart.counts) >= 3  # syslog host + the evtx hosts
    assert chart.detections  # the Atomic Red Team run deletes shadow copies
    page = render_html(chart)
    tree = ET.fromstring(page)  # well-formed XML
    assert _hosts(tree) == {h[:24] for h in chart.counts}
    assert any(p.get("class") == "detection" for p in tree.iter(f"{_SVG}path"))
    assert "http" not in page.replace('xmlns="http://www.w3.org/', "")  # nothing fetched
    only = hourly(engine, "town", Filters(host="fs1"))
    assert list(only.counts) == ["fs1"]


def test_show_html_writes_the_page(tmp_path: Path, text_logs: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    db = f"sqlite:///{tmp_path / 'store.db'}"
    out = tmp_path / "chart.html"
    base = ["--incident", "town", "--db", db]
    assert main(["timeline", "ingest", str(text_logs), *base, "--json"]) in (0, 1)
    capsys.readouterr()
    assert main(["timeline", "show", *base, "--html", str(out)]) == 0
    assert "written to" in capsys.readouterr().out
    page = out.read_text(encoding="utf-8")
    HTMLParser().feed(page)  # and as HTML
    assert "fs1" in _hosts(ET.fromstring(page))
    bad = main(["timeline", "show", *base, "--html", str(tmp_path / "no" / "such.html")])
    assert bad == 2 and "cannot write" in capsys.readouterr().err
