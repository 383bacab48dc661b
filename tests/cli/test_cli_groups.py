"""The application registers every command group, whatever command ran first in the process."""

from __future__ import annotations

from pathlib import Path

import pytest

from rempart.cli import main


def test_groups_are_registered_after_a_scan_ran_in_the_same_process(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "share"
    root.mkdir()
    (root / "a.txt").write_text("hello\n")
    rc = main(["scan", str(root), "--db", str(tmp_path / "s.db"), "--json"])
    assert rc == 0
    capsys.readouterr()
    assert main(["--help"]) == 0
    listed = capsys.readouterr().out
    for group in ("guard", "contain", "timeline", "evidence", "serve"):
        assert group in listed
