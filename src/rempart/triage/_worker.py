"""The worker side of a scan: open each file safely, sample it, classify it, hash it.

Runs in worker processes (or inline with one worker). Files are opened relative to
directory descriptors with O_NOFOLLOW and O_NOATIME: never through a symlink, never
changing the atime of what we read, never blocking on a FIFO swapped in behind our back.
"""

from __future__ import annotations

import ctypes
import dataclasses
import errno
import hashlib
import json
import multiprocessing
import os
import signal
import stat
import sys

from rempart.triage import notes, walk
from rempart.triage.classify import classify
from rempart.triage.rows import Row
from rempart.triage.sample import take
from rempart.triage.verdicts import Classification, Verdict

_NOATIME = getattr(os, "O_NOATIME", 0)
FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
HASH_CHUNK = 1024 * 1024


class DirOpener:
    """Opens directories under the root, keeping the chain of the last one open.

    Consecutive batches come from the same or nearby directories (the walk is depth
    first), so reopening only the components that differ keeps deep trees cheap.
    """

    def __init__(self, root_fd: int) -> None:
        self.root_fd = root_fd
        self.rel = b""
        self.fds: list[int] = []

    def open(self, rel: bytes) -> int:
        while self.fds and not (rel == self.rel or rel.startswith(self.rel + b"/")):
            os.close(self.fds.pop())
            self.rel = self.rel.rpartition(b"/")[0] if self.fds else b""
        rest = rel[len(self.rel) :].lstrip(b"/")
        for part in rest.split(b"/") if rest else ():
            parent = self.fds[-1] if self.fds else self.root_fd
            self.fds.append(walk.open_dir(part, dir_fd=parent))
            self.rel = walk.join(self.rel, part)
        return self.fds[-1] if self.fds else self.root_fd

    def close(self) -> None:
        while self.fds:
            os.close(self.fds.pop())
        self.rel = b""


class Worker:
    """Classifies batches of files of one directory."""

    def __init__(
        self, root: bytes, hash_mode: str, hash_max: int, notes_dir: str | None = None
    ) -> None:
        walk.raise_fd_limit()
        if notes_dir:
            notes.load_reference_notes(notes_dir)
        self.opener = DirOpener(walk.open_root(root))
        self.hash_mode = hash_mode
        self.hash_max = hash_max

    def close(self) -> None:
        """Close the directories this worker holds open (its root included)."""
        self.opener.close()
        os.close(self.opener.root_fd)

    def batch(self, rel_dir: bytes, names: tuple[bytes, ...]) -> list[Row]:
        try:
            dir_fd = self.opener.open(rel_dir)
        except OSError as exc:
            reason = f"cannot enter directory: {exc.strerror}"
            return [_unreadable(walk.join(rel_dir, n), reason) for n in names]
        return [self.one(dir_fd, walk.join(rel_dir, name), name) for name in names]

    def one(self, dir_fd: int, rel: bytes, name: bytes) -> Row:
        try:
            fd, quiet = _open_file(name, dir_fd)
        except FileNotFoundError:
            return _unreadable(rel, "vanished during the scan")
        except OSError as exc:
            size, mtime_ns = _lstat(name, dir_fd)
            return _unreadable(rel, _open_error(exc), size, mtime_ns)
        try:
            row = self._read(fd, rel, name)
        except OSError as exc:
            return _unreadable(rel, f"read error: {exc.strerror}")
        finally:
            os.close(fd)
        if not quiet:
            note = "read without O_NOATIME (not its owner, not root): its access time may change"
            row = dataclasses.replace(row, evidence=(*row.evidence, note))
        return row

    def _read(self, fd: int, rel: bytes, name: bytes) -> Row:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return _unreadable(rel, "replaced by a non-regular file during the scan")
        sample = take(fd, st.st_size, os.fsdecode(name))
        try:
            result = classify(sample)
        except Exception as exc:  # noqa: BLE001
            # A bug of ours on one hostile file must not end a scan of a million: the file
            # gets its own verdict saying so, and the scan goes on.
            why = f"internal error while classifying ({type(exc).__name__}: {exc}); please report"
            return _unreadable(rel, why, st.st_size, st.st_mtime_ns)
        evidence = list(result.evidence)
        digest = None
        if self.hash_mode == "sha256":
            if st.st_size <= self.hash_max:
                digest = _sha256(fd, st.st_size)
            else:
                evidence.append(f"not hashed: larger than {self.hash_max} bytes")
        after = os.fstat(fd)
        if after.st_size != st.st_size or after.st_mtime_ns != st.st_mtime_ns:
            evidence.append(
                f"changed during the scan (size {st.st_size} -> {after.st_size}); "
                "verdict is on the bytes read"
            )
        return _row(rel, result, sample.size, st.st_mtime_ns, digest, evidence)


def _row(
    rel: bytes,
    result: Classification,
    size: int,
    mtime_ns: int,
    digest: str | None,
    evidence: list[str],
) -> Row:
    note = None
    confidence = None
    if result.note is not None:
        confidence = result.note.confidence
        note = json.dumps(
            {
                "confidence": result.note.confidence,
                "indicators": [[i.kind, i.value] for i in result.note.indicators],
            }
        )
    return Row(
        rel,
        result.verdict.value,
        result.format,
        result.family,
        size,
        mtime_ns,
        digest,
        tuple(evidence),
        note,
        confidence,
    )


def _open_file(name: bytes, dir_fd: int) -> tuple[int, bool]:
    """(fd, whether reading it leaves its access time alone)."""
    try:
        return os.open(name, FILE_FLAGS | _NOATIME, dir_fd=dir_fd), bool(_NOATIME)
    except PermissionError:
        # O_NOATIME needs the file's owner or root. Read anyway, and say so in its evidence.
        return os.open(name, FILE_FLAGS, dir_fd=dir_fd), False


def _lstat(name: bytes, dir_fd: int) -> tuple[int, int | None]:
    try:
        st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except OSError:
        return 0, None
    return st.st_size, st.st_mtime_ns


def _open_error(exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return "became a symbolic link during the scan: not followed"
    if exc.errno == errno.ENXIO:
        return "a socket or device: not read"
    return f"cannot open: {exc.strerror}"


def _unreadable(rel: bytes, reason: str, size: int = 0, mtime_ns: int | None = None) -> Row:
    return Row(rel, Verdict.UNREADABLE.value, "unknown", None, size, mtime_ns, None, (reason,))


def _sha256(fd: int, size: int) -> str:
    h = hashlib.sha256()
    offset = 0
    while offset < size:
        chunk = os.pread(fd, min(HASH_CHUNK, size - offset), offset)
        if not chunk:
            break
        h.update(chunk)
        offset += len(chunk)
    return h.hexdigest()


# -- process pool plumbing ---------------------------------------------------------------

_worker: Worker | None = None


def init_process(root: bytes, hash_mode: str, hash_max: int, notes_dir: str | None) -> None:
    """Pool initializer: Ctrl-C is the parent's to handle; each process opens the root once."""
    global _worker  # noqa: PLW0603  # one Worker per process, by design of process pools
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent()
    _worker = Worker(root, hash_mode, hash_max, notes_dir)


_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """On Linux, end this worker when the scan process dies, kill -9 included.

    Forked workers share the pipes of the pool, so a worker never sees them close and
    would wait forever, an orphan holding the scanned tree open. Elsewhere they still do.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):  # no C library to ask: keep the old behaviour
        return
    prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    parent = multiprocessing.parent_process()
    if parent is not None and os.getppid() != parent.pid:
        os._exit(0)  # the scan died before the line above: nothing will tell us later


def run_batches(jobs: tuple[tuple[bytes, tuple[bytes, ...]], ...]) -> list[list[Row]]:
    """Several folders' batches in one task: the rows of each, in order."""
    assert _worker is not None, "init_process was not called"
    return [_worker.batch(rel_dir, names) for rel_dir, names in jobs]
