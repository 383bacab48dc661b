"""`timeline show` / `export`: one merged timeline, filtered, as rows, CSV (Timesketch) or JSONL."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from sqlalchemy import Engine, and_, exists, func, select

from rempart.forensics._db import incident_id
from rempart.forensics._time import iso_from_us
from rempart.forensics.sigma._rules import LEVELS
from rempart.store.timeline import EVENTS, MATCHES

#: Timesketch's CSV import needs message, datetime, timestamp_desc; the rest are attributes.
CSV_COLUMNS = (
    "message",
    "datetime",
    "timestamp_desc",
    "timestamp",
    "event",
    "host",
    "source",
    "channel",
    "event_id",
    "record_id",
    "account",
    "process",
    "command_line",
    "parent",
    "logon_type",
    "src_addr",
    "target_host",
    "rules",
    "level",
    "ts_text",
    "ts_precision",
)


@dataclass(frozen=True)
class Filters:
    host: str | None = None
    account: str | None = None
    since_us: int | None = None
    until_us: int | None = None
    #: only events a rule of this level or above matched
    level: str | None = None
    limit: int | None = None


def _timestamp_desc(row: Any) -> str:
    if row.source == "scan":
        return "File modification time"
    if row.source == "evtx":
        return "Event time (TimeCreated)"
    return "Log line time"


def timeline(engine: Engine, incident: str, filters: Filters) -> Iterator[dict[str, Any]]:
    """The incident's events in time order (events without a time last), with their matches."""
    inc = incident_id(engine, incident, create=False)
    e, m = EVENTS.c, MATCHES.c
    where = [e.incident_id == inc]
    if filters.host:
        where.append(func.lower(e.host) == filters.host.lower())
    if filters.account:
        where.append(func.lower(e.account).contains(filters.account.lower()))
    if filters.since_us is not None:
        where.append(e.ts_us >= filters.since_us)
    if filters.until_us is not None:
        where.append(e.ts_us <= filters.until_us)
    if filters.level:
        wanted = LEVELS[LEVELS.index(filters.level) :]
        where.append(exists().where(and_(m.event_pk == e.id, m.level.in_(wanted))))
    query = (
        select(
            e.id,
            e.ts_us,
            e.ts_text,
            e.ts_precision,
            e.host,
            e.source,
            e.channel,
            e.event_id,
            e.record_id,
            e.account,
            e.process,
            e.command_line,
            e.parent,
            e.logon_type,
            e.src_addr,
            e.target_host,
            e.message,
        )
        .where(*where)
        .order_by(e.ts_us.is_(None), e.ts_us, e.id)
    )
    if filters.limit:
        query = query.limit(filters.limit)
    with engine.connect() as conn:
        rows = conn.execution_options(stream_results=True, yield_per=2000).execute(query)
        for part in rows.partitions(2000):
            matches = _matches(conn, [r.id for r in part])
            for row in part:
                rules = matches.get(row.id, [])
                level = max((LEVELS.index(lv) for _, lv in rules), default=None)
                yield {
                    "message": row.message,
                    "datetime": "" if row.ts_us is None else iso_from_us(row.ts_us),
                    "timestamp_desc": _timestamp_desc(row),
                    "timestamp": row.ts_us,
                    "event": row.id,
                    "host": row.host,
                    "source": row.source,
                    "channel": row.channel,
                    "event_id": row.event_id,
                    "record_id": row.record_id,
                    "account": row.account,
                    "process": row.process,
                    "command_line": row.command_line,
                    "parent": row.parent,
                    "logon_type": row.logon_type,
                    "src_addr": row.src_addr,
                    "target_host": row.target_host,
                    "rules": [title for title, _ in rules],
                    "level": None if level is None else LEVELS[level],
                    "ts_text": row.ts_text,
                    "ts_precision": row.ts_precision,
                }


def _matches(conn: Any, ids: list[int]) -> dict[int, list[tuple[str, str]]]:
    m = MATCHES.c
    found: dict[int, list[tuple[str, str]]] = {}
    for event, title, level in conn.execute(
        select(m.event_pk, m.rule_title, m.level).where(m.event_pk.in_(ids))
    ):
        found.setdefault(int(event), []).append((title, level))
    return found


def write_csv(rows: Iterator[dict[str, Any]], out: IO[str]) -> int:
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    count = 0
    for row in rows:
        writer.writerow({**row, "rules": "; ".join(row["rules"])})
        count += 1
    return count


def write_jsonl(rows: Iterator[dict[str, Any]], out: IO[str]) -> int:
    count = 0
    for row in rows:
        out.write(json.dumps(row, ensure_ascii=False) + "\n")
        count += 1
    return count
