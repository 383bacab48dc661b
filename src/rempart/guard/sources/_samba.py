"""Samba's vfs_full_audit lines, read live from smbd's `log file` as it grows.

With `full_audit:prefix = %I|%u|%m|%S` and `full_audit:syslog = false`, each record is a
header line `[2026/11/23 00:46:40.123456,  1, pid=1234, ...] ...(do_log)` (the `pid=` part
only with `debug pid = yes`, which lets writes be tied to the smbd child serving a client)
then `IP|user|machine|share|op|ok|path[|path2]`; `rempart.samba_audit` reads both (the
timeline reads them with the same code). The file is followed across rotation (a new inode
at the same name) and truncation; damaged or partial lines are counted, never fatal: a line
without its newline yet waits for the rest. Syslog-form lines are not taken from the file:
smbd alone writes its log file, while any local user can put an `smbd_audit:` line in a
syslog file (the datagram source checks who sent each record).
"""

from __future__ import annotations

import os
import time

from rempart.guard._errors import SourceUnavailable
from rempart.guard.events import Event, EventQueue, Op
from rempart.guard.sources import SourceOptions
from rempart.guard.sources._thread import SourceThread
from rempart.samba_audit import AuditRecord, parse_header, parse_record

_OPS = {
    "pwrite": Op.WRITE,
    "pwrite_send": Op.WRITE,
    "write": Op.WRITE,
    "renameat": Op.RENAME,
    "unlinkat": Op.DELETE,
    # reads: only when full_audit logs them (`pread_send` or `openat` in full_audit:success)
    "pread": Op.READ,
    "pread_send": Op.READ,
    "openat": Op.READ,
}
_MAX_LINE = 64 * 1024  # longer than any path pair: a damaged line, skipped


def record_event(record: AuditRecord, source: str, smbd_pid: int | None) -> Event | None:
    """The file operation an audit record reports, or None (failed, not watched, no path).

    `smbd_pid`: the smbd child that wrote the record, when the source knows it.
    """
    op = _OPS.get(record.op)
    paths = record.paths
    if record.op == "openat":  # openat|ok|r|PATH (w: opened for writing, a write follows)
        paths = paths[1:] if paths[:1] == ("r",) else ()
    if op is None or not record.ok or not paths:
        return None
    path2 = paths[1] if op is Op.RENAME and len(paths) > 1 else None
    return Event(
        source,
        op,
        paths[0],
        path2,
        address=record.address,
        user=record.user,
        smbd_pid=smbd_pid,
        at=time.monotonic(),
    )


class AuditFollower:
    """Reads whole new lines from a log file, surviving rotation and truncation."""

    def __init__(self, path: str, *, from_end: bool = True) -> None:
        self.path = path
        self._fd: int | None = None
        self._ino = 0
        self._pos = 0
        self._partial = b""
        self.damaged = 0
        self._open(from_end)

    def _open(self, from_end: bool) -> None:
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:  # not written yet (smbd creates it on first log)
            return
        if self._fd is not None:
            os.close(self._fd)
        st = os.fstat(fd)
        self._fd, self._ino = fd, st.st_ino
        self._pos = st.st_size if from_end else 0
        self._partial = b""

    def lines(self) -> list[bytes]:
        """The complete lines written since the last call."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            st = None
        out = self._drain()
        if st is not None and (self._fd is None or st.st_ino != self._ino):
            self._open(from_end=False)  # rotated: read the new file from its start
            out += self._drain()
        elif self._fd is not None and st is not None and st.st_size < self._pos:
            self._pos, self._partial = 0, b""  # truncated in place
            out += self._drain()
        return out

    def _drain(self) -> list[bytes]:
        if self._fd is None:
            return []
        chunks = []
        while chunk := os.pread(self._fd, 1 << 20, self._pos):
            chunks.append(chunk)
            self._pos += len(chunk)
        if not chunks:
            return []
        data = self._partial + b"".join(chunks)
        *whole, self._partial = data.split(b"\n")
        if len(self._partial) > _MAX_LINE:
            self.damaged += 1
            self._partial = b""
        return whole

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class SambaAuditSource(SourceThread):
    name = "samba-audit"
    blind_spots = "sees SMB clients only, and only the operations full_audit logs"

    def __init__(self, options: SourceOptions, queue: EventQueue) -> None:
        if options.samba_log is None:
            raise SourceUnavailable("no Samba log given", hint="--samba-log FILE")
        self.queue = queue
        self.root = str(options.root)
        self.follower = AuditFollower(str(options.samba_log))
        self.records = 0
        self._pid: int | None = None  # from the last header line
        self._init_thread()

    @property
    def damaged(self) -> int:
        return self.follower.damaged

    def stop(self) -> None:
        self._join()
        self.follower.close()

    def poll(self) -> None:
        """Read what is new now (the thread does this every 50 ms)."""
        for line in self.follower.lines():
            self.feed(line)

    def feed(self, line: bytes) -> None:
        text = os.fsdecode(line)  # undecodable bytes of a name kept (surrogateescape)
        header = parse_header(text)
        if header is not None:
            self._pid = header.pid
            return
        record = parse_record(text)
        if record is None:
            if "|" in text:  # meant to be a record, but damaged
                self.follower.damaged += 1
            return
        ev = record_event(record, self.name, self._pid)
        if ev is not None:
            self.records += 1
            self.queue.put(ev)

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            self.poll()
