"""The application registers every command group, whatever command ran first in the process."""

from __future__ import annotations

import subprocess
import sys
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


def test_a_command_loads_its_own_group_only() -> None:
    """`rempart timeline ...` does not pay for the exercise's document libraries or the web."""
    code = (
        "import sys\n"
        "from rempart.cli import main\n"
        "rc = main(['timeline', '--help'])\n"
        "loaded = [m for m in ('rempart.cli.exercise', 'rempart.cli.serve', 'rempart.cli.timeline')"
        " if m in sys.modules]\n"
        "print(rc, *loaded)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert out.splitlines()[-1] == "0 rempart.cli.timeline"
