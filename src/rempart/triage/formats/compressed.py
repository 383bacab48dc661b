"""Single-stream compressors: gzip, xz, bzip2 and Zstandard.

Headers and footers are checked with their own CRCs. Where the only way to see the data is
sound is to decompress it, the decompression is capped (`_CAP` output bytes, discarded), so
a bomb costs no more than a small file.
"""

from __future__ import annotations

import bz2
import lzma
import struct
import zlib
from collections.abc import Callable

import numpy as np

from rempart.triage.formats._base import VALIDATORS, FormatCheck
from rempart.triage.formats._checks import (
    Damaged,
    bounded_decompress,
    crc32,
    guarded,
    need,
    trailer,
    vint,
)
from rempart.triage.sample import BudgetExceeded, Sample

_CAP = 4 * 1024 * 1024  # output bytes decompressed at most, then discarded
_BZ_EOS = (0x177245385090).to_bytes(6, "big")
_ZSTD = b"\x28\xb5\x2f\xfd"
_XZ = b"\xfd7zXZ\x00"
_ZSTD_BLOCKS = 200_000  # block headers walked at most


def _gzip(sample: Sample) -> FormatCheck:
    head = sample.head
    if head[2] != 8 or head[3] & 0xE0:
        raise Damaged(f"gzip: method {head[2]} / flags {head[3]:#04x} at offset 2 are invalid")
    flags, pos = head[3], 10
    if flags & 4:
        (xlen,) = struct.unpack_from("<H", head, pos)
        pos += 2 + xlen
    for bit, what in ((8, "file name"), (16, "comment")):
        if flags & bit:
            zero = head.find(b"\x00", pos, pos + 4096)
            if zero < 0:
                raise Damaged(f"gzip: {what} at offset {pos} is not terminated")
            pos = zero + 1
    if flags & 2:
        (hcrc,) = struct.unpack_from("<H", head, pos)
        if hcrc != crc32(head[:pos]) & 0xFFFF:
            raise Damaged(f"gzip: header CRC at offset {pos} does not match")
        pos += 2
    if sample.size < pos + 8:
        raise Damaged(
            f"gzip: no room for the 8-byte trailer after the header ({sample.size} bytes)"
        )
    if not sample.whole:
        # Only the start is checked: inflate what the head holds, output capped.
        decomp = zlib.decompressobj(-15)
        try:
            decomp.decompress(head[pos:], _CAP)
        except zlib.error as exc:
            raise Damaged(f"gzip: deflate data after offset {pos} is broken ({exc})") from None
        return FormatCheck("gzip", True, (), dense=True)
    end = 0
    while end < sample.size and head[end : end + 2] == b"\x1f\x8b":
        decomp = zlib.decompressobj(31)
        produced = len(decomp.decompress(head[end:], _CAP))
        while decomp.unconsumed_tail and produced < _CAP:
            produced += len(decomp.decompress(decomp.unconsumed_tail, _CAP))
        if produced >= _CAP and not decomp.eof:
            return FormatCheck(
                "gzip", True, ("gzip: large member, only its start checked",), dense=True
            )
        if not decomp.eof:
            raise Damaged(f"gzip: member at offset {end} is truncated")
        end = sample.size - len(decomp.unused_data)
    evidence = trailer("gzip", end, sample.size, "end of stream")
    return FormatCheck("gzip", True, evidence, dense=True, end=end)


def _gzip_guarded(sample: Sample) -> FormatCheck:
    try:
        return _gzip(sample)
    except zlib.error as exc:
        raise Damaged(f"gzip: compressed data is broken ({exc})") from None


def _xz_footer(sample: Sample) -> int:
    """Offset just past the last valid stream footer (`YZ` with its CRC) in the tail."""
    tail, pos = sample.tail, len(sample.tail)
    while (pos := tail.rfind(b"YZ", 0, pos)) >= 10:
        foot = tail[pos - 10 : pos + 2]
        if struct.unpack_from("<I", foot)[0] == crc32(foot[4:10]):
            return sample.tail_offset + pos + 2
    raise Damaged("xz: no stream footer in the last 64 KiB (truncated?)")


def _xz_stream_start(sample: Sample, end: int) -> int:
    """Where the stream ending at `end` starts, from its footer and index sizes."""
    foot = need(sample, end - 12, 12, "xz: stream footer")
    backward = (int(struct.unpack_from("<I", foot, 4)[0]) + 1) * 4
    index_at = end - 12 - backward
    index = need(sample, index_at, backward, "xz: index")
    if index[0] != 0 or struct.unpack_from("<I", index, backward - 4)[0] != crc32(index[:-4]):
        raise Damaged(f"xz: index at offset {index_at} is broken")
    count, pos = vint(index, 1)
    blocks = 0
    for _ in range(min(count, 100_000)):
        unpadded, pos = vint(index, pos)
        _usize, pos = vint(index, pos)
        blocks += (unpadded + 3) // 4 * 4
    return index_at - blocks - 12


def _xz(sample: Sample) -> FormatCheck:
    head = need(sample, 0, 12, "xz: stream header")
    if struct.unpack_from("<I", head, 8)[0] != crc32(head[6:8]) or head[6] or head[7] & 0xF0:
        raise Damaged("xz: stream header flags or their CRC at offset 6 are wrong")
    end = _xz_footer(sample)
    stream_start = _xz_stream_start(sample, end)
    if stream_start < 0 or need(sample, stream_start, 6, "xz: stream header") != _XZ:
        raise Damaged(f"xz: index says the stream starts at {stream_start}, no header there")
    pad = sample.size - end
    if 0 < pad <= 4096 and pad % 4 == 0 and not sample.read(end, pad).strip(b"\x00"):
        end = sample.size  # stream padding, part of the format
    if sample.whole and stream_start == 0:
        try:
            bounded_decompress(lzma.LZMADecompressor(lzma.FORMAT_XZ), sample.head[:end], _CAP)
        except lzma.LZMAError as exc:
            raise Damaged(f"xz: compressed data is broken ({exc})") from None
    return FormatCheck(
        "xz", True, trailer("xz", end, sample.size, "end of stream"), dense=True, end=end
    )


def _bz2_end(sample: Sample) -> int:
    """Offset just past the last end-of-stream marker, found at any of the 8 bit shifts."""
    tail = np.frombuffer(sample.tail, dtype=np.uint8).astype(np.uint16)
    best = -1
    for shift in range(8):
        shifted = ((tail[:-1] << shift) | (tail[1:] >> (8 - shift))) & 0xFF
        pos = shifted.astype(np.uint8).tobytes().rfind(_BZ_EOS)
        if pos >= 0:
            bit = pos * 8 + shift + 48 + 32  # marker then the combined CRC
            best = max(best, sample.tail_offset + (bit + 7) // 8)
    if best < 0:
        raise Damaged("bz2: no end-of-stream marker in the last 64 KiB (truncated?)")
    return best


def _bz2(sample: Sample) -> FormatCheck:
    head = sample.head
    if not 0x31 <= head[3] <= 0x39:
        raise Damaged(f"bz2: block size {head[3:4]!r} at offset 3 is not 1-9")
    if head[4:10] != b"1AY&SY" and head[4:10] != _BZ_EOS:
        raise Damaged("bz2: no block magic at offset 4")
    end = _bz2_end(sample)
    if sample.whole:
        decomp = bz2.BZ2Decompressor()
        try:
            bounded_decompress(decomp, head[:end], _CAP)
        except OSError as exc:
            raise Damaged(f"bz2: compressed data is broken ({exc})") from None
    return FormatCheck(
        "bz2", True, trailer("bz2", end, sample.size, "end of stream"), dense=True, end=end
    )


def _zstd_frame(sample: Sample, pos: int) -> int:
    """Walk one frame's block headers; return the offset after the frame."""
    fhd = need(sample, pos + 4, 1, "zstd: frame header")[0]
    if fhd & 0x08:
        raise Damaged(f"zstd: reserved bit set in frame header at offset {pos + 4}")
    single = bool(fhd & 0x20)
    fcs = (1 if single else 0, 2, 4, 8)[fhd >> 6]
    pos += 5 + (0 if single else 1) + (0, 1, 2, 4)[fhd & 3] + fcs
    for _ in range(_ZSTD_BLOCKS):
        (word,) = struct.unpack("<I", need(sample, pos, 3, "zstd: block header") + b"\x00")
        last, kind, size = word & 1, (word >> 1) & 3, word >> 3
        if kind == 3 or size > 128 * 1024:
            raise Damaged(f"zstd: block header at offset {pos} is invalid")
        pos += 3 + (1 if kind == 1 else size)
        if pos > sample.size:
            raise Damaged(f"zstd: block at offset {pos} runs past the end of the file")
        if last:
            return pos + (4 if fhd & 0x04 else 0)
    raise Damaged(f"zstd: more than {_ZSTD_BLOCKS} blocks in the frame starting at {pos}")


def _zstd(sample: Sample) -> FormatCheck:
    pos, frames = 0, 0
    while pos < sample.size:
        magic = sample.read(pos, 4)
        if magic == _ZSTD:
            pos = _zstd_frame(sample, pos)
        elif _skippable(magic):
            pos += 8 + struct.unpack("<I", need(sample, pos + 4, 4, "zstd: skippable frame"))[0]
        elif frames:
            break
        else:
            raise Damaged("zstd: no frame at offset 0")
        frames += 1
    if pos > sample.size:
        raise Damaged(f"zstd: last frame runs past the end of the file (to {pos})")
    if sample.size - pos > pos:
        # More unknown bytes than frames: the frame walk went astray in damaged data.
        raise Damaged(f"zstd: frames end at offset {pos}, {sample.size - pos} unknown bytes follow")
    return FormatCheck(
        "zstd", True, trailer("zstd", pos, sample.size, "end of stream"), dense=True, end=pos
    )


def _skippable(magic: bytes) -> bool:
    return magic[1:4] == b"\x2a\x4d\x18" and magic[0] & 0xF0 == 0x50


def _zstd_magic(head: bytes) -> bool:
    """A Zstandard frame, or skippable frames (shared with LZ4) followed by one."""
    pos = 0
    for _ in range(16):
        if head[pos : pos + 4] == _ZSTD:
            return True
        if not _skippable(head[pos : pos + 4]) or pos + 8 > len(head):
            return False
        pos += 8 + int.from_bytes(head[pos + 4 : pos + 8], "little")
    return False


def _xz_tail(sample: Sample) -> bool:
    """A stream footer ends the file and its index says the stream starts at offset 0.

    A stream that starts further in belongs to a container (a .deb ends with data.tar.xz):
    not ours. bzip2 has no such index, so a bzip2 file is claimed by its magic only.
    """
    foot = sample.tail[-12:]
    if foot[-2:] != b"YZ" or struct.unpack_from("<I", foot)[0] != crc32(foot[4:10]):
        return False
    try:
        return _xz_stream_start(sample, sample.size) == 0
    except (Damaged, struct.error, IndexError, ValueError, BudgetExceeded):
        return False


class _Compressed:
    """One validator per compressor: the magic at offset 0, or a footer that ends the file."""

    def __init__(
        self,
        name: str,
        magic: bytes | Callable[[bytes], bool],
        check: Callable[[Sample], FormatCheck],
        tail: Callable[[Sample], bool] | None = None,
    ) -> None:
        self.name = name
        self.magic = magic
        self.check = check
        self.tail = tail

    def _magic(self, head: bytes) -> bool:
        return head.startswith(self.magic) if isinstance(self.magic, bytes) else self.magic(head)

    def sniff(self, sample: Sample) -> bool:
        if self._magic(sample.head):
            return True
        return self.tail is not None and sample.size >= 12 and self.tail(sample)

    def validate(self, sample: Sample) -> FormatCheck:
        if not self._magic(sample.head):
            evidence = (f"{self.name}: no signature at offset 0",)
            return FormatCheck(self.name, False, evidence, dense=True)
        return guarded(self.name, lambda: self.check(sample), dense=True)


for _validator in (
    _Compressed("gzip", b"\x1f\x8b", _gzip_guarded),
    _Compressed("xz", _XZ, _xz, _xz_tail),
    _Compressed("bz2", b"BZh", _bz2),
    _Compressed("zstd", _zstd_magic, _zstd),
):
    VALIDATORS.add(_validator.name, _validator)
