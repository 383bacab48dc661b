"""7-Zip (py7zr, with and without password) and RAR validators, damage caught.

No library writes RAR, so RAR 4 and RAR 5 archives are built here from the published format
descriptions: a stored file between the archive header and the end-of-archive block.
"""

from __future__ import annotations

import io
import struct
import zlib
from functools import cache

import py7zr
import pytest
from _container_samples import (
    DAMAGE,
    appended,
    assert_damaged,
    assert_trailer,
    assert_valid,
    check,
    noise,
)

from rempart.triage.formats import identify
from rempart.triage.sample import from_bytes

_DATA = b"".join(b"ecriture %d du registre d'etat civil\n" % i for i in range(200)) + noise(4000)


@cache
def seven(password: str | None = None, header_encryption: bool = False) -> bytes:
    out = io.BytesIO()
    with py7zr.SevenZipFile(out, "w", password=password, header_encryption=header_encryption) as z:
        z.writestr(_DATA, "etat-civil.txt")
        z.writestr(b"rien", "vide.txt")
    return out.getvalue()


def _vint(value: int) -> bytes:
    out = bytearray()
    while True:
        out.append(value & 0x7F | (0x80 if value > 0x7F else 0))
        value >>= 7
        if not value:
            return bytes(out)


def _rar5_header(kind: int, fields: bytes, extra: bytes = b"", data: int | None = None) -> bytes:
    flags = (1 if extra else 0) | (2 if data is not None else 0)
    body = _vint(kind) + _vint(flags)
    body += _vint(len(extra)) if extra else b""
    body += _vint(data) if data is not None else b""
    body += fields + extra
    size = _vint(len(body))
    return struct.pack("<I", zlib.crc32(size + body)) + size + body


def rar5(*, encrypted_file: bool = False, encrypted_headers: bool = False) -> bytes:
    out = b"Rar!\x1a\x07\x01\x00"
    if encrypted_headers:
        out += _rar5_header(4, _vint(0) + _vint(0) + bytes([15]) + noise(16, seed=5))
        return out + noise(6000, seed=6)  # everything after is encrypted
    out += _rar5_header(1, _vint(0))
    name = b"etat-civil.txt"
    fields = _vint(0x0004) + _vint(len(_DATA)) + _vint(0x20) + struct.pack("<I", zlib.crc32(_DATA))
    fields += _vint(0) + _vint(0) + _vint(len(name)) + name  # stored, Windows
    extra = b""
    if encrypted_file:
        record = _vint(0x01) + _vint(0) + _vint(0) + bytes([15]) + noise(32, seed=4)
        extra = _vint(len(record)) + record
    out += _rar5_header(2, fields, extra, data=len(_DATA)) + _DATA
    return out + _rar5_header(5, _vint(0))


def _rar4_block(kind: int, flags: int, fields: bytes) -> bytes:
    head = struct.pack("<BHH", kind, flags, 7 + len(fields)) + fields
    return struct.pack("<H", zlib.crc32(head) & 0xFFFF) + head


def rar4(*, encrypted_file: bool = False, encrypted_headers: bool = False) -> bytes:
    out = b"Rar!\x1a\x07\x00" + _rar4_block(0x73, 0x80 if encrypted_headers else 0, bytes(6))
    if encrypted_headers:
        return out + noise(6000, seed=6)
    name = b"etat-civil.txt"
    fields = struct.pack(
        "<IIBIIBBHI", len(_DATA), len(_DATA), 2, zlib.crc32(_DATA), 0, 29, 0x30, len(name), 0x20
    )
    flags = 0x8000 | (0x04 if encrypted_file else 0)
    out += _rar4_block(0x74, flags, fields + name) + _DATA
    return out + _rar4_block(0x7B, 0x4000, b"")


SAMPLES = {
    "7z": (seven, "7z"),
    "rar4": (rar4, "rar"),
    "rar5": (rar5, "rar"),
}


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_archives_are_valid(kind: str) -> None:
    build, name = SAMPLES[kind]
    data = build()
    result = check(name, data)
    assert_valid(result, name)
    assert result.dense and result.end == len(data)
    assert identify(from_bytes(data, "archive.bin")) == result


@pytest.mark.parametrize("header_encryption", [False, True])
def test_password_protected_7z_is_owner_encrypted(header_encryption: bool) -> None:
    result = check("7z", seven("secret", header_encryption))
    assert_valid(result, "7z", locked=True)


@pytest.mark.parametrize("build", [rar4, rar5])
@pytest.mark.parametrize("how", ["encrypted_file", "encrypted_headers"])
def test_password_protected_rar_is_owner_encrypted(build: object, how: str) -> None:
    data = build(**{how: True})  # type: ignore[operator]
    assert_valid(check("rar", data), "rar", locked=True)


@pytest.mark.parametrize("kind", sorted(SAMPLES))
@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_damaged_archives_are_invalid(kind: str, damage: str) -> None:
    build, name = SAMPLES[kind]
    assert_damaged(check(name, DAMAGE[damage](build())))


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_trailer_is_reported(kind: str) -> None:
    build, name = SAMPLES[kind]
    data = build()
    assert_trailer(check(name, appended(data)), len(data))


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_broken_header_crc_is_invalid(kind: str) -> None:
    build, name = SAMPLES[kind]
    data = bytearray(build())
    data[{"7z": 14, "rar4": 10, "rar5": 14}[kind]] ^= 0x01
    result = check(name, bytes(data))
    assert_damaged(result)
    assert "CRC" in result.evidence[0]


def test_7z_next_header_crc_is_checked() -> None:
    data = bytearray(seven())
    data[-3] ^= 0xFF
    result = check("7z", bytes(data))
    assert_damaged(result)
    assert "next header CRC" in result.evidence[0]
