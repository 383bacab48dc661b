"""Samba's audit records received as syslog datagrams on a socket the guard binds."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from rempart.guard._errors import SourceUnavailable
from rempart.guard.events import EventQueue, Op
from rempart.guard.sources import SourceOptions
from rempart.guard.sources._syslog import SambaSyslogSource

GLIBC = b"<13>Nov 23 23:14:05 smbd_audit: 10.0.0.8|alice|PC12|share|renameat|ok|/s/a|/s/a.x"
FORWARDED = b"<13>Nov 23 23:14:05 fs01 smbd_audit[4242]: fd00::8|bob|PC|share|unlinkat|ok|/s/b"


def test_the_record_is_found_in_every_header_form(tmp_path: Path) -> None:
    src, q = _source(tmp_path)
    try:
        src.feed(GLIBC)
        src.feed(FORWARDED + b"\0\n")  # a NUL and a newline at the end: not the path's
        src.feed(b"<13>10.0.0.8|a|b|c|pwrite|ok|/s/c\n")  # no header at all
        src.feed(b"<13>1 2026-11-23T22:14:05Z fs01 smbd_audit 77 - - 10.0.0.9|c|P|s|unlinkat|ok|/d")
        src.feed(b"<13>Nov 23 23:14:05 smbd_audit: connect to service share")  # no record
        src.feed(b"<13>Nov 23 23:14:05 smbd_audit: 10.0.0.8|a|b|c|unlinkat|fail (Busy)|/e")
        events = q.get_batch(0.1)
    finally:
        src.stop()
    assert [(e.op, e.path, e.path2, e.address, e.smbd_pid) for e in events] == [
        (Op.RENAME, "/s/a", "/s/a.x", "10.0.0.8", None),
        (Op.DELETE, "/s/b", None, "fd00::8", 4242),  # the TAG[PID] of a forwarded message
        (Op.WRITE, "/s/c", None, "10.0.0.8", None),
        (Op.DELETE, "/d", None, "10.0.0.9", 77),  # RFC 5424's PROCID
    ]
    assert src.damaged == 0 and src.records == 4


def _source(tmp_path: Path) -> tuple[SambaSyslogSource, EventQueue]:
    q = EventQueue(100)
    return SambaSyslogSource(SourceOptions(tmp_path, None, tmp_path / "audit.sock"), q), q


def test_datagrams_from_another_process_become_events(tmp_path: Path) -> None:
    src, q = _source(tmp_path)
    src.start()
    try:
        sender = (
            "import socket, sys\n"
            "s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\n"
            "for d in sys.argv[2:]:\n"
            "    s.sendto(d.encode(), sys.argv[1])\n"
        )
        damaged = "<13>Nov 23 23:14:05 smbd_audit: not-an-ip|x|y|z|unlinkat|ok|/s/d"
        args = [GLIBC.decode(), FORWARDED.decode(), damaged, "<13>unrelated message"]
        cmd = [sys.executable, "-c", sender, str(tmp_path / "audit.sock"), *args]
        subprocess.run(cmd, check=True, timeout=30)
        events = []
        for _ in range(20):
            events += q.get_batch(0.2)
            if len(events) >= 2:
                break
    finally:
        src.stop()
    assert [(e.op, e.path, e.path2, e.address, e.user, e.smbd_pid) for e in events] == [
        (Op.RENAME, "/s/a", "/s/a.x", "10.0.0.8", "alice", None),  # the sender is not smbd
        (Op.DELETE, "/s/b", None, "fd00::8", "bob", 4242),  # a forwarder's TAG[PID]
    ]
    assert src.damaged == 1 and all(e.source == "samba-syslog" for e in events)
    assert not (tmp_path / "audit.sock").exists()  # removed at stop


def test_a_path_that_is_not_a_socket_is_refused(tmp_path: Path) -> None:
    (tmp_path / "audit.sock").write_text("a file")
    with pytest.raises(SourceUnavailable, match="not a socket"):
        _source(tmp_path)
    leftover = tmp_path / "old.sock"
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(str(leftover))
    s.close()
    q = EventQueue(10)
    again = SambaSyslogSource(SourceOptions(tmp_path, None, leftover), q)  # a stale socket
    again.stop()


SEND = (
    "import socket, sys\n"
    "s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\n"
    "for d in sys.argv[2:]:\n"
    "    s.sendto(d.encode(), sys.argv[1])\n"
)


_SYSTEM_PY = shutil.which("python3", path="/usr/bin:/bin") or "/usr/bin/python3"


@pytest.mark.skipif(os.geteuid() != 0, reason="sending as another user needs root")
def test_records_from_a_local_user_that_is_not_smbd_are_refused() -> None:
    # a folder every user can reach (pytest's are private to root)
    with tempfile.TemporaryDirectory(prefix="rgr-") as where:
        os.chmod(where, 0o755)
        q = EventQueue(100)
        src = SambaSyslogSource(SourceOptions(Path(where), None, Path(where, "a.sock")), q)
        src.start()
        try:
            spoof = "<13>Nov 23 23:14:05 smbd_audit[1]: 10.0.0.66|alice|PC|share|unlinkat|ok|/s/x"
            cmd = [_SYSTEM_PY, "-I", "-c", SEND, f"{where}/a.sock", spoof, spoof]
            subprocess.run(cmd, check=True, timeout=30, user=65534, group=65534)
            ours = [sys.executable, "-c", SEND, f"{where}/a.sock", GLIBC.decode()]
            subprocess.run(ours, check=True, timeout=30)  # root: a forwarder we trust
            events = []
            for _ in range(20):
                events += q.get_batch(0.2)
                if events and src.refused == 2:
                    break
        finally:
            src.stop()
    assert [e.address for e in events] == ["10.0.0.8"] and src.refused == 2


def test_a_huge_datagram_is_damaged_and_a_live_socket_is_not_stolen(tmp_path: Path) -> None:
    src, q = _source(tmp_path)
    src.start()
    try:
        with pytest.raises(SourceUnavailable, match="in use"):
            _source(tmp_path)  # a second guard on the same socket
        huge = GLIBC + b"/" + b"x" * (200 * 1024)  # cut at the receive size: path is wrong
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
        s.sendto(huge, str(tmp_path / "audit.sock"))
        s.sendto(b"\xff\xfe<13>\x00|||||", str(tmp_path / "audit.sock"))  # garbage
        s.sendto(GLIBC, str(tmp_path / "audit.sock"))
        s.close()
        events = []
        for _ in range(20):
            events += q.get_batch(0.2)
            if events:
                break
    finally:
        src.stop()
    assert [e.path for e in events] == ["/s/a"] and src.damaged == 2
    assert not (tmp_path / "audit.sock").exists()
