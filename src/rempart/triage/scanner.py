"""Run a scan: walk the tree, classify files in worker processes, persist, resume.

The walk and the store stay in this process (one writer); classification runs in a pool
of processes fed a bounded number of batches, so memory stays flat however large the tree.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Engine

from rempart.errors import ScanError
from rempart.triage import _persist, notes, walk
from rempart.triage._worker import Worker, init_process, run_batch
from rempart.triage.context import apply_context
from rempart.triage.rows import Row

_T = TypeVar("_T")

Progress = Callable[[int, int], None]  # (files stored so far, bytes)


@dataclass(frozen=True)
class ScanOptions:
    workers: int = 0  # 0: one per core
    hash: str = "sha256"  # or "none"
    hash_max: int = 1 << 30  # larger files are sampled, not hashed
    batch: int = 128
    notes_dir: str | None = None  # known notes (<family>/<note>) sharpening family ids

    @property
    def processes(self) -> int:
        return self.workers or os.cpu_count() or 1


@dataclass(frozen=True)
class ScanRun:
    scan_id: int
    status: str  # "done" or "interrupted"
    files: int  # files stored by this run (a resumed run counts only new ones)


def scan(
    engine: Engine,
    root: Path,
    *,
    incident: str = "default",
    options: ScanOptions | None = None,
    resume: bool = False,
    progress: Progress | None = None,
) -> ScanRun:
    """Scan `root` into the store; on Ctrl-C the scan is marked interrupted and can resume."""
    options = options or ScanOptions()
    if options.notes_dir:
        notes.load_reference_notes(options.notes_dir)  # a bad folder fails here, before the walk
    root_b = os.fsencode(os.path.abspath(root))
    root_fd = walk.open_root(root_b)
    try:
        inc = _persist.incident_id(engine, incident)
        if resume:
            scan_id = _persist.resumable(engine, inc, root_b)
            _persist.set_status(engine, scan_id, "running")
        else:
            scan_id = _persist.start_scan(engine, inc, root_b, asdict(options))
        skip = _persist.done_dirs(engine, scan_id) if resume else set()
        before = _persist.count_files(engine, scan_id)
        writer = _persist.Writer(engine, scan_id)
        sink = _Sink(writer, progress)
        try:
            listings = _todo(walk.walk(root_fd, batch=options.batch), skip, sink)
            if options.processes == 1:
                _run_inline(root_b, options, listings, sink)
            else:
                _run_pool(root_b, options, listings, sink)
            writer.flush()
        except KeyboardInterrupt:
            writer.flush()
            _persist.set_status(engine, scan_id, "interrupted")
            return ScanRun(scan_id, "interrupted", _persist.count_files(engine, scan_id) - before)
        except BrokenProcessPool:
            writer.flush()
            _persist.set_status(engine, scan_id, "interrupted")
            raise ScanError(
                "a worker process died (killed, or out of memory?); what it had not finished "
                "is not stored",
                hint="run the same command with --resume to carry on",
            ) from None
        apply_context(engine, scan_id)
        _persist.set_status(engine, scan_id, "done")
        return ScanRun(scan_id, "done", _persist.count_files(engine, scan_id) - before)
    finally:
        os.close(root_fd)


class _Sink:
    """Where results go: the store's writer, and the count shown as progress."""

    def __init__(self, writer: _persist.Writer, progress: Progress | None) -> None:
        self.writer = writer
        self.files = 0
        self.bytes = 0
        self.progress = progress

    def add(self, rows: list[Row]) -> None:
        self.writer.add(rows)
        self.files += len(rows)
        self.bytes += sum(r.size for r in rows)
        if self.progress:
            self.progress(self.files, self.bytes)

    def dir_done(self, rel: bytes) -> None:
        self.writer.dir_done(rel)


def _todo(
    listings: Iterator[walk.Listing], skip: set[bytes], sink: _Sink
) -> Iterator[walk.Listing]:
    """Store what needs no reading (symlinks, FIFOs...) and pass on the files to classify."""
    for listing in listings:
        if listing.rel in skip:
            continue
        if listing.others:
            rows = [
                Row(o.rel, "unreadable", o.kind, None, o.size, o.mtime_ns, None, (o.reason,))
                for o in listing.others
            ]
            sink.add(rows)
        yield listing


def _run_inline(
    root: bytes,
    options: ScanOptions,
    listings: Iterator[walk.Listing],
    sink: _Sink,
) -> None:
    worker = Worker(root, options.hash, options.hash_max, options.notes_dir)
    try:
        for listing in listings:
            sink.add(worker.batch(listing.rel, listing.files))
            if listing.last:
                sink.dir_done(listing.rel)
    finally:
        worker.close()


def _run_pool(
    root: bytes,
    options: ScanOptions,
    listings: Iterator[walk.Listing],
    sink: _Sink,
) -> None:
    # Batches of one directory may finish out of order: a directory is done when its last
    # listing and every earlier one are stored.
    pending: dict[bytes, int] = {}
    last_seen: set[bytes] = set()
    inflight: dict[Future[list[Row]], walk.Listing] = {}
    limit = options.processes * 4
    # Fork where we can: workers start in milliseconds with everything imported, instead of
    # importing numpy and the validators again. Children never touch the parent's store
    # connections, and no thread runs yet (the CLI starts its progress bar on the first
    # result). Elsewhere, spawn.
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    ctx = multiprocessing.get_context(method)
    pool = ProcessPoolExecutor(
        options.processes,
        mp_context=ctx,
        initializer=init_process,
        initargs=(root, options.hash, options.hash_max, options.notes_dir),
    )

    def collect(futures: set[Future[list[Row]]]) -> None:
        for fut in futures:
            listing = inflight.pop(fut)
            sink.add(fut.result())
            pending[listing.rel] -= 1
            if pending[listing.rel] == 0 and listing.rel in last_seen:
                del pending[listing.rel]
                last_seen.discard(listing.rel)
                sink.dir_done(listing.rel)

    try:
        # With fork, the first task forks every worker at once: do it now, before the walk
        # reports any progress (the progress bar's thread must not exist when we fork).
        for warm in _settle(pool, {pool.submit(int)}):
            warm.result()  # raises BrokenProcessPool if a worker died while starting
        for listing in listings:
            if not listing.files:
                if listing.last and not pending.get(listing.rel):
                    pending.pop(listing.rel, None)
                    sink.dir_done(listing.rel)
                elif listing.last:
                    last_seen.add(listing.rel)
                continue
            pending[listing.rel] = pending.get(listing.rel, 0) + 1
            if listing.last:
                last_seen.add(listing.rel)
            inflight[pool.submit(run_batch, listing.rel, listing.files)] = listing
            if len(inflight) >= limit:
                collect(_settle(pool, set(inflight)))
        while inflight:
            collect(_settle(pool, set(inflight)))
    except BrokenProcessPool:
        _abandon(pool)
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _settle(pool: ProcessPoolExecutor, futures: set[Future[_T]]) -> set[Future[_T]]:
    """Wait until one of `futures` is done, or raise BrokenProcessPool if a worker died.

    The executor notices a dead worker by itself, except when the worker was killed while
    writing its result: its manager thread then waits forever for the rest of a message that
    will never come (CPython 3.11), and so would the scan.
    """
    while True:
        done, _ = wait(futures, timeout=1.0, return_when=FIRST_COMPLETED)
        if done:
            return done
        # pool._processes: the executor's own workers (private, stable since Python 3.8)
        workers = getattr(pool, "_processes", None) or {}
        if any(proc.exitcode is not None for proc in list(workers.values())):
            raise BrokenProcessPool("a worker process died")


def _abandon(pool: ProcessPoolExecutor) -> None:
    """Kill the workers and unblock the executor's manager thread so the scan can exit."""
    for proc in list((getattr(pool, "_processes", None) or {}).values()):
        proc.kill()
        proc.join(timeout=5)
    # With every worker gone, closing our own copy of the result pipe's write end gives the
    # manager thread an end of file instead of a wait for the rest of a half-written result.
    queue = getattr(pool, "_result_queue", None)
    writer = getattr(queue, "_writer", None)
    if writer is not None:
        writer.close()
