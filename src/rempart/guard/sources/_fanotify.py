"""fanotify through libc (ctypes): who wrote which file, with an fd on what was written.

Two notification groups on the filesystem of the watched root:
- fd mode, FAN_CLOSE_WRITE: the writer's PID and an fd on the file as closed, so the
  analysis reads the content that was written, without racing later writes;
- FID mode with FAN_REPORT_DFID_NAME (kernel >= 5.9; FAN_RENAME needs 5.17): creates,
  deletes and renames, with the directory as a file handle resolved through
  open_by_handle_at. Where the kernel refuses FID mode, only writes are seen (said at start);
- FID mode too, marks on each folder of the share: files closed after reading (reads).
Fds the group opens carry FMODE_NONOTIFY, so reading through them raises no event; events
of the guard's own PID (its baseline walk) are ignored all the same.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import select
import struct
import time

from rempart.guard._errors import SourceUnavailable
from rempart.guard.events import Event, EventQueue, Op
from rempart.guard.sources import SourceOptions
from rempart.guard.sources._thread import SourceThread

FAN_CLOEXEC, FAN_NONBLOCK = 0x1, 0x2
FAN_REPORT_DIR_FID, FAN_REPORT_NAME = 0x400, 0x800
FAN_MARK_ADD, FAN_MARK_FILESYSTEM = 0x1, 0x100
FAN_CLOSE_WRITE, FAN_CLOSE_NOWRITE, FAN_Q_OVERFLOW = 0x8, 0x10, 0x4000
FAN_MOVED_FROM, FAN_MOVED_TO, FAN_CREATE, FAN_DELETE = 0x40, 0x80, 0x100, 0x200
FAN_RENAME, FAN_ONDIR, FAN_EVENT_ON_CHILD = 0x10000000, 0x40000000, 0x08000000
FAN_UNLIMITED_MARKS, FAN_MARK_ONLYDIR = 0x20, 0x8
INFO_DFID_NAME, INFO_OLD_DFID_NAME, INFO_NEW_DFID_NAME = 2, 10, 12
_META = struct.Struct("=IBBHQii")  # event_len, vers, reserved, metadata_len, mask, fd, pid
_BUF = 64 * 1024

_libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
_libc.fanotify_init.argtypes = [ctypes.c_uint, ctypes.c_uint]
_libc.fanotify_mark.argtypes = [
    ctypes.c_int,
    ctypes.c_uint,
    ctypes.c_uint64,
    ctypes.c_int,
    ctypes.c_char_p,
]
_libc.open_by_handle_at.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int]


def _group(flags: int) -> int:
    fd = int(_libc.fanotify_init(flags | FAN_CLOEXEC | FAN_NONBLOCK, os.O_RDONLY | os.O_LARGEFILE))
    if fd < 0:
        err = ctypes.get_errno()
        raise SourceUnavailable(f"fanotify refused: {os.strerror(err)}", hint="run as root")
    return fd


def _init(flags: int, mask: int, root: str) -> int:
    fd = _group(flags)
    flags = FAN_MARK_ADD | FAN_MARK_FILESYSTEM
    if _libc.fanotify_mark(fd, flags, mask, -100, os.fsencode(root)) < 0:
        err = ctypes.get_errno()
        os.close(fd)
        raise SourceUnavailable(f"fanotify cannot mark {root}: {os.strerror(err)}")
    return fd


class FanotifySource(SourceThread):
    name = "fanotify"

    def __init__(self, options: SourceOptions, queue: EventQueue) -> None:
        self.root = str(options.root)
        self.prefix = self.root.rstrip("/") + "/"
        self.queue = queue
        self.own_pid = os.getpid()
        self.write_fd = _init(0, FAN_CLOSE_WRITE, self.root)
        self.blind_spots = "does not see reads"
        self.fid_fd: int | None = None
        try:
            mask = FAN_CREATE | FAN_DELETE | FAN_RENAME | FAN_ONDIR
            self.fid_fd = _init(FAN_REPORT_DIR_FID | FAN_REPORT_NAME, mask, self.root)
            self.blind_spots = ""
        except SourceUnavailable as exc:
            self.blind_spots = f"no creates, deletes, renames or reads ({exc})"
        self.mount_fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY)
        self._dirs: dict[bytes, str] = {}  # file handle -> directory path (bounded below)
        self.read_fd: int | None = None
        self.unread = 0  # folders whose reads cannot be seen (mark refused)
        self._reads_wanted = self.fid_fd is not None and options.reads
        if self.fid_fd is not None and not options.reads:
            self.blind_spots = "reads not watched (--no-reads)"
        self._init_thread()

    damaged = 0  # events whose file could not be named
    reads_dropped = 0  # overflows of the reads' queue (the kernel's)

    def after_baseline(self) -> None:
        """Start watching reads, once the guard has read the whole share for its baseline:
        before, its own reads (ignored, but queued by the kernel all the same) kept this
        thread busy into the first attack (measured: 2-5 files lost instead of 0)."""
        if self._reads_wanted and self.read_fd is None:
            self._watch_reads()

    def _watch_reads(self) -> None:
        """Files closed after reading (FAN_CLOSE_NOWRITE: one event per file, not one per read
        like FAN_ACCESS), in FID mode (no fd opened), on each folder of the share: a mark on
        the whole filesystem would report every file any program reads there (measured: the
        tripwire's freeze came one file later on a busy root filesystem)."""
        try:
            flags = FAN_REPORT_DIR_FID | FAN_REPORT_NAME | FAN_UNLIMITED_MARKS
            self.read_fd = _group(flags)
        except SourceUnavailable as exc:
            self.blind_spots = f"no reads ({exc})"
            return
        for folder, subdirs, _files in os.walk(self.root):
            subdirs[:] = [d for d in subdirs if not d.startswith(".rempart")]
            self._watch_folder(folder)
        if self.unread:
            self.blind_spots = f"reads unseen in {self.unread} folders (fanotify mark refused)"

    def _watch_tree(self, top: str) -> None:
        """Marks for a folder created or moved into the share, and for its subfolders (a
        folder moved in arrives whole). A folder renamed inside the share keeps its marks (they
        are on the inode): marking it again is harmless."""
        if self.read_fd is None:
            return
        for folder, subdirs, _files in os.walk(top):
            subdirs[:] = [d for d in subdirs if not d.startswith(".rempart")]
            self._watch_folder(folder)

    def _watch_folder(self, folder: str) -> None:
        if self.read_fd is None:
            return
        mask = FAN_CLOSE_NOWRITE | FAN_EVENT_ON_CHILD
        flags = FAN_MARK_ADD | FAN_MARK_ONLYDIR
        if _libc.fanotify_mark(self.read_fd, flags, mask, -100, os.fsencode(folder)) < 0:
            self.unread += 1

    def stop(self) -> None:
        self._join()
        for fd in (self.write_fd, self.fid_fd, self.read_fd, self.mount_fd):
            if fd is not None:
                os.close(fd)

    def _inside(self, path: str) -> bool:
        return path == self.root or path.startswith(self.prefix)

    def _run(self) -> None:
        while not self._stop.is_set():
            # read_fd appears once the baseline is built (`after_baseline`)
            fds = [fd for fd in (self.write_fd, self.fid_fd, self.read_fd) if fd is not None]
            ready, _, _ = select.select(fds, [], [], 0.2)
            # writes (decoys: the tripwire) and names first; reads only in a round where
            # neither waits: a reader busy with an attacker's reads froze it one file later
            # (measured with 4 threads). Reads left behind may overflow: counted apart.
            urgent = [fd for fd in ready if fd != self.read_fd]
            for fd in urgent or ready:
                try:
                    data = os.read(fd, _BUF)
                except BlockingIOError:  # woken up for nothing
                    continue
                now = time.monotonic()
                if fd == self.write_fd:
                    self._writes(data, now)
                else:
                    self._names(data, now, reads=fd == self.read_fd)

    def _writes(self, data: bytes, now: float) -> None:
        off = 0
        while off + _META.size <= len(data):
            length, _v, _r, _ml, mask, fd, pid = _META.unpack_from(data, off)
            off += length
            if mask & FAN_Q_OVERFLOW:
                self.queue.count_kernel_drop()
                continue
            if fd < 0:
                continue
            try:
                path = os.readlink(f"/proc/self/fd/{fd}")
            except OSError:  # the file went away between the event and now
                os.close(fd)
                continue
            if pid == self.own_pid or not self._inside(path):
                os.close(fd)
                continue
            self.queue.put(Event(self.name, Op.WRITE, path, pid=pid, fd=fd, at=now))

    def _names(self, data: bytes, now: float, *, reads: bool = False) -> None:
        off = 0
        while off + _META.size <= len(data):
            length, _v, _r, meta_len, mask, _fd, pid = _META.unpack_from(data, off)
            if mask & FAN_Q_OVERFLOW and reads:
                self.reads_dropped += 1  # reads only feed an indicator: not a blind spot
            elif mask & FAN_Q_OVERFLOW:
                self.queue.count_kernel_drop()
            elif mask & FAN_ONDIR:
                names = self._info(data[off + meta_len : off + length])
                if mask & (FAN_RENAME | FAN_DELETE):
                    # the cache maps a folder's handle to its path: after a rename, every
                    # file below it (and below its subfolders) would be named at the old path
                    self._dirs.clear()
                old = names.get(INFO_OLD_DFID_NAME)
                if mask & FAN_RENAME and old and self._inside(old):
                    new_path = names.get(INFO_NEW_DFID_NAME) or old
                    ev = Event(self.name, Op.RENAME, old, new_path, pid=pid, at=now, folder=True)
                    self.queue.put(ev)
                new = names.get(INFO_DFID_NAME) or names.get(INFO_NEW_DFID_NAME)
                if mask & (FAN_CREATE | FAN_RENAME) and new and self._inside(new):
                    self._watch_tree(new)  # a new folder, or one moved in: its reads too
            elif pid != self.own_pid:
                names = self._info(data[off + meta_len : off + length])
                self._emit(mask, names, pid, now)
            off += length

    def _emit(self, mask: int, names: dict[int, str], pid: int, now: float) -> None:
        if mask & FAN_RENAME:
            old, new = names.get(INFO_OLD_DFID_NAME), names.get(INFO_NEW_DFID_NAME)
            if old and new and (self._inside(old) or self._inside(new)):
                self.queue.put(Event(self.name, Op.RENAME, old, new, pid=pid, at=now))
            return
        path = names.get(INFO_DFID_NAME)
        if path is None or not self._inside(path):
            return
        op = (
            Op.CREATE
            if mask & FAN_CREATE
            else Op.DELETE
            if mask & FAN_DELETE
            else Op.READ
            if mask & FAN_CLOSE_NOWRITE
            else None
        )
        if op is not None:
            self.queue.put(Event(self.name, op, path, pid=pid, at=now))

    def _info(self, records: bytes) -> dict[int, str]:
        """Info records -> {record type: full path} (directory handle resolved + name)."""
        out: dict[int, str] = {}
        off = 0
        while off + 4 <= len(records):
            kind, _pad, length = struct.unpack_from("=BBH", records, off)
            if length == 0:
                break
            body = records[off + 4 : off + length]
            off += length
            if kind not in (INFO_DFID_NAME, INFO_OLD_DFID_NAME, INFO_NEW_DFID_NAME):
                continue
            # fsid (8 bytes), then struct file_handle: handle_bytes, handle_type, f_handle
            size, _type = struct.unpack_from("=Ii", body, 8)
            handle = body[8 : 16 + size]
            name = body[16 + size :].split(b"\0", 1)[0]
            directory = self._directory(handle)
            if directory is not None:
                out[kind] = os.path.join(directory, os.fsdecode(name))
        return out

    def _directory(self, handle: bytes) -> str | None:
        found = self._dirs.get(handle)
        if found is not None:
            return found
        fd = _libc.open_by_handle_at(self.mount_fd, handle, os.O_PATH)
        if fd < 0:  # the directory is gone already
            return None
        try:
            path = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:  # no path to show (ENAMETOOLONG for a detached directory)
            self.damaged += 1
            return None
        finally:
            os.close(fd)
        if len(self._dirs) > 50_000:  # bound the cache; directories renamed go stale anyway
            self._dirs.clear()
        self._dirs[handle] = path
        return path
