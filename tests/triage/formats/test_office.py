"""OLE compound file validator: encrypted OOXML from msoffcrypto, hand-built doc/xls/ppt.

No library writes legacy doc/xls/ppt files, so `_compound` builds minimal but spec-conformant
compound files (checked with olefile) holding the streams that name each format.
"""

from __future__ import annotations

import io
import struct
from functools import cache

import docx
import olefile
import openpyxl
import pytest
from _container_samples import (
    DAMAGE,
    appended,
    assert_damaged,
    assert_trailer,
    assert_valid,
    check,
)
from msoffcrypto.format.ooxml import OOXMLFile

from rempart.triage.formats import identify
from rempart.triage.sample import from_bytes

_FREE, _END, _FATSECT = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD


def _compound(streams: dict[str, bytes], shift: int = 9) -> bytes:
    """A compound file: header, one FAT sector, one directory sector, then each stream."""
    ssz = 1 << shift
    fat = [_FATSECT, _END]
    body = []
    entries = [_entry("Root Entry", 5, _END, 0, child=1 if streams else _FREE)]
    for i, (name, content) in enumerate(streams.items()):
        data = content.ljust(4096, b"\x00")  # stay out of the mini stream
        count = -(-len(data) // ssz)
        start = len(fat)
        fat += [*range(start + 1, start + count), _END]
        body.append(data.ljust(count * ssz, b"\x00"))
        right = i + 2 if i + 1 < len(streams) else _FREE
        entries.append(_entry(name, 2, start, len(data), right=right))
    fat += [_FREE] * (ssz // 4 - len(fat))
    directory = b"".join(entries).ljust(ssz, b"\x00")
    header = struct.pack(
        "<8s16s5H6s9I",
        bytes.fromhex("D0CF11E0A1B11AE1"),
        bytes(16),
        0x3E,
        3 if shift == 9 else 4,
        0xFFFE,
        shift,
        6,
        bytes(6),
        0 if shift == 9 else 1,  # directory sectors (version 4 only)
        1,  # FAT sectors
        1,  # first directory sector
        0,
        4096,
        _END,
        0,
        _END,
        0,
    ) + struct.pack("<109I", 0, *([_FREE] * 108))
    header = header.ljust(ssz, b"\x00")
    return header + struct.pack(f"<{ssz // 4}I", *fat) + directory + b"".join(body)


def _entry(
    name: str, kind: int, start: int, size: int, *, child: int = _FREE, right: int = _FREE
) -> bytes:
    raw = name.encode("utf-16-le") + b"\x00\x00"
    return struct.pack(
        "<64sHBB3I16sI2QIQ",
        raw,
        len(raw),
        kind,
        1,
        _FREE,
        right,
        child,
        bytes(16),
        0,
        0,
        0,
        start,
        size,
    )


def _fib(encrypted: bool) -> bytes:
    return struct.pack("<HH6xH", 0xA5EC, 0x00C1, 0x0100 if encrypted else 0) + bytes(5000)


def _workbook(encrypted: bool) -> bytes:
    bof = struct.pack("<HH", 0x0809, 16) + bytes(16)
    filepass = struct.pack("<HH", 0x002F, 6) + bytes(6) if encrypted else b""
    return bof + filepass + struct.pack("<HH", 0x00E1, 2) + bytes(2) + bytes(5000)


SAMPLES = {
    "doc": ({"WordDocument": _fib(False), "1Table": bytes(5000)}, False),
    "doc-locked": ({"WordDocument": _fib(True), "1Table": bytes(5000)}, True),
    "xls": ({"Workbook": _workbook(False)}, False),
    "xls-locked": ({"Workbook": _workbook(True)}, True),
    "ppt": ({"PowerPoint Document": bytes(6000), "Current User": bytes(100)}, False),
    "ppt-locked": ({"PowerPoint Document": bytes(6000), "EncryptedSummary": bytes(5000)}, True),
    "ole": ({"__substg1.0_0037001F": bytes(5000)}, False),
}


@cache
def locked_ooxml(kind: str = "docx") -> bytes:
    plain = io.BytesIO()
    if kind == "docx":
        document = docx.Document()
        document.add_paragraph("Liste des agents d'astreinte")
        document.save(plain)
    else:
        openpyxl.Workbook().save(plain)
    plain.seek(0)
    out = io.BytesIO()
    OOXMLFile(plain).encrypt("astreinte", out)
    return out.getvalue()


@pytest.mark.parametrize("kind", ["docx", "xlsx"])
def test_password_protected_ooxml_is_owner_encrypted(kind: str) -> None:
    data = locked_ooxml(kind)
    result = check("ole", data)
    assert_valid(result, "ooxml-encrypted", locked=True)
    assert not result.dense and result.end == len(data)
    assert identify(from_bytes(data, "paie.docx")) == result


@pytest.mark.parametrize("name", sorted(SAMPLES))
@pytest.mark.parametrize("shift", [9, 12])
def test_legacy_office_files_are_named_by_their_streams(name: str, shift: int) -> None:
    streams, locked = SAMPLES[name]
    data = _compound(streams, shift)
    assert olefile.OleFileIO(io.BytesIO(data)).listdir()  # the builder makes real files
    result = check("ole", data)
    assert_valid(result, name.split("-", maxsplit=1)[0], locked=locked)
    assert result.end == len(data)


def test_word_stream_without_fib_is_invalid() -> None:
    data = _compound({"WordDocument": bytes(5000)})
    result = check("ole", data)
    assert_damaged(result)
    assert result.format == "doc" and "FIB" in result.evidence[0]


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_damaged_compound_files_are_invalid(damage: str) -> None:
    assert_damaged(check("ole", DAMAGE[damage](locked_ooxml())))


def test_directory_outside_file_is_invalid() -> None:
    data = bytearray(locked_ooxml())
    struct.pack_into("<I", data, 48, 10**6)
    result = check("ole", bytes(data))
    assert_damaged(result)
    assert "directory" in result.evidence[0]


def test_trailer_after_last_sector_is_reported() -> None:
    data = locked_ooxml()
    result = check("ole", appended(data) + bytes(512))
    assert_trailer(result, len(data))
    assert result.owner_encrypted
