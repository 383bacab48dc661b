"""Parsing off the main process: a worker parses logs while the main process inserts.

Parsing and normalizing (Rust parser + json + field extraction) cost more than the inserts:
worker processes (two by default, for 2 cores) parse while the main process inserts. All
queues are bounded, so memory stays flat whatever the input. Messages, per file in file order:

- ("rows", names, tuples, reached[, True]): rows of the current file, how far into it they
  reach (True: and the file is finished);
- ("warn", message): a warning about the current file;
- ("end",): the current file is finished;
- ("error", text): the worker failed (the main process raises it).

Small inputs are parsed in the main process: starting a worker costs more than it saves.
"""

from __future__ import annotations

import multiprocessing
import queue
import traceback
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rempart.forensics._errors import TimelineError
from rempart.forensics.parsers import PARSERS, Row

#: rows per message: large enough to amortize pickling, small enough to keep memory flat
CHUNK = 1000
#: files handed to the worker ahead of the inserts, and messages waiting for them
_AHEAD, _WAITING = 32, 16
#: inputs smaller than this are parsed in the main process
WORKER_FROM = 8 * 1024 * 1024

Message = tuple[Any, ...]
_ID_NAMES = ("incident_id", "source_id", "source")


@dataclass(frozen=True)
class Job:
    """One file to parse: rows are tagged with the store's ids by the worker."""

    path: Path
    parser: str
    skip: int
    incident_id: int
    source_id: int


def job_messages(job: Job) -> Iterator[Message]:
    """Parse one file into messages (the same ones inline or in the worker)."""
    parser = PARSERS[job.parser]
    warnings: list[str] = []
    chunk: list[Row] = []
    position = job.skip
    # The ids are appended to each row's tuple, not set in its dict: three stores per event.
    ids, id_names = (job.incident_id, job.source_id, job.parser), _ID_NAMES
    for row in parser.parse(job.path, job.skip, warnings.append):
        chunk.append(row)
        if len(chunk) >= CHUNK:
            yield from _drain(warnings)
            position = _reached(chunk, position, job.parser)
            rows = [(*r.values(), *ids) for r in chunk]
            yield ("rows", (*chunk[0], *id_names), rows, position)
            chunk = []
    yield from _drain(warnings)
    if chunk:
        position = _reached(chunk, position, job.parser)
        rows = [(*r.values(), *ids) for r in chunk]
        # The file's last rows carry its end: one message less for each small log.
        yield ("rows", (*chunk[0], *id_names), rows, position, True)
    else:
        yield ("end",)


def _drain(warnings: list[str]) -> Iterator[Message]:
    for message in warnings:
        yield ("warn", message)
    warnings.clear()


def _reached(chunk: list[Row], position: int, parser: str) -> int:
    """Records of the file covered once `chunk` is stored: where a resumed run starts.

    Text logs number their lines (blank and unreadable ones included): the last line number.
    Evtx records are counted.
    """
    last = chunk[-1]["record_id"] or position + len(chunk)
    return max(position + len(chunk), int(last) if parser != "evtx" else 0)


def _work(jobs: Any, out: Any) -> None:
    try:
        for job in iter(jobs.get, None):
            for message in job_messages(job):
                out.put(message)
    except BaseException:  # noqa: BLE001  # reported to the main process, which raises it
        out.put(("error", traceback.format_exc(limit=5)))


def run_inline(jobs: Iterator[Job]) -> Generator[tuple[Job, Message], None, None]:
    for job in jobs:
        for message in job_messages(job):
            yield job, message


def run_workers(jobs: Iterator[Job], count: int = 2) -> Generator[tuple[Job, Message], None, None]:
    """Messages of every job, parsed in `count` worker processes, in job order.

    Files go round-robin to the workers, each with its own queues; the main process reads
    the queue of the worker holding the oldest unfinished file, so the order is kept and
    a worker ahead just waits on its full (bounded) queue.
    """
    # fork: a worker starts in milliseconds (spawn re-imports rempart and evtx).
    methods = multiprocessing.get_all_start_methods()
    context: Any = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    todo: list[Any] = [context.Queue(_AHEAD + 1) for _ in range(count)]
    out: list[Any] = [context.Queue(_WAITING) for _ in range(count)]
    workers = [
        context.Process(target=_work, args=(todo[i], out[i]), daemon=True) for i in range(count)
    ]
    for worker in workers:
        worker.start()
    sent: list[tuple[int, Job]] = []  # (worker, job) handed over and not finished, oldest first
    more, turn = True, 0
    try:
        while True:
            # Never more than _AHEAD jobs out: a put never blocks (each queue holds them all).
            while more and len(sent) < _AHEAD:
                job = next(jobs, None)
                if job is None:
                    for q in todo:
                        q.put(None)
                    more = False
                else:
                    sent.append((turn, job))
                    todo[turn].put(job)
                    turn = (turn + 1) % count
            if not sent:
                break
            index, job = sent[0]
            message = _next(out[index], workers[index])
            if message[0] == "error":
                raise TimelineError(f"log parser failed: {message[1]}")
            yield job, message
            if message[0] == "end" or message[-1] is True:
                sent.pop(0)
        for worker in workers:
            worker.join(timeout=5)
    finally:
        for worker in workers:
            if worker.is_alive():
                worker.terminate()
                worker.join(timeout=5)
        for q in todo + out:
            q.close()


def _next(out: Any, worker: Any) -> Message:
    while True:
        try:
            return out.get(timeout=1)  # type: ignore[no-any-return]
        except queue.Empty:
            if not worker.is_alive():
                raise TimelineError(
                    f"log parser process died (exit code {worker.exitcode})"
                ) from None
