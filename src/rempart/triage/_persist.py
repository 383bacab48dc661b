"""Scan rows into the incident store: one writer, batched transactions, idempotent inserts.

Every row is keyed by (scan, path digest) and inserted with "on conflict do nothing", so a
resumed scan that classifies a file again never counts it twice.
"""

from __future__ import annotations

import json
import os
import signal
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, CursorResult, Engine, Executable, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from rempart.errors import ScanError
from rempart.store.models import Incident, Scan, ScanDir, ScanFile, path_key, utcnow
from rempart.triage.rows import Row


def display(path: bytes) -> str:
    """A path for people: UTF-8 where it decodes, \\xNN for the bytes that do not."""
    return path.decode("utf-8", "backslashreplace")


def incident_id(engine: Engine, key: str) -> int:
    """The id of the incident called `key`, created when new."""
    with engine.begin() as conn:
        found = conn.scalar(select(Incident.id).where(Incident.key == key))
        if found is not None:
            return int(found)
        return _new_id(conn.execute(insert(Incident).values(key=key, title=key)))


def start_scan(engine: Engine, incident: int, root: bytes, options: dict[str, object]) -> int:
    with engine.begin() as conn:
        res = conn.execute(
            insert(Scan).values(
                incident_id=incident,
                root=display(root),
                root_bytes=root,
                status="running",
                options=json.dumps(options),
            )
        )
        return _new_id(res)


def _new_id(result: CursorResult[Any]) -> int:
    key = result.inserted_primary_key
    assert key is not None, "insert returned no primary key"
    return int(key[0])


def resumable(engine: Engine, incident: int, root: bytes) -> int:
    """The newest unfinished scan of this root in this incident."""
    with engine.connect() as conn:
        found = conn.scalar(
            select(Scan.id)
            .where(Scan.incident_id == incident, Scan.root_bytes == root, Scan.status != "done")
            .order_by(Scan.id.desc())
            .limit(1)
        )
    if found is None:
        raise ScanError(
            f"no unfinished scan of {display(root)} to resume in this incident",
            hint="run the scan without --resume",
        )
    return int(found)


def set_status(engine: Engine, scan_id: int, status: str) -> None:
    values: dict[str, object] = {"status": status}
    if status == "done":
        values["finished_at"] = utcnow()
    with engine.begin() as conn:
        conn.execute(update(Scan).where(Scan.id == scan_id).values(**values))


def done_dirs(engine: Engine, scan_id: int) -> set[bytes]:
    with engine.connect() as conn:
        return {
            bytes(p) for p in conn.scalars(select(ScanDir.path).where(ScanDir.scan_id == scan_id))
        }


def count_files(engine: Engine, scan_id: int) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).where(ScanFile.scan_id == scan_id)) or 0)


def _insert(conn: Connection, table: type[ScanFile] | type[ScanDir]) -> Executable:
    keys = ["scan_id", "path_key"]
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=keys)
    return sqlite.insert(table).on_conflict_do_nothing(index_elements=keys)


_INT64 = range(-(2**63), 2**63)


def _stored_mtime(r: Row) -> tuple[int | None, tuple[str, ...]]:
    """The mtime as stored (64-bit nanoseconds), and evidence when it does not fit."""
    if r.mtime_ns is None or r.mtime_ns in _INT64:
        return r.mtime_ns, r.evidence
    # Dates past 2262 exist (ext4, xfs, NTFS allow them; attackers set them): keep the
    # value as evidence rather than lose the row.
    return None, (*r.evidence, f"modification time out of range: {r.mtime_ns} ns since 1970")


class Writer:
    """Buffers rows and finished directories; writes them in one transaction per flush."""

    def __init__(self, engine: Engine, scan_id: int, flush_every: int = 2000) -> None:
        self.engine = engine
        self.scan_id = scan_id
        self.flush_every = flush_every
        self.rows: list[dict[str, object]] = []
        self.dirs: list[dict[str, object]] = []

    def add(self, rows: Iterable[Row]) -> None:
        sid = self.scan_id
        for r in rows:
            mtime_ns, evidence = _stored_mtime(r)
            self.rows.append(
                {
                    "scan_id": sid,
                    "path": r.path,
                    "path_key": path_key(r.path),
                    "path_text": display(r.path),
                    "top": display(r.path.split(b"/", 1)[0]) if b"/" in r.path else ".",
                    "verdict": r.verdict,
                    "format": r.format,
                    "family": r.family,
                    "size": r.size,
                    "mtime_ns": mtime_ns,
                    "sha256": r.sha256,
                    "evidence": json.dumps(list(evidence)),
                    "note": r.note,
                    "confidence": r.confidence,
                }
            )
        if len(self.rows) >= self.flush_every:
            self.flush()

    def dir_done(self, rel: bytes) -> None:
        self.dirs.append({"scan_id": self.scan_id, "path": rel, "path_key": path_key(rel)})

    def flush(self) -> None:
        if not self.rows and not self.dirs:
            return
        with _no_sigint(), self.engine.begin() as conn:
            if self.rows:
                conn.execute(_insert(conn, ScanFile), self.rows)
            if self.dirs:  # after their files: a directory is done only once they are stored
                conn.execute(_insert(conn, ScanDir), self.dirs)
        self.rows.clear()
        self.dirs.clear()


@contextmanager
def _no_sigint() -> Iterator[None]:
    """Hold Ctrl-C until the block ends: an interrupted commit would keep the store locked."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def check_output(path: Path) -> None:
    """Fail before a long scan, not after it, when an output file cannot be written."""
    if path.is_dir():
        raise ScanError(f"{path} is a folder: give a file name for the output")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise ScanError(f"cannot write {path}: the folder {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise ScanError(f"cannot write {path}: the folder {parent} is not writable")


def refuse_inside(root: Path, outputs: Iterable[Path]) -> None:
    """Evidence is sacred: refuse to write a store, JSONL or report inside the scanned tree."""
    real_root = Path(os.path.realpath(root))
    for out in outputs:
        real = Path(os.path.realpath(out))
        if real == real_root or real_root in real.parents:
            raise ScanError(
                f"refusing to write {out} inside the tree being scanned ({root})",
                hint="write the store, JSONL and report somewhere else (--db, --jsonl, --html)",
            )
