"""The incident store: one SQLite file by default, PostgreSQL for a shared service."""

from __future__ import annotations

from sqlalchemy import Engine

from rempart.store._engine import make_engine, migrate
from rempart.store.models import Base, Incident, Scan, ScanDir, ScanFile

# Each area's tables live in their own module and join the same metadata when imported.
from rempart.store import contain, evidence, guard, timeline, workspace  # noqa: F401  # isort: skip

__all__ = [
    "Base",
    "Incident",
    "Scan",
    "ScanDir",
    "ScanFile",
    "make_engine",
    "migrate",
    "open_store",
]


def open_store(url: str) -> Engine:
    """Open (creating and migrating as needed) the store at `url`."""
    engine = make_engine(url)
    migrate(engine)
    return engine
