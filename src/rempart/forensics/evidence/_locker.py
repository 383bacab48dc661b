"""The locker on disk: where items go, and the copy that never leaves a partial item behind.

Copy to a `.partial-*` folder, fsync, read the copy back, and rename it to its final name:
the caller records the item only after that, so a full disk or a Ctrl-C records nothing.
An interrupted copy (Ctrl-C, a killed process, a power cut) keeps its `.partial-*` folder:
the next run of the same acquisition compares what it holds with the source, chunk by chunk,
and writes only what is missing or differs, so hours of copying are not lost.
"""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from rempart.forensics.evidence._errors import AcquisitionError, EvidenceError
from rempart.forensics.evidence._hashing import Digests, ReadError, hash_fd, sha256_fd
from rempart.forensics.evidence._walk import Found, Listing, opened


@dataclass(frozen=True)
class Hashed:
    found: Found
    digests: Digests
    size: int  # as read: a file still growing is recorded as it was copied


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def refuse_store_inside(engine: Engine, source: bytes) -> None:
    """A SQLite store inside the source would be written into the evidence."""
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if database and database != ":memory:":
        store = os.path.realpath(database)
        if _inside(store, os.path.realpath(os.fsdecode(source))):
            raise EvidenceError(
                f"the incident store {database} is inside the source {os.fsdecode(source)}",
                hint="acquiring would write into the evidence: use --db elsewhere",
            )


def locker_dir(locker: Path, incident: str, source: bytes) -> Path:
    root = os.path.realpath(os.fsdecode(source))
    where = os.path.realpath(locker)
    if _inside(where, root):
        raise EvidenceError(
            f"the evidence locker {locker} is inside the source {os.fsdecode(source)}",
            hint="acquiring would write into the evidence: use --locker elsewhere",
        )
    if _inside(root, where):
        raise EvidenceError(f"{os.fsdecode(source)} is already inside the evidence locker")
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in incident)
    if not safe.strip("."):  # "." or "..": a folder name, not a way out of the locker
        safe = safe.replace(".", "_")
    folder = Path(where) / safe
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise EvidenceError(f"cannot create the evidence locker {folder}: {exc.strerror}") from exc
    return folder


@contextmanager
def _exclusive(folder: Path, name: str) -> Iterator[None]:
    """One acquisition of a given source at a time (a second terminal, a double click)."""
    path = folder / f".{name}.lock"
    with open(path, "wb") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise EvidenceError("this source is being acquired by another command") from None
        try:
            yield
        finally:
            path.unlink(missing_ok=True)  # nobody waits on it: the lock is never blocking


def copy(
    source: bytes, listing: Listing, final: Path, name: str, tick: Callable[[int], None]
) -> list[Hashed]:
    partial = final.parent / f".partial-{name}"
    with _exclusive(final.parent, name):
        free = shutil.disk_usage(final.parent).free + _held(partial)
        if listing.size > free:
            raise AcquisitionError(
                f"not enough space in the evidence locker: {listing.size:,} bytes to copy, "
                f"{free:,} free",
                hint="free space, use another --locker, or record it with --in-place",
            )
        try:
            hashed = _copy_files(source, listing, partial, tick)
            os.rename(partial, final)
            _fsync_dir(final.parent)
        except OSError as exc:
            # a full disk or an unreadable source: a later run would fail the same way
            shutil.rmtree(partial, ignore_errors=True)
            full = " (the locker's disk is full)" if exc.errno == errno.ENOSPC else ""
            raise AcquisitionError(
                f"copy into the evidence locker failed{full}: {exc.strerror}; "
                "nothing was recorded as acquired"
            ) from exc
        except AcquisitionError:
            shutil.rmtree(partial, ignore_errors=True)
            raise
        # anything else (Ctrl-C, SIGTERM): the partial copy stays for the next run to resume
    return hashed


def _copy_files(
    source: bytes, listing: Listing, partial: Path, tick: Callable[[int], None]
) -> list[Hashed]:
    base = os.path.dirname(source)
    dest = os.fsencode(partial)
    if os.path.isdir(dest):
        _prune(dest, {found.rel for found in listing.files})
    else:
        os.mkdir(dest, 0o700)
    hashed = []
    for found in listing.files:
        target = os.path.join(dest, found.rel)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with opened(os.path.join(base, found.rel), follow=not listing.tree) as src:
            out, resume = _open_copy(target)
            try:
                digests, size = hash_fd(src, copy_to=out, resume=resume, progress=tick)
                os.fsync(out)
            except ReadError as exc:
                shown = os.path.join(base, found.rel).decode(errors="backslashreplace")
                raise AcquisitionError(f"cannot read {shown}: {exc.strerror}") from exc
            finally:
                os.close(out)
        # the copy keeps the original's modification time: examiners see it as found
        os.utime(target, ns=(found.mtime_ns, found.mtime_ns))
        hashed.append(Hashed(found, digests, size))
    # Read the copy back: what is recorded is what the locker holds. SHA-256 alone suffices
    # (same SHA-256, same bytes) and costs a third of the three digests.
    for item in hashed:
        target = os.path.join(dest, item.found.rel)
        with opened(target) as fd:
            again = sha256_fd(fd)
        if again != item.digests.sha256:
            raise AcquisitionError(
                f"the copy of {item.found.rel.decode(errors='backslashreplace')} differs from "
                "the source (failing disk or memory?); nothing was recorded as acquired"
            )
        os.chmod(target, 0o444)
    for folder, _dirs, _files in os.walk(dest):
        _fsync_dir(Path(os.fsdecode(folder)))
    return hashed


def _open_copy(target: bytes) -> tuple[int, bool]:
    """The copy's descriptor, and whether it holds an interrupted run's bytes to compare."""
    flags = os.O_RDWR | os.O_CLOEXEC | os.O_NOFOLLOW
    try:
        return os.open(target, flags | os.O_CREAT | os.O_EXCL, 0o600), False
    except FileExistsError:
        if not stat.S_ISREG(os.lstat(target).st_mode):
            raise AcquisitionError(
                f"{os.fsdecode(target)} in an interrupted copy is not a file: remove it"
            ) from None
        os.chmod(target, 0o600)  # a file verified by the earlier run was made read-only
        return os.open(target, flags), True


def _held(partial: Path) -> int:
    """Bytes an interrupted copy already holds (they count as free: they are rewritten)."""
    return sum(p.lstat().st_size for p in partial.rglob("*") if p.is_file())


def _prune(dest: bytes, wanted: set[bytes]) -> None:
    """Delete what an interrupted copy holds that the source no longer has."""
    for folder, _dirs, files in os.walk(dest, topdown=False):
        for name in files:
            path = os.path.join(folder, name)
            if os.path.relpath(path, dest) not in wanted:
                os.unlink(path)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
