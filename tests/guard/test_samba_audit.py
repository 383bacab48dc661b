"""The Samba audit reader: records, damaged and partial lines, rotation and truncation.

The record grammar itself is tested in tests/test_samba_audit.py (shared with the timeline).
"""

from __future__ import annotations

import os
from pathlib import Path

from rempart.guard.events import EventQueue, Op
from rempart.guard.sources import SourceOptions
from rempart.guard.sources._samba import AuditFollower, SambaAuditSource

HEADER = b"[2026/11/23 00:46:40.123456,  1, pid=4242, effective(0, 0), real(0, 0)] ../../source3/modules/vfs_full_audit.c:643(do_log)\n"  # noqa: E501 - a real line


def rec(op: str, *paths: str, ip: str = "10.213.0.2") -> bytes:
    return f"  {ip}|alice|PC12|share|{op}|ok|{'|'.join(paths)}\n".encode()


def _source(tmp_path: Path, log: Path) -> tuple[SambaAuditSource, EventQueue]:
    q = EventQueue(100)
    return SambaAuditSource(SourceOptions(tmp_path, log), q), q


def test_follow_partial_lines_rotation_and_truncation(tmp_path: Path) -> None:
    log = tmp_path / "smbd.log"
    log.write_bytes(b"old line before the guard started\n")
    src, q = _source(tmp_path, log)
    with log.open("ab") as f:
        f.write(HEADER + rec("pwrite_send", "/s/a.txt")[:20])  # a record half written
    src.poll()
    assert len(q) == 0
    with log.open("ab") as f:
        f.write(rec("pwrite_send", "/s/a.txt")[20:])
        f.write(b"garbage|line\n" + rec("unlinkat", "/s/b.txt"))
    src.poll()
    events = q.get_batch(0.1)
    assert [(e.op, e.path, e.smbd_pid) for e in events] == [
        (Op.WRITE, "/s/a.txt", 4242),
        (Op.DELETE, "/s/b.txt", 4242),
    ]
    assert src.damaged == 1
    # rotation: the log renamed away, a new one started at the same name
    os.rename(log, tmp_path / "smbd.log.old")
    log.write_bytes(rec("renameat", "/s/c.txt", "/s/c.txt.enc"))
    src.poll()
    (ev,) = q.get_batch(0.1)
    assert ev.op is Op.RENAME and ev.path2 == "/s/c.txt.enc" and ev.address == "10.213.0.2"
    # truncation in place: read again from the start
    log.write_bytes(rec("unlinkat", "/s/d.txt"))
    src.poll()
    (ev,) = q.get_batch(0.1)
    assert ev.path == "/s/d.txt"
    src.follower.close()


def test_an_endless_line_is_counted_and_dropped(tmp_path: Path) -> None:
    log = tmp_path / "smbd.log"
    log.write_bytes(b"")
    follower = AuditFollower(str(log))
    log.write_bytes(b"x" * 200_000)
    assert follower.lines() == []
    assert follower.damaged == 1
    with log.open("ab") as f:
        f.write(b"\n" + rec("unlinkat", "/s/e.txt"))
    assert follower.lines()[-1].endswith(b"/s/e.txt")
    follower.close()


def test_failed_and_unknown_operations_are_ignored(tmp_path: Path) -> None:
    log = tmp_path / "smbd.log"
    log.write_bytes(b"")
    src, q = _source(tmp_path, log)
    src.feed(b"10.213.0.2|alice|PC12|share|unlinkat|fail|/s/x")
    src.feed(b"10.213.0.2|alice|PC12|share|openat|ok|/s/x")
    assert len(q) == 0
    src.follower.close()


def test_lines_become_events_with_the_pid_of_their_header(tmp_path: Path) -> None:
    log = tmp_path / "smbd.log"
    log.write_bytes(b"")
    src, q = _source(tmp_path, log)
    src.feed(HEADER.rstrip(b"\n"))
    src.feed(rec("renameat", "/s/a.docx", "/s/a.docx.locked").rstrip(b"\n"))
    src.feed(b"[2026/11/23 00:46:41.5,  1] vfs_full_audit.c:643(do_log)")  # no pid= here
    src.feed(b"  10.213.0.2|alice|PC12|share|pwrite_send|ok|/s/caf\xe9.txt\r")
    events = q.get_batch(0.1)
    assert [(e.op, e.path, e.path2, e.address, e.user, e.smbd_pid) for e in events] == [
        (Op.RENAME, "/s/a.docx", "/s/a.docx.locked", "10.213.0.2", "alice", 4242),
        (Op.WRITE, os.fsdecode(b"/s/caf\xe9.txt"), None, "10.213.0.2", "alice", None),
    ]
    assert src.records == 2 and src.damaged == 0
    src.follower.close()


def test_damaged_lines_are_counted_and_failures_are_not(tmp_path: Path) -> None:
    log = tmp_path / "smbd.log"
    log.write_bytes(b"")
    src, q = _source(tmp_path, log)
    for damaged in (
        b"10.213.0.2|alice|PC12",  # cut short
        b"not-an-ip|alice|PC12|share|pwrite_send|ok|/s/a",
        b"10.213.0.2|alice|PC12|share|pwrite_send|maybe|/s/a",
        b"\xff\xfe|\x00|||||",
        # syslog's form is not taken from smbd's own log file: only smbd writes that one
        b"Nov 23 23:14:05 fs01 smbd_audit: 10.213.0.2|alice|PC12|share|unlinkat|ok|/s/a",
    ):
        src.feed(damaged)
    src.feed(b"smbd version 4.17.12 started.")  # another log line: not counted
    src.feed(b"  10.213.0.2|alice|PC12|share|unlinkat|fail (Permission denied)|/s/a")
    assert src.damaged == 5 and len(q) == 0 and src.records == 0
    src.follower.close()
