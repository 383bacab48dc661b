"""The HTML report: self-contained, escaped, in both languages, for full, empty, partial scans."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from rempart.errors import UsageError
from rempart.report import FileRow, NoteRow, ScanSummary, render_html
from rempart.report.html import MAX_BINS, group_notes, time_bins
from rempart.report.i18n import CATALOGS, Messages

HOSTILE = '<script>alert("x")</script>'
T0 = datetime(2026, 11, 21, 22, 47, 12, tzinfo=UTC)


def realistic_summary() -> ScanSummary:
    """A town hall share hit by LockBit on a Saturday night, with hostile names mixed in."""
    hours = [
        (T0.replace(minute=0, second=0) + timedelta(hours=h), n)
        for h, n in enumerate([120, 2450, 8730, 10412, 6120, 2210, 0, 0, 35, 4])
    ]
    btc = "bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh"
    onion = "lockbitapt2yfbt7lchxejug47kmqvqqxvvjpqkmevv4l3azl3gy6pyd.onion"
    indicators = (
        ("btc", btc),
        ("onion", onion),
        ("tox", "3D1F" * 16 + "ABCD1234EF56"),
        ("email", "restore@cock.li"),
        ("victim_id", "A7F3-22C9-91B0"),
        ("deadline", "72 hours"),
        ("amount", "2.5 BTC"),
    )
    notes = (
        *(
            NoteRow(f"{d}/Restore-My-Files.txt", "lockbit", 0.97, indicators)
            for d in ("Urbanisme", "Etat-civil", "Finances", "RH", "Scolaire", "Technique", ".")
        ),
        NoteRow(f"Finances/{HOSTILE}.txt", None, 0.41, (("email", f"x{HOSTILE}@evil"),)),
    )
    folders = {
        "Etat-civil": {
            "encrypted": 18234,
            "partially_encrypted": 912,
            "ransom_note": 310,
            "intact": 1203,
        },
        "Finances": {
            "encrypted": 9120,
            "partially_encrypted": 143,
            "intact": 5210,
            "ransom_note": 120,
            "suspicious": 14,
        },
        "Urbanisme": {"encrypted": 2231, "intact": 40122, "ransom_note": 55, "unreadable": 3},
        "RH": {"intact": 3120, "encrypted": 1, "ransom_note": 1},
        "Scolaire": {"intact": 15023, "unreadable": 2},
        f"Technique-{HOSTILE}-caf\\xe9": {"intact": 812, "suspicious": 3},
        ".": {"intact": 12, "ransom_note": 1},
    }
    by_verdict: dict[str, int] = {}
    for counts in folders.values():
        for verdict, n in counts.items():
            by_verdict[verdict] = by_verdict.get(verdict, 0) + n
    row = FileRow(
        "Etat-civil/2024/Acte-naissance-0412.pdf.lockbit",
        "encrypted",
        "pdf",
        "lockbit",
        1_482_113,
        T0,
        ("entropy 7.99 bits/byte over 16 blocks", "no PDF header", "LockBit 3.0 trailer"),
    )
    return ScanSummary(
        scan_id=3,
        incident="INC-2026-011 Mairie de Saint-Exemple",
        root="/mnt/evidence/srv-fichiers/partages",
        status="done",
        started=T0 + timedelta(hours=40),
        finished=T0 + timedelta(hours=42, minutes=13),
        total_files=sum(by_verdict.values()),
        total_bytes=214_748_364_800,
        by_verdict=by_verdict,
        by_folder=folders,
        by_family={"lockbit": 30641, "unknown": 3},
        by_format={
            "pdf": {"encrypted": 12000, "intact": 30000},
            "docx": {"encrypted": 9000},
            "xlsx": {"encrypted": 6101, "partially_encrypted": 1055, "intact": 9000},
            "jpeg": {"intact": 26000, "encrypted": 2485},
            "txt": {"ransom_note": 487},
        },
        notes=notes,
        window=(T0, T0 + timedelta(hours=9, minutes=31)),
        timeline=tuple(hours),
        samples={
            "encrypted": (
                row,
                replace(
                    row, path=f"Finances/{HOSTILE}\\xff.xlsx", format="xlsx", evidence=(HOSTILE,)
                ),
            ),
            "intact": (
                replace(
                    row,
                    path="Scolaire/menu.odt",
                    verdict="intact",
                    format="odt",
                    family=None,
                    size=20_480,
                    evidence=("valid ODF zip",),
                ),
            ),
        },
    )


def empty_summary() -> ScanSummary:
    return ScanSummary(1, "INC-0", "/srv/empty", "done", T0, T0, 0, 0, {}, {}, {}, {}, (), None, ())


@pytest.fixture(params=["fr", "en"])
def lang(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_catalogs_have_the_same_keys() -> None:
    assert set(CATALOGS["fr"]) == set(CATALOGS["en"])


def test_unknown_language_is_a_usage_error() -> None:
    with pytest.raises(UsageError):
        render_html(empty_summary(), "de")


@pytest.mark.parametrize("build", [realistic_summary, empty_summary])
def test_report_is_self_contained(build: object, lang: str) -> None:
    page = render_html(build(), lang)  # type: ignore[operator]
    assert "http://" not in page and "https://" not in page
    assert not re.search(r"(?i)<script|@import|url\(|<link|<img|<iframe|src=", page)
    hrefs = re.findall(r'href="([^"]*)"', page)
    assert all(h.startswith("#") for h in hrefs)
    assert f'<html lang="{lang}">' in page


def test_numbers_appear(lang: str) -> None:
    summary = realistic_summary()
    page = render_html(summary, lang)
    t = Messages(lang)
    for n in (summary.total_files, 18234, 30641, summary.by_verdict["encrypted"]):
        assert t.number(n) in page
    assert t.size(summary.total_bytes) in page
    assert "bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh" in page
    assert t.duration(timedelta(hours=9, minutes=31)) in page


def test_both_languages_translate_visible_text() -> None:
    fr, en = render_html(realistic_summary(), "fr"), render_html(realistic_summary(), "en")
    assert CATALOGS["fr"]["section.next"] in fr and CATALOGS["en"]["section.next"] not in fr
    assert CATALOGS["en"]["section.next"] in en and CATALOGS["fr"]["section.next"] not in en
    assert "Chiffré" in fr and "Encrypted" in en


def test_hostile_strings_are_escaped(lang: str) -> None:
    page = render_html(realistic_summary(), lang)
    assert "<script" not in page
    assert "&lt;script&gt;" in page
    assert "\\xff" in page and "\\xe9" in page


def test_control_and_bidi_characters_are_shown_escaped() -> None:
    summary = replace(empty_summary(), root="/srv/a\x1b[31m\u202egpj.exe")
    page = render_html(summary, "en")
    assert "\x1b" not in page and "\u202e" not in page
    assert "\\x1b[31m\\u202egpj.exe" in page


def test_charts_are_well_formed_svg(lang: str) -> None:
    page = render_html(realistic_summary(), lang)
    charts = re.findall(r"<svg.*?</svg>", page, flags=re.S)
    assert len(charts) == 4  # verdicts, folders, families, timeline
    for chart in charts:
        root = ET.fromstring(chart)
        assert root.find("title") is not None


def test_empty_scan_renders(lang: str) -> None:
    page = render_html(empty_summary(), lang)
    t = Messages(lang)
    assert t("window.none") in page and t("none.notes") in page
    assert "<svg" not in page
    assert 'role="alert"' not in page


@pytest.mark.parametrize("status", ["interrupted", "running"])
def test_incomplete_scan_shows_a_banner(status: str, lang: str) -> None:
    page = render_html(replace(realistic_summary(), status=status, finished=None), lang)
    assert 'role="alert"' in page
    assert Messages(lang)(f"banner.{status}") in page.replace("&#39;", "'")


def test_copies_of_one_note_are_grouped() -> None:
    groups = group_notes(realistic_summary().notes)
    assert [g.count for g in groups] == [7, 1]
    assert len(groups[0].paths) == 5


def test_time_bins_fill_gaps_and_stay_bounded() -> None:
    width, bins = time_bins([(T0, 3), (T0 + timedelta(hours=5), 2)], Messages("en"))
    assert width == 1 and [b.count for b in bins] == [3, 0, 0, 0, 0, 2]
    years = [(T0 + timedelta(days=d), 1) for d in range(0, 3 * 365, 7)]
    width, bins = time_bins(years, Messages("fr"))
    assert len(bins) <= MAX_BINS and sum(b.count for b in bins) == len(years)


def test_report_stays_small_for_many_folders() -> None:
    folders = {f"dept-{i}": {"intact": i, "encrypted": i % 7} for i in range(5000)}
    summary = replace(realistic_summary(), by_folder=folders)
    page = render_html(summary, "en")
    assert len(page) < 300_000
    assert "others (4,985)" in page


def test_unknown_verdicts_statuses_and_kinds_still_render() -> None:
    odd = replace(
        realistic_summary(),
        status=f"paused{HOSTILE}",
        by_verdict={f"skipped{HOSTILE}": 4, "encrypted": 2},
        notes=(NoteRow("a.txt", "", 0.5, ((f"k\x1b{HOSTILE}", "v"),)),),
    )
    page = render_html(odd, "en")
    assert "<script" not in page and "\x1b" not in page
    assert 'role="alert"' in page and "skipped&lt;script&gt;" in page
    assert "k\\x1b&lt;script&gt;" in page
