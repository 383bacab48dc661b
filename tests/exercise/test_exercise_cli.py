"""The exercise commands: thin, with one-line summaries and the CLI's exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest

from rempart.cli import main
from rempart.exercise import verify


def test_build_attack_undo(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    share = tmp_path / "share"
    assert main(["exercise", "build", str(share), "--files", "30", "--seed", "3"]) == 0
    assert "built 30 files" in capsys.readouterr().out
    rc = main(
        [
            "exercise",
            "attack",
            str(share),
            "--layout",
            "blackbasta",
            "--family",
            "blackbasta",
            "--extension",
            "append",
            "--order",
            "random",
            "--seed",
            "1",
        ]
    )
    out = capsys.readouterr().out
    assert rc == 0
    assert out.startswith("attack pid ")
    assert "attacked 30 files" in out and "family blackbasta" in out and ".basta" in out
    assert main(["exercise", "undo", str(share)]) == 0
    assert "restored 30 files" in capsys.readouterr().out
    assert verify(share) == []


def test_errors_are_one_line_with_exit_code_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["exercise", "attack", str(tmp_path)]) == 2
    assert "not a practice share" in capsys.readouterr().err
    assert main(["exercise", "undo", "/"]) == 2
    assert main(["exercise", "attack", str(tmp_path), "--layout", "nope"]) == 2


def test_every_command_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("build", "attack", "undo"):
        assert main(["exercise", command, "--help"]) == 0
        assert len(capsys.readouterr().out) > 200
