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


_FUTURE = '''"""a future migration, for the test: alters scan tables the way SQLite needs (batch)"""

import sqlalchemy as sa
from alembic import op

revision = "9999"
down_revision = "{head}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("scan_files") as batch:
        batch.add_column(sa.Column("owner", sa.String(120), nullable=True))
        batch.drop_constraint("uq_scan_files_path", type_="unique")
        batch.create_unique_constraint("uq_scan_files_path2", ["scan_id", "path_key"])
        batch.drop_index("ix_scan_files_verdict")
    with op.batch_alter_table("scan_dirs") as batch:
        batch.drop_constraint("uq_scan_dirs_path", type_="unique")


def downgrade() -> None:
    raise NotImplementedError
'''


def test_a_store_made_in_one_step_takes_a_later_migration_like_a_migrated_one(
    tmp_path: Path,
) -> None:
    """Stamped at the right revision, with the constraint names later migrations refer to."""
    import shutil

    from alembic import command
    from alembic.config import Config

    from rempart.store._engine import MIGRATIONS

    migrations = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS, migrations, ignore=shutil.ignore_patterns("__pycache__"))
    (migrations / "versions" / "9999_future.py").write_text(_FUTURE.replace("{head}", HEAD))

    def upgrade_to_future(url: str) -> None:
        cfg = Config()
        cfg.set_main_option("script_location", str(migrations))
        with make_engine(url).begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    fast, slow = tmp_path / "fast.db", tmp_path / "slow.db"
    open_store(f"sqlite:///{fast}")  # the one-step creation
    upgrade(make_engine(f"sqlite:///{slow}"))  # the migrations
    for db in (fast, slow):
        upgrade_to_future(f"sqlite:///{db}")
        con = sqlite3.connect(db)
        assert con.execute("SELECT version_num FROM alembic_version").fetchall() == [("9999",)]
        con.close()
    assert _schema(fast) == _schema(slow)
    assert any(c[0] == "owner" for c in _schema(fast)["scan_files"][0])  # type: ignore[index]
