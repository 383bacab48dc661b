"""A worker killed while writing its result must not hang the scan (CPython 3.11 executor)."""

from __future__ import annotations

import multiprocessing
import os
import struct
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import pytest

from rempart.triage.scanner import _abandon, _settle


def _sleep(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


def test_a_half_written_result_and_a_dead_worker_raise_instead_of_hanging() -> None:
    pool = ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("fork"))
    for warm in _settle(pool, {pool.submit(int)}):
        warm.result()
    # What a worker killed in the middle of sending its result leaves in the pipe: a header
    # announcing 1,000 bytes and 3 of them. The executor's manager thread now waits for the
    # other 997 forever, and never notices the dead worker.
    os.write(pool._result_queue._writer.fileno(), struct.pack("!i", 1000) + b"abc")
    time.sleep(0.2)
    victim = next(iter(pool._processes.values()))
    victim.kill()
    slow = pool.submit(_sleep, 30)
    started = time.monotonic()
    with pytest.raises(BrokenProcessPool):
        _settle(pool, {slow})
    assert time.monotonic() - started < 10

    _abandon(pool)
    done = threading.Event()
    closer = threading.Thread(target=lambda: (pool.shutdown(wait=True), done.set()), daemon=True)
    closer.start()
    assert done.wait(15), "the executor did not shut down after _abandon"
