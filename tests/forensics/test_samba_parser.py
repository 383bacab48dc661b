"""The timeline's Samba parser: rows from the shared record parser, times from the envelope."""

from __future__ import annotations

import json
from pathlib import Path

from rempart.forensics._time import parse_iso
from rempart.forensics.parsers import PARSERS, find_parser

RECORD = "10.0.0.2|bob|PC1|share|renameat|ok|/s/a.docx|/s/a.docx.lock"


def _parse(path: Path, skip: int = 0) -> tuple[list[dict[str, object]], list[str]]:
    warnings: list[str] = []
    return list(PARSERS["samba"].parse(path, skip, warnings.append, None)), warnings


def test_every_syslog_envelope_is_a_row_with_its_time_and_host(tmp_path: Path) -> None:
    log = tmp_path / "samba-audit.log"
    log.write_text(
        f"Nov 21 23:10:00 fs1 smbd_audit: {RECORD}\n"
        f"<173>Nov 21 23:10:01 smbd_audit: {RECORD}\n"  # a datagram as syslog(3) sends it
        f"<13>1 2026-11-21T23:10:02.5Z fs2 smbd_audit 4242 - - {RECORD}\n"
        f"<13>{RECORD}\n"  # no time at all: kept, its time unreadable
    )
    assert find_parser(log, log.read_bytes()) is PARSERS["samba"]
    rows, warnings = _parse(log)
    assert not warnings
    assert [(r["host"], r["ts_text"], r["ts_precision"]) for r in rows] == [
        ("fs1", "Nov 21 23:10:00", "s, year and zone assumed (UTC)"),
        ("", "Nov 21 23:10:01", "s, year and zone assumed (UTC)"),
        ("fs2", "2026-11-21T23:10:02.5Z", "100ms"),
        ("", "", "unreadable"),
    ]
    assert rows[2]["ts_us"] == parse_iso("2026-11-21T23:10:02.5Z")[0]
    assert all(r["src_addr"] == "10.0.0.2" and r["account"] == "bob" for r in rows)


def test_values_are_kept_as_written(tmp_path: Path) -> None:
    log = tmp_path / "smbd.log"
    log.write_text(
        "[2026/11/21 23:10:00.100000,  1] ../../source3/modules/vfs_full_audit.c:1234(do_log)\n"
        "  10.0.0.2|bob|PC1|share|unlinkat|fail (Permission denied)|/s/a name \n"
        "[2026/11/21 23:10:00.200000,  1] ../../source3/modules/vfs_full_audit.c:1234(do_log)\n"
        "  10.0.0.2|bob|PC1|share|openat|ok|r|/s/b.docx\n"
    )
    (failed, opened), warnings = _parse(log)
    assert not warnings
    fields = json.loads(str(failed["raw"]))["fields"]
    assert fields["Result"] == "fail (Permission denied)"
    assert fields["Path"] == "/s/a name "  # a name's trailing blank is the name's
    assert failed["message"] == (
        "SMB unlinkat fail (Permission denied) by bob from 10.0.0.2 (PC1): /s/a name "
    )
    assert json.loads(str(opened["raw"]))["fields"]["Path2"] == "/s/b.docx"
    assert opened["ts_text"] == "2026/11/21 23:10:00.200000"


def test_damaged_lines_and_headers_are_warnings(tmp_path: Path) -> None:
    log = tmp_path / "smbd.log"
    log.write_text(
        "[2026/11/21 23:10:00.100000,  1] ../../source3/modules/vfs_full_audit.c:1234(do_log)\n"
        f"  {RECORD}\n"
        "[2026/11/21 23:1O:00,  1] vfs_full_audit.c:1234(do_log)\n"  # a letter O in the time
        f"  {RECORD}\n"
        "  10.0.0.2|bob|PC1|share|renameat|maybe|/s/x\n"
        "\xff\xfe garbage |||\n"
    )
    rows, warnings = _parse(log)
    # the record after the damaged header does not take the previous header's time
    assert [r["ts_precision"] for r in rows] == ["us, no zone (UTC read)", "unreadable"]
    assert warnings == [
        "line 3: not a Samba audit record, skipped",
        "3 lines were not Samba audit records",
    ]
    # resumed after the first two lines: the rest again, nothing before
    rows, _ = _parse(log, skip=2)
    assert [r["record_key"] for r in rows] == ["line:4"]


def test_records_without_a_header_or_syslog_line_are_not_claimed(tmp_path: Path) -> None:
    bare = tmp_path / "extract.txt"
    bare.write_text(f"{RECORD}\n{RECORD}\n")
    assert find_parser(bare, bare.read_bytes()) is not PARSERS["samba"]
