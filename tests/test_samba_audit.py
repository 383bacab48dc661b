"""The one parser of Samba's full_audit records: bare, after smbd's log header, in syslog."""

from __future__ import annotations

import os

import pytest

from rempart.samba_audit import (
    AuditRecord,
    Envelope,
    LogHeader,
    parse_header,
    parse_message,
    parse_record,
    record_start,
)

RENAME = "10.0.0.2|alice|PC12|share|renameat|ok|/s/a.docx|/s/a.docx.lock"


def test_a_record_keeps_its_values_as_written() -> None:
    assert parse_record("  " + RENAME) == AuditRecord(
        "10.0.0.2", "alice", "PC12", "share", "renameat", "ok", ("/s/a.docx", "/s/a.docx.lock")
    )
    # IPv6 and Samba's IPv4-mapped form; blanks inside the user, machine and share names
    other = parse_record("\t::ffff:10.0.0.9|J Smith|PC 7|mes docs|pwrite_send|ok|/s/x \r\n")
    assert other is not None and other.ok and other.address == "::ffff:10.0.0.9"
    assert (other.user, other.machine, other.share) == ("J Smith", "PC 7", "mes docs")
    assert other.paths == ("/s/x ",)  # a name may end with a blank: kept
    assert other.envelope is None
    # the arguments of other operations, split as written
    opened = parse_record("fd00::8|bob|PC|share|openat|ok|r|/s/b")
    assert opened is not None and opened.paths == ("r", "/s/b")
    created = parse_record("fd00::8|bob|PC|share|create_file|ok|0x3|file|open|/s/c")
    assert created is not None and created.paths == ("0x3", "file", "open", "/s/c")
    empty = parse_record("fd00::8|bob|PC|share|pwrite_send|ok|")
    assert empty is not None and empty.paths == ("",)


def test_failures_are_records_that_did_not_succeed() -> None:
    failed = parse_record("10.0.0.2|alice|PC12|share|unlinkat|fail (Permission denied)|/s/a")
    assert failed is not None and not failed.ok
    assert failed.result == "fail (Permission denied)"  # Samba adds strerror's text
    bare = parse_record("10.0.0.2|alice|PC12|share|unlinkat|fail|/s/a")
    assert bare is not None and not bare.ok


def test_undecodable_bytes_of_a_name_survive_a_round_trip() -> None:
    raw = b"10.0.0.2|alice|PC12|share|pwrite_send|ok|/s/caf\xe9.txt"
    record = parse_record(os.fsdecode(raw))
    assert record is not None and os.fsencode(record.paths[0]) == b"/s/caf\xe9.txt"


@pytest.mark.parametrize(
    "damaged",
    [
        "",
        "10.0.0.2|alice|PC12",  # cut short
        "10.0.0.2|alice|PC12|share|pwrite_send|ok",  # no argument at all
        "not-an-ip|alice|PC12|share|pwrite_send|ok|/s/a",
        "10.0.0.2 |alice|PC12|share|pwrite_send|ok|/s/a",  # %I never holds a blank
        "10.0.0.2|alice|PC12|share|pwrite_send|maybe|/s/a",
        "10.0.0.2|alice|PC12|share|pwrite_send|failed|/s/a",
        "10.0.0.2|alice|PC12|share|PWrite|ok|/s/a",  # Samba's operation names: a-z and _
        "10.0.0.2|alice|PC12|share||ok|/s/a",
        "\udcff\udcfe|\x00|||||",
        "[2026/11/23 00:46:40.123456,  1] vfs_full_audit.c:643(do_log)",
        "Nov 23 23:14:05 fs01 smbd_audit: " + RENAME,  # a syslog line is no bare record
    ],
)
def test_what_is_not_a_record_is_refused(damaged: str) -> None:
    assert parse_record(damaged) is None


def test_the_header_of_smbds_log_file() -> None:
    line = "[2026/11/23 00:46:40.123456,  1, pid=4242, effective(0, 0), real(0, 0)] ../../source3/modules/vfs_full_audit.c:643(do_log)"  # noqa: E501 - a real line
    assert parse_header(line) == LogHeader("2026/11/23", "00:46:40.123456", 4242)
    assert parse_header("[2026/11/23 00:46:40,  1] x.c:1(do_log)") == LogHeader(
        "2026/11/23", "00:46:40", None
    )
    # still a header (its PID counts), but its time cannot be read
    assert parse_header("[2026/11/23 00:46, pid=7] x") == LogHeader("2026/11/23", None, 7)
    for other in ("  " + RENAME, "[not a date] x", "[2026/11/23 00:46:40.1,  1", ""):
        assert parse_header(other) is None


def test_every_syslog_envelope_gives_the_same_record() -> None:
    bare = parse_record(RENAME)
    assert bare is not None
    forms = {
        # syslog(3) straight from smbd: no host, the tag without PID
        f"<173>Nov 23 23:14:05 smbd_audit: {RENAME}": Envelope(
            173, "Nov 23 23:14:05", "", "smbd_audit", None
        ),
        # a forwarder: host, TAG[PID]
        f"<13>Nov  3 23:14:05 fs01 smbd_audit[4242]: {RENAME}": Envelope(
            13, "Nov  3 23:14:05", "fs01", "smbd_audit", 4242
        ),
        # a syslog file: no <PRI>; an ISO time; two blanks before the record
        f"2026-11-23T23:14:05.123456+01:00 fs01 smbd_audit:  {RENAME}": Envelope(
            None, "2026-11-23T23:14:05.123456+01:00", "fs01", "smbd_audit", None
        ),
        f"<13>{RENAME}": Envelope(13),  # no header at all
        RENAME: Envelope(),
        # RFC 5424: PROCID is the PID, `-` is no value
        f"<13>1 2026-11-23T22:14:05Z fs01 smbd_audit 4242 - - {RENAME}": Envelope(
            13, "2026-11-23T22:14:05Z", "fs01", "smbd_audit", 4242
        ),
        f"<13>1 - - smbd_audit - - [meta x=1] {RENAME}": Envelope(13, "", "", "smbd_audit"),
    }
    for message, envelope in forms.items():
        record = parse_message(message)
        assert record is not None, message
        assert record.envelope == envelope, message
        assert (record.address, record.user, record.op, record.paths) == (
            bare.address,
            bare.user,
            bare.op,
            bare.paths,
        )


def test_a_user_name_with_a_blank_does_not_move_the_record() -> None:
    message = "Nov 23 23:14:05 fs01 smbd_audit: 10.0.0.2|J Smith|PC|share|unlinkat|ok|/s/a b"
    assert record_start(message) == message.index("10.0.0.2")
    record = parse_message(message)
    assert record is not None and record.user == "J Smith" and record.paths == ("/s/a b",)


@pytest.mark.parametrize(
    "message",
    [
        "<13>Nov 23 23:14:05 smbd_audit: connect to service share",  # no record: no `|`
        "<13>Nov 23 23:14:05 smbd_audit: not-an-ip|x|y|z|unlinkat|ok|/s/d",
        "<13>Nov 23 23:14:05 smbd_audit: 10.0.0.2|alice|PC",  # cut
        "some words before 10.0.0.2|alice|PC|share|unlinkat|ok|/s/a",  # no syslog header
        "fs01 smbd_audit: 10.0.0.2|alice|PC|share|unlinkat|ok|/s/a",  # a host without a time
        "<13|10.0.0.2|alice|PC|share|unlinkat|ok|/s/a",
        "\udcff\udcfe<13>\x00|||||",
        "",
    ],
)
def test_damaged_messages_hold_no_record(message: str) -> None:
    assert parse_message(message) is None
    assert (record_start(message) is None) == ("|" not in message)
