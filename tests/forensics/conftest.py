"""Fixtures of the timeline tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from _timeline_samples import evtx_samples as _evtx_samples
from _timeline_samples import text_logs as _text_logs


@pytest.fixture
def text_logs(tmp_path: Path) -> Path:
    return _text_logs(tmp_path)


@pytest.fixture
def evtx_samples() -> tuple[Path, Path]:
    return _evtx_samples()
