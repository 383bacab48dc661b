"""The ISO BMFF validator (MP4, MOV, M4A, 3GP, HEIF/AVIF, CR3): top-level boxes, then 'moov'."""

from __future__ import annotations

import re
import struct

from rempart.triage.formats._base import FormatCheck
from rempart.triage.formats._checks import bad, ended, unchecked
from rempart.triage.sample import BudgetExceeded, Sample

_FOURCC = re.compile(rb"[ -~\xa9]{4}")

_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts", b"dinf", b"mvex"}
_FIRST = {b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip", b"pnot", b"styp"}
_BRANDS = {b"qt  ": "mov", b"M4A ": "m4a", b"M4B ": "m4a", b"M4V ": "m4v", b"avif": "avif"}
_BRANDS |= {b"crx ": "cr3"}
_HEIF = {b"heic", b"heix", b"mif1", b"msf1", b"heim", b"heis", b"hevc", b"avif", b"avis"}


def _children(data: bytes, off: int, end: int, size: int, depth: int = 0) -> str | None:
    """Walk boxes nested in [off, end) of `data`; check chunk offsets against the file size."""
    while off + 8 <= end:
        n, kind = struct.unpack_from(">I4s", data, off)
        if n < 8 or off + n > end or not _FOURCC.fullmatch(kind):
            return f"bad box inside at offset {off}"
        if kind in _CONTAINERS and depth < 6:
            why = _children(data, off + 8, off + n, size, depth + 1)
            if why:
                return why
        if kind in (b"stco", b"co64") and n >= 16:
            (count,) = struct.unpack_from(">I", data, off + 12)
            code = f">{count}{'I' if kind == b'stco' else 'Q'}"
            if 16 + struct.calcsize(code) > n:
                return f"bad chunk offset table at offset {off}"
            if count and max(struct.unpack_from(code, data, off + 16)) >= size:
                return f"chunk offset in '{kind.decode()}' at {off} beyond end of file"
        off += n
    if off != end and data[off:end] != b"\0\0\0\0":
        return f"boxes do not fill their parent at offset {off}"
    return None


class Mp4Validator:
    name = "mp4"

    def sniff(self, sample: Sample) -> bool:
        if len(sample.head) < 16 or sample.head[4:8] not in _FIRST:
            return False
        (n,) = struct.unpack_from(">I", sample.head)
        return sample.head[4:8] == b"ftyp" or n in (0, 1) or 8 <= n <= sample.size

    def validate(self, sample: Sample) -> FormatCheck:
        brand = sample.head[8:12] if sample.head[4:8] == b"ftyp" else b""
        fmt = "heic" if brand in _HEIF else "3gp" if brand[:2] == b"3g" else "mp4"
        fmt = _BRANDS.get(brand, fmt)
        try:
            walked = _bmff_walk(sample, b"meta" if brand in _HEIF else b"moov")
        except BudgetExceeded:
            return unchecked(fmt, dense=True)
        if isinstance(walked, str):
            return bad(fmt, walked, dense=True)
        return ended(fmt, sample, walked, f"last box at offset {walked}", dense=True)


def _bmff_walk(sample: Sample, need: bytes) -> str | int:
    """Walk top-level boxes: where the chain ends, or what is wrong."""
    off, seen = 0, set[bytes]()
    try:
        while off < sample.size:
            header = sample.read(off, 16)
            n, kind = struct.unpack_from(">I4s", header.ljust(8, b"\xff"))
            n = struct.unpack_from(">Q", header, 8)[0] if n == 1 else n or sample.size - off
            if n < 8 or not _FOURCC.fullmatch(kind) or (not seen and kind not in _FIRST):
                if seen & {need, b"moof"} and b"mdat" in seen:
                    return off  # what follows is not a box: a trailer
                return f"bad box header at offset {off}"
            name = kind.decode("latin-1")
            if off + n > sample.size:
                return f"'{name}' box at offset {off} runs past end of file (truncated)"
            if kind == b"moov" and n <= 1 << 20:
                inner = _children(sample.read(off, n), 8, n, sample.size)
                if inner:
                    return f"{inner} of 'moov' box at offset {off}"
            seen.add(kind)
            off += n
    except struct.error:
        return f"box chain unreadable at offset {off}"
    if not seen & {need, b"moof"}:  # fragmented files index their samples in 'moof' boxes
        return f"no '{need.decode()}' box"
    return off
