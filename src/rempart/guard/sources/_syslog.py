"""Samba's vfs_full_audit records received as syslog datagrams, on a socket the guard binds.

With `full_audit:syslog = true`, smbd sends each record with syslog(3) to `/dev/log`. Give
smbd the guard's socket as its `/dev/log` (systemd: `BindPaths=/run/rempart/audit.sock:/dev/log`
in a drop-in of smbd.service), or forward the `smbd_audit` messages to it from rsyslog
(`omuxsock`) or syslog-ng (`unix-dgram()`). Compared with following the log file:
nothing is written to disk first, no rotation to follow, and the kernel tells the sender's
PID with each datagram (SO_PASSCRED): when it is an smbd, that is the child serving the client,
as `debug pid = yes` gives in the file. A forwarding daemon's PID is not smbd's: then the
`TAG[PID]:` of the message is used, if any.

The socket is writable by everyone (smbd children send as the connected user's uid), so the
kernel's credentials decide what is believed: a record is taken only from an smbd process, or
from a forwarder running as root or as the guard's own user. Anything else (a local user
writing `smbd_audit: 10.0.0.9|alice|...` to get an innocent client blocked) is refused and
counted (`refused`). A datagram cut by the receive buffer (MSG_TRUNC) is counted as damaged.

A datagram is `<PRI>` + optional timestamp/host + `smbd_audit: ` + the record
(`IP|user|machine|share|op|ok|path[|path2]`, prefix `%I|%u|%m|%S`), read by
`rempart.samba_audit`; a message without `|` (smbd's "connect to service" lines, other
programs) is ignored, damaged records are counted.
"""

from __future__ import annotations

import contextlib
import os
import socket
import stat
import struct
import time

from rempart.guard._errors import SourceUnavailable
from rempart.guard.correlate import is_smbd
from rempart.guard.events import EventQueue
from rempart.guard.sources import SourceOptions
from rempart.guard.sources._samba import record_event
from rempart.guard.sources._thread import SourceThread
from rempart.samba_audit import parse_message

_UCRED = struct.Struct("=iII")  # pid, uid, gid
_MAX = 64 * 1024
_SMBD_TTL = 5.0


class SambaSyslogSource(SourceThread):
    name = "samba-syslog"
    blind_spots = "sees SMB clients only, and only the operations full_audit logs"

    def __init__(self, options: SourceOptions, queue: EventQueue) -> None:
        path = options.samba_syslog
        if path is None:
            raise SourceUnavailable("no syslog socket given", hint="--samba-syslog PATH")
        self.path = str(path)
        self.queue = queue
        self.records = 0
        self.damaged = 0
        self.refused = 0
        self._trusted_uids = {0, os.geteuid()}
        self._smbd: dict[int, tuple[bool, float]] = {}
        with contextlib.suppress(FileNotFoundError):  # a socket left by a previous run
            if not stat.S_ISSOCK(os.lstat(self.path).st_mode):
                raise SourceUnavailable(f"{self.path} exists and is not a socket")
            if _in_use(self.path):  # another guard's: unlinking it would blind that one
                raise SourceUnavailable(f"{self.path} is in use by another process")
            os.unlink(self.path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        # credentials before the first datagram can arrive: one without them is refused
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)  # bursts
        self.sock.settimeout(0.2)
        try:
            self.sock.bind(self.path)
        except OSError as exc:
            self.sock.close()
            raise SourceUnavailable(f"cannot bind {self.path}: {exc.strerror}") from exc
        try:
            os.chmod(self.path, 0o666)  # smbd sends as the connected user's uid: see `feed`
        except OSError as exc:  # never leave our socket file behind
            self.sock.close()
            os.unlink(self.path)
            raise SourceUnavailable(f"cannot open {self.path} to smbd: {exc.strerror}") from exc
        self._init_thread()

    def stop(self) -> None:
        self._join()
        self.sock.close()
        with contextlib.suppress(OSError):
            os.unlink(self.path)

    def feed(self, datagram: bytes, sender: int | None = None, uid: int | None = None) -> None:
        """One syslog message; `sender` and `uid` are the credentials the kernel gave with it
        (None: not known, as in tests feeding records directly: then it is trusted)."""
        text = os.fsdecode(datagram.rstrip(b"\0\r\n"))  # names' undecodable bytes kept
        if "|" not in text:  # no record: "connect to service ...", another program
            return
        smbd = sender is not None and self._is_smbd(sender)
        if sender is not None and not smbd and uid not in self._trusted_uids:
            self.refused += 1  # neither smbd nor a forwarder we trust: a spoofed record?
            return
        record = parse_message(text)
        if record is None:
            self.damaged += 1
            return
        # smbd's own PID when it sent the datagram; a forwarder's message may carry it in
        # its `TAG[PID]:`
        tagged = record.envelope.pid if record.envelope else None
        ev = record_event(record, self.name, sender if smbd else tagged)
        if ev is not None:
            self.records += 1
            self.queue.put(ev)

    def _is_smbd(self, pid: int) -> bool:
        now = time.monotonic()
        found = self._smbd.get(pid)
        # believed for a few seconds only: PIDs are reused, and a local user's process given a
        # former smbd's PID must not be taken for one
        if found is None or now - found[1] > _SMBD_TTL:
            if len(self._smbd) > 10_000:  # bounded
                self._smbd.clear()
            found = self._smbd[pid] = (is_smbd(pid), now)
        return found[0]

    def _run(self) -> None:
        space = socket.CMSG_SPACE(_UCRED.size)
        while not self._stop.is_set():
            try:
                data, anc, flags, _addr = self.sock.recvmsg(_MAX, space)
            except TimeoutError:
                continue
            except OSError:
                if self._stop.is_set():
                    return
                raise
            if flags & socket.MSG_TRUNC:  # a record cut at _MAX: its path is not the real one
                self.damaged += 1
                continue
            sender, uid = 0, -1  # no credentials (cannot happen with SO_PASSCRED): untrusted
            for level, kind, body in anc:
                if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                    sender, uid, _gid = _UCRED.unpack_from(body)
            self.feed(data, sender, uid)


def _in_use(path: str) -> bool:
    """Whether a process is bound to the datagram socket at `path` (a stale one refuses)."""
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        probe.connect(path)
    except OSError:
        return False
    finally:
        probe.close()
    return True
