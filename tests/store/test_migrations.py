"""The store knows its newest migration, so an up-to-date store opens without alembic."""

from __future__ import annotations

from alembic.config import Config
from alembic.script import ScriptDirectory

from rempart.store import open_store
from rempart.store._engine import HEAD, MIGRATIONS, current_revision, make_engine, upgrade


def test_head_constant_matches_the_migrations_folder() -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(cfg).get_current_head() == HEAD


def test_new_store_is_migrated_to_head(store_url: str) -> None:
    engine = open_store(store_url)
    assert current_revision(engine) == HEAD


def test_migrations_create_exactly_the_models(store_url: str) -> None:
    """Every table and column of the models comes from a migration, and nothing else does.

    Through alembic explicitly: `open_store` creates a new SQLite store from the models in one
    step, which would compare the models with themselves.
    """
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from rempart.store import Base

    engine = make_engine(store_url)
    upgrade(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
