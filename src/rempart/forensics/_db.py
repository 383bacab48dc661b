"""Store helpers shared by the timeline modules: incidents, idempotent batch inserts."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, DateTime, Engine, Table

from rempart.forensics._errors import TimelineError
from rempart.store.models import find_incident


def insert_ignoring(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert rows, skipping those whose unique key is already stored (re-runs are no-ops).

    Rows go to the driver's executemany as tuples: building SQLAlchemy parameters for each of
    a million log lines cost a third of the ingest time. The columns are the first row's keys.
    """
    if not rows:
        return
    names = list(rows[0])
    for name in names:
        table.c[name]  # an unknown column fails here, not as SQL
    marker = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sql = (
        f"INSERT INTO {table.name} ({', '.join(names)}) "
        f"VALUES ({', '.join([marker] * len(names))}) ON CONFLICT DO NOTHING"
    )
    dates = [n for n in names if isinstance(table.c[n].type, DateTime)]
    if dates and conn.dialect.name == "sqlite":
        # Stored the way SQLAlchemy's SQLite DateTime stores and reads them back.
        rows = [{**row, **{n: sqlite_time(row[n]) for n in dates}} for row in rows]
    if conn.dialect.name == "postgresql":
        # PostgreSQL text cannot hold NUL, which damaged logs do: kept visible, escaped.
        conn.exec_driver_sql(sql, [tuple(no_nul(row[n]) for n in names) for row in rows])
    else:
        conn.exec_driver_sql(sql, [tuple(row[n] for n in names) for row in rows])


#: while ingesting into SQLite: a page cache (KiB) that holds a 5,000-row batch (~10 MB with
#: the raw records), so its pages are not spilled to the WAL mid-transaction (bounded: memory
#: stays flat); and a WAL checkpoint every 16,384 pages (64 MiB) rather than 1,000, so the
#: database file is written and synced every ~6 batches, not after each one
_INGEST_PRAGMAS = {"cache_size": (-16384, -2000), "wal_autocheckpoint": (16384, 1000)}


@contextmanager
def bulk_inserts(conn: Connection) -> Iterator[None]:
    """SQLite settings of a connection while it ingests, restored after (it goes back to the pool).

    Foreign keys are not checked per row (two index lookups each): every row's incident and
    source ids were read or inserted by this same connection just before.
    """
    if conn.dialect.name != "sqlite":
        yield
        return
    conn.commit()  # PRAGMA foreign_keys is ignored inside a transaction
    for name, (value, _default) in _INGEST_PRAGMAS.items():
        conn.exec_driver_sql(f"PRAGMA {name} = {value}")
    conn.exec_driver_sql("PRAGMA foreign_keys = OFF")
    try:
        yield
    finally:
        conn.rollback()  # nothing is pending after a normal run; on an error, the batch is dropped
        conn.exec_driver_sql("PRAGMA foreign_keys = ON")
        for name, (_value, default) in _INGEST_PRAGMAS.items():
            conn.exec_driver_sql(f"PRAGMA {name} = {default}")


def no_nul(value: Any) -> Any:
    if isinstance(value, str) and "\x00" in value:
        return value.replace("\x00", "\\x00")
    return value


def sqlite_time(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def incident_id(engine: Engine, key: str, *, create: bool) -> int:
    """The id of incident `key`; created when new and `create`, else an error."""
    with engine.begin() as conn:
        found = find_incident(conn, key, create=create)
    if found is None:
        raise TimelineError(
            f"no incident {key!r} in this store",
            hint="check --incident and --db, or ingest logs first",
        )
    return found
