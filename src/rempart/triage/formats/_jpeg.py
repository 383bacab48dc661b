"""The JPEG validator: marker segments up to the first scan, then the scan data and EOI."""

from __future__ import annotations

import re

from rempart.triage.formats._base import FormatCheck
from rempart.triage.formats._checks import bad, ended, sampled, unchecked
from rempart.triage.sample import BudgetExceeded, Sample

# After 0xFF in entropy-coded data: stuffing, RSTn, EOI, fill, or a marker between scans.
_JPEG_BAD_FF = re.compile(rb"\xff[^\x00\xd0-\xd9\xff\xc4\xda-\xdd\xfe\xe0-\xef]")


class JpegValidator:
    name = "jpeg"

    def sniff(self, sample: Sample) -> bool:
        return sample.head.startswith(b"\xff\xd8\xff")

    def validate(self, sample: Sample) -> FormatCheck:
        try:
            scan = _jpeg_segments(sample)
        except BudgetExceeded:
            return unchecked("jpeg", dense=True)
        if isinstance(scan, str):
            return bad("jpeg", scan, dense=True)
        buf, base = (sample.head, 0) if sample.whole else (sample.tail, sample.tail_offset)
        eoi = buf.find(b"\xff\xd9", max(0, scan - base))
        if eoi >= 0 and buf.startswith(b"\xff\xd8", eoi + 2):  # MPF preview follows: take last
            last = buf.rfind(b"\xff\xd9")
            if last <= eoi:
                return bad(
                    "jpeg",
                    f"image after offset {base + eoi + 2} has no EOI (truncated?)",
                    dense=True,
                )
            eoi = last
        end = base + eoi + 2 if eoi >= 0 else sample.size
        for start, data in sample.regions():
            lo, hi = max(0, scan - start), min(len(data), end - start)
            embedded = data.find(b"\xff\xd9\xff\xd8", lo, hi)  # a preview image follows
            hi = embedded if embedded >= 0 else hi
            stray = len(_JPEG_BAD_FF.findall(data, lo, hi)) if hi > lo else 0
            if stray >= 4 and stray * 1024 >= (hi - lo) // 2:
                return bad(
                    "jpeg",
                    f"{stray} invalid 0xFF sequences in scan data at offset {start}",
                    dense=True,
                )
        if eoi < 0:
            return bad("jpeg", "no EOI marker at end of file (truncated?)", dense=True)
        after = buf[eoi + 2 :]
        padding = len(after) <= 64 and not after.strip(b"\x00\xff")
        return ended(
            "jpeg", sample, sample.size if padding else end, f"EOI at offset {end}", dense=True
        )


def _jpeg_segments(sample: Sample) -> str | int:
    """Walk marker segments up to SOS: offset where entropy-coded data starts, or the problem."""
    off: int = 2
    frame, regions = False, sample.regions()
    for _ in range(10_000):
        seg = sampled(regions, off, 4) or sample.read(off, 4)
        if len(seg) < 4:
            return f"marker chain runs past end of file at offset {off}"
        if seg[0] != 0xFF:
            return f"no marker at offset {off}"
        if seg[1] == 0xFF:  # fill byte before a marker
            off += 1
            continue
        marker = seg[1]
        if marker < 0xC0 or 0xD0 <= marker <= 0xD9:
            return f"unexpected marker FF{marker:02X} at offset {off}"
        length = int.from_bytes(seg[2:4], "big")
        if length < 2:
            return f"bad segment length at offset {off}"
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):  # SOFn
            body = sample.read(off + 4, 6)
            ncomp = body[5] if len(body) == 6 else 0
            ok = ncomp and 2 <= body[0] <= 16 and body[3:5] != b"\0\0"  # precision, width
            if not ok or length != 8 + 3 * ncomp:
                return f"impossible frame header at offset {off}"
            frame = True
        if marker == 0xDA:
            ns = sample.read(off + 4, 1)
            if not frame or not ns or not 1 <= ns[0] <= 4 or length != 6 + 2 * ns[0]:
                return f"impossible scan header at offset {off}"
            return off + 2 + length
        off += 2 + length
    return f"no scan after 10000 marker segments, at offset {off}"
