"""Running loaders: in this process, or in worker processes that each parse and store.

Parsing (Rust parser + JSON + field extraction, in Python: it holds the GIL) costs about as
much as storing, so on 2 cores two worker processes each parse files and store their own
batches (see `_load`), the main process only walks the folders and hands out tasks. All
queues are bounded by the tasks in flight, so memory stays flat whatever the input; each
worker holds at most one batch.

Messages from a worker: ("task", TaskResult), ("done", worker index) once its last batch is
committed, ("error", text) when it failed (the main process raises it).

Small inputs are loaded in the main process: starting workers costs more than it saves.
"""

from __future__ import annotations

import multiprocessing
import queue
import traceback
from collections.abc import Generator, Iterator
from typing import Any

from sqlalchemy import Engine

from rempart.forensics._db import bulk_inserts
from rempart.forensics._errors import TimelineError
from rempart.forensics._load import Loader, Task, TaskResult

#: inputs smaller than this are loaded in the main process
WORKER_FROM = 8 * 1024 * 1024
#: tasks handed out and not yet reported, per worker
_AHEAD = 4


def run_inline(
    engine: Engine, incident: int, tasks: Iterator[Task], zone: str = ""
) -> Generator[TaskResult, None, None]:
    """Results of every task, loaded in this process (`zone`: see `Loader`)."""
    # One connection for the run: thousands of small logs each cost a pool checkout otherwise.
    with engine.connect() as conn, bulk_inserts(conn):
        loader = Loader(conn, incident, zone=zone)
        for task in tasks:
            yield loader.load(task)
        loader.flush()


def _work(url: str, incident: int, zone: str, lock: Any, todo: Any, out: Any, index: int) -> None:
    from rempart.store import make_engine  # noqa: PLC0415  # a cycle at import time otherwise

    try:
        # Its own engine: a connection inherited through fork must not be shared.
        engine = make_engine(url)
        with engine.connect() as conn, bulk_inserts(conn):
            loader = Loader(conn, incident, lock, zone)
            for task in iter(todo.get, None):
                out.put(("task", loader.load(task)))
            loader.flush()
        engine.dispose()
        out.put(("done", index))
    except BaseException:  # noqa: BLE001  # reported to the main process, which raises it
        out.put(("error", traceback.format_exc(limit=5)))


def run_workers(
    engine: Engine, incident: int, tasks: Iterator[Task], zone: str = "", count: int = 2
) -> Generator[TaskResult, None, None]:
    """Results of every task, loaded by `count` worker processes (in the order they finish).

    Raises:
        TimelineError: a worker failed or died.
    """
    # fork: a worker starts in milliseconds (spawn re-imports rempart and evtx).
    methods = multiprocessing.get_all_start_methods()
    context: Any = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    lock = context.Lock() if engine.dialect.name == "sqlite" else None
    todo: Any = context.Queue(count * _AHEAD + count)  # room for the tasks and the ends
    out: Any = context.Queue()
    url = engine.url.render_as_string(hide_password=False)
    workers = [
        context.Process(target=_work, args=(url, incident, zone, lock, todo, out, i), daemon=True)
        for i in range(count)
    ]
    for worker in workers:
        worker.start()
    flying, more, finished = 0, True, 0
    try:
        while finished < count:
            # Never more than count * _AHEAD tasks out: a put never blocks.
            while more and flying < count * _AHEAD:
                task = next(tasks, None)
                if task is None:
                    for _ in workers:
                        todo.put(None)
                    more = False
                else:
                    todo.put(task)
                    flying += 1
            message = _next(out, workers)
            if message[0] == "error":
                raise TimelineError(f"log ingest worker failed: {message[1]}")
            if message[0] == "done":
                finished += 1
            else:
                flying -= 1
                yield message[1]
        for worker in workers:
            worker.join(timeout=5)
    finally:
        for worker in workers:
            if worker.is_alive():
                worker.terminate()
                worker.join(timeout=5)
        for q in (todo, out):
            q.close()


def _next(out: Any, workers: list[Any]) -> tuple[Any, ...]:
    while True:
        try:
            return out.get(timeout=1)  # type: ignore[no-any-return]
        except queue.Empty:
            # A worker that sent its "done" may have exited: only one still expected counts,
            # and the queue is read again once before giving up (its last message may be late).
            dead = [w for w in workers if not w.is_alive() and w.exitcode != 0]
            if dead:
                try:
                    return out.get(timeout=1)  # type: ignore[no-any-return]
                except queue.Empty:
                    raise TimelineError(
                        f"log ingest worker died (exit code {dead[0].exitcode})"
                    ) from None
