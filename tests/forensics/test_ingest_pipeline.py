"""Ingest through worker processes stores what the inline path stores; evidence is untouched."""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import shutil
import signal
from pathlib import Path

import pytest
from _timeline_samples import ATOMIC, WMI_LATERAL
from sqlalchemy import Engine, select, update

from rempart.forensics import _load, _pipeline
from rempart.forensics import ingest as ingest_module
from rempart.forensics._errors import TimelineError
from rempart.forensics.ingest import IngestSummary, ingest
from rempart.store import open_store
from rempart.store.timeline import EVENTS, SOURCES

_2020 = 1_577_836_800 * 10**9  # 2020-01-01T00:00:00Z, in ns


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    # Batches that span files and cut files in the middle, tasks of two files (the workers
    # share them out and may finish them in any order).
    monkeypatch.setattr(_load, "BATCH", 250)
    monkeypatch.setattr(ingest_module, "TASK_FILES", 2)


def _logs(text_logs: Path) -> Path:
    shutil.copy(ATOMIC, text_logs / "sysmon.evtx")  # 565 records
    shutil.copy(WMI_LATERAL, text_logs / "wmi.evtx")
    (text_logs / "broken.evtx").write_bytes(b"not an event log" * 100)
    return text_logs


def _stored(engine: Engine) -> tuple[set[tuple[object, ...]], set[tuple[object, ...]]]:
    with engine.connect() as conn:
        events = conn.execute(
            select(SOURCES.c.path, EVENTS.c.record_key, EVENTS.c.ts_us, EVENTS.c.message).join(
                SOURCES, SOURCES.c.id == EVENTS.c.source_id
            )
        ).all()
        sources = conn.execute(
            select(SOURCES.c.path, SOURCES.c.status, SOURCES.c.done, SOURCES.c.events).add_columns(
                SOURCES.c.warnings, SOURCES.c.size
            )
        ).all()
    return {tuple(r) for r in events}, {tuple(r) for r in sources}


def _warnings(summary: IngestSummary) -> set[tuple[str, str]]:
    return {(Path(w.path).name, w.message) for w in summary.warnings}


@pytest.mark.usefixtures("small_batches")
def test_workers_store_what_inline_stores(store_url: str, text_logs: Path, tmp_path: Path) -> None:
    logs = _logs(text_logs)
    engine = open_store(store_url)
    parallel = ingest(engine, [logs], "town", scans=False, worker=True)
    inline_engine = open_store(f"sqlite:///{tmp_path / 'inline.db'}")
    inline = ingest(inline_engine, [logs], "town", scans=False, worker=False)
    assert parallel.events == inline.events > 565
    assert parallel.by_kind == inline.by_kind == {"evtx": 3, "samba": 1, "syslog": 1}
    assert _warnings(parallel) == _warnings(inline)
    assert {"broken.evtx", "smbd.log", "auth.log"} <= {name for name, _ in _warnings(parallel)}
    events, sources = _stored(engine)
    assert (events, sources) == _stored(inline_engine)
    assert len(events) == parallel.events
    assert {status for _, status, *_ in sources} == {"done"}
    again = ingest(engine, [logs], "town", scans=False, worker=True)
    assert again.unchanged == 5 and again.events == 0


@pytest.mark.usefixtures("small_batches")
def test_killed_run_resumes_with_workers(store_url: str, text_logs: Path) -> None:
    logs = _logs(text_logs)
    engine = open_store(store_url)
    first = ingest(engine, [logs], "town", scans=False, worker=True)
    stored, _ = _stored(engine)
    sysmon = str(logs / "sysmon.evtx")
    # As a run killed in the middle of the big log leaves it: running, 300 records done.
    with engine.begin() as conn:
        conn.execute(update(SOURCES).where(SOURCES.c.path == sysmon).values(status="running"))
        conn.execute(update(SOURCES).where(SOURCES.c.path == sysmon).values(done=300))
    resumed = ingest(engine, [logs], "town", scans=False, worker=True)
    assert resumed.unchanged == 4 and resumed.events == 565 - 300
    assert _stored(engine)[0] == stored and first.events == len(stored)


@pytest.mark.parametrize("worker", [False, True], ids=["inline", "workers"])
def test_ingest_leaves_evidence_untouched(tmp_path: Path, text_logs: Path, worker: bool) -> None:
    logs = _logs(text_logs)
    before = {}
    for path in sorted(logs.iterdir()):
        # An access time in 2020: relatime would update it on any read that is not O_NOATIME.
        os.utime(path, ns=(_2020, _2020 + 10**9))
        stat = path.stat()
        before[path] = (hashlib.sha256(path.read_bytes()).hexdigest(), stat.st_mtime_ns)
        os.utime(path, ns=(_2020, _2020 + 10**9))  # reading it above may have moved it
    engine = open_store(f"sqlite:///{tmp_path / 's.db'}")
    summary = ingest(engine, [logs], "town", scans=False, worker=worker)
    assert summary.events > 565
    for path, (digest, mtime) in before.items():
        stat = path.stat()
        assert stat.st_atime_ns == _2020, path.name
        assert stat.st_mtime_ns == mtime == _2020 + 10**9, path.name
        assert hashlib.sha256(path.read_bytes()).hexdigest() == digest, path.name


@pytest.mark.usefixtures("small_batches")
def test_a_killed_worker_stops_the_run_and_a_rerun_completes_it(
    store_url: str, text_logs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One task out per worker: at the first result, both are alive and tasks remain.
    monkeypatch.setattr(_pipeline, "_AHEAD", 1)
    logs = _logs(text_logs)
    for i in range(6):  # tasks enough for both workers to be busy when one is killed
        shutil.copy(WMI_LATERAL, logs / f"wmi-{i}.evtx")
    engine = open_store(store_url)
    killed: list[int] = []

    def kill_a_worker(_files: int, _events: int, _path: str) -> None:
        if not killed:
            worker = multiprocessing.active_children()[0]
            os.kill(worker.pid or 0, signal.SIGKILL)  # as the OOM killer would
            killed.append(worker.pid or 0)

    with pytest.raises(TimelineError, match="worker died"):
        ingest(engine, [logs], "town", scans=False, worker=True, progress=kill_a_worker)
    assert killed and not multiprocessing.active_children()  # the other one was stopped too
    rerun = ingest(engine, [logs], "town", scans=False, worker=True)
    clean_engine = open_store(f"sqlite:///{tmp_path / 'clean.db'}")
    clean = ingest(clean_engine, [logs], "town", scans=False, worker=False)
    assert rerun.unchanged + sum(rerun.by_kind.values()) == clean.files == 11
    # What the killed run committed plus what the rerun added: exactly one clean run.
    assert _stored(engine) == _stored(clean_engine)


@pytest.mark.parametrize("worker", [False, True], ids=["inline", "workers"])
def test_a_file_named_twice_is_read_once(tmp_path: Path, text_logs: Path, worker: bool) -> None:
    logs = _logs(text_logs)
    (tmp_path / "link.evtx").symlink_to(logs / "sysmon.evtx")
    engine = open_store(f"sqlite:///{tmp_path / 's.db'}")
    named = [logs, logs / "sysmon.evtx", tmp_path / "link.evtx"]
    twice = ingest(engine, named, "town", scans=False, worker=worker)
    once = ingest(open_store(f"sqlite:///{tmp_path / 'o.db'}"), [logs], "town", scans=False)
    assert (twice.files, twice.events) == (once.files, once.events) == (5, len(_stored(engine)[0]))
