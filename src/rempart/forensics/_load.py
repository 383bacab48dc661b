"""One process's share of an ingest: parse whole log files, store them in its own batches.

Each loader has its own connection and commits its own batches: parsed rows never travel
between processes (pickling ~1.6 KB of JSON per event through a pipe, then unpickling it,
cost more than storing it, and the one inserting process was the ceiling). A batch spans
files (thousands of small logs: a commit each cost more than their events) and holds, in the
same transaction, how far into each of its files it reaches: a killed run resumes there, and
the unique key (source, record) makes any re-read a no-op.

SQLite has one writer at a time: loaders in several processes share a lock held for the
insert and commit of a batch only, so one parses while another stores (the lock hands over
at once; SQLite's own busy wait sleeps and polls). PostgreSQL takes concurrent writers.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from rempart.forensics._db import no_nul, sqlite_time
from rempart.forensics._errors import TimelineError
from rempart.forensics.parsers import Row, find_parser, open_evidence
from rempart.store.models import utcnow
from rempart.store.timeline import EVENTS, SOURCES

#: rows per transaction: large enough to amortize the commit, small enough to keep memory flat
BATCH = 5000
#: files per transaction, even when they hold few rows (damaged logs, empty ones)
_FILES = 1000
_ID_NAMES = ("incident_id", "source_id", "source")
#: the zone a stored time's precision says it was read in (see `_time.zone_given`)
_GIVEN = re.compile(r"zone (\S+) given")


def display(path: Path) -> str:
    """A path for people and the store: undecodable bytes shown as \\xNN, never dropped."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


@dataclass(frozen=True)
class Task:
    """A few files for one loader (thousands of small logs: one message each cost too much)."""

    index: int
    #: (path, source key: sha1 of the resolved path)
    files: tuple[tuple[Path, str], ...]


@dataclass
class TaskResult:
    """What a task read (its rows may still wait for the loader's next commit)."""

    index: int
    files: int = 0
    events: int = 0
    unchanged: int = 0
    skipped: list[str] = field(default_factory=list)
    by_kind: Counter[str] = field(default_factory=Counter)
    warnings: list[tuple[str, str]] = field(default_factory=list)
    last: str = ""


class _File:
    """A log being stored: its source row, how far it is stored, its rows not yet stored."""

    __slots__ = ("done", "finished", "key", "kind", "rows", "shown", "sid", "size", "warnings")

    def __init__(self, shown: str, key: str, kind: str, size: int, sid: int | None, done: int):
        self.shown, self.key, self.kind, self.size = shown, key, kind, size
        self.sid, self.done = sid, done
        self.rows: list[Row] = []
        self.warnings = 0
        self.finished = False

    def reached(self) -> int:
        """Records covered once its rows are stored: where a resumed run starts.

        Text logs number their lines (blank and unreadable ones included): the last line
        number. Evtx records are counted.
        """
        count = self.done + len(self.rows)
        if not self.rows or self.kind == "evtx":
            return count
        last = self.rows[-1]["record_id"]
        return max(count, int(last)) if last else count


class Loader:
    """Parses the files of tasks and stores their rows, batch by batch, through `conn`."""

    def __init__(self, conn: Connection, incident: int, lock: Any = None, zone: str = "") -> None:
        """`zone`: the IANA zone of times written without one ("": UTC)."""
        self.zone = zone
        self.dbapi: Any = conn.connection.dbapi_connection
        self.postgres = conn.dialect.name == "postgresql"
        self.m = "?" if conn.dialect.paramstyle == "qmark" else "%s"
        self.inc, self.lock = incident, lock
        self.pending: list[_File] = []
        self.count = 0  # rows of finished files in `pending`
        self.sql: dict[tuple[str, ...], str] = {}

    def load(self, task: Task) -> TaskResult:
        result = TaskResult(task.index)
        for path, key in task.files:
            self._file(path, key, result)
        return result

    def _file(self, path: Path, key: str, result: TaskResult) -> None:
        shown = result.last = display(path)
        try:
            with open_evidence(path) as handle:
                head, size = handle.read(4096), os.fstat(handle.fileno()).st_size
        except OSError as exc:
            result.warnings.append((shown, f"cannot read: {exc.strerror}"))
            return
        parser = find_parser(path, head)
        if parser is None:
            result.skipped.append(shown)
            return
        result.files += 1
        sid, done, status, old_size = self._lookup(key)
        unchanged = status == "done" and old_size == size
        zone = self.zone
        if sid is not None and parser.name != "evtx" and (zone or not unchanged):
            zone = self._zone_of(sid, shown, result)
        if unchanged:
            result.unchanged += 1
            return
        # A log that grew since (auth.log appended) resumes after what is stored, like a
        # killed run; records are numbered in file order, so `done` is where to start.
        result.by_kind[parser.name] += 1
        file = _File(shown, key, parser.name, size, sid, done)
        self.pending.append(file)

        def warn(message: str) -> None:
            file.warnings += 1
            result.warnings.append((shown, message))

        room = BATCH - self.count
        for row in parser.parse(path, done, warn, ZoneInfo(zone) if zone else None):
            file.rows.append(row)
            if len(file.rows) >= room:
                result.events += len(file.rows)
                self.flush()  # the file's rows so far, with how far they reach
                room = BATCH
        result.events += len(file.rows)
        file.finished = True
        self.count += len(file.rows)
        if self.count >= BATCH or len(self.pending) >= _FILES:
            self.flush()

    def _lookup(self, key: str) -> tuple[int | None, int, str, int]:
        """(source id, records stored, status, size then) of a file; (None, 0...) when new.

        Read outside any transaction and lock (SQLite: autocommit; no snapshot is held that
        another loader's commit could make stale).
        """
        cursor = self.dbapi.cursor()
        try:
            cursor.execute(
                f"SELECT id, done, status, size FROM {SOURCES.name} "
                f"WHERE incident_id = {self.m} AND source_key = {self.m}",
                (self.inc, key),
            )
            rows = cursor.fetchall()
        finally:
            cursor.close()
        if not rows:
            return None, 0, "", -1
        sid, done, status, size = rows[0]
        return int(sid), int(done), str(status), int(size)

    def _zone_of(self, sid: int, shown: str, result: TaskResult) -> str:
        """The zone to read a stored log's new lines in: the one it was first read in.

        One log, one reading of its times: a different `--tz` is not applied, with a warning.
        """
        stored = self._stored_zone(sid)
        if stored is None or stored == self.zone:
            return self.zone
        result.warnings.append(
            (
                shown,
                f"times without a zone were read as {stored or 'UTC'} when this log was first "
                f"ingested: kept so ({self.zone or 'UTC'} not applied; a new incident reads "
                "it again)",
            )
        )
        return stored

    def _stored_zone(self, sid: int) -> str | None:
        """The zone the stored events of a log were read in ("": UTC; None: none says)."""
        cursor = self.dbapi.cursor()
        try:
            cursor.execute(
                f"SELECT ts_precision FROM {EVENTS.name} "
                f"WHERE source_id = {self.m} AND ts_precision LIKE {self.m} LIMIT 1",
                (sid, "%zone%"),
            )
            rows = cursor.fetchall()
        finally:
            cursor.close()
        if not rows:
            return None
        given = _GIVEN.search(str(rows[0][0]))
        return given[1] if given else ""

    def flush(self) -> None:
        """Store the pending rows and, in the same transaction, each file's progress."""
        if not self.pending:
            return
        if self.lock is not None:
            self.lock.acquire()
        try:
            cursor = self.dbapi.cursor()
            try:
                self._store(cursor)
            finally:
                cursor.close()
            self.dbapi.commit()
        except BaseException:
            self.dbapi.rollback()
            raise
        finally:
            if self.lock is not None:
                self.lock.release()
        for file in self.pending:
            file.done = file.reached()
            file.rows = []
        # At most one file is still being read: it stays, its next rows go to the next batch.
        self.pending = [file for file in self.pending if not file.finished]
        self.count = 0

    def _store(self, cursor: Any) -> None:
        now = utcnow()
        when: Any = now if self.postgres else sqlite_time(now)
        groups: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
        for file in self.pending:
            if file.sid is None:
                file.sid = self._register(cursor, file, when)
            if file.rows:
                ids = (self.inc, file.sid, file.kind)
                group = groups.setdefault((*file.rows[0], *_ID_NAMES), [])
                group += [(*row.values(), *ids) for row in file.rows]
        for names, group in groups.items():
            if self.postgres:  # PostgreSQL text cannot hold NUL, which damaged logs do
                group = [tuple(no_nul(value) for value in row) for row in group]  # noqa: PLW2901  # the escaped copy
            cursor.executemany(self._insert(names), group)
        m = self.m
        progress = f"UPDATE {SOURCES.name} SET done = {m}, events = events + {m}, updated_at = {m}"
        running, finished = [], []
        for file in self.pending:
            done, events = file.reached(), len(file.rows)
            if file.finished:
                finished.append((done, events, when, file.size, file.warnings, file.sid))
            else:
                running.append((done, events, when, file.sid))
        if running:
            cursor.executemany(f"{progress} WHERE id = {m}", running)
        if finished:
            end = f"{progress}, status = 'done', size = {m}, warnings = {m} WHERE id = {m}"
            cursor.executemany(end, finished)

    def _register(self, cursor: Any, file: _File, when: Any) -> int:
        m = self.m
        cursor.execute(
            f"INSERT INTO {SOURCES.name} (incident_id, source_key, path, kind, size, status, "
            f"done, events, warnings, updated_at) VALUES ({m}, {m}, {m}, {m}, 0, 'running', "
            f"0, 0, 0, {m}) ON CONFLICT DO NOTHING",
            (self.inc, file.key, file.shown, file.kind, when),
        )
        cursor.execute(
            f"SELECT id FROM {SOURCES.name} WHERE incident_id = {m} AND source_key = {m}",
            (self.inc, file.key),
        )
        rows = cursor.fetchall()
        if not rows:  # inserted or found just above: only a concurrent delete
            raise TimelineError(f"log source vanished from the store while ingesting: {file.shown}")
        return int(rows[0][0])

    def _insert(self, names: tuple[str, ...]) -> str:
        sql = self.sql.get(names)
        if sql is None:
            for name in names:
                EVENTS.c[name]  # an unknown column fails here, not as SQL
            marks = ", ".join([self.m] * len(names))
            sql = self.sql[names] = (
                f"INSERT INTO {EVENTS.name} ({', '.join(names)}) VALUES ({marks}) "
                "ON CONFLICT DO NOTHING"
            )
        return sql
