"""7-Zip and RAR (4 and 5) archives: signature headers, header CRCs, and the header chain.

Nothing is decompressed; the headers' own CRCs say whether they survived, and the sizes
they declare must land exactly on the next header or the end of the file.
"""

from __future__ import annotations

import lzma
import re
import struct

from rempart.triage.formats._base import VALIDATORS, FormatCheck
from rempart.triage.formats._checks import Damaged, crc32, guarded, need, trailer, vint
from rempart.triage.sample import Sample

_7Z = b"7z\xbc\xaf\x27\x1c"
_RAR4 = b"Rar!\x1a\x07\x00"
_RAR5 = b"Rar!\x1a\x07\x01\x00"
_AES_CODER = re.compile(rb"[\x04\x14\x24\x34]\x06\xf1\x07\x01")  # coder flags + 7zAES id
_HEADER_MAX = 1 << 20  # next-header bytes read for the CRC check at most
_BLOCKS = 4096  # RAR headers walked at most


def _7z(sample: Sample) -> FormatCheck:
    start = need(sample, 0, 32, "7z: start header")
    if start[6] != 0:
        raise Damaged(f"7z: major version {start[6]} at offset 6 is unknown")
    (start_crc,) = struct.unpack_from("<I", start, 8)
    if start_crc != crc32(start[12:32]):
        raise Damaged("7z: start header CRC at offset 8 does not match")
    offset, size, header_crc = struct.unpack_from("<QQI", start, 12)
    end = 32 + offset + size
    if end > sample.size:
        raise Damaged(
            f"7z: next header at {32 + offset} ({size} bytes) lies past the end of the file"
        )
    if size == 0:
        return FormatCheck("7z", True, trailer("7z", end, sample.size), dense=True, end=end)
    header = need(sample, 32 + offset, min(size, _HEADER_MAX), "7z: next header")
    evidence: list[str] = []
    if size <= _HEADER_MAX and crc32(header) != header_crc:
        raise Damaged(f"7z: next header CRC at offset {32 + offset} does not match")
    if header[0] not in (0x01, 0x17):
        raise Damaged(f"7z: next header at {32 + offset} is neither a header nor an encoded one")
    if header[0] == 0x17 and _AES_CODER.search(header) is None and size <= _HEADER_MAX:
        header = _7z_decode_header(sample, header)
    locked = _AES_CODER.search(header) is not None
    if locked:
        evidence.append("7z: AES coder in the archive header (password-protected)")
    evidence.extend(trailer("7z", end, sample.size))
    return FormatCheck("7z", True, tuple(evidence), locked, dense=True, end=end)


def _7z_number(buf: bytes, pos: int) -> tuple[int, int]:
    """7z's variable-length number: leading one bits of the first byte count the extra bytes."""
    first, pos = buf[pos], pos + 1
    mask, value = 0x80, 0
    for i in range(8):
        if not first & mask:
            return value | (first & (mask - 1)) << (8 * i), pos
        value |= buf[pos] << (8 * i)
        pos, mask = pos + 1, mask >> 1
    return value, pos


def _7z_decode_header(sample: Sample, encoded: bytes) -> bytes:
    """Decompress a small LZMA/LZMA2-encoded header (output capped) to look at its coders.

    Layout read: kEncodedHeader, kPackInfo packPos numPackStreams kSize size kEnd,
    kUnpackInfo kFolder 1 0 numCoders (flags id [props]).
    """
    if encoded[1] != 0x06:
        return encoded
    pack_pos, at = _7z_number(encoded, 2)
    _streams, at = _7z_number(encoded, at)
    if encoded[at] != 0x09:
        return encoded
    pack_size, at = _7z_number(encoded, at + 1)
    coder_at = encoded.find(b"\x0b\x01\x00\x01", at)  # kFolder, 1 folder, inline, 1 coder
    if coder_at < 0 or pack_size > _HEADER_MAX:
        return encoded
    flags, at = encoded[coder_at + 4], coder_at + 5
    coder = encoded[at : at + (flags & 0x0F)]
    props = encoded[
        at + (flags & 0x0F) + 1 : at + (flags & 0x0F) + 1 + encoded[at + (flags & 0x0F)]
    ]
    if coder == b"\x21" and props:
        p = props[0]
        filt: dict[str, int] = {"id": lzma.FILTER_LZMA2, "dict_size": (2 | p & 1) << (p // 2 + 11)}
    elif coder == b"\x03\x01\x01" and len(props) == 5:
        d = props[0]
        dict_size = struct.unpack_from("<I", props, 1)[0]
        filt = {"id": lzma.FILTER_LZMA1, "lc": d % 9, "lp": d // 9 % 5, "pb": d // 45}
        filt["dict_size"] = dict_size
    else:
        return encoded
    packed = need(sample, 32 + pack_pos, pack_size, "7z: packed header")
    decomp = lzma.LZMADecompressor(lzma.FORMAT_RAW, filters=[filt])
    try:
        return decomp.decompress(packed, _HEADER_MAX)
    except lzma.LZMAError as exc:
        raise Damaged(f"7z: packed header at offset {32 + pack_pos} is broken ({exc})") from None


def _rar4(sample: Sample) -> FormatCheck:
    pos, locked, evidence = len(_RAR4), False, []
    for _ in range(_BLOCKS):
        if pos == sample.size:
            break
        block = need(sample, pos, 7, "rar: block header")
        crc, kind, flags, size = struct.unpack_from("<HBHH", block)
        if size < 7:
            raise Damaged(f"rar: block at offset {pos} declares {size} bytes")
        full = need(sample, pos, size, "rar: block header")
        if kind in (0x73, 0x74, 0x7B) and crc != crc32(full[2:]) & 0xFFFF:
            raise Damaged(f"rar: header CRC of block {kind:#04x} at offset {pos} does not match")
        add = struct.unpack_from("<I", full, 7)[0] if flags & 0x8000 or kind == 0x74 else 0
        if kind == 0x74 and flags & 0x100:
            add += struct.unpack_from("<I", full, 32)[0] << 32
        locked = locked or (kind == 0x74 and bool(flags & 0x04))
        pos += size + add
        if kind == 0x73 and flags & 0x80:
            evidence.append("rar: headers encrypted (password-protected)")
            return FormatCheck("rar", True, tuple(evidence), True, dense=True)
        if kind == 0x7B:
            break
    return _rar_end("rar", sample, pos, locked, evidence)


def _rar_end(
    label: str, sample: Sample, pos: int, locked: bool, evidence: list[str]
) -> FormatCheck:
    """The verdict once a RAR walk (v4 or v5) has reached its end block at `pos`."""
    if pos > sample.size:
        raise Damaged(f"{label}: last block runs past the end of the file (to {pos})")
    if locked:
        evidence.append(f"{label}: file data encrypted (password-protected)")
    evidence.extend(trailer("rar", pos, sample.size))
    return FormatCheck("rar", True, tuple(evidence), locked, dense=True, end=pos)


def _rar5_file_encrypted(head: bytes, extra_at: int) -> bool:
    """True when a file header's extra area holds an encryption record (type 0x01)."""
    while extra_at < len(head):
        size, at = vint(head, extra_at)
        kind, _ = vint(head, at)
        if kind == 0x01:
            return True
        extra_at = at + size
    return False


def _rar5(sample: Sample) -> FormatCheck:
    pos, locked, evidence = len(_RAR5), False, []
    for _ in range(_BLOCKS):
        if pos == sample.size:
            break
        first = need(sample, pos, 7, "rar5: header")
        size, body = vint(first, 4)
        head = need(sample, pos, body + size, "rar5: header")
        if struct.unpack_from("<I", head)[0] != crc32(head[4:]):
            raise Damaged(f"rar5: header CRC at offset {pos} does not match")
        kind, at = vint(head, body)
        flags, at = vint(head, at)
        extra = data = 0
        if flags & 1:
            extra, at = vint(head, at)
        if flags & 2:
            data, at = vint(head, at)
        if kind == 4:
            evidence.append("rar5: archive headers encrypted (password-protected)")
            return FormatCheck("rar", True, tuple(evidence), True, dense=True)
        if kind == 2 and extra:
            locked = locked or _rar5_file_encrypted(head, len(head) - extra)
        pos += len(head) + data
        if kind == 5:
            break
    return _rar_end("rar5", sample, pos, locked, evidence)


class SevenZipValidator:
    """7-Zip archives."""

    name = "7z"

    def sniff(self, sample: Sample) -> bool:
        return sample.head.startswith(_7Z)

    def validate(self, sample: Sample) -> FormatCheck:
        if not sample.head.startswith(_7Z):
            return FormatCheck("7z", False, ("7z: no signature at offset 0",), dense=True)
        return guarded("7z", lambda: _7z(sample), dense=True)


class RarValidator:
    """RAR archives, versions 1.5-4.x and 5."""

    name = "rar"

    def sniff(self, sample: Sample) -> bool:
        return sample.head.startswith((_RAR4, _RAR5))

    def validate(self, sample: Sample) -> FormatCheck:
        if sample.head.startswith(_RAR5):
            return guarded("rar", lambda: _rar5(sample), dense=True)
        if sample.head.startswith(_RAR4):
            return guarded("rar", lambda: _rar4(sample), dense=True)
        return FormatCheck("rar", False, ("rar: no signature at offset 0",), dense=True)


VALIDATORS.add("7z", SevenZipValidator())
VALIDATORS.add("rar", RarValidator())
