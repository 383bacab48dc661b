"""ZIP and the formats built on it (OOXML, OpenDocument, EPUB, JAR, APK).

The central directory is parsed and a few local headers are checked against it; nothing is
ever inflated, so a zip bomb costs the same as any small archive.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from rempart.triage.formats._base import VALIDATORS, FormatCheck
from rempart.triage.formats._checks import Damaged, guarded, need, sampled, trailer
from rempart.triage.sample import BudgetExceeded, Sample

_LOCAL = b"PK\x03\x04"
_CENTRAL = b"PK\x01\x02"
_EOCD = b"PK\x05\x06"
# signature, flags, method, compressed and uncompressed sizes, name/extra/comment lengths, offset
_CD_ENTRY = struct.Struct("<4s4xHH8xIIHHH8xI")
_CD_READ_MAX = 2 * 1024 * 1024  # central directory bytes parsed at most
_LOCAL_CHECKS = 64  # local headers checked besides the first and last, when already sampled
_ODF = {
    b"application/vnd.oasis.opendocument.text": "odt",
    b"application/vnd.oasis.opendocument.spreadsheet": "ods",
    b"application/vnd.oasis.opendocument.presentation": "odp",
    b"application/vnd.oasis.opendocument.graphics": "odg",
    b"application/epub+zip": "epub",
}


@dataclass(frozen=True)
class _Entry:
    name: bytes
    flags: int
    method: int
    csize: int
    offset: int


def _find_eocd(sample: Sample) -> tuple[int, int] | None:
    """(offset of the EOCD record, its comment length), the last plausible one in the tail."""
    tail, base = sample.tail, sample.tail_offset
    pos = len(tail)
    while (pos := tail.rfind(_EOCD, 0, pos)) >= 0:
        if pos + 22 <= len(tail):
            (comment,) = struct.unpack_from("<H", tail, pos + 20)
            if base + pos + 22 + comment <= sample.size:
                return base + pos, comment
    return None


def _zip64_cd(sample: Sample, eocd: int) -> tuple[int, int, int, int]:
    """(entries, cd size, cd offset, record offset) from the ZIP64 end of central directory."""
    loc = need(sample, eocd - 20, 20, "zip: ZIP64 locator")
    if loc[:4] != b"PK\x06\x07":
        raise Damaged(f"zip: no ZIP64 locator before the end record at offset {eocd}")
    (rec_off,) = struct.unpack_from("<Q", loc, 8)
    rec = sample.read(rec_off, 56) if rec_off < sample.size else b""
    if rec[:4] != b"PK\x06\x06":
        # The locator's offset is relative to the archive: with bytes prepended (a self-
        # extractor), the record is found where it is normally written, before the locator.
        rec_off = eocd - 20 - 56
        rec = need(sample, rec_off, 56, "zip: ZIP64 end record")
    if rec[:4] != b"PK\x06\x06":
        raise Damaged(f"zip: no ZIP64 end record before the locator at offset {eocd - 20}")
    total, cd_size, cd_off = struct.unpack_from("<QQQ", rec, 32)
    return total, cd_size, cd_off, rec_off


def _parse_cd(cd: bytes, start: int, count: int) -> list[_Entry]:
    entries: list[_Entry] = []
    pos = 0
    while len(entries) < count and pos + 46 <= len(cd):
        sig, flags, method, csize, usize, nlen, xlen, clen, offset = _CD_ENTRY.unpack_from(cd, pos)
        if sig != _CENTRAL:
            raise Damaged(f"zip: central directory entry {len(entries)} broken at {start + pos}")
        if pos + 46 + nlen + xlen + clen > len(cd):
            break  # cut by the read limit: the entries parsed so far are checked
        name = cd[pos + 46 : pos + 46 + nlen]
        extra = cd[pos + 46 + nlen : pos + 46 + nlen + xlen]
        if 0xFFFFFFFF in (csize, offset):
            csize, offset = _zip64_extra(extra, csize, usize, offset)
        entries.append(_Entry(name, flags, method, csize, offset))
        pos += 46 + nlen + xlen + clen
    return entries


def _zip64_extra(extra: bytes, csize: int, usize: int, offset: int) -> tuple[int, int]:
    pos = 0
    while pos + 4 <= len(extra):
        tag, size = struct.unpack_from("<HH", extra, pos)
        if tag == 0x0001:
            fields = extra[pos + 4 : pos + 4 + size]
            i = 0
            if usize == 0xFFFFFFFF:
                i += 8
            if csize == 0xFFFFFFFF:
                (csize,) = struct.unpack_from("<Q", fields, i)
                i += 8
            if offset == 0xFFFFFFFF:
                (offset,) = struct.unpack_from("<Q", fields, i)
            break
        pos += 4 + size
    return csize, offset


def _check_local(sample: Sample, entry: _Entry, shift: int, cd_start: int, data: bytes) -> bytes:
    """Check the local header of `entry` (given its first bytes); return the first data bytes."""
    off = entry.offset + shift
    if data[:4] != _LOCAL:
        raise Damaged(f"zip: local header at offset {off} is not a local file header")
    nlen, xlen = struct.unpack_from("<HH", data, 26)
    name = need(sample, off + 30, nlen, "zip: local file name")
    if name != entry.name:
        shown = entry.name[:60].decode("utf-8", "replace")
        raise Damaged(f"zip: local header at offset {off} does not match entry {shown!r}")
    if entry.csize != 0xFFFFFFFF and off + 30 + nlen + xlen + entry.csize > cd_start:
        raise Damaged(f"zip: data of entry at offset {off} runs into the central directory")
    return sample.read(off + 30 + nlen + xlen, 64)


def _check_locals(sample: Sample, entries: list[_Entry], shift: int, cd_start: int) -> bytes:
    """Check local headers: first and last always, others when already sampled; first data."""
    regions = sample.regions()
    first_data = b""
    checked = 0
    last = len(entries) - 1
    for i, entry in enumerate(entries):
        off = entry.offset + shift
        if off >= cd_start:
            raise Damaged(f"zip: entry {i} points at offset {off}, past the central directory")
        if i in (0, last):
            head: bytes | None = need(sample, off, 30, "zip: local header")
        elif checked < _LOCAL_CHECKS:
            head = sampled(regions, off, 30)
        else:
            continue
        if head is not None:
            checked += 1
            data = _check_local(sample, entry, shift, cd_start, head)
            first_data = data if i == 0 else first_data
    return first_data


def _kind(entries: list[_Entry], first_data: bytes) -> str:
    names = {e.name for e in entries}
    first = entries[0] if entries else None
    if first is not None and first.name == b"mimetype" and first.method == 0:
        kind = _ODF.get(first_data[: first.csize].strip())
        if kind:
            return kind
    if b"[Content_Types].xml" in names:
        for part, kind in ((b"word/", "docx"), (b"xl/", "xlsx"), (b"ppt/", "pptx")):
            if any(n.startswith(part) for n in names):
                return kind
        return "ooxml"
    if b"AndroidManifest.xml" in names and b"classes.dex" in names:
        return "apk"
    if b"META-INF/MANIFEST.MF" in names:
        return "jar"
    return "zip"


def _validate(sample: Sample) -> FormatCheck:
    found = _find_eocd(sample)
    if found is None:
        raise Damaged("zip: no end of central directory record in the last 64 KiB")
    eocd, comment = found
    rec = need(sample, eocd, 22, "zip: end record")
    count, cd_size, cd_off = struct.unpack_from("<HII", rec, 10)
    record = eocd
    if count == 0xFFFF or 0xFFFFFFFF in (cd_size, cd_off):
        count, cd_size, cd_off, record = _zip64_cd(sample, eocd)
    cd_start = record - cd_size
    if cd_start < 0:
        raise Damaged(
            f"zip: central directory of {cd_size} bytes does not fit before offset {record}"
        )
    shift = cd_start - cd_off  # bytes prepended to the archive (self-extractors)
    cd = need(sample, cd_start, min(cd_size, _CD_READ_MAX), "zip: central directory")
    entries = _parse_cd(cd, cd_start, count)
    if len(entries) < count and cd_size <= _CD_READ_MAX:
        raise Damaged(
            f"zip: central directory at {cd_start} holds {len(entries)} of {count} entries"
        )
    evidence: list[str] = []
    if shift < 0:
        raise Damaged(
            f"zip: central directory offset {cd_off} points past its real place {cd_start}"
        )
    if shift:
        evidence.append(f"zip: {shift} bytes before the archive")
    kind = _kind(entries, b"")
    try:
        first_data = _check_locals(sample, entries, shift, cd_start)
    except Damaged as exc:
        raise Damaged(str(exc), format=kind) from None
    kind = _kind(entries, first_data)
    locked = [e for e in entries if e.flags & 0x41 or e.method == 99]
    if locked:
        how = "AES" if locked[0].method == 99 else "password"
        evidence.append(f"zip: {len(locked)} of {len(entries)} entries {how}-encrypted")
    end = eocd + 22 + comment
    evidence.extend(trailer(kind, end, sample.size))
    return FormatCheck(kind, True, tuple(evidence), bool(locked), dense=True, end=end)


class ZipValidator:
    """ZIP archives and OOXML / OpenDocument / EPUB / JAR / APK built on them."""

    name = "zip"

    def sniff(self, sample: Sample) -> bool:
        if sample.head[:4] in (_LOCAL, _EOCD, b"PK\x07\x08"):
            return True
        # The head may be what ransomware destroyed: the end record in the tail still tells.
        found = _find_eocd(sample)
        if found is None or found[0] + 22 + found[1] != sample.size:
            return False
        # ... and the central directory it describes starts right where it says.
        (cd_size,) = struct.unpack_from("<I", sample.read(found[0], 22), 12)
        try:
            return cd_size == 0xFFFFFFFF or sample.read(found[0] - cd_size, 4) == _CENTRAL
        except BudgetExceeded:
            return False  # too costly to tell: leave it to the other validators

    def validate(self, sample: Sample) -> FormatCheck:
        return guarded("zip", lambda: _validate(sample), dense=True)


VALIDATORS.add("zip", ZipValidator())
