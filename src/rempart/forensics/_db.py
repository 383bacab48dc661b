"""Store helpers shared by the timeline modules: incidents, idempotent batch inserts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, DateTime, Engine, Table, insert, select

from rempart.forensics._errors import TimelineError
from rempart.store.models import Incident


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
        rows = [{**row, **{n: _sqlite_time(row[n]) for n in dates}} for row in rows]
    if conn.dialect.name == "postgresql":
        # PostgreSQL text cannot hold NUL, which damaged logs do: kept visible, escaped.
        conn.exec_driver_sql(sql, [tuple(_no_nul(row[n]) for n in names) for row in rows])
    else:
        conn.exec_driver_sql(sql, [tuple(row[n] for n in names) for row in rows])


def _no_nul(value: Any) -> Any:
    if isinstance(value, str) and "\x00" in value:
        return value.replace("\x00", "\\x00")
    return value


def _sqlite_time(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def incident_id(engine: Engine, key: str, *, create: bool) -> int:
    """The id of incident `key`; created when new and `create`, else an error."""
    with engine.begin() as conn:
        found = conn.scalar(select(Incident.id).where(Incident.key == key))
        if found is not None:
            return int(found)
        if not create:
            raise TimelineError(
                f"no incident {key!r} in this store",
                hint="check --incident and --db, or ingest logs first",
            )
        conn.execute(insert(Incident).values(key=key, title=key))
        return int(conn.scalar(select(Incident.id).where(Incident.key == key)) or 0)
