"""`timeline ingest`: log files and scan results -> normalized events in the incident store.

Files are streamed in batches (memory stays flat whatever the size), each batch committed
with the count of records it covers in each file, so an interrupted run resumes where it
stopped; the unique key (source, record) makes any re-run a no-op. This module walks the
folders and hands files out in tasks of several files; loaders (`_load`) parse and store
them, in this process for a small input, else in two worker processes (`_pipeline`).
"""

from __future__ import annotations

import hashlib
import itertools
import os
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Engine

from rempart.forensics import _scans
from rempart.forensics._db import incident_id
from rempart.forensics._errors import TimelineError
from rempart.forensics._load import Task, TaskResult, display
from rempart.forensics._pipeline import WORKER_FROM, run_inline, run_workers

__all__ = ["IngestSummary", "IngestWarning", "Progress", "display", "ingest"]

#: a task closes at this many files or bytes: few messages for thousands of small logs, and
#: the two workers still share the end of the input evenly
TASK_FILES, TASK_BYTES = 32, 4 * 1024 * 1024
#: (files done, events read, current path) -> None
Progress = Callable[[int, int, str], None]


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
    seconds: float = 0.0  # wall time of the run


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


def ingest(
    engine: Engine,
    paths: Iterable[Path],
    incident: str,
    *,
    scans: bool = True,
    progress: Progress | None = None,
    worker: bool | None = None,
    tz: str | None = None,
) -> IngestSummary:
    """Ingest every log file under `paths` (and the incident's scan results) into the store.

    `worker`: parse and store in worker processes (None: when the input is large enough).
    `tz`: the IANA zone of the times logs write without one (classic syslog, Samba); UTC
    when None. A log already stored keeps the zone it was first read in (with a warning).

    Raises:
        TimelineError: a path does not exist, an unknown zone, or a worker process failed.
    """
    start = time.perf_counter()
    zone = _zone(tz)
    paths = list(paths)
    for path in paths:
        if not path.exists():
            raise TimelineError(f"no such file or folder: {path}")
    inc = incident_id(engine, incident, create=True)
    summary = IngestSummary(incident)
    sizes: list[int] = []  # bytes of the tasks handed out so far (the first ones only)
    tasks = _tasks(paths, summary, sizes)
    if worker is None:
        # Peek at the first tasks: workers are worth starting only for a large input.
        first: list[Task] = []
        for task in tasks:
            first.append(task)
            if sum(sizes) >= WORKER_FROM:
                break
        worker = sum(sizes) >= WORKER_FROM and (os.cpu_count() or 1) >= 2
        tasks = itertools.chain(first, tasks)
    run = run_workers if worker else run_inline
    found: list[tuple[int, TaskResult]] = []
    # closing(): on an error here (a failed progress display...), workers are stopped at once.
    with closing(run(engine, inc, tasks, zone)) as results:
        for result in results:
            summary.files += result.files
            summary.events += result.events
            summary.unchanged += result.unchanged
            summary.by_kind.update(result.by_kind)
            found.append((result.index, result))
            if progress:
                progress(summary.files, summary.events, result.last)
    # Workers finish tasks in any order: warnings are listed in the order of the files.
    for _index, result in sorted(found, key=lambda item: item[0]):
        summary.skipped += result.skipped
        summary.warnings += [IngestWarning(path, message) for path, message in result.warnings]
    if scans:
        summary.events += _scans.ingest_scans(engine, inc)
    summary.seconds = round(time.perf_counter() - start, 3)
    return summary


def _zone(tz: str | None) -> str:
    if not tz:
        return ""
    try:
        return str(ZoneInfo(tz))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise TimelineError(
            f"unknown time zone: {tz!r}", hint="give an IANA name such as Europe/Paris"
        ) from exc


def _tasks(paths: list[Path], summary: IngestSummary, sizes: list[int]) -> Iterator[Task]:
    """The files under `paths`, a few per task, each once (a link to one seen is skipped)."""
    seen: set[bytes] = set()
    files: list[tuple[Path, str]] = []
    size, index = 0, 0
    for path in _files(paths):
        try:
            resolved = os.fsencode(path.resolve())
            size += path.stat().st_size
        except OSError as exc:
            summary.warnings.append(IngestWarning(display(path), f"cannot read: {exc.strerror}"))
            continue
        digest = hashlib.sha1(resolved)
        if digest.digest() in seen:
            continue
        seen.add(digest.digest())
        files.append((path, digest.hexdigest()))
        if len(files) >= TASK_FILES or size >= TASK_BYTES:
            sizes.append(size)
            yield Task(index, tuple(files))
            files, size, index = [], 0, index + 1
    if files:
        sizes.append(size)
        yield Task(index, tuple(files))
