"""`timeline ingest`: log files and scan results -> normalized events in the incident store.

Files are streamed in batches (memory stays flat whatever the size), each batch committed
with the count of records it covers in each file, so an interrupted run resumes where it
stopped; the unique key (source, record) makes any re-run a no-op. A batch spans several
files (exports hold thousands of small logs: one commit each cost more than their events),
and a worker process parses while this one inserts (see `_pipeline`).
"""

from __future__ import annotations

import hashlib
import itertools
import os
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Connection, Engine

from rempart.forensics import _scans
from rempart.forensics._db import (
    bulk_inserts,
    incident_id,
    insert_tuples,
    sqlite_time,
    update_sources,
)
from rempart.forensics._errors import TimelineError
from rempart.forensics._pipeline import WORKER_FROM, Job, Message, run_inline, run_workers
from rempart.forensics.parsers import find_parser, open_evidence
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
    with open_evidence(path) as handle:
        return handle.read(4096)


def ingest(
    engine: Engine,
    paths: Iterable[Path],
    incident: str,
    *,
    scans: bool = True,
    progress: Progress | None = None,
    worker: bool | None = None,
) -> IngestSummary:
    """Ingest every log file under `paths` (and the incident's scan results) into the store.

    `worker`: parse in worker processes (None: when the input is large enough to gain and a
    core is idle).

    Raises:
        TimelineError: a path does not exist, or the parser process failed.
    """
    paths = list(paths)
    for path in paths:
        if not path.exists():
            raise TimelineError(f"no such file or folder: {path}")
    inc = incident_id(engine, incident, create=True)
    summary = IngestSummary(incident)
    # One connection for the run: thousands of small logs each cost a pool checkout otherwise.
    with engine.connect() as conn, bulk_inserts(conn):
        _Run(conn, inc, summary, progress).ingest(paths, worker)
    if scans:
        summary.events += _scans.ingest_scans(engine, inc)
    return summary


class _Run:
    """Files -> jobs for the parser; its messages -> batches committed with the progress."""

    def __init__(
        self, conn: Connection, inc: int, summary: IngestSummary, progress: Progress | None
    ) -> None:
        self.conn, self.inc, self.summary, self.progress = conn, inc, summary, progress
        self.rows: dict[tuple[str, ...], list[tuple[object, ...]]] = {}
        self.count = 0
        #: source id -> column values to store with the batch (done, events, final status)
        self.sources: dict[int, dict[str, object]] = {}
        self.sizes: dict[int, int] = {}
        self.warned: dict[int, int] = {}

    def ingest(self, paths: list[Path], worker: bool | None) -> None:
        jobs = self._jobs(paths)
        if worker is None:
            # Peek at the first jobs: a worker is worth starting only for a large input.
            first: list[Job] = []
            total = 0
            for job in jobs:
                first.append(job)
                total += self.sizes[job.source_id]
                if total >= WORKER_FROM:
                    break
            worker = total >= WORKER_FROM and _core_free()
            jobs = itertools.chain(first, jobs)
        run = run_workers if worker else run_inline
        try:
            # closing(): on an error here, the worker processes are stopped at once.
            with closing(run(jobs)) as messages:
                for job, message in messages:
                    self._handle(job, message)
        except BaseException:
            self.conn.rollback()
            raise
        self._flush()

    def _jobs(self, paths: list[Path]) -> Iterator[Job]:
        summary = self.summary
        for path in _files(paths):
            try:
                head = _head(path)
                size = path.stat().st_size
            except OSError as exc:
                summary.warnings.append(
                    IngestWarning(display(path), f"cannot read: {exc.strerror}")
                )
                continue
            parser = find_parser(path, head)
            if parser is None:
                summary.skipped.append(display(path))
                continue
            summary.files += 1
            source_id, done, status, old_size = _source(self.conn, self.inc, path, parser.name)
            if status == "done" and old_size == size:
                summary.unchanged += 1
                continue
            # A log that grew since (auth.log appended) resumes after what is stored, like a
            # killed run; records are numbered in file order, so `done` is where to start.
            self.sizes[source_id] = size
            self.warned[source_id] = 0
            self.sources[source_id] = {"done": done, "events": 0}
            summary.by_kind[parser.name] += 1
            yield Job(path, parser.name, done, self.inc, source_id)

    def _handle(self, job: Job, message: Message) -> None:
        kind = message[0]
        source = self.sources.setdefault(job.source_id, {"done": job.skip, "events": 0})
        if kind == "rows":
            names, rows, reached = message[1:4]
            self.rows.setdefault(names, []).extend(rows)
            self.count += len(rows)
            source["done"] = reached
            source["events"] = int(source["events"]) + len(rows)  # type: ignore[call-overload]
            self.summary.events += len(rows)
            if len(message) > 4:
                self._end(job, source)
            if self.count >= BATCH:
                self._flush(str(job.path))
        elif kind == "warn":
            self.warned[job.source_id] += 1
            self.summary.warnings.append(IngestWarning(display(job.path), message[1]))
        elif kind == "end":
            self._end(job, source)

    def _end(self, job: Job, source: dict[str, object]) -> None:
        # Stored with the file's last rows, in the same transaction.
        source.update(
            status="done",
            size=self.sizes.pop(job.source_id),
            warnings=self.warned.pop(job.source_id),
        )

    def _flush(self, path: str = "") -> None:
        """Store the batch and, in the same transaction, how far into each file it reaches."""
        conn = self.conn
        try:
            for names, rows in self.rows.items():
                insert_tuples(conn, EVENTS, names, rows)
            update_sources(conn, SOURCES, self.sources, utcnow())
        except BaseException:
            conn.rollback()
            raise
        conn.commit()
        self.rows.clear()
        self.count = 0
        # Files still being read stay in the next batch's updates (their events start at 0).
        self.sources = {
            sid: {"done": values["done"], "events": 0}
            for sid, values in self.sources.items()
            if "status" not in values
        }
        if self.progress:
            self.progress(self.summary.files, self.summary.events, path)


def _core_free() -> bool:
    """Is a core idle for the parser? On a busy machine a worker only adds its IPC costs."""
    cores = os.cpu_count() or 1
    return cores >= 2 and os.getloadavg()[0] <= cores - 1


def _source(conn: Connection, inc: int, path: Path, kind: str) -> tuple[int, int, str, int]:
    """(source id, records already stored, status, size then) of a file, registered if new.

    Not committed here: the registration joins the batch holding the file's rows. Straight
    through the driver's cursor: SQLAlchemy's execution costs more than these two statements,
    and an export holds thousands of small logs.
    """
    key = hashlib.sha1(os.fsencode(path.resolve())).hexdigest()
    m = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    now = utcnow()
    cursor = conn.connection.cursor()
    try:
        cursor.execute(
            f"INSERT INTO {SOURCES.name} (incident_id, source_key, path, kind, size, status, "
            f"done, events, warnings, updated_at) VALUES ({m}, {m}, {m}, {m}, 0, 'running', "
            f"0, 0, 0, {m}) ON CONFLICT DO NOTHING",
            (inc, key, display(path), kind, sqlite_time(now) if m == "?" else now),
        )
        cursor.execute(
            f"SELECT id, done, status, size FROM {SOURCES.name} "
            f"WHERE incident_id = {m} AND source_key = {m}",
            (inc, key),
        )
        row = cursor.fetchone()
    finally:
        cursor.close()
    if row is None:  # the row inserted or found just above: only a concurrent delete
        raise TimelineError(f"log source vanished from the store while ingesting: {path}")
    return int(row[0]), int(row[1]), str(row[2]), int(row[3])
