"""PDF: header, the `startxref`/`%%EOF` trailer, and objects where the cross-reference points.

A PDF whose body was overwritten keeps its header and trailer; what gives it away is that
the first object after the header and the objects the xref table lists are no longer there.
"""

from __future__ import annotations

import re

from rempart.triage.formats._base import VALIDATORS, FormatCheck
from rempart.triage.formats._checks import Damaged, guarded, need
from rempart.triage.sample import BudgetExceeded, Sample

_HEADER = re.compile(rb"%PDF-\d\.\d")
_STARTXREF = re.compile(rb"startxref\s+(\d{1,15})\s+%%EOF")
_OBJ = re.compile(rb"\s*(\d{1,10})\s+(\d{1,5})\s+obj\b")
_XREF_ENTRY = re.compile(rb"(\d{10}) (\d{5}) ([nf])")
_ENCRYPT = re.compile(rb"/Encrypt\s*(?:\d+\s+\d+\s+R|<<)")
_DENSE = (b"/FlateDecode", b"/DCTDecode", b"/JPXDecode")
_GARBAGE_OK = 1024  # bytes after %%EOF tolerated as producer noise, not a trailer
_OBJ_CHECKS = 24  # xref entries whose object header is checked


def _eof(sample: Sample) -> tuple[int, int]:
    """(xref offset, end of %%EOF line) from the last `startxref N %%EOF` in the tail."""
    matches = list(_STARTXREF.finditer(sample.tail))
    if not matches:
        raise Damaged("pdf: no startxref and %%EOF in the last 64 KiB (truncated?)")
    last = matches[-1]
    end = sample.tail_offset + last.end()
    for eol in (b"\r\n", b"\n", b"\r"):
        if sample.tail[last.end() : last.end() + len(eol)] == eol:
            return int(last.group(1)), end + len(eol)
    return int(last.group(1)), end


def _is_xref(at: bytes) -> bool:
    return at.lstrip().startswith(b"xref") or _OBJ.match(at) is not None


def _check_xref_table(sample: Sample, offset: int, table: bytes, base: int) -> int:
    """Check objects listed by a classic xref table; return how many were checked."""
    entries = [
        (base + int(m.group(1)), m.group(3))
        for m in _XREF_ENTRY.finditer(table)
        if m.group(3) == b"n" and int(m.group(1)) > 0
    ]
    step = max(1, len(entries) // _OBJ_CHECKS)
    for obj_off, _kind in entries[::step][:_OBJ_CHECKS]:
        if obj_off >= sample.size:
            raise Damaged(f"pdf: xref at {offset} lists an object at {obj_off}, past the end")
        if not _OBJ.match(sample.read(obj_off, 32)):
            raise Damaged(f"pdf: no object at offset {obj_off} where the xref at {offset} says")
    return len(entries)


def _validate(sample: Sample) -> FormatCheck:
    header = _HEADER.search(sample.head[:1024])
    if header is None:
        raise Damaged("pdf: no %PDF- header in the first 1 KiB")
    dense = any(m in data for _off, data in sample.regions() for m in _DENSE)
    first = re.compile(rb"\d+\s+\d+\s+obj\b").search(sample.head, header.end(), header.end() + 1024)
    if first is None:
        raise Damaged(f"pdf: no object within 1 KiB after the header at offset {header.start()}")
    xref, end = _eof(sample)
    evidence: list[str] = []
    rest = sample.size - end
    if rest and not sample.read(end, rest).strip(b"\x00\r\n\t \x0c"):
        end = sample.size  # trailing whitespace is producer noise, not a trailer
    elif rest:
        if rest <= _GARBAGE_OK:
            evidence.append(f"pdf: {rest} bytes of garbage after %%EOF at offset {end}")
        else:
            evidence.append(f"pdf: {rest} bytes after end of document (offset {end})")
    if not 0 < xref < sample.size:
        raise Damaged(f"pdf: startxref offset {xref} is outside the file")
    at = need(sample, xref, min(4096, sample.size - xref), "pdf: cross-reference")
    base = 0
    if not _is_xref(at) and header.start() > 0:
        # Bytes before the header (a spooler prefix, a PDF inside an EMF picture): offsets
        # then count from the header, as readers allow.
        shifted = sample.read(xref + header.start(), 4096)
        if _is_xref(shifted):
            base, at = header.start(), shifted
            evidence.append(f"pdf: {base} bytes before the header")
    if at.lstrip().startswith(b"xref"):
        _check_xref_table(sample, xref, at, base)
    elif (obj := _OBJ.match(at)) is None:
        raise Damaged(f"pdf: startxref points at offset {xref}, which is no xref table or object")
    elif b"/XRef" not in at[: at.find(b"stream") if b"stream" in at else len(at)]:
        raise Damaged(f"pdf: object {obj.group(1).decode()} at offset {xref} is not an xref stream")
    locked = any(_ENCRYPT.search(part) for part in (sample.head, sample.tail, at))
    if locked:
        evidence.append("pdf: /Encrypt dictionary in the trailer")
    return FormatCheck("pdf", True, tuple(evidence), locked, dense, end)


class PdfValidator:
    """PDF documents, incrementally updated ones included."""

    name = "pdf"

    def sniff(self, sample: Sample) -> bool:
        if b"%PDF-" in sample.head[:1024]:
            return True
        # Header destroyed: a trailer ending the file, whose startxref points at a cross-
        # reference, says what it was. (A PDF embedded in another file, as EMF pictures do,
        # has offsets relative to itself: it fails the pointer test and is not claimed.)
        found = _STARTXREF.search(sample.tail[-1100:])
        if found is None:
            return False
        try:
            return _is_xref(sample.read(int(found.group(1)), 64))
        except BudgetExceeded:
            return False  # too costly to tell: leave it to the other validators

    def validate(self, sample: Sample) -> FormatCheck:
        return guarded("pdf", lambda: _validate(sample))


VALIDATORS.add("pdf", PdfValidator())
