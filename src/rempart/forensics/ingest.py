"""`timeline ingest`: log files and scan results -> normalized events in the incident store.

Files are streamed in batches (memory stays flat whatever the size), each batch committed
with the count of records it covers, so an interrupted run resumes where it stopped; the
unique key (source, record) makes any re-run a no-op.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Connection, Engine, select, update

from rempart.forensics import _scans
from rempart.forensics._db import incident_id, insert_ignoring
from rempart.forensics._errors import TimelineError
from rempart.forensics.parsers import Parser, Row, find_parser
from rempart.store.models import utcnow
from rempart.store.timeline import EVENTS, SOURCES

BATCH = 5000

#: (files done, events read, current path) -> None
Progress = Callable[[int, int, str], None]


def display(path: Path) -> str:
    """A path for people and the store: undecodable bytes shown as \\xNN, never dropped."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


@dataclass(frozen=True)
class IngestWarning:
    path: str
    message: str


@dataclass
class IngestSummary:
    incident: str
    files: int = 0
    events: int = 0  # records read this run (already stored ones are not stored twice)
    unchanged: int = 0  # files ingested before and unchanged since: skipped
    skipped: list[str] = field(default_factory=list)  # not a format we read
    by_kind: Counter[str] = field(default_factory=Counter)
    warnings: list[IngestWarning] = field(default_factory=list)


def _files(paths: Iterable[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            for root, dirs, names in os.walk(path):
                dirs.sort()
                for name in sorted(names):
                    yield Path(root) / name
        elif path.exists():
            yield path
        else:
            raise TimelineError(f"no such file or folder: {path}")


def _head(path: Path) -> bytes:
    with path.open("rb") as handle:
        return handle.read(4096)


def ingest(
    engine: Engine,
    paths: Iterable[Path],
    incident: str,
    *,
    scans: bool = True,
    progress: Progress | None = None,
) -> IngestSummary:
    """Ingest every log file under `paths` (and the incident's scan results) into the store.

    Raises:
        TimelineError: a path does not exist.
    """
    paths = list(paths)
    for path in paths:
        if not path.exists():
            raise TimelineError(f"no such file or folder: {path}")
    inc = incident_id(engine, incident, create=True)
    summary = IngestSummary(incident)
    # One connection for the run: thousands of small logs each cost a pool checkout otherwise.
    with engine.connect() as conn:
        _ingest_files(conn, inc, paths, summary, progress)
        conn.commit()  # the registrations of files found unchanged
    if scans:
        summary.events += _scans.ingest_scans(engine, inc)
    return summary


@contextmanager
def _tx(conn: Connection) -> Iterator[Connection]:
    """One transaction on the run's connection: committed at the end, rolled back on error."""
    try:
        yield conn
    except BaseException:
        conn.rollback()
        raise
    conn.commit()


def _ingest_files(
    conn: Connection,
    inc: int,
    paths: list[Path],
    summary: IngestSummary,
    progress: Progress | None,
) -> None:
    for path in _files(paths):
        try:
            head = _head(path)
        except OSError as exc:
            summary.warnings.append(IngestWarning(display(path), f"cannot read: {exc.strerror}"))
            continue
        parser = find_parser(path, head)
        if parser is None:
            summary.skipped.append(display(path))
            continue
        _ingest_file(conn, inc, path, parser, summary, progress)
        summary.files += 1


def _source(conn: Connection, inc: int, path: Path, kind: str) -> tuple[int, int, str, int]:
    """(source id, records already stored, status, size then) of a file, registered if new.

    Not committed here: the registration joins the file's first batch (one commit, not two,
    for each of the thousands of small logs an export holds).
    """
    key = hashlib.sha1(os.fsencode(path.resolve())).hexdigest()
    table = SOURCES
    insert_ignoring(
        conn,
        table,
        [
            {
                "incident_id": inc,
                "source_key": key,
                "path": display(path),
                "kind": kind,
                "size": 0,
                "status": "running",
                "done": 0,
                "events": 0,
                "warnings": 0,
                "updated_at": utcnow(),
            }
        ],
    )
    row = conn.execute(
        select(table.c.id, table.c.done, table.c.status, table.c.size).where(
            table.c.incident_id == inc, table.c.source_key == key
        )
    ).one()
    return int(row.id), int(row.done), str(row.status), int(row.size)


def _ingest_file(
    conn: Connection,
    inc: int,
    path: Path,
    parser: Parser,
    summary: IngestSummary,
    progress: Progress | None,
) -> None:
    size = path.stat().st_size
    source_id, done, status, old_size = _source(conn, inc, path, parser.name)
    if status == "done" and old_size == size:
        summary.unchanged += 1
        return
    warnings: list[str] = []

    def warn(message: str) -> None:
        warnings.append(message)
        summary.warnings.append(IngestWarning(display(path), message))

    # A log that grew since (auth.log appended) resumes after what is stored, like a
    # killed run; records are numbered in file order, so `done` is where to start.
    batch: list[Row] = []
    position = done
    for row in parser.parse(path, done, warn):
        row["incident_id"] = inc
        row["source_id"] = source_id
        row["source"] = parser.name
        batch.append(row)
        if len(batch) >= BATCH:
            position = _flush(conn, source_id, batch, position, summary, progress, path)
    # The last batch and the end of the file in one transaction: small logs are many.
    done_values = {"status": "done", "size": size, "warnings": len(warnings)}
    _flush(conn, source_id, batch, position, summary, progress, path, done_values)
    summary.by_kind[parser.name] += 1


def _flush(
    conn: Connection,
    source_id: int,
    batch: list[Row],
    position: int,
    summary: IngestSummary,
    progress: Progress | None,
    path: Path,
    final: dict[str, object] | None = None,
) -> int:
    """Store a batch and, in the same transaction, how far into the file it reaches."""
    if not batch and final is None:
        return position
    reached = position
    if batch:
        last = batch[-1]["record_id"] or position + len(batch)
        reached = max(position + len(batch), int(last) if batch[-1]["source"] != "evtx" else 0)
    table = SOURCES
    with _tx(conn):
        insert_ignoring(conn, EVENTS, batch)
        conn.execute(
            update(table)
            .where(table.c.id == source_id)
            .values(
                done=reached,
                events=table.c.events + len(batch),
                updated_at=utcnow(),
                **(final or {}),
            )
        )
    summary.events += len(batch)
    batch.clear()
    if progress:
        progress(summary.files, summary.events, str(path))
    return reached
