"""Image validators: PNG, JPEG, GIF, WebP, BMP and TIFF, by their structure.

JPEG's marker walk and scan-data checks live in `_jpeg`; all six register here, in this order.
"""

from __future__ import annotations

import re
import struct
import zlib

from rempart.triage.formats._base import VALIDATORS, FormatCheck
from rempart.triage.formats._checks import bad, ended, sampled, unchecked
from rempart.triage.formats._jpeg import JpegValidator
from rempart.triage.sample import BudgetExceeded, Sample

_CHUNK_TYPE = re.compile(rb"[A-Za-z]{4}")
_FOURCC = re.compile(rb"[ -~]{4}")
_BMP_DIB_SIZES = frozenset({12, 40, 52, 56, 64, 108, 124})


def _stride_hit(sample: Sample, offset: int, length: int) -> bool:
    return any(s < offset + length and offset < s + len(d) for s, d in sample.strides)


class PngValidator:
    name = "png"

    def sniff(self, sample: Sample) -> bool:
        return sample.head.startswith(b"\x89PNG\r\n\x1a\n")

    def validate(self, sample: Sample) -> FormatCheck:
        end = _png_walk(sample)
        if isinstance(end, str):
            return bad("png", end, dense=True)
        return ended("png", sample, end, "IEND", dense=True)


def _png_walk(sample: Sample) -> str | int:
    """Walk the chunk chain: the offset after IEND, or what is wrong."""
    off: int = 8
    seen_ihdr, regions = False, sample.regions()
    try:
        while off + 12 <= sample.size:
            header = sampled(regions, off, 8) or sample.read(off, 8)
            length, ctype = struct.unpack(">I4s", header)
            if length > 0x7FFFFFFF or not _CHUNK_TYPE.fullmatch(ctype):
                return f"bad chunk header at offset {off}"
            name = ctype.decode("ascii")
            if off + 12 + length > sample.size:
                return f"{name} chunk at offset {off} runs past end of file (truncated)"
            if not seen_ihdr and ctype not in (b"IHDR", b"CgBI"):
                return f"{name} chunk at offset {off} where IHDR expected"
            seen_ihdr = seen_ihdr or ctype == b"IHDR"
            body = sampled(regions, off + 4, length + 8)
            if body is None and length <= 256 * 1024 and _stride_hit(sample, off, length + 12):
                body = sample.read(off + 4, length + 8)
            if body is not None and zlib.crc32(body[:-4]) != int.from_bytes(body[-4:], "big"):
                return f"CRC mismatch in {name} chunk at offset {off}"
            if ctype == b"IHDR" and body is not None and not _ihdr_ok(length, body[4:-4]):
                return f"impossible IHDR at offset {off}"
            off += 12 + length
            if ctype == b"IEND":
                return off
    except BudgetExceeded:
        tail_iend = sample.tail.rfind(b"\0\0\0\0IEND\xaeB`\x82")
        if tail_iend < 0:
            return "no IEND chunk at end of file"
        return sample.tail_offset + tail_iend + 12
    except struct.error:
        pass
    return f"no IEND chunk: chain stops at offset {off} (truncated)"


def _ihdr_ok(length: int, data: bytes) -> bool:
    w, h, depth, color, comp, filt, lace = struct.unpack(">IIBBBBB", data[:13].ljust(13, b"\xff"))
    ok = length == 13 and 0 < w < 1 << 31 and 0 < h < 1 << 31 and comp == filt == 0
    return ok and depth in (1, 2, 4, 8, 16) and color in (0, 2, 3, 4, 6) and lace in (0, 1)


class GifValidator:
    name = "gif"

    def sniff(self, sample: Sample) -> bool:
        return sample.head[:6] in (b"GIF87a", b"GIF89a")

    def validate(self, sample: Sample) -> FormatCheck:
        head = sample.head
        if len(head) < 13:
            return bad("gif", "file shorter than its header", dense=True)
        table = (3 << ((head[10] & 7) + 1)) if head[10] & 0x80 else 0
        end = _gif_blocks(head, 13 + table, in_data=False)
        if end is None and sample.whole:
            return bad("gif", "no trailer 0x3B: truncated", dense=True)
        if end is None:  # the head ran out: find the data sub-blocks again in the tail
            end = _gif_tail(sample.tail)
            end = end if isinstance(end, str) else sample.tail_offset + end
        if isinstance(end, str):
            return bad("gif", end, dense=True)
        return ended("gif", sample, end, "the trailer", dense=True)


def _gif_blocks(buf: bytes, off: int, in_data: bool) -> str | int | None:
    """Walk blocks from `off` (inside a sub-block chain when `in_data`).

    Returns:
        the offset after the trailer, None when `buf` runs out first, or what is wrong.
    """
    try:
        while off < len(buf):
            if not in_data:
                kind = buf[off]
                if kind == 0x3B:
                    return off + 1
                if kind == 0x21:
                    off += 2
                elif kind == 0x2C:
                    flags = buf[off + 9]
                    off += 10 + ((3 << ((flags & 7) + 1)) if flags & 0x80 else 0)
                    if not 1 <= buf[off] <= 12:
                        return f"bad LZW code size at offset {off}"
                    off += 1
                else:
                    return f"unknown block 0x{kind:02X} at offset {off}"
            while buf[off]:  # sub-blocks, at most 255 bytes each
                off += buf[off] + 1
            off, in_data = off + 1, False
    except IndexError:
        pass
    return None


def _gif_tail(tail: bytes) -> str | int:
    """Resynchronise on a run of full 255-byte sub-blocks in the tail and walk to the trailer."""
    tried = 0
    for m in re.finditer(rb"\xff", tail[: max(0, len(tail) - 800)]):
        if tail[m.start() + 256] == tail[m.start() + 512] == tail[m.start() + 768] == 0xFF:
            end = _gif_blocks(tail, m.start(), in_data=True)
            if end is None:
                return "no trailer 0x3B: truncated"
            if isinstance(end, int):
                return end
            tried += 1
            if tried == 32:
                break
    if tail.endswith(b"\x00;"):  # frames too small to resynchronise on
        return len(tail)
    return "block structure broken in the last 64 KiB" if tried else "no trailer 0x3B at end"


class WebpValidator:
    name = "webp"

    def sniff(self, sample: Sample) -> bool:
        return sample.head[:4] == b"RIFF" and sample.head[8:12] == b"WEBP"

    def validate(self, sample: Sample) -> FormatCheck:
        (riff,) = struct.unpack("<I", sample.head[4:8])
        end = riff + 8
        if end > sample.size:
            return bad("webp", f"RIFF size {riff} runs past end of file (truncated)", dense=True)
        off, first = 12, True
        try:
            while off + 8 <= end:
                fourcc, length = struct.unpack("<4sI", sample.read(off, 8))
                if not _FOURCC.fullmatch(fourcc) or off + 8 + length > end:
                    return bad("webp", f"bad chunk header at offset {off}", dense=True)
                if first:
                    if not _webp_first_ok(fourcc, sample.read(off + 8, 10)):
                        return bad(
                            "webp", f"bad {fourcc!r} image chunk at offset {off}", dense=True
                        )
                    first = False
                off += 8 + length + (length & 1)
        except struct.error:
            return bad("webp", f"chunk chain unreadable at offset {off}", dense=True)
        except BudgetExceeded:
            return unchecked("webp", dense=True)
        if off != end or first:
            return bad("webp", f"chunk chain ends at {off}, RIFF says {end}", dense=True)
        return ended("webp", sample, end, "RIFF end", dense=True)


def _webp_first_ok(fourcc: bytes, data: bytes) -> bool:
    if fourcc == b"VP8 ":
        return data[3:6] == b"\x9d\x01\x2a"
    if fourcc == b"VP8L":
        return data[:1] == b"\x2f"
    return fourcc == b"VP8X" and len(data) == 10 and data[0] & 0xC1 == 0


class BmpValidator:
    name = "bmp"

    def sniff(self, sample: Sample) -> bool:
        h = sample.head
        if h[:2] != b"BM" or len(h) < 26:
            return False
        fsize, dib = struct.unpack_from("<I8xI", h, 2)
        return fsize == sample.size or dib in _BMP_DIB_SIZES

    def validate(self, sample: Sample) -> FormatCheck:
        h = sample.head
        fsize, data_off, dib = struct.unpack_from("<I4xII", h, 2)
        if dib not in _BMP_DIB_SIZES or len(h) < 14 + dib:
            return bad("bmp", f"unknown DIB header size {dib} at offset 14")
        if dib == 12:
            w, height, planes, bpp = struct.unpack_from("<HhHH", h, 18)
            comp = 0
        else:
            w, height, planes, bpp, comp = struct.unpack_from("<iiHHI", h, 18)
        if w <= 0 or height == 0 or planes != 1 or bpp not in (1, 2, 4, 8, 16, 24, 32):
            return bad("bmp", "impossible width, height, planes or depth at offset 18")
        if comp > 6 or not 14 + dib <= data_off <= sample.size:
            return bad("bmp", f"impossible compression or pixel data offset {data_off}")
        if fsize > sample.size:
            return bad("bmp", f"header says {fsize} bytes, file has {sample.size}")
        end = max(fsize, data_off)
        if comp in (0, 3, 6):
            end = max(end, data_off + (w * bpp + 31) // 32 * 4 * abs(height))
            if end > sample.size:
                return bad("bmp", f"pixel data runs past end of file at {sample.size}")
        return ended("bmp", sample, end, "pixel data")


class TiffValidator:
    name = "tiff"

    def sniff(self, sample: Sample) -> bool:
        return sample.head[:4] in (b"II*\0", b"MM\0*")

    def validate(self, sample: Sample) -> FormatCheck:
        bo, ifd = "<" if sample.head[:1] == b"I" else ">", 4
        # Compression (tag 259) of every image, SubIFDs (tag 330) included: camera RAW
        # (.nef, .dng...) keeps its compressed sensor data there, under a plain thumbnail.
        found = _TiffTags()
        try:
            (ifd,) = struct.unpack(bo + "I", sample.head[4:8])
            for _ in range(8):
                if ifd == 0:
                    break
                if not 8 <= ifd < sample.size:
                    return bad("tiff", f"IFD offset {ifd} outside the file")
                (count,) = struct.unpack(bo + "H", sample.read(ifd, 2))
                raw = sample.read(ifd + 2, 12 * count + 4)
                if not 1 <= count <= 1000 or len(raw) < 12 * count + 4:
                    return bad("tiff", f"IFD at offset {ifd} has {count} entries")
                why = _tiff_ifd(sample, bo, raw, count, found)
                if why:
                    return bad("tiff", f"{why} in IFD at offset {ifd}")
                (ifd,) = struct.unpack_from(bo + "I", raw, 12 * count)
            _tiff_sub_ifds(sample, bo, found)
        except struct.error:
            return bad("tiff", f"IFD at offset {ifd} unreadable", dense=found.compressed)
        except BudgetExceeded:
            return unchecked("tiff", dense=found.compressed)
        return FormatCheck("tiff", True, dense=found.compressed)


_TIFF_TYPES = {1: "B", 2: "B", 3: "H", 4: "I", 5: "Q", 6: "b", 7: "B", 8: "h", 9: "i", 10: "q"}
_TIFF_TYPES |= {11: "f", 12: "d", 13: "I"}
#: Tags whose arrays are read: strip/tile offsets and byte counts, SubIFD offsets.
_TIFF_ARRAYS = frozenset({273, 279, 324, 325, 330})


class _TiffTags:
    """What the IFDs say about the image data: its compression and the SubIFDs."""

    def __init__(self) -> None:
        self.compressions: set[int] = set()
        self.sub_ifds: list[int] = []

    @property
    def compressed(self) -> bool:
        """Some image data is compressed (1 is none): its content may look random."""
        return any(c != 1 for c in self.compressions)


def _tiff_sub_ifds(sample: Sample, bo: str, found: _TiffTags) -> None:
    """Read the compression of SubIFDs; they are not validated, a bad one is skipped."""
    for ifd in found.sub_ifds[:16]:
        try:
            (count,) = struct.unpack(bo + "H", sample.read(ifd, 2))
            raw = sample.read(ifd + 2, 12 * min(count, 1000))
        except (struct.error, BudgetExceeded):
            continue
        for i in range(len(raw) // 12):
            tag, ftype, n = struct.unpack_from(bo + "HHI", raw, 12 * i)
            if tag == 259 and ftype in (3, 4) and n == 1:
                code = bo + _TIFF_TYPES[ftype]
                found.compressions.add(struct.unpack_from(code, raw, 12 * i + 8)[0])


def _tiff_ifd(sample: Sample, bo: str, raw: bytes, count: int, found: _TiffTags) -> str | None:
    """Entries of known types, their data and the image strips inside the file."""
    arrays = {}
    for i in range(count):  # tags should be sorted, but some writers do not: types are enough
        tag, ftype, n = struct.unpack_from(bo + "HHI", raw, 12 * i)
        if ftype not in _TIFF_TYPES:
            return f"bad entry {i} (tag {tag}, type {ftype})"
        code = bo + str(n) + _TIFF_TYPES[ftype]
        length = struct.calcsize(code)
        if length <= 4:
            data = raw[12 * i + 8 : 12 * i + 8 + length]
        else:
            (where,) = struct.unpack_from(bo + "I", raw, 12 * i + 8)
            if where + length > sample.size:
                return f"tag {tag} data at offset {where} outside the file"
            data = sample.read(where, length) if tag in _TIFF_ARRAYS else b""
        if data and tag in _TIFF_ARRAYS:
            arrays[tag] = struct.unpack(code, data)
        if tag == 259 and n >= 1 and ftype in (3, 4) and len(data) >= 2:
            found.compressions.add(struct.unpack_from(code, data)[0])
    if 330 in arrays:  # SubIFD offsets (LONG or IFD): read after the main chain
        found.sub_ifds += [o for o in arrays[330] if 8 <= o < sample.size]
    for offsets, counts in ((273, 279), (324, 325)):
        pairs = zip(arrays.get(offsets, ()), arrays.get(counts, ()), strict=False)
        ends = [o + c for o, c in pairs]
        if ends and max(ends) > sample.size:
            return f"image data runs to offset {max(ends)}, past end of file"
    return None


for _validator in (
    PngValidator(),
    JpegValidator(),
    GifValidator(),
    WebpValidator(),
    BmpValidator(),
    TiffValidator(),
):
    VALIDATORS.add(_validator.name, _validator)
