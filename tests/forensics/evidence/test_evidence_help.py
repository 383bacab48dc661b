"""`rempart evidence --help` shows the real defaults of the settings-backed options."""

from __future__ import annotations

from pathlib import Path

import pytest

from rempart.cli import main

SHOWN = {
    "--keys": "[env var: REMPART_EVIDENCE_KEYS] [default: ~/.rempart/keys]",
    "--locker": "[env var: REMPART_EVIDENCE_LOCKER] [default: evidence-locker]",
    "--max-copy": "[env var: REMPART_EVIDENCE_MAX_COPY] [default: 64G]",
}
TAKES = {
    ("add",): ("--keys", "--locker", "--max-copy"),
    ("log",): ("--keys",),
    ("export",): ("--keys",),
    ("key", "create"): ("--keys",),
}


@pytest.fixture
def no_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No evidence setting in the environment; HOME and the current folder in tmp_path."""
    for name in ("REMPART_EVIDENCE_KEYS", "REMPART_EVIDENCE_LOCKER", "REMPART_EVIDENCE_MAX_COPY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("REMPART_DB", f"sqlite:///{tmp_path / 's.db'}")
    monkeypatch.setenv("REMPART_RESPONDER", "alice")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_help_shows_each_default_and_its_variable(
    no_settings: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for command, options in TAKES.items():
        assert main(["evidence", *command, "--help"]) == 0
        text = " ".join(capsys.readouterr().out.replace("│", " ").split())
        for option in options:
            assert SHOWN[option] in text, (command, option, text)


def test_the_defaults_shown_are_the_ones_used(
    no_settings: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["evidence", "key", "create", "alice"]) == 0
    assert (no_settings / ".rempart" / "keys" / "alice.key").is_file()
    (no_settings / "note.txt").write_text("LISEZ-MOI\n")
    argv = ["add", "note.txt", "--incident", "inc", "--description", "a note"]
    assert main(["evidence", *argv, "--create-incident"]) == 0
    assert "copied to" in capsys.readouterr().out
    assert any(p.name == "note.txt" for p in (no_settings / "evidence-locker").rglob("*"))
