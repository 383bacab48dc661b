"""gzip, xz, bzip2 and Zstandard validators: real streams valid, damage caught, bombs cheap."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import shutil
import struct
import subprocess
from collections.abc import Callable
from functools import cache

import pytest
from _container_samples import (
    DAMAGE,
    appended,
    assert_damaged,
    assert_trailer,
    assert_valid,
    check,
    gzip_bomb,
    noise,
    timed,
)
from backports import zstd

from rempart.triage.formats import identify
from rempart.triage.sample import from_bytes

_TEXT = b"".join(
    b"2026-11-21 23:%02d:%02d smbd: open share mairie\n" % divmod(i, 60) for i in range(3000)
)
_RAW = _TEXT + noise(3000) + _TEXT

COMPRESS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": lambda data: gzip.compress(data, mtime=0),
    "xz": lzma.compress,
    "bz2": bz2.compress,
    "zstd": zstd.compress,
}


@cache
def sample(fmt: str) -> bytes:
    return COMPRESS[fmt](_RAW)


@pytest.mark.parametrize("fmt", sorted(COMPRESS))
def test_real_streams_are_valid(fmt: str) -> None:
    data = sample(fmt)
    result = check(fmt, data)
    assert_valid(result, fmt)
    assert result.dense and result.end == len(data)
    assert identify(from_bytes(data, "journal.log")) == result


@pytest.mark.parametrize("fmt", sorted(COMPRESS))
@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_damaged_streams_are_invalid(fmt: str, damage: str) -> None:
    assert_damaged(check(fmt, DAMAGE[damage](sample(fmt))))


@pytest.mark.parametrize("fmt", sorted(COMPRESS))
def test_trailer_is_reported(fmt: str) -> None:
    data = sample(fmt)
    assert_trailer(check(fmt, appended(data)), len(data))


# zstd block contents are not decoded (no zstd in the standard library): only headers walked.
@pytest.mark.parametrize("fmt", ["bz2", "gzip", "xz"])
def test_data_damaged_in_the_middle_is_invalid(fmt: str) -> None:
    data = sample(fmt)
    middle = len(data) // 2
    hit = data[:middle] + noise(64) + data[middle + 64 :]
    assert_damaged(check(fmt, hit))


def test_xz_with_destroyed_head_is_claimed_from_its_footer_and_index() -> None:
    result = identify(from_bytes(DAMAGE["first_4k"](sample("xz")), "sauvegarde.bin"))
    assert result is not None and result.format == "xz" and not result.valid


@pytest.mark.parametrize("fmt", ["xz", "bz2"])
def test_stream_ending_a_container_is_not_claimed(fmt: str) -> None:
    # A .deb (an ar archive) ends with data.tar.xz: the footer alone must not claim it.
    data = b"!<arch>\ndebian-binary   " + noise(5000) + sample(fmt)
    result = identify(from_bytes(data, "paquet.deb"))
    assert result is None or result.format != fmt


def test_gzip_header_fields_and_members() -> None:
    named = gzip.compress(_TEXT)  # stdlib writes no name from bytes: add one by hand
    flagged = (
        named[:3] + b"\x18" + named[4:10] + b"registre.txt\x00" + b"commentaire\x00" + named[10:]
    )
    assert gzip.decompress(flagged) == _TEXT
    assert_valid(check("gzip", flagged), "gzip")
    two = named + gzip.compress(b"second member")
    result = check("gzip", two)
    assert_valid(result, "gzip")
    assert result.end == len(two)
    reserved = named[:3] + b"\xe0" + named[4:]
    assert_damaged(check("gzip", reserved))


def test_xz_padding_and_check_types() -> None:
    for check_type in (lzma.CHECK_NONE, lzma.CHECK_CRC32, lzma.CHECK_SHA256):
        assert_valid(check("xz", lzma.compress(_TEXT, check=check_type)), "xz")
    padded = sample("xz") + bytes(8)
    result = check("xz", padded)
    assert_valid(result, "xz")
    assert result.end == len(padded) and not result.evidence


def test_xz_broken_index_is_invalid() -> None:
    data = bytearray(sample("xz"))
    data[-13] ^= 0x55  # last byte of the index CRC
    assert_damaged(check("xz", bytes(data)))


def test_zstd_skippable_and_multiple_frames() -> None:
    skippable = struct.pack("<II", 0x184D2A50, 5) + b"meta!"
    data = skippable + zstd.compress(_TEXT) + zstd.compress(b"encore")
    result = check("zstd", data)
    assert_valid(result, "zstd")
    assert result.end == len(data)


@pytest.mark.skipif(shutil.which("zstd") is None, reason="no zstd command")
def test_zstd_command_output_with_checksum() -> None:
    out = subprocess.run(
        ["zstd", "-q", "-c", "--check", "-19"], input=_RAW, capture_output=True, check=True
    )
    assert_valid(check("zstd", out.stdout), "zstd")


def test_zstd_reserved_block_type_is_invalid() -> None:
    data = bytearray(zstd.compress(_TEXT))
    descriptor = data[4]
    header = 4 + 1 + (0 if descriptor & 0x20 else 1) + (0, 1, 2, 4)[descriptor & 3]
    header += ((1 if descriptor & 0x20 else 0), 2, 4, 8)[descriptor >> 6]
    data[header] |= 0x06  # block type 3 is reserved
    result = check("zstd", bytes(data))
    assert_damaged(result)
    assert f"offset {header}" in result.evidence[0]


@pytest.mark.parametrize("fmt", sorted(COMPRESS))
def test_bombs_cost_nothing(fmt: str) -> None:
    # 1 GiB of zeros for gzip (built without compressing it); 64 MiB for the slower writers.
    data = gzip_bomb() if fmt == "gzip" else COMPRESS[fmt](bytes(64 << 20))
    if fmt == "gzip":
        assert gzip.GzipFile(fileobj=io.BytesIO(data)).read(1 << 20) == bytes(1 << 20)
    result, seconds = timed(lambda: check(fmt, data))
    assert_valid(result, fmt)
    assert seconds < 0.5
