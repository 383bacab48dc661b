"""Run a scan: walk the tree, classify files in worker processes, persist, resume.

The walk and the store stay in this process (one writer); classification runs in a pool
of processes fed a bounded number of batches, so memory stays flat however large the tree.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from rempart.errors import ScanError
from rempart.triage import notes, walk
from rempart.triage._sink import Progress, Sink, StoreOpener
from rempart.triage._worker import Worker, init_process, run_batches
from rempart.triage.rows import Row

if TYPE_CHECKING:
    from sqlalchemy import Engine


_T = TypeVar("_T")

#: Seconds a scan with workers may run before its store is open (see `_run_pool`).
OPEN_WITHIN = 1.0

__all__ = ["Progress", "ScanOptions", "ScanRun", "StoreOpener", "scan"]


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
    store: Engine | Callable[[], Engine],
    root: Path,
    *,
    incident: str = "default",
    options: ScanOptions | None = None,
    resume: bool = False,
    progress: Progress | None = None,
) -> ScanRun:
    """Scan `root` into the store; on Ctrl-C the scan is marked interrupted and can resume.

    `store` is an engine, or a function returning one (e.g. `StoreOpener`): a new scan with
    worker processes then calls it once its workers are busy.
    """
    options = options or ScanOptions()
    if options.notes_dir:
        notes.load_reference_notes(options.notes_dir)  # a bad folder fails here, before the walk
    root_b = os.fsencode(os.path.abspath(root))
    root_fd = walk.open_root(root_b)
    try:
        sink = Sink(store, incident, root_b, options, progress)
        later = callable(store) and not resume and options.processes > 1
        skip = set() if later else sink.open(resume)
        try:
            listings = _todo(walk.walk(root_fd, batch=options.batch), skip, sink)
            if options.processes == 1:
                _run_inline(root_b, options, listings, sink)
            else:
                _run_pool(root_b, options, listings, sink)
            sink.flush()
        except KeyboardInterrupt:
            if sink.open_tried and not sink.opened:
                raise  # a second Ctrl-C cut the opening short: no store to keep anything in
            sink.flush()
            sink.set_status("interrupted")
            return ScanRun(sink.scan_id, "interrupted", sink.stored())
        except BrokenProcessPool:
            sink.flush()
            sink.set_status("interrupted")
            raise ScanError(
                "a worker process died (killed, or out of memory?); what it had not finished "
                "is not stored",
                hint="run the same command with --resume to carry on",
            ) from None
        # Loaded here, not at the top: the database libraries load once the workers run.
        from rempart.triage.context import apply_context  # noqa: PLC0415

        apply_context(sink.engine, sink.scan_id)
        sink.set_status("done")
        return ScanRun(sink.scan_id, "done", sink.stored())
    finally:
        os.close(root_fd)


def _todo(listings: Iterator[walk.Listing], skip: set[bytes], sink: Sink) -> Iterator[walk.Listing]:
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
    sink: Sink,
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
    sink: Sink,
) -> None:
    limit = options.processes * 4
    # Until the store is open (see `scan`), files are queued by the thousand, not by the
    # handful: enough work for the workers while this process loads the database libraries
    # and opens the store.
    first = options.processes * 1024
    queued = 0
    # ... and for a second at most: on a slow share, a scan killed (kill -9) before its store
    # opens leaves nothing to resume.
    open_by = time.monotonic() + OPEN_WITHIN
    # Fork where we can: workers start in milliseconds with everything imported, instead of
    # importing numpy and the validators again. Children never touch the parent's store
    # connections, and no thread runs yet (the CLI starts its progress bar on the first
    # result). Elsewhere, spawn.
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    pool = ProcessPoolExecutor(
        options.processes,
        mp_context=multiprocessing.get_context(method),
        initializer=init_process,
        initargs=(root, options.hash, options.hash_max, options.notes_dir),
    )
    tasks = _Tasks(pool, sink, options.batch)
    try:
        # With fork, the first task forks every worker at once: do it now, before the walk
        # reports any progress (the progress bar's thread must not exist when we fork).
        for warm in _settle(pool, {pool.submit(int)}):
            warm.result()  # raises BrokenProcessPool if a worker died while starting
        for listing in listings:
            sent = tasks.add(listing)
            if not sink.opened:
                queued += options.batch if sent else 0
                # Held rows count too: a tree of symlinks or empty folders sends no task,
                # and would otherwise be held whole, in memory and lost to a kill -9.
                if queued < first and sink.holding < first and time.monotonic() < open_by:
                    continue
                sink.open()
            if sent and len(tasks.inflight) >= limit:
                tasks.collect()
        tasks.send()
        if not sink.opened:
            sink.open()
        while tasks.inflight:
            tasks.collect()
    except BrokenProcessPool:
        _abandon(pool)
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


class _Tasks:
    """Listings sent to the pool in groups, and their results stored as they come back.

    A group holds at least `batch` files: most folders hold a dozen files, and one task per
    folder left the workers waiting for their next task a tenth of the time. Batches of one
    folder may finish out of order: a folder is done when its last listing and every
    earlier one are stored.
    """

    def __init__(self, pool: ProcessPoolExecutor, sink: Sink, batch: int) -> None:
        self.pool = pool
        self.sink = sink
        self.batch = batch
        self.pending: dict[bytes, int] = {}
        self.last_seen: set[bytes] = set()
        self.inflight: dict[Future[list[list[Row]]], list[walk.Listing]] = {}
        self.group: list[walk.Listing] = []
        self.grouped = 0

    def add(self, listing: walk.Listing) -> bool:
        """Take one listing; True when a group was sent to the pool."""
        rel = listing.rel
        if not listing.files:
            if listing.last and not self.pending.get(rel):
                self.pending.pop(rel, None)
                self.sink.dir_done(rel)
            elif listing.last:
                self.last_seen.add(rel)
            return False
        self.pending[rel] = self.pending.get(rel, 0) + 1
        if listing.last:
            self.last_seen.add(rel)
        self.group.append(listing)
        self.grouped += len(listing.files)
        if self.grouped < self.batch:
            return False
        self.send()
        return True

    def send(self) -> None:
        if self.group:
            jobs = tuple((listing.rel, listing.files) for listing in self.group)
            self.inflight[self.pool.submit(run_batches, jobs)] = self.group
        self.group, self.grouped = [], 0

    def collect(self) -> None:
        """Store the results of the tasks done (waiting for one at least)."""
        for fut in _settle(self.pool, set(self.inflight)):
            for listing, rows in zip(self.inflight.pop(fut), fut.result(), strict=True):
                self.sink.add(rows)
                self.pending[listing.rel] -= 1
                if self.pending[listing.rel] == 0 and listing.rel in self.last_seen:
                    del self.pending[listing.rel]
                    self.last_seen.discard(listing.rel)
                    self.sink.dir_done(listing.rel)


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
