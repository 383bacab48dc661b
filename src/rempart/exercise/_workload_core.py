"""What every legitimate workload shares: the registry, the report and a guarded `Session`.

A workload only reads and writes through its `Session`, which refuses any path outside the
practice share or inside `.rempart-exercise/`, never follows a symlink, counts every file it
touches (the `limit` bounds the distinct paths read, written, created or deleted) and paces
itself to `rate` files per second.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import stat
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from rempart.exercise._safety import (
    STATE_DIR,
    ExerciseError,
    UnsafeTargetError,
    read_nofollow,
    walk_files,
    write_new,
)
from rempart.registry import Registry

Progress = Callable[[int, int], None]
OUTPUT_DIR = "workload"  # outputs that are not "next to their source" go here


@dataclass(frozen=True)
class WorkloadReport:
    """What one workload did to the share."""

    kind: str
    seed: int
    files_read: int
    files_written: int  # existing files rewritten or replaced
    files_created: int
    files_deleted: int
    touched: int  # distinct paths read, written, created or deleted (at most `limit`)
    seconds: float
    outputs: tuple[str, ...]  # what it made (archives, folders), relative to the root
    skipped: tuple[str, ...] = ()  # "path: reason" for inputs it could not use
    note: str | None = None  # why it did nothing at all (no git on PATH, nothing to do...)


Workload = Callable[["Session"], None]
WORKLOADS: Registry[Workload] = Registry("workload")


class Session:
    """The guarded file operations of one workload run, and what they added up to."""

    def __init__(
        self,
        root: Path,
        kind: str,
        seed: int,
        *,
        limit: int,
        rate: float | None = None,
        progress: Progress | None = None,
    ) -> None:
        self.root = root
        self.kind = kind
        self.seed = seed
        self.limit = limit
        self.rate = rate
        self.progress = progress
        self.rng = random.Random(f"workload/{kind}/{seed}")
        # Documents record when they were saved; a clock derived from the seed keeps the
        # bytes reproducible (mtimes on disk stay real: they are what a guard sees).
        self.when = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC) + dt.timedelta(minutes=seed)
        self.touched: set[Path] = set()
        self._reserved: set[Path] = set()
        self.read_count = self.written = self.created = self.deleted = 0
        self.outputs: list[str] = []
        self.skipped: list[str] = []
        self.note: str | None = None
        self._start = time.monotonic()

    # --- where a workload may go -----------------------------------------------------------
    def check(self, path: Path) -> None:
        """Refuse a path outside the share, in its state folder, or through a symlink."""
        try:
            rel = Path(os.path.normpath(path)).relative_to(self.root)
        except ValueError:
            raise UnsafeTargetError(f"{path} is outside the practice share {self.root}") from None
        if not rel.parts or ".." in rel.parts or rel.parts[0] == STATE_DIR:
            raise UnsafeTargetError(f"{path}: a workload never touches this path")
        current = self.root
        for part in rel.parts[:-1]:
            current = current / part
            if os.path.islink(current):
                raise UnsafeTargetError(f"{current} is a symlink: not followed")

    def rel(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def departments(self) -> list[Path]:
        """Top-level folders holding files (not the state folder, not workload outputs)."""
        found = []
        for entry in sorted(os.scandir(self.root), key=lambda e: e.name):
            if entry.name in (STATE_DIR, OUTPUT_DIR) or not entry.is_dir(follow_symlinks=False):
                continue
            if next(walk_files(Path(entry.path)), None) is not None:
                found.append(Path(entry.path))
        if not found:
            raise ExerciseError(f"{self.root} has no folder with files to work on")
        return found

    def sources(self, suffixes: Iterable[str], under: Path | None = None) -> list[Path]:
        """Files under `under` (default: the share, outputs excluded) ending in a suffix."""
        ends = tuple(s.lower() for s in suffixes)
        output = self.root / OUTPUT_DIR
        return [
            p
            for p in walk_files(under or self.root)
            if p.name.lower().endswith(ends) and output not in p.parents
        ]

    def output(self, name: str) -> Path:
        """A new folder `workload/<name>` (or `<name>-2`...), created."""
        base = self.root / OUTPUT_DIR
        self.mkdirs(base)
        folder, n = base / name, 1
        while os.path.lexists(folder):
            n += 1
            folder = base / f"{name}-{n}"
        self.mkdirs(folder)
        self.outputs.append(self.rel(folder))
        return folder

    @staticmethod
    def free(path: Path) -> Path:
        """`path`, or `stem (2).ext`, `stem (3).ext`... whichever does not exist yet."""
        candidate, n = path, 1
        while os.path.lexists(candidate):
            n += 1
            candidate = path.with_name(f"{path.stem} ({n}){path.suffix}")
        return candidate

    def mkdirs(self, folder: Path) -> None:
        self.check(folder / "_")
        current = self.root
        for part in folder.relative_to(self.root).parts:
            current = current / part
            try:
                os.mkdir(current, 0o755)
            except FileExistsError:
                if not stat.S_ISDIR(os.lstat(current).st_mode):
                    raise UnsafeTargetError(f"{current} is not a folder") from None

    # --- the budget ------------------------------------------------------------------------
    def fits(self, *paths: Path) -> bool:
        """True when touching `paths` keeps the run within `limit` distinct files."""
        new = {p for p in paths if p not in self.touched and p not in self._reserved}
        return len(self.touched) + len(self._reserved) + len(new) <= self.limit

    def reserve(self, *paths: Path) -> bool:
        """Like `fits`, and counts `paths` as touched already (for work done later)."""
        if not self.fits(*paths):
            return False
        self._reserved.update(p for p in paths if p not in self.touched)
        return True

    def _touch(self, path: Path) -> None:
        if path in self.touched:
            return
        self._reserved.discard(path)
        self.touched.add(path)
        if self.rate:
            due = self._start + len(self.touched) / self.rate
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        if self.progress:
            self.progress(len(self.touched), self.limit)

    # --- file operations -------------------------------------------------------------------
    def read(self, path: Path) -> bytes:
        self.check(path)
        data = read_nofollow(path)
        self.read_count += 1
        self._touch(path)
        return data

    def create(self, path: Path, data: bytes, mtime_ns: int | None = None) -> None:
        """A new file (never over an existing one), with `mtime_ns` when given."""
        self.check(path)
        write_new(path, data, sync=False)
        if mtime_ns is not None:
            os.utime(path, ns=(mtime_ns, mtime_ns), follow_symlinks=False)
        self.created += 1
        self._touch(path)

    def replace(self, path: Path, data: bytes, tmp: Path, mtime_ns: int | None = None) -> None:
        """Write `tmp`, then rename it over `path`: the way Office and rsync save."""
        self.check(path)
        self.check(tmp)
        existed = os.path.lexists(path)
        if existed and not stat.S_ISREG(os.lstat(path).st_mode):
            raise UnsafeTargetError(f"{path} is not a regular file: not replaced")
        write_new(tmp, data, sync=False)
        if mtime_ns is not None:
            os.utime(tmp, ns=(mtime_ns, mtime_ns), follow_symlinks=False)
        os.replace(tmp, path)  # renames never follow a symlink at the destination
        self._touch(tmp)
        if existed:
            self.written += 1
        else:
            self.created += 1
        self._touch(path)

    def delete(self, path: Path) -> None:
        self.check(path)
        if not stat.S_ISREG(os.lstat(path).st_mode):
            raise UnsafeTargetError(f"{path} is not a regular file: not deleted")
        os.unlink(path)
        self.deleted += 1
        self._touch(path)

    def rewritten(self, paths: Iterable[Path]) -> None:
        """Count files another program (git) rewrote for this workload."""
        for path in paths:
            self.written += 1
            self._touch(path)

    def skip(self, path: Path, reason: str) -> None:
        self.skipped.append(f"{self.rel(path)}: {reason}")

    def report(self) -> WorkloadReport:
        return WorkloadReport(
            self.kind,
            self.seed,
            self.read_count,
            self.written,
            self.created,
            self.deleted,
            len(self.touched),
            time.monotonic() - self._start,
            tuple(self.outputs),
            tuple(self.skipped),
            self.note,
        )
