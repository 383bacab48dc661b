"""The store side of a scan: opened on demand (after the workers start), rows held until then.

Kept apart from the scanner so that nothing here loads the database libraries before the
scan asks: they load in `StoreOpener.__call__` and `Sink.open`, once the workers run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import TYPE_CHECKING

from rempart.triage._signals import hold_sigint
from rempart.triage.rows import Row

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from rempart.triage._persist import Writer
    from rempart.triage.scanner import ScanOptions

Progress = Callable[[int, int], None]  # (files stored so far, bytes)


class StoreOpener:
    """Opens the store at `url` on its first call, the same engine on every later one.

    Given to `scan` instead of an engine, it lets a new scan start its workers first: the
    database libraries load and a new store gets its schema while the first files are read.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self._engine: Engine | None = None

    def __call__(self) -> Engine:
        if self._engine is None:
            from rempart.store import open_store  # noqa: PLC0415  # after the workers start

            self._engine = open_store(self.url)
        return self._engine


class Sink:
    """Where results go: the store (once open; held here until then), and the progress."""

    def __init__(
        self,
        store: Engine | Callable[[], Engine],
        incident: str,
        root: bytes,
        options: ScanOptions,
        progress: Progress | None,
    ) -> None:
        self.store = store
        self.incident = incident
        self.root = root
        self.options = options
        self.progress = progress
        self.writer: Writer | None = None
        self.held: list[Row] = []
        self.held_dirs: list[bytes] = []
        self.open_tried = False
        self.files = 0
        self.bytes = 0
        self.before = 0

    def open(self, resume: bool = False) -> set[bytes]:
        """Open the store, start (or find the resumed) scan; the directories already done.

        Ctrl-C is held until the store holds every row held so far: cut halfway, the import
        of the database libraries leaves them broken, and a scan row may be created without
        its files. A second Ctrl-C still stops it at once (a PostgreSQL server that does not
        answer); `open_tried` then tells the scan there is no store to keep anything in.
        """
        self.open_tried = True
        with hold_sigint(second_forces=True):
            return self._open(resume)

    def _open(self, resume: bool) -> set[bytes]:
        from rempart.triage import _persist  # noqa: PLC0415  # loads the database libraries

        engine = self.store() if callable(self.store) else self.store
        inc = _persist.incident_id(engine, self.incident)
        if resume:
            scan_id = _persist.resumable(engine, inc, self.root)
            _persist.set_status(engine, scan_id, "running")
        else:
            scan_id = _persist.start_scan(engine, inc, self.root, asdict(self.options))
        skip = _persist.done_dirs(engine, scan_id) if resume else set()
        self.before = _persist.count_files(engine, scan_id)
        writer = _persist.Writer(engine, scan_id)
        # Rows first, then directories: a directory is done only once its files are stored.
        writer.add(self.held)
        for rel in self.held_dirs:
            writer.dir_done(rel)
        self.writer, self.held, self.held_dirs = writer, [], []
        return skip

    @property
    def opened(self) -> bool:
        return self.writer is not None

    @property
    def holding(self) -> int:
        """Rows and directories held until the store opens."""
        return len(self.held) + len(self.held_dirs)

    @property
    def engine(self) -> Engine:
        assert self.writer is not None, "the store is not open yet"
        return self.writer.engine

    @property
    def scan_id(self) -> int:
        assert self.writer is not None, "the store is not open yet"
        return self.writer.scan_id

    def set_status(self, status: str) -> None:
        from rempart.triage import _persist  # noqa: PLC0415  # already loaded by now

        _persist.set_status(self.engine, self.scan_id, status)

    def stored(self) -> int:
        """Files stored by this run (a resumed run counts only new ones)."""
        from rempart.triage import _persist  # noqa: PLC0415  # already loaded by now

        return _persist.count_files(self.engine, self.scan_id) - self.before

    def add(self, rows: list[Row]) -> None:
        if self.writer is None:
            self.held += rows
        else:
            self.writer.add(rows)
        self.files += len(rows)
        self.bytes += sum(r.size for r in rows)
        if self.progress:
            self.progress(self.files, self.bytes)

    def dir_done(self, rel: bytes) -> None:
        if self.writer is None:
            self.held_dirs.append(rel)
        else:
            self.writer.dir_done(rel)

    def flush(self) -> None:
        if self.writer is None:
            self.open()
        assert self.writer is not None
        self.writer.flush()
