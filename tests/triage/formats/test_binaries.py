"""Database and executable validators: real files are valid; damaged ones are caught."""

from __future__ import annotations

import os
import sqlite3
import struct
import sys
import sysconfig
from functools import cache
from pathlib import Path

import pytest
from _media_samples import (
    DAMAGE,
    assert_damaged,
    assert_never_raises,
    assert_trailer,
    check,
    noise,
    runs_128k,
)

from rempart.triage.formats import VALIDATORS, identify
from rempart.triage.sample import from_bytes, take


def _sqlite(tmp: Path, name: str, rows: int, *pragmas: str, vacuum: bool = False) -> bytes:
    path = tmp / name
    db = sqlite3.connect(path)
    for pragma in pragmas:
        db.execute(pragma)
    db.execute("CREATE TABLE person (id INTEGER PRIMARY KEY, name TEXT, town TEXT, note BLOB)")
    db.execute("CREATE TABLE visit (person INTEGER, at TEXT, reason TEXT)")
    db.execute("CREATE INDEX visit_at ON visit (at)")
    db.executemany(
        "INSERT INTO person (name, town, note) VALUES (?, ?, ?)",
        ((f"person {i}", f"town {i % 40}", noise(i % 300, seed=i)) for i in range(rows)),
    )
    db.executemany(
        "INSERT INTO visit VALUES (?, ?, ?)",
        ((i % rows, f"2026-11-{i % 28 + 1:02d}", "guichet " * (i % 9)) for i in range(rows * 2)),
    )
    db.commit()
    if vacuum:
        db.execute("DELETE FROM visit WHERE person % 3 = 0")
        db.commit()
        db.execute("VACUUM")
    db.close()
    return path.read_bytes()


def _pe() -> bytes:
    """A minimal PE32+ image: DOS header, COFF header, optional header, two sections."""
    dos = b"MZ" + bytes(0x3A) + struct.pack("<I", 0x40)
    coff = struct.pack("<4sHHIIIHH", b"PE\0\0", 0x8664, 2, 0, 0, 0, 240, 0x22)
    optional = struct.pack("<H", 0x20B) + bytes(106) + struct.pack("<I", 16) + bytes(128)
    text = struct.pack("<8sIIII", b".text", 0x3000, 0x1000, 0x3000, 0x400) + bytes(16)
    data = struct.pack("<8sIIII", b".data", 0x800, 0x4000, 0x800, 0x3400) + bytes(16)
    headers = (dos + coff + optional + text + data).ljust(0x400, b"\0")
    return headers + noise(0x3000, seed=1) + bytes(0x800)


def _macho() -> bytes:
    """A minimal 64-bit Mach-O executable: __TEXT and __LINKEDIT segments."""

    def segment(name: bytes, fileoff: int, filesize: int) -> bytes:
        return struct.pack("<II16sQQQQiiII", 0x19, 72, name, 0, filesize, fileoff, filesize,
                           5, 5, 0, 0)  # fmt: skip

    cmds = segment(b"__TEXT", 0, 0x4000) + segment(b"__LINKEDIT", 0x4000, 0x1000)
    header = struct.pack("<4sIIIIII4x", b"\xcf\xfa\xed\xfe", 0x01000007, 3, 2, 2, len(cmds), 0)
    return (header + cmds).ljust(0x5000, b"\0")[:0x400] + noise(0x4C00, seed=2)


@cache
def _samples(tmp: str) -> dict[str, tuple[str, bytes]]:
    base = Path(tmp)
    # setuptools ships real Windows launchers; a minimal hand-built PE when it does not.
    launcher = Path(sysconfig.get_paths()["purelib"]) / "setuptools" / "cli-64.exe"
    return {
        "sqlite": ("sqlite", _sqlite(base, "a.db", 3000)),
        "sqlite-wal": ("sqlite", _sqlite(base, "b.db", 2000, "PRAGMA journal_mode=WAL")),
        "sqlite-vacuum": ("sqlite", _sqlite(base, "c.db", 2000, vacuum=True)),
        "sqlite-small-pages": (
            "sqlite",
            _sqlite(base, "d.db", 500, "PRAGMA page_size=512", "PRAGMA auto_vacuum=FULL"),
        ),
        "elf-ls": ("elf", Path("/bin/ls").read_bytes()),
        "pe-launcher": ("pe", launcher.read_bytes() if launcher.exists() else _pe()),
        "pe-minimal": ("pe", _pe()),
        "macho": ("macho", _macho()),
    }


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[str, bytes]]:
    return _samples(str(tmp_path_factory.mktemp("binaries")))


NAMES = ["sqlite", "sqlite-wal", "sqlite-vacuum", "sqlite-small-pages", "elf-ls"]
NAMES += ["pe-launcher", "pe-minimal", "macho"]


@pytest.mark.parametrize("name", NAMES)
def test_real_files_are_valid(name: str, samples: dict[str, tuple[str, bytes]]) -> None:
    fmt, data = samples[name]
    result = identify(from_bytes(data, "renamed.bin"))
    assert result is not None
    assert (result.format, result.valid, result.evidence) == (fmt, True, ())
    assert result.dense is False
    assert result.end == len(data)


@pytest.mark.parametrize("how", DAMAGE)
@pytest.mark.parametrize("name", NAMES)
def test_damage_is_caught(name: str, how: str, samples: dict[str, tuple[str, bytes]]) -> None:
    fmt, data = samples[name]
    assert_damaged(VALIDATORS[fmt], data, how)


@pytest.mark.parametrize("name", NAMES)
def test_trailer_is_reported(name: str, samples: dict[str, tuple[str, bytes]]) -> None:
    fmt, data = samples[name]
    assert_trailer(VALIDATORS[fmt], data)


def test_sqlite_damaged_page_is_found_in_strides(samples: dict[str, tuple[str, bytes]]) -> None:
    data = bytearray(samples["sqlite"][1])
    assert len(data) > 256 * 1024
    for page in range(70, len(data) // 4096 - 20, 7):  # a few pages in the middle
        data[page * 4096 : page * 4096 + 4096] = noise(4096, seed=page)
    result = check(VALIDATORS["sqlite"], bytes(data))
    assert result is not None and not result.valid
    assert "damaged page header" in result.evidence[0]


def test_sqlite_wal_mode_header_is_version_2(samples: dict[str, tuple[str, bytes]]) -> None:
    assert samples["sqlite-wal"][1][18:20] == b"\x02\x02"


def test_dos_program_without_pe_header_is_valid() -> None:
    dos = b"MZ" + struct.pack("<5H", 0x100, 3, 0, 2, 0) + bytes(12) + struct.pack("<H", 0x1C)
    result = check(VALIDATORS["pe"], dos.ljust(64, b"\0") + noise(1100))
    assert result is not None and (result.format, result.valid) == ("exe", True)


def test_large_elf_read_from_disk_within_budget() -> None:
    path = os.path.realpath(sys.executable)
    size = os.path.getsize(path)
    fd = os.open(path, os.O_RDONLY)
    try:
        sample = take(fd, size, path)
        result = VALIDATORS["elf"].validate(sample)
    finally:
        os.close(fd)
    assert result.valid and result.end == size, result


@pytest.mark.parametrize("name", NAMES)
def test_mutations_never_raise(name: str, samples: dict[str, tuple[str, bytes]]) -> None:
    fmt, data = samples[name]
    assert_never_raises(VALIDATORS[fmt], data)


@pytest.mark.parametrize("name", ["sqlite", "sqlite-wal", "sqlite-vacuum"])
def test_128k_runs_inside_databases(name: str, samples: dict[str, tuple[str, bytes]]) -> None:
    fmt, data = samples[name]
    result = check(VALIDATORS[fmt], runs_128k(data))
    assert result is not None and not result.valid, result


def test_text_starting_with_mz_is_not_a_program() -> None:
    text = b"MZ: minutes of the town council, 23 November, budget and schools.\n" * 4
    assert not VALIDATORS["pe"].sniff(from_bytes(text, "minutes.txt"))


def test_truncated_database_says_so(samples: dict[str, tuple[str, bytes]]) -> None:
    data = samples["sqlite"][1]
    result = check(VALIDATORS["sqlite"], data[: len(data) // 2])
    assert result is not None and not result.valid
    assert (
        result.evidence[0].startswith("sqlite: header says") and "(truncated)" in result.evidence[0]
    )
