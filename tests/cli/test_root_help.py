"""`rempart --help` says what exists and what is still to come, truthfully."""

from __future__ import annotations

import pytest

from rempart.cli import main


def test_only_recover_is_to_come(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    text = " ".join(capsys.readouterr().out.replace("│", " ").split())
    summary = text.split("Ransomware response kit:", 1)[1].split("recover to come.", 1)[0]
    done, to_come = summary.rsplit(";", 1)
    assert to_come.strip() == ""  # nothing but recover after the last ';'
    for name in ("scan", "guard", "contain", "timeline", "evidence", "serve", "exercise"):
        assert name in done, name
