"""Samba's `vfs_full_audit` records: one parser for the guard (live) and the timeline (files).

With the prefix `%I|%u|%m|%S` the project's guides configure, a record reads
    10.0.0.2|alice|PC12|share|renameat|ok|/srv/share/a.docx|/srv/share/a.docx.lock
client address, user, client machine (NetBIOS name), share, operation, `ok` or
`fail (strerror)`, then the operation's arguments: one path, two for `renameat`, `r`/`w`
then the path for `openat`.

It comes in one of two envelopes:
- smbd's own `log file` (`full_audit:syslog = false`): a header line
  `[2026/11/23 20:00:01.123456,  1, pid=1234, ...] ../vfs_full_audit.c:643(do_log)` (the
  `pid=` part only with `debug pid = yes`), then the record, indented, on the next line;
- a syslog message (`full_audit:syslog = true`): `<PRI>` (in datagrams), a timestamp (BSD
  `Nov 23 20:00:01` or ISO 8601), the host (absent from what syslog(3) itself sends), the
  tag `smbd_audit` with an optional `[PID]`, then the record; or RFC 5424's header.

Standard library only: the guard and `rempart timeline` both import this module, and neither
may pay for the other's modules.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NamedTuple

# `fail (No such file or directory)`: Samba adds strerror's text to a failure
_RECORD = re.compile(
    r"\s*(?P<address>[0-9A-Fa-f.:]+)\|(?P<user>[^|]*)\|(?P<machine>[^|]*)\|(?P<share>[^|]*)\|"
    r"(?P<op>[a-z_]+)\|(?P<result>ok|fail(?: \([^|]*\))?)\|(?P<args>.*)",
    re.DOTALL,  # a path may hold a newline: kept as found
)
_HEADER = re.compile(
    r"\[(?P<date>\d{4}/\d\d/\d\d) (?:(?P<time>\d\d:\d\d:\d\d(?:\.\d+)?), +\d+)?(?P<rest>[^\]]*)\]"
)
_HEADER_PID = re.compile(r"pid=([0-9]+)")  # ASCII digits: int() takes others too
_TIME = r"[A-Z][a-z]{2} +\d{1,2} \d\d:\d\d:\d\d|\d{4}-\d\d-\d\dT\S+"
_ENVELOPE = re.compile(
    r"(?:<(?P<pri>[0-9]{1,3})>)?(?:"
    # RFC 5424: VERSION TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA
    r"1 (?P<ts5>\S+) (?P<host5>\S+) (?P<prog5>\S+) (?P<pid5>\S+) \S+ (?:-|\[.*\])"
    # BSD (RFC 3164) and its ISO-time variant; no host in what syslog(3) sends
    rf"|(?:(?P<ts>{_TIME}) +(?:(?P<host>\S+) +)??)?(?P<prog>[\w.-]+)(?:\[(?P<pid>[0-9]+)\])?:"
    r")? *"
)


@dataclass(frozen=True, slots=True)
class Envelope:
    """What a syslog message says around the record; empty (or None) where it says nothing."""

    priority: int | None = None  # <PRI>
    time_text: str = ""  # as written: BSD `Nov 23 20:00:01` or ISO 8601
    host: str = ""
    program: str = ""  # the tag: `smbd_audit`, unless configured otherwise
    pid: int | None = None  # the tag's [PID] (RFC 5424: PROCID)


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One full_audit record, values as written."""

    address: str  # %I: the client's IP address
    user: str  # %u
    machine: str  # %m: the client's NetBIOS name
    share: str  # %S
    op: str  # the VFS operation: pwrite_send, renameat, unlinkat, openat...
    result: str  # `ok`, `fail` or `fail (reason)`
    #: the operation's arguments, split at `|`: (path,), (old, new), ("r" or "w", path)...
    paths: tuple[str, ...]
    #: the syslog message's envelope; None in smbd's log file, whose header line before the
    #: record holds its time and PID (`parse_header`)
    envelope: Envelope | None = None

    @property
    def ok(self) -> bool:
        return self.result == "ok"


class LogHeader(NamedTuple):
    """The header line smbd's log file writes before each record (a named tuple, not a
    frozen dataclass: the timeline reads one per record, and a tuple is made in half the
    time)."""

    date: str  # 2026/11/23
    time: str | None  # 20:00:01.123456; None when unreadable
    pid: int | None  # the smbd process that wrote it (`debug pid = yes`)


def parse_header(line: str) -> LogHeader | None:
    """The header of a record in smbd's log file, or None when `line` is not one."""
    found = _HEADER.match(line)
    if found is None:
        return None
    date, time, rest = found.groups()
    pid = _HEADER_PID.search(rest) if "pid=" in rest else None
    return LogHeader(date, time, int(pid.group(1)) if pid else None)


def parse_record(text: str) -> AuditRecord | None:
    """A bare record (as in smbd's log file; leading blanks allowed), or None when `text` is
    not one: other log lines, damaged records."""
    found = _RECORD.fullmatch(text.rstrip("\r\n"))
    if found is None:
        return None
    address, user, machine, share, op, result, args = found.groups()
    return AuditRecord(address, user, machine, share, op, result, tuple(args.split("|")))


def parse_message(text: str) -> AuditRecord | None:
    """The record inside one syslog message (a datagram, a line of a syslog file) with its
    envelope; None when the message holds no record, or a damaged one, or when what comes
    before the record is no syslog header. A message without `|` never holds a record:
    `"|" in text` tells those apart from damaged ones."""
    start = record_start(text)
    if start is None:
        return None
    envelope = _ENVELOPE.fullmatch(text, 0, start)
    found = _RECORD.fullmatch(text.rstrip("\r\n"), start) if envelope else None
    if envelope is None or found is None:
        return None
    address, user, machine, share, op, result, args = found.groups()
    pri, ts5, host5, prog5, pid5, ts, host, prog, pid = envelope.groups()
    if prog5 is not None:  # RFC 5424 writes `-` for a value it does not have
        ts, host, prog = (value if value != "-" else "" for value in (ts5, host5, prog5))
        pid = pid5 if pid5.isascii() and pid5.isdigit() else None
    around = Envelope(
        int(pri) if pri else None, ts or "", host or "", prog or "", int(pid) if pid else None
    )
    return AuditRecord(address, user, machine, share, op, result, tuple(args.split("|")), around)


def record_start(text: str) -> int | None:
    """Where the record starts in a syslog message, None when there is no `|` at all.

    The record is the word that holds the first `|`: the address that starts it (IPv4 or
    IPv6) has no blank, whatever the envelope before it; a message may also be `<PRI>` then
    the record, without a blank.
    """
    bar = text.find("|")
    if bar < 0:
        return None
    start = text.rfind(" ", 0, bar) + 1
    if start == 0 and text.startswith("<"):
        start = text.find(">") + 1
    return start
