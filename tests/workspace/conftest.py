"""Fixtures of the workspace tests (the world is built in _wsworld.py, importable by tests)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from _wsworld import world  # noqa: F401  # tests/workspace is on sys.path (rootdir imports)

from rempart.workspace import passwords


@pytest.fixture(autouse=True, scope="session")
def _cheap_argon2() -> Iterator[None]:
    # Still real argon2id, with a lower cost: each test creates seven users on two stores.
    passwords.configure(time_cost=1, memory_cost=8192)
    yield
    passwords.configure(time_cost=3, memory_cost=65536)
