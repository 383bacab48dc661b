"""contrib/systemd: an installable unit, and instructions that agree with README.md."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CONTRIB = REPO / "contrib" / "systemd"
UNIT = CONTRIB / "rempart-guard.service"


def test_install_instructions_are_from_the_checkout() -> None:
    text = (CONTRIB / "README.md").read_text()
    assert "pip install rempart" not in text  # not on PyPI
    assert "/opt/rempart/bin/pip install /path/to/rempart" in text


def test_the_samba_log_is_the_one_readme_uses_and_smbd_writes() -> None:
    """docs/guard.md: --samba-log reads smbd's `log file`; the contrib README sets it."""
    contrib = set(re.findall(r"--samba-log (\S+?)`?\s", (CONTRIB / "README.md").read_text()))
    readme = set(re.findall(r"--samba-log ([^\s`]+)", (REPO / "README.md").read_text()))
    assert contrib and contrib == readme, (contrib, readme)
    assert f"log file = {contrib.pop()}" in (CONTRIB / "README.md").read_text()


def test_documentation_links_point_at_something_installed() -> None:
    for line in UNIT.read_text().splitlines():
        if line.startswith("Documentation="):
            for url in line.split("=", 1)[1].split():
                assert not url.startswith("file:") or Path(url[len("file://") :]).exists(), url


def test_systemd_accepts_the_unit(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    # verify checks that ExecStart's program exists: point it at this venv's rempart
    rempart = Path(sys.executable).parent / "rempart"
    unit = tmp_path / UNIT.name
    unit.write_text(UNIT.read_text().replace("/usr/local/bin/rempart", str(rempart)))
    done = subprocess.run(
        [analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0 and not done.stdout + done.stderr, done.stdout + done.stderr
