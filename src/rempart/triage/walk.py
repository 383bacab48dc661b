"""A safe walk of a tree: relative to directory descriptors, never following a symbolic link.

Every directory is opened with O_NOFOLLOW relative to its parent's descriptor, so a path
5,000 levels deep (far beyond PATH_MAX) is walked like any other, a symlink can never lead
out of the root, and a directory met twice (bind mounts) is walked once. Directories are
opened with O_NOATIME so that listing them does not change the tree we were asked to read.
"""

from __future__ import annotations

import errno
import os
import resource
import stat
from collections.abc import Generator, Iterator
from dataclasses import dataclass

from rempart.errors import ScanError

_NOATIME = getattr(os, "O_NOATIME", 0)
DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


@dataclass(frozen=True)
class Listing:
    """The regular files of one directory (names as raw bytes), and what else it holds."""

    rel: bytes  # directory path relative to the root, b"" for the root itself
    files: tuple[bytes, ...]
    others: tuple[Other, ...]
    last: bool = True  # the directory's last listing: once stored, the directory is done


@dataclass(frozen=True)
class Other:
    """An entry that is not read: symlink, FIFO, socket, device, or a directory we cannot enter."""

    rel: bytes
    kind: str
    reason: str
    size: int = 0
    mtime_ns: int | None = None


def join(rel: bytes, name: bytes) -> bytes:
    return rel + b"/" + name if rel else name


def open_dir(name: bytes | str, dir_fd: int | None = None) -> int:
    """Open a directory without following a symlink and, where allowed, without touching atime."""
    try:
        return os.open(name, DIR_FLAGS | _NOATIME, dir_fd=dir_fd)
    except PermissionError:
        # O_NOATIME is refused on files we do not own unless we are root: fall back.
        return os.open(name, DIR_FLAGS, dir_fd=dir_fd)


def open_root(root: bytes) -> int:
    """Open the root (following it if it is itself a link: that is the user's choice)."""
    try:
        return os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC | _NOATIME)
    except NotADirectoryError:
        raise ScanError(f"not a directory: {os.fsdecode(root)}") from None
    except FileNotFoundError:
        raise ScanError(f"no such directory: {os.fsdecode(root)}") from None
    except PermissionError as exc:
        raise ScanError(f"cannot open {os.fsdecode(root)}: {exc.strerror}") from None


def raise_fd_limit() -> int:
    """Raise the soft limit on open files to the hard one; deep trees hold one per level."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard = 1 << 20
    if soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError):
            return soft
        return hard
    return soft


def walk(root_fd: int, *, batch: int = 128) -> Iterator[Listing]:
    """Yield the tree's directories, depth first, files in batches of at most `batch`.

    A directory yields one `Listing` per batch of files, the last one with `last=True`. A
    directory that cannot be entered yields one listing of its own holding the reason.
    """
    limit = raise_fd_limit()
    seen: set[tuple[int, int]] = set()
    st = os.fstat(root_fd)
    seen.add((st.st_dev, st.st_ino))
    # Each stack entry: (rel path, dir fd, subdirectory names still to enter)
    stack: list[tuple[bytes, int, list[bytes]]] = []
    try:
        yield from _walk_stack(root_fd, stack, seen, limit, batch)
    finally:  # interrupted or not, every directory we opened is closed
        for _rel, fd, _pending in stack:
            os.close(fd)


def _walk_stack(
    root_fd: int,
    stack: list[tuple[bytes, int, list[bytes]]],
    seen: set[tuple[int, int]],
    limit: int,
    batch: int,
) -> Iterator[Listing]:
    # Each directory is on the stack (so closed on interruption) before it is listed.
    first = os.dup(root_fd)
    stack.append((b"", first, []))
    stack[-1] = (b"", first, (yield from _list(b"", first, batch)))
    while stack:
        rel, fd, pending = stack[-1]
        if not pending:
            stack.pop()  # first: a Ctrl-C between the two must not leave it to close twice
            os.close(fd)
            continue
        name = pending.pop()
        child_rel = join(rel, name)
        if len(stack) + 64 >= limit:
            yield _refused(child_rel, "too deep: open file limit")
            continue
        try:
            child = open_dir(name, dir_fd=fd)
        except OSError as exc:
            yield _refused(child_rel, _dir_error(exc))
            continue
        cst = os.fstat(child)
        key = (cst.st_dev, cst.st_ino)
        if key in seen:
            os.close(child)
            yield _refused(child_rel, "already walked (a loop or a bind mount)")
            continue
        seen.add(key)
        stack.append((child_rel, child, []))
        stack[-1] = (child_rel, child, (yield from _list(child_rel, child, batch)))


def _refused(rel: bytes, reason: str) -> Listing:
    return Listing(rel, (), (Other(rel, "directory", reason),))


def _dir_error(exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return "became a symbolic link during the scan: not followed"
    return f"cannot enter directory: {exc.strerror}"


def _list(rel: bytes, fd: int, batch: int) -> Generator[Listing, None, list[bytes]]:
    """Yield the files of one directory in batches; return its subdirectory names."""
    files: list[bytes] = []
    others: list[Other] = []
    subdirs: list[bytes] = []
    try:
        with os.scandir(fd) as it:
            for entry in it:
                name = os.fsencode(entry.name)
                try:
                    if entry.is_dir(follow_symlinks=False):
                        subdirs.append(name)
                    elif entry.is_file(follow_symlinks=False):
                        files.append(name)
                    else:
                        others.append(_other(join(rel, name), entry.name, fd))
                except OSError as exc:  # vanished between listing and typing
                    others.append(Other(join(rel, name), "unknown", f"vanished: {exc.strerror}"))
                if len(files) >= batch:
                    yield Listing(rel, tuple(files), tuple(others), last=False)
                    files, others = [], []
    except OSError as exc:
        others.append(Other(rel or b".", "directory", f"cannot list directory: {exc.strerror}"))
    yield Listing(rel, tuple(files), tuple(others))
    subdirs.reverse()  # popped from the end: walk in listing order
    return subdirs


_KINDS = (
    (stat.S_ISLNK, "symlink"),
    (stat.S_ISFIFO, "fifo"),
    (stat.S_ISSOCK, "socket"),
    (stat.S_ISCHR, "character device"),
    (stat.S_ISBLK, "block device"),
)


def _other(rel: bytes, name: str, dir_fd: int) -> Other:
    try:
        st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except OSError as exc:
        return Other(rel, "unknown", f"vanished: {exc.strerror}")
    kind = next((k for test, k in _KINDS if test(st.st_mode)), "unknown")
    if kind == "symlink":
        try:
            target = os.readlink(name, dir_fd=dir_fd)
        except OSError:
            target = "?"
        reason = f"symbolic link to {target!r}: not followed"
    else:
        reason = f"{kind}: not a regular file, not read"
    return Other(rel, kind, reason, size=st.st_size, mtime_ns=st.st_mtime_ns)
