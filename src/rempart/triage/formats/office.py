"""OLE Compound Files: legacy Office (doc, xls, ppt) and password-protected OOXML.

The header is checked field by field, the FAT says where the used sectors end, and the
directory chain is read a little to find the stream names that tell the format and whether
the owner encrypted it.
"""

from __future__ import annotations

import struct

import numpy as np

from rempart.triage.formats._base import VALIDATORS, FormatCheck
from rempart.triage.formats._checks import Damaged, guarded, need, trailer
from rempart.triage.sample import Sample

_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")
_FREE, _END = 0xFFFFFFFF, 0xFFFFFFFE
_DIR_SECTORS = 16  # directory sectors read at most
_STREAM_BYTES = 8192  # bytes of a stream read to check its own header


class _Cfb:
    """Just enough of a compound file to follow sector chains."""

    def __init__(self, sample: Sample) -> None:
        self.sample = sample
        head = need(sample, 0, 512, "ole: header")
        order, shift, mini = struct.unpack_from("<HHH", head, 28)
        if order != 0xFFFE:
            raise Damaged(f"ole: byte order mark {order:#06x} at offset 28, not 0xfffe")
        if shift not in (9, 12) or mini != 6:
            raise Damaged(f"ole: sector shift {shift} / mini shift {mini} at offset 30")
        self.ssz: int = 1 << shift
        self.nsectors = max(0, (sample.size - self.ssz) // self.ssz)
        nfat, self.first_dir = struct.unpack_from("<II", head, 44)
        (self.cutoff,) = struct.unpack_from("<I", head, 56)
        if not 0 < nfat <= self.nsectors:
            raise Damaged(
                f"ole: {nfat} FAT sectors (offset 44) do not fit a {sample.size}-byte file"
            )
        # Files over ~7 MB (512-byte sectors) list further FAT sectors in a DIFAT chain: only
        # the header's own 109 entries are followed.
        self.fat_sectors = list(struct.unpack_from("<109I", head, 76)[: min(nfat, 109)])
        outside = [s for s in self.fat_sectors if s >= self.nsectors]
        if outside:
            raise Damaged(f"ole: FAT sector {outside[0]} listed at offset 76 lies outside the file")
        if self.first_dir >= self.nsectors:
            raise Damaged(f"ole: first directory sector {self.first_dir} lies outside the file")
        self.nfat = nfat

    def sector(self, number: int, what: str) -> bytes:
        return need(self.sample, (number + 1) * self.ssz, self.ssz, f"ole: {what} sector {number}")

    def next(self, number: int) -> int:
        per = self.ssz // 4
        if number // per >= len(self.fat_sectors):
            return _END
        fat = self.sector(self.fat_sectors[number // per], "FAT")
        (value,) = struct.unpack_from("<I", fat, (number % per) * 4)
        return int(value)

    def chain(self, start: int, limit: int, what: str) -> bytes:
        out: list[bytes] = []
        number = start
        while number < self.nsectors and len(out) < limit:
            out.append(self.sector(number, what))
            number = self.next(number)
        return b"".join(out)

    def used_end(self) -> int | None:
        """Offset where the last sector in use ends, from the last FAT sector."""
        if self.nfat > 109:
            return None
        last = self.sector(self.fat_sectors[-1], "FAT")
        used = np.flatnonzero(np.frombuffer(last, dtype="<u4") != _FREE)
        if used.size == 0:
            return None
        index = (len(self.fat_sectors) - 1) * (self.ssz // 4) + int(used[-1])
        return (index + 2) * self.ssz


def _streams(cfb: _Cfb) -> dict[str, tuple[int, int]]:
    """Directory entries: name -> (start sector, size)."""
    raw = cfb.chain(cfb.first_dir, _DIR_SECTORS, "directory")
    if raw[66] != 5:
        raise Damaged(f"ole: first directory entry at sector {cfb.first_dir} is not the root")
    out: dict[str, tuple[int, int]] = {}
    for pos in range(0, len(raw) - 127, 128):
        (nlen,) = struct.unpack_from("<H", raw, pos + 64)
        if raw[pos + 66] in (1, 2, 5) and 2 <= nlen <= 64:
            name = raw[pos : pos + nlen - 2].decode("utf-16-le", "replace")
            start, size = struct.unpack_from("<IQ", raw, pos + 116)
            out[name] = (start, size)
    return out


def _doc_encrypted(cfb: _Cfb, start: int) -> bool:
    fib = cfb.chain(start, 1, "WordDocument")
    (ident, flags) = struct.unpack_from("<H8xH", fib, 0)
    if ident != 0xA5EC:
        raise Damaged(
            f"doc: WordDocument stream at sector {start} does not start with a FIB", format="doc"
        )
    return bool(flags & 0x0100)


def _xls_encrypted(cfb: _Cfb, start: int) -> bool:
    data = cfb.chain(start, _STREAM_BYTES // cfb.ssz or 1, "Workbook")
    if struct.unpack_from("<H", data, 0)[0] != 0x0809:
        raise Damaged(
            f"xls: Workbook stream at sector {start} does not start with a BOF record", format="xls"
        )
    pos = 0
    for _ in range(64):  # FILEPASS, when present, is among the first records
        kind, length = struct.unpack_from("<HH", data, pos)
        if kind == 0x002F:
            return True
        pos += 4 + length
        if pos + 4 > len(data):
            break
    return False


def _validate(sample: Sample) -> FormatCheck:
    cfb = _Cfb(sample)
    names = _streams(cfb)
    evidence: list[str] = []
    fmt, locked = "ole", False
    big = {n: s for n, (s, size) in names.items() if size >= cfb.cutoff}
    if "EncryptionInfo" in names and "EncryptedPackage" in names:
        fmt, locked = "ooxml-encrypted", True
    elif "WordDocument" in names:
        fmt = "doc"
        locked = "WordDocument" in big and _doc_encrypted(cfb, big["WordDocument"])
    elif "Workbook" in names or "Book" in names:
        fmt = "xls"
        start = big.get("Workbook", big.get("Book"))
        locked = start is not None and _xls_encrypted(cfb, start)
    elif "PowerPoint Document" in names:
        fmt, locked = "ppt", "EncryptedSummary" in names
    if locked:
        evidence.append(f"{fmt}: encrypted by its owner (password-protected)")
    end = cfb.used_end()
    if end is not None and end >= sample.size + cfb.ssz:
        raise Damaged(
            f"{fmt}: sectors in use up to offset {end}, file ends at {sample.size}", format=fmt
        )
    if end is not None:
        end = min(end, sample.size)
        evidence.extend(trailer(fmt, end, sample.size, "end of the last sector in use"))
    return FormatCheck(fmt, True, tuple(evidence), locked, False, end)


class OleValidator:
    """OLE Compound Files (doc, xls, ppt, encrypted OOXML, msg, ...)."""

    name = "ole"

    def sniff(self, sample: Sample) -> bool:
        return sample.head[:8] == _MAGIC

    def validate(self, sample: Sample) -> FormatCheck:
        if sample.head[:8] != _MAGIC:
            return FormatCheck("ole", False, ("ole: no compound file signature at offset 0",))
        return guarded("ole", lambda: _validate(sample))


VALIDATORS.add("ole", OleValidator())
