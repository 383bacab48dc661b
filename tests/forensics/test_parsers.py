"""Log parsers: formats recognised, values kept as found, damaged input -> warnings."""

from __future__ import annotations

import shutil
from pathlib import Path
from zoneinfo import ZoneInfo

from _timeline_samples import ATOMIC, AUTH_LOG, SAMBA_LOG

from rempart.forensics._time import parse_iso
from rempart.forensics.parsers import PARSERS, find_parser
from rempart.forensics.parsers._lines import classic_time, file_year


def _parse(name: str, path: Path) -> tuple[list[dict[str, object]], list[str]]:
    warnings: list[str] = []
    return list(PARSERS[name].parse(path, 0, warnings.append, None)), warnings


def test_iso_times_keep_their_precision() -> None:
    assert parse_iso("2019-08-14T14:06:44.4956743Z") == (1565791604495674, "100ns")
    assert parse_iso("2026-11-21T23:00:01+01:00")[1] == "s"
    assert parse_iso("2026-11-21T23:00:01")[1] == "s, no zone (UTC read)"


def test_times_without_a_zone_are_read_in_the_zone_given(tmp_path: Path) -> None:
    paris = ZoneInfo("Europe/Paris")
    utc = parse_iso("2026-11-21T23:00:01.5")[0]
    # Winter in Paris: UTC+1; summer: UTC+2; a time with its own offset keeps it.
    assert parse_iso("2026-11-21T23:00:01.5", paris) == (
        utc - 3600 * 10**6,
        "100ms, zone Europe/Paris given",
    )
    assert parse_iso("2026-07-01T12:00:00", paris)[0] == parse_iso("2026-07-01T10:00:00Z")[0]
    assert parse_iso("2026-11-21T23:00:01+00:00", paris) == (
        parse_iso("2026-11-21T23:00:01Z")[0],
        "s",
    )
    log = tmp_path / "auth.log"
    log.write_text(AUTH_LOG)
    warnings: list[str] = []
    rows = list(PARSERS["syslog"].parse(log, 0, warnings.append, paris))
    assert rows[0]["ts_precision"] == "s, year assumed, zone Europe/Paris given"
    assert rows[0]["ts_text"] == "Nov 21 22:58:01"  # the text stays as the log wrote it
    assert rows[0]["ts_us"] == classic_time("Nov 21 22:58:01", file_year(log))[0] - 3600 * 10**6
    samba = tmp_path / "smbd.log"
    samba.write_text(SAMBA_LOG)
    (first, *_) = PARSERS["samba"].parse(samba, 0, warnings.append, paris)
    assert first["ts_us"] == parse_iso("2026-11-21T22:10:00.1Z")[0]
    assert first["ts_precision"] == "us, zone Europe/Paris given"


def test_samba_log_file_records_take_the_header_time(tmp_path: Path) -> None:
    log = tmp_path / "smbd.log"
    log.write_text(SAMBA_LOG)
    assert find_parser(log, log.read_bytes()) is PARSERS["samba"]
    rows, warnings = _parse("samba", log)
    assert [r["message"].split()[1] for r in rows] == ["openat", "renameat"]
    rename = rows[1]
    assert rename["ts_text"] == "2026/11/21 23:10:00.200000"
    assert rename["ts_precision"] == "us, no zone (UTC read)"
    assert (rename["src_addr"], rename["account"]) == ("10.213.0.2", "agent")
    assert "a.docx.lock" in rename["raw"]
    assert warnings == ["line 5: not a Samba audit record, skipped"]


def test_samba_syslog_form(tmp_path: Path) -> None:
    log = tmp_path / "messages"
    log.write_text("Nov 21 23:10:00 fs1 smbd_audit: 10.0.0.2|bob|PC1|share|unlinkat|ok|/s/x\n")
    assert find_parser(log, log.read_bytes()) is PARSERS["samba"]
    (row,), _ = _parse("samba", log)
    assert (row["host"], row["account"], row["ts_text"]) == ("fs1", "bob", "Nov 21 23:10:00")


def test_auth_log_classic_iso_and_rfc5424(tmp_path: Path) -> None:
    log = tmp_path / "auth.log"
    log.write_text(AUTH_LOG)
    assert find_parser(log, log.read_bytes()) is PARSERS["syslog"]
    rows, warnings = _parse("syslog", log)
    assert len(rows) == 5 and warnings == ["line 6: not a syslog line, skipped"]
    ssh, sudo, useradd, failed, rfc = rows
    assert (ssh["account"], ssh["src_addr"], ssh["logon_type"]) == ("agent", "10.213.0.9", 10)
    assert ssh["ts_precision"].startswith("s, year and zone assumed")
    assert sudo["command_line"] == "/usr/bin/id" and sudo["account"] == "agent"
    assert useradd["account"] == "backdoor"
    assert failed["account"] == "x" and failed["ts_precision"] == "us"
    assert failed["ts_us"] == parse_iso("2026-11-21T22:00:01.123456Z")[0]
    assert (rfc["account"], rfc["host"], rfc["ts_precision"]) == ("root", "fs1", "100ms")


def test_text_that_is_no_log_is_not_claimed(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("Dear all,\nthe meeting is moved.\n")
    assert find_parser(path, path.read_bytes()) is None


def test_evtx_record_normalized() -> None:
    rows, warnings = _parse("evtx", ATOMIC)
    assert not warnings and len(rows) > 50
    vss = next(r for r in rows if "vssadmin" in str(r["command_line"]).lower())
    assert vss["channel"] == "Microsoft-Windows-Sysmon/Operational" and vss["event_id"] == 1
    assert str(vss["process"]).lower().endswith("cmd.exe")  # the test ran it through cmd
    assert str(vss["parent"]).lower().endswith(".exe")
    assert vss["host"] == "MSEDGEWIN10" and vss["ts_precision"] == "us"
    assert '"EventData"' in str(vss["raw"])


def test_truncated_evtx_is_a_warning_and_keeps_what_is_readable(tmp_path: Path) -> None:
    damaged = tmp_path / "cut.evtx"
    data = ATOMIC.read_bytes()
    damaged.write_bytes(data[: len(data) // 2 + 777])
    rows, warnings = _parse("evtx", damaged)
    assert any("truncated" in w for w in warnings), warnings
    full, _ = _parse("evtx", ATOMIC)
    assert 0 < len(rows) < len(full)


def test_garbage_named_evtx_is_a_warning(tmp_path: Path) -> None:
    garbage = tmp_path / "Security.evtx"
    garbage.write_bytes(b"\x00garbage" * 1000)
    assert find_parser(garbage, garbage.read_bytes()[:4096]) is PARSERS["evtx"]
    rows, warnings = _parse("evtx", garbage)
    assert rows == [] and "not a readable event log" in warnings[0]


def test_evtx_resume_skips_stored_records(tmp_path: Path) -> None:
    copy = tmp_path / "a.evtx"
    shutil.copy(ATOMIC, copy)
    everything, _ = _parse("evtx", copy)
    rest = list(PARSERS["evtx"].parse(copy, 10, lambda _m: None, None))
    assert [r["record_id"] for r in rest] == [r["record_id"] for r in everything[10:]]
