"""Shared helpers for the archive, document and owner-encrypted container validator tests.

Damage follows what ransomware does to a file: the first 4 KiB encrypted, the magic kept and
what follows encrypted, truncation (an interrupted write), and a trailer appended after the
data (where many families keep the encrypted key).
"""

from __future__ import annotations

import random
import struct
import time
import zlib
from collections.abc import Callable

from rempart.triage.formats import VALIDATORS, FormatCheck
from rempart.triage.sample import from_bytes


def noise(n: int, seed: int = 7) -> bytes:
    return random.Random(seed).randbytes(n)


def first_4k(data: bytes) -> bytes:
    return noise(4096) + data[4096:]


def keep_magic(data: bytes, keep: int = 8) -> bytes:
    return data[:keep] + noise(4096 - keep) + data[4096:]


def half(data: bytes) -> bytes:
    return data[: len(data) // 2]


def appended(data: bytes) -> bytes:
    return data + noise(531, seed=3)


DAMAGE: dict[str, Callable[[bytes], bytes]] = {
    "first_4k": first_4k,
    "keep_magic": keep_magic,
    "half": half,
}


def check(name: str, data: bytes) -> FormatCheck:
    """Validate `data` with the validator registered as `name`."""
    return VALIDATORS[name].validate(from_bytes(data, "sample"))


def assert_valid(result: FormatCheck, fmt: str, *, locked: bool = False) -> None:
    assert result.valid, result.evidence
    assert result.format == fmt
    assert result.owner_encrypted is locked


def assert_damaged(result: FormatCheck) -> None:
    assert not result.valid
    assert result.evidence and all(isinstance(e, str) and e for e in result.evidence)
    assert not result.owner_encrypted


def assert_trailer(result: FormatCheck, size: int) -> None:
    """Bytes appended after the data: still valid, with `end` before them and evidence."""
    assert result.valid, result.evidence
    assert result.end is not None and result.end == size
    assert any(" after " in e for e in result.evidence), result.evidence


def timed(call: Callable[[], FormatCheck]) -> tuple[FormatCheck, float]:
    start = time.perf_counter()
    result = call()
    return result, time.perf_counter() - start


def deflate_zeros(total: int, chunk: int = 1 << 20) -> tuple[bytes, int]:
    """Raw deflate of `total` zero bytes, built fast: one fully flushed chunk repeated.

    Returns:
        (deflate stream, CRC32 of the uncompressed data).
    """
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = comp.compress(bytes(chunk)) + comp.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    zeros = bytes(chunk)
    for _ in range(total // chunk):
        crc = zlib.crc32(zeros, crc)
    return block * (total // chunk) + comp.flush(zlib.Z_FINISH), crc


def gzip_bomb(total: int = 1 << 30) -> bytes:
    stream, crc = deflate_zeros(total)
    header = b"\x1f\x8b\x08\x00" + bytes(4) + b"\x02\xff"
    return header + stream + struct.pack("<II", crc, total & 0xFFFFFFFF)
