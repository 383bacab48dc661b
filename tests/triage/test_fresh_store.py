"""A new SQLite store is created from the models in one step: the same schema as the migrations.

The migrations stay the truth (an existing store, PostgreSQL, and every upgrade go through
them); this checks that the shortcut a scan into a new store takes gives exactly their result.
"""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import pytest

from rempart.errors import StoreError
from rempart.store import Base, open_store
from rempart.store._engine import HEAD, current_revision, make_engine, upgrade


def _schema(db: Path) -> dict[str, object]:
    """Every table's columns, indexes (with their columns), foreign keys, as sets."""
    con = sqlite3.connect(db)
    try:
        tables = [
            r[0]
            for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if not r[0].startswith("sqlite_")
        ]
        out: dict[str, object] = {}
        for t in tables:
            cols = {tuple(r[1:]) for r in con.execute(f"PRAGMA table_info('{t}')")}
            idx = set()
            for _seq, name, unique, origin, partial in con.execute(f"PRAGMA index_list('{t}')"):
                members = tuple(r[2] for r in con.execute(f"PRAGMA index_info('{name}')"))
                # autoindex names depend on creation order, their columns do not
                shown = "auto" if name.startswith("sqlite_autoindex") else name
                idx.add((shown, unique, origin, partial, members))
            fks = {tuple(r[2:]) for r in con.execute(f"PRAGMA foreign_key_list('{t}')")}
            out[t] = (cols, idx, fks)
        return out
    finally:
        con.close()


def test_fast_path_gives_the_schema_of_the_migrations(tmp_path: Path) -> None:
    fast = tmp_path / "fast.db"
    open_store(f"sqlite:///{fast}")
    slow = tmp_path / "slow.db"
    upgrade(make_engine(f"sqlite:///{slow}"))
    assert _schema(fast) == _schema(slow)
    assert set(_schema(fast)) == {*Base.metadata.tables, "alembic_version"}


def test_fast_path_stamps_head_and_does_not_load_alembic(tmp_path: Path) -> None:
    for name in [m for m in sys.modules if m == "alembic" or m.startswith("alembic.")]:
        del sys.modules[name]  # other tests load it; what matters is this open
    engine = open_store(f"sqlite:///{tmp_path / 'new.db'}")
    assert current_revision(engine) == HEAD
    assert "alembic" not in sys.modules


def test_migrations_create_exactly_the_models(tmp_path: Path) -> None:
    """What tests/store checks, through alembic itself now that new stores skip it."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    upgrade(engine)
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []


def test_a_store_with_tables_but_no_revision_goes_through_alembic(tmp_path: Path) -> None:
    """Not new, not ours: the shortcut leaves it to the migrations (which fail clearly)."""
    db = tmp_path / "other.db"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE incidents (id INTEGER PRIMARY KEY)")
    con.commit()
    con.close()
    with pytest.raises(StoreError, match="already exists"):
        open_store(f"sqlite:///{db}")
    con = sqlite3.connect(db)
    names = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    con.close()
    assert "scans" not in names  # the shortcut did not add the models' tables beside it
