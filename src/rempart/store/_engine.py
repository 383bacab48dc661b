"""Opening the store: engine from a URL, SQLite tuned for one writer, migrations to head."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import (
    ArgumentError,
    DatabaseError,
    NoSuchModuleError,
    OperationalError,
    ProgrammingError,
)

from rempart.errors import StoreError

MIGRATIONS = Path(__file__).parent / "migrations"
#: The newest migration; a test checks it against the migrations folder. Knowing it lets
#: an up-to-date store open without loading alembic (a tenth of a second every command).
HEAD = "0006"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    # WAL: readers (the web workspace, a report) do not block the scan writing.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


def make_engine(url: str) -> Engine:
    """An engine for `url` (sqlite:///file or postgresql://...), psycopg 3 for PostgreSQL."""
    if url.startswith(("postgresql://", "postgres://")):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    try:
        engine = create_engine(url)
    except (ArgumentError, NoSuchModuleError, ImportError) as exc:
        raise StoreError(
            f"cannot use store URL {url!r}: {exc}",
            hint="use sqlite:///path/to/file.db or postgresql://user:password@host/db",
        ) from exc
    if engine.dialect.name == "sqlite":
        database = engine.url.database
        if database and database != ":memory:":
            parent = Path(database).expanduser().resolve().parent
            if not parent.is_dir():
                raise StoreError(f"the folder of the store file does not exist: {parent}")
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def current_revision(engine: Engine) -> str | None:
    """The store's migration revision, or None for a new (or unreachable) store."""
    try:
        with engine.connect() as conn:
            found = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except (OperationalError, ProgrammingError):
        return None  # no table yet; an unreachable server fails again, clearly, in migrate
    except DatabaseError as exc:  # e.g. --db pointing at a file that is not a database
        raise StoreError(
            f"cannot open the incident store at {engine.url.render_as_string()}: {exc.orig}",
            hint="is this file a rempart store? use another --db",
        ) from exc
    return None if found is None else str(found)


def migrate(engine: Engine) -> None:
    """Bring the store's schema to the newest migration (no-op when already there)."""
    revision = current_revision(engine)
    if revision == HEAD:
        return
    if revision is None and _create_fresh_sqlite(engine):
        return
    upgrade(engine)


def upgrade(engine: Engine) -> None:
    """Run the Alembic migrations up to head (what `migrate` does unless the store is new)."""
    from alembic import command  # noqa: PLC0415  # loaded only when a migration is due
    from alembic.config import Config  # noqa: PLC0415  # as above

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    try:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
    except (OperationalError, DatabaseError) as exc:
        raise StoreError(
            f"cannot open the incident store at {engine.url.render_as_string()}: {exc.orig}",
            hint="check the --db URL or REMPART_DB, and that the server is running",
        ) from exc


def _create_fresh_sqlite(engine: Engine) -> bool:
    """Create an empty SQLite store's schema from the models in one step, stamped at HEAD.

    Loading alembic and replaying every migration costs a tenth of a second, on every scan
    into a new store. The migrations stay the truth: tests check that they create exactly
    these tables, columns, indexes and constraints, and that both ways give the same schema.
    False (nothing done) when the store is not SQLite, already holds tables, or cannot be
    written.
    """
    if engine.dialect.name != "sqlite":
        return False
    from rempart.store import Base  # noqa: PLC0415  # the package, with every area's models

    try:
        with engine.begin() as conn:
            # One transaction, explicit (sqlite3 would run each CREATE on its own): all the
            # schema or none, and a second process creating the same store waits, then sees
            # the tables and leaves them alone.
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            if conn.exec_driver_sql("SELECT count(*) FROM sqlite_master").scalar():
                return False
            Base.metadata.create_all(conn, checkfirst=False)
            # alembic's own version table (alembic.ddl.impl.version_table_impl), stamped.
            conn.exec_driver_sql(
                "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, "
                "CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))"
            )
            conn.exec_driver_sql("INSERT INTO alembic_version (version_num) VALUES (?)", (HEAD,))
    except (OperationalError, DatabaseError):
        # e.g. a read-only folder: the migrations meet the same error and report it in the
        # words every store error uses (the transaction above left nothing behind).
        return False
    return True
