"""Fixtures: one small practice share per test session, copied for each test that attacks it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rempart.exercise import Manifest, build

SEED = 11
FILES = 120


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Manifest:
    """A share built once (read-only for tests: copy it with `share` before changing it)."""
    return build(tmp_path_factory.mktemp("built") / "share", FILES, SEED)


@pytest.fixture
def share(built: Manifest, tmp_path: Path) -> Path:
    """A fresh copy of the session share (mtimes kept to the nanosecond)."""
    dest = tmp_path / "share"
    shutil.copytree(built.root, dest, symlinks=True, copy_function=shutil.copy2)
    return dest
