"""The exercise commands: thin, with one-line summaries and the CLI's exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest

from rempart.cli import main
from rempart.exercise import attack, undo, verify


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


def test_a_refusal_names_its_command_and_comes_before_any_pid(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "precious.docx").write_bytes(b"real work")
    hints = {
        ("attack",): "can be attacked",
        ("undo",): "undo only restores folders made by `rempart exercise build`",
        ("workload", "--kind", "backup"): "a workload only runs in folders made by",
    }
    for (command, *options), hint in hints.items():
        assert main(["exercise", command, str(tmp_path), *options]) == 2
        captured = capsys.readouterr()
        assert "not a practice share" in captured.err and hint in captured.err, captured.err
        assert "pid" not in captured.out  # refused: nothing started, nothing to watch or kill
    assert (tmp_path / "precious.docx").read_bytes() == b"real work"


def test_a_second_attack_is_refused_before_its_pid_line(
    share: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    attack(share, layout="xor", seed=2, durable=False)
    assert main(["exercise", "attack", str(share), "--seed", "3"]) == 2
    captured = capsys.readouterr()
    assert "already attacked" in captured.err and "attack pid" not in captured.out


def test_undo_again_is_nothing_to_do_and_exit_0(
    share: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    attack(share, layout="xor", seed=4, durable=False)
    assert main(["exercise", "undo", str(share)]) == 0
    assert "restored" in capsys.readouterr().out
    for _ in range(2):  # already undone, then undone again: the same calm answer
        assert main(["exercise", "undo", str(share)]) == 0
        captured = capsys.readouterr()
        assert captured.out == f"nothing to undo: no attack recorded on {share} (already undone?)\n"
        assert captured.err == ""
    assert verify(share) == []
    assert undo(share).nothing_to_undo  # the library says so too, without raising
