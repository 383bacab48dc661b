"""Samba vfs_full_audit records, from smbd's own log file or from syslog.

In smbd's log file each record follows a header line carrying its time:
    [2026/11/23 20:00:01.123456,  1] ../../source3/modules/vfs_full_audit.c:1234(do_log)
      10.0.0.2|alice|PC12|share|pwrite_send|ok|/srv/share/a.docx
With `full_audit:syslog = true` the same record is a syslog line:
    Nov 23 20:00:01 fs1 smbd_audit: 10.0.0.2|alice|PC12|share|renameat|ok|/a|/b
Records, headers and syslog envelopes are read by `rempart.samba_audit` (the guard reads
them live with the same code); this module makes timeline rows of them: times, warnings.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import tzinfo
from pathlib import Path

from rempart.forensics._time import parse_iso
from rempart.forensics.parsers import Parser, Row, Warn
from rempart.forensics.parsers._lines import classic_time, file_year, numbered_lines, text_row
from rempart.samba_audit import AuditRecord, LogHeader, parse_header, parse_message, parse_record

#: one encoder for every row: json.dumps builds a new one per call when given options
_JSON = json.JSONEncoder(ensure_ascii=False)


def _sniff(path: Path, head: bytes) -> bool:
    text = head.decode("utf-8", "replace")
    lines = text.splitlines()[:40]
    if any("vfs_full_audit" in line or "(do_log)" in line for line in lines):
        return True
    # a syslog line (with its tag) holding a record; bare records alone are not claimed
    return any(
        (record := parse_message(line)) is not None
        and record.envelope is not None
        and record.envelope.program != ""
        for line in lines
    )


def _row(
    number: int, line: str, record: AuditRecord, ts: tuple[int, str] | None, ts_text: str
) -> Row:
    paths = record.paths
    path = paths[0]
    # what follows the first argument, as one value (`r|/a` for openat, the new name...)
    path2 = "|".join(paths[1:]) if len(paths) > 1 else None
    values = {
        "ClientIP": record.address,
        "User": record.user,
        "Machine": record.machine,
        "Share": record.share,
        "Operation": record.op,
        "Result": record.result,
        "Path": path,
        "Path2": path2,
    }
    row = text_row(number, line, ts, ts_text, _JSON.encode({"line": line, "fields": values}))
    row["host"] = record.envelope.host[:255] if record.envelope else ""
    row["channel"] = "full_audit"
    row["account"] = record.user[:255]
    row["process"] = "smbd"
    row["src_addr"] = record.address[:255]
    row["target_host"] = record.share[:255]
    row["message"] = (
        f"SMB {record.op} {record.result} by {record.user} from "
        f"{record.address} ({record.machine}): {path}" + (f" -> {path2}" if path2 else "")
    )
    return row


def _header_time(header: LogHeader, zone: tzinfo | None) -> tuple[int, str] | None:
    if header.time is None:
        return None
    try:
        return parse_iso(f"{header.date.replace('/', '-')}T{header.time}", zone)
    except ValueError:
        return None


def _syslog_time(text: str, year: int, zone: tzinfo | None) -> tuple[int, str] | None:
    if not text:  # an envelope without a time (`<13>` and the record)
        return None
    try:
        return parse_iso(text, zone) if text[0].isdigit() else classic_time(text, year, zone)
    except ValueError:
        return None


def _parse(path: Path, skip: int, warn: Warn, zone: tzinfo | None) -> Iterator[Row]:
    year = file_year(path)
    ts: tuple[int, str] | None = None
    ts_text = ""
    bad = 0
    for number, line in numbered_lines(path, 0):
        # headers are read even before `skip`: the records after one take its time
        header = parse_header(line) if line.startswith("[") else None
        if header is not None:
            ts = _header_time(header, zone)
            ts_text = f"{header.date} {header.time}" if header.time else header.date
        if number <= skip or (header is not None and header.time is not None):
            continue
        # a header whose time cannot be read is a warning (its records get no time)
        record = None if header else (parse_record(line) or parse_message(line))
        if record is None:
            if line.strip():
                bad += 1
                if bad == 1:
                    warn(f"line {number}: not a Samba audit record, skipped")
        elif record.envelope is None:  # smbd's log file: the time is the header's
            yield _row(number, line, record, ts, ts_text)
        else:
            text = record.envelope.time_text
            yield _row(number, line, record, _syslog_time(text, year, zone), text)
    if bad > 1:
        warn(f"{bad} lines were not Samba audit records")


PARSER = Parser("samba", _sniff, _parse)
