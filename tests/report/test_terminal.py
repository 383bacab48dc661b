"""The end-of-scan summary on the terminal: compact, translated, and safe from hostile names."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from rich.console import Console

from rempart.report import NoteRow, ScanSummary, render_terminal

T0 = datetime(2026, 11, 21, 22, 47, tzinfo=UTC)
NASTY = "[bold red]Finances[/]\x1b[2J\u202etxt.exe"


def summary(**changes: object) -> ScanSummary:
    base = ScanSummary(
        scan_id=7,
        incident="INC-2026-011",
        root="/mnt/partages",
        status="done",
        started=T0,
        finished=T0 + timedelta(hours=2),
        total_files=1_234_567,
        total_bytes=5 * 1024**3,
        by_verdict={"intact": 1_200_000, "encrypted": 34_000, "ransom_note": 567},
        by_folder={
            "Etat-civil": {"encrypted": 30_000, "intact": 1000},
            NASTY: {"encrypted": 4000, "ransom_note": 567},
            **{f"dept-{i}": {"intact": 1000 + i} for i in range(20)},
        },
        by_family={"lockbit": 34_567},
        by_format={"pdf": {"encrypted": 34_000}},
        notes=(
            NoteRow("a/README.txt", "lockbit", 0.9, (("btc", "bc1qexample"), ("onion", NASTY))),
        ),
        window=(T0, T0 + timedelta(hours=3, minutes=5)),
        timeline=((T0, 34_000),),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def render(s: ScanSummary, lang: str = "en") -> str:
    out = io.StringIO()
    render_terminal(
        s, Console(file=out, width=110, force_terminal=True, color_system="truecolor"), lang
    )
    return out.getvalue()


def test_shows_totals_folders_families_window_and_indicators() -> None:
    text = render(summary()).replace("\u00a0", " ")
    for expected in (
        "1,234,567",
        "34,000",
        "Etat-civil",
        "lockbit",
        "3 h 05 min",
        "bc1qexample",
        "Encrypted",
        "5.0 GB",
        "others (17)",
    ):
        assert expected in text, expected
    assert text.index("Etat-civil") < text.index("dept-")


def test_hostile_names_neither_style_nor_drive_the_terminal() -> None:
    text = render(summary())
    assert "\x1b[2J" not in text and "\u202e" not in text
    assert "[bold red]Finances[/]\\x1b[2J\\u202etxt.exe" in text.replace("\n", "")


@pytest.mark.parametrize(
    ("status", "says"), [("interrupted", "Run the same command again"), ("running", "provisional")]
)
def test_incomplete_scan_says_so(status: str, says: str) -> None:
    assert says in render(summary(status=status, finished=None))
    assert says not in render(summary())


def test_empty_scan_and_french() -> None:
    empty = summary(
        total_files=0,
        total_bytes=0,
        by_verdict={},
        by_folder={},
        by_family={},
        notes=(),
        window=None,
        timeline=(),
    )
    text = render(empty, "fr")
    assert "Aucun fichier chiffré" in text
    assert "Indicateurs" not in text
