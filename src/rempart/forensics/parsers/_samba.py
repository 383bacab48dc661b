"""Samba vfs_full_audit records, from smbd's own log file or from syslog.

In smbd's log file each record follows a header line carrying its time:
    [2026/11/23 20:00:01.123456,  1] ../../source3/modules/vfs_full_audit.c:1234(do_log)
      10.0.0.2|alice|PC12|share|pwrite_send|ok|/srv/share/a.docx
With `full_audit:syslog = true` the same record is a syslog line:
    Nov 23 20:00:01 fs1 smbd_audit: 10.0.0.2|alice|PC12|share|renameat|ok|/a|/b
The record layout follows the prefix `%I|%u|%m|%S` the project's guides configure.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import tzinfo
from pathlib import Path

from rempart.forensics._time import parse_iso
from rempart.forensics.parsers import Parser, Row, Warn
from rempart.forensics.parsers._lines import classic_time, file_year, numbered_lines, text_row

HEADER = re.compile(r"^\[(?P<date>\d{4}/\d\d/\d\d) (?P<time>\d\d:\d\d:\d\d(?:\.\d+)?), +\d+.*\]")
RECORD = re.compile(
    r"^(?P<ip>[0-9A-Fa-f.:]+)\|(?P<user>[^|]*)\|(?P<machine>[^|]*)\|(?P<share>[^|]*)\|"
    r"(?P<op>[a-z_]+)\|(?P<result>ok|fail[^|]*)\|(?P<path>[^|]*)(?:\|(?P<path2>.*))?$"
)
SYSLOG = re.compile(
    r"^(?P<ts>[A-Z][a-z]{2} +\d{1,2} \d\d:\d\d:\d\d|\d{4}-\d\d-\d\dT\S+) (?P<host>\S+) "
    r"(?P<prog>[\w.-]+)(?:\[\d+\])?: (?P<body>.*)$"
)
FIELDS = ("ClientIP", "User", "Machine", "Share", "Operation", "Result", "Path", "Path2")


def _sniff(path: Path, head: bytes) -> bool:
    text = head.decode("utf-8", "replace")
    lines = text.splitlines()[:40]
    if any("vfs_full_audit" in line or "(do_log)" in line for line in lines):
        return True
    return any((m := SYSLOG.match(line)) and RECORD.match(m["body"]) for line in lines)


def _row(
    number: int,
    line: str,
    record: re.Match[str],
    ts: tuple[int, str] | None,
    ts_text: str,
    host: str,
) -> Row:
    values = dict(zip(FIELDS, record.groups(), strict=True))
    raw = json.dumps({"line": line, "fields": values}, ensure_ascii=False)
    row = text_row(number, line, ts, ts_text, raw)
    row.update(
        host=host[:255],
        channel="full_audit",
        account=record["user"][:255],
        process="smbd",
        src_addr=record["ip"][:255],
        target_host=record["share"][:255],
        message=f"SMB {record['op']} {record['result']} by {record['user']} from "
        f"{record['ip']} ({record['machine']}): {record['path']}"
        + (f" -> {record['path2']}" if record["path2"] else ""),
    )
    return row


def _parse(path: Path, skip: int, warn: Warn, zone: tzinfo | None) -> Iterator[Row]:
    year = file_year(path)
    ts: tuple[int, str] | None = None
    ts_text = ""
    bad = 0
    for number, line in numbered_lines(path, 0):
        header = HEADER.match(line)
        if header:
            ts_text = f"{header['date']} {header['time']}"
            try:
                ts = parse_iso(f"{header['date'].replace('/', '-')}T{header['time']}", zone)
            except ValueError:
                ts = None
            continue
        if number <= skip or not line.strip():
            continue
        record = RECORD.match(line.strip())
        if record:
            yield _row(number, line, record, ts, ts_text, "")
            continue
        sys_line = SYSLOG.match(line)
        record = RECORD.match(sys_line["body"]) if sys_line else None
        if sys_line and record:
            text = sys_line["ts"]
            try:
                when = (
                    parse_iso(text, zone) if text[0].isdigit() else classic_time(text, year, zone)
                )
            except ValueError:
                when = None
            yield _row(number, line, record, when, text, sys_line["host"])
            continue
        bad += 1
        if bad == 1:
            warn(f"line {number}: not a Samba audit record, skipped")
    if bad > 1:
        warn(f"{bad} lines were not Samba audit records")


PARSER = Parser("samba", _sniff, _parse)
