"""Reading evidence without touching it, and hashing it with three digests in one pass."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass

CHUNK = 1 << 20
#: O_NOATIME keeps the access time as found; the kernel allows it to the owner and root only.
_NOATIME = getattr(os, "O_NOATIME", 0)

Progress = Callable[[int], None]  # called with the number of bytes just read


@dataclass(frozen=True)
class Digests:
    sha256: str
    sha1: str
    md5: str

    def as_dict(self) -> dict[str, str]:
        return {"sha256": self.sha256, "sha1": self.sha1, "md5": self.md5}


def open_readonly(
    path: str | bytes, *, dir_fd: int | None = None, directory: bool = False, follow: bool = True
) -> int:
    """Open for reading only, without updating the access time where the kernel lets us.

    Args:
        follow: False inside a tree, where a link is recorded and never followed (a file
            swapped for a link after the listing fails with ELOOP instead of being read).
    """
    flags = os.O_RDONLY | os.O_CLOEXEC | (os.O_DIRECTORY if directory else 0)
    if dir_fd is not None or not follow:
        flags |= os.O_NOFOLLOW
    try:
        return os.open(path, flags | _NOATIME, dir_fd=dir_fd)
    except PermissionError:
        # EPERM: not the owner and no CAP_FOWNER; read anyway (relatime then decides)
        return os.open(path, flags, dir_fd=dir_fd)


def hash_fd(
    fd: int,
    *,
    copy_to: int | None = None,
    resume: bool = False,
    progress: Progress | None = None,
) -> tuple[Digests, int]:
    """SHA-256, SHA-1 and MD5 of everything readable from `fd`, read once in 1 MiB chunks.

    Args:
        copy_to: a file descriptor that receives every byte read (the locker copy).
        resume: `copy_to` (opened for reading and writing, at offset 0) holds an interrupted
            copy: each chunk it already holds is compared with the source instead of written
            again, and from the first chunk that differs (or is missing) on, it is cut there and
            written as usual. A copy damaged by a crash is thus repaired, never trusted.
    Returns:
        the digests and the number of bytes read.
    """
    with suppress(OSError):  # a hint: FUSE and some SMB mounts refuse it, nothing changes
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_SEQUENTIAL)
    sha256, sha1, md5 = hashlib.sha256(), hashlib.sha1(), hashlib.md5()
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    total = 0
    while n := _read(fd, buf):
        chunk = view[:n]
        # MD5 is the slowest of the three and hashlib lets go of the GIL on large buffers:
        # a second core hashes it while this one does SHA-256, SHA-1 and the copy's write.
        md5_done = _helper().submit(md5.update, chunk)
        sha256.update(chunk)
        sha1.update(chunk)
        if copy_to is not None:
            if resume and not _same(copy_to, total, chunk):
                resume = False  # from here on the copy is written
                os.ftruncate(copy_to, total)
                os.lseek(copy_to, total, os.SEEK_SET)
            if not resume:
                _write_all(copy_to, chunk)
        md5_done.result()  # before the buffer is read into again
        total += n
        if progress:
            progress(n)
    if resume and copy_to is not None:  # the copy was longer than the source is now
        os.ftruncate(copy_to, total)
    return Digests(sha256.hexdigest(), sha1.hexdigest(), md5.hexdigest()), total


def _same(copy: int, offset: int, chunk: memoryview) -> bool:
    """Whether the interrupted copy holds exactly `chunk` at `offset`."""
    held = os.pread(copy, len(chunk), offset)
    return len(held) == len(chunk) and held == chunk


def sha256_fd(fd: int) -> str:
    """SHA-256 alone: enough to show a copy is the same bytes (it is what manifests list)."""
    sha256 = hashlib.sha256()
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    while n := _read(fd, buf):
        sha256.update(view[:n])
    return sha256.hexdigest()


_pool: list[ThreadPoolExecutor] = []


def _helper() -> ThreadPoolExecutor:
    if not _pool:
        _pool.append(ThreadPoolExecutor(1, thread_name_prefix="rempart-md5"))
    return _pool[0]


class ReadError(OSError):
    """Reading the source failed (as opposed to writing the copy): a bad sector, a lost share."""


def _read(fd: int, buf: bytearray) -> int:
    try:
        return os.readv(fd, [buf])
    except OSError as exc:
        raise ReadError(exc.errno, exc.strerror) from exc


def _write_all(fd: int, data: memoryview) -> None:
    while data:
        written = os.write(fd, data)
        data = data[written:]


def tree_digests(files: list[tuple[bytes, str]]) -> Digests:
    """A tree's digests: those of its `sha256sum` listing (path order, raw bytes)."""
    listing = b"".join(f"{sha}  ".encode() + rel + b"\n" for rel, sha in sorted(files))
    return Digests(
        hashlib.sha256(listing).hexdigest(),
        hashlib.sha1(listing, usedforsecurity=False).hexdigest(),
        hashlib.md5(listing, usedforsecurity=False).hexdigest(),
    )
