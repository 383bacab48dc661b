"""Audio and video validators: MP3, ISO BMFF (MP4/MOV/M4A/3GP), RIFF (WAV/AVI), Ogg, FLAC.

ISO BMFF's box walk lives in `_isobmff`; all five register here, in this order.
"""

from __future__ import annotations

import re
import struct
import zlib

import numpy as np

from rempart.triage.formats._base import VALIDATORS, FormatCheck
from rempart.triage.formats._checks import bad, ended, unchecked
from rempart.triage.formats._isobmff import Mp4Validator
from rempart.triage.sample import BudgetExceeded, Sample

_FOURCC = re.compile(rb"[ -~\xa9]{4}")
_IDX1 = np.dtype([("id", "S4"), ("flags", "<u4"), ("offset", "<u4"), ("size", "<u4")])
_SYNC = re.compile(rb"\xff[\xe0-\xff]")
_ID3_FRAME = re.compile(rb"[A-Z0-9]{4}")
# Bitrates in kbit/s by (MPEG-1?, layer); MPEG-2/2.5 layers II and III share a table.
_RATES = {
    (True, 1): (0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448),
    (True, 2): (0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384),
    (True, 3): (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    (False, 1): (0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256),
    (False, 2): (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_SAMPLERATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


# --- MP3 ----------------------------------------------------------------------------------


def _frame(buf: bytes, off: int) -> tuple[int, int] | None:
    """(frame length, version/layer/samplerate key) of an MPEG audio frame header, or None."""
    if off + 4 > len(buf) or buf[off] != 0xFF:
        return None
    (h,) = struct.unpack_from(">I", buf, off)
    version, layer, rate, freq = (h >> 19) & 3, 4 - ((h >> 17) & 3), (h >> 12) & 15, (h >> 10) & 3
    if h & 0xFFE00000 != 0xFFE00000 or version == 1 or layer == 4 or rate in (0, 15) or freq == 3:
        return None
    mpeg1 = version == 3
    kbps = _RATES[(mpeg1, 1 if layer == 1 else 2 if layer == 2 or not mpeg1 else 3)][rate]
    hz, pad = _SAMPLERATES[version][freq], (h >> 9) & 1
    if layer == 1:
        return (12 * kbps * 1000 // hz + pad) * 4, h & 0xFFFE0C00
    per = 72 if layer == 3 and not mpeg1 else 144
    return per * kbps * 1000 // hz + pad, h & 0xFFFE0C00


def _walk(buf: bytes, off: int) -> tuple[int, int]:
    """Follow chained frames from `off`: (frames walked, offset where the chain stops)."""
    first, count = _frame(buf, off), 0
    while first is not None:
        got = _frame(buf, off)
        if got is None or got[1] != first[1]:
            break
        off += got[0]
        count += 1
    return count, off


def _resync(buf: bytes, start: int, stop: int) -> int | None:
    """First offset in [start, stop) where at least three frames chain."""
    for m in _SYNC.finditer(buf, start, min(stop, len(buf))):
        frames, end = _walk(buf, m.start())
        if frames >= 3 or (frames and end >= len(buf)):
            return m.start()
    return None


def _id3_end(head: bytes) -> int | str:
    """Offset after the ID3v2 tag (0 when none), or what is wrong with the tag."""
    if not head.startswith(b"ID3"):
        return 0
    version, flags, size = head[3], head[5], head[6:10]
    if version not in (2, 3, 4) or any(b & 0x80 for b in size):
        return "bad ID3v2 header at offset 0"
    end = 10 + sum(b << (21 - 7 * i) for i, b in enumerate(size))
    off = 10
    if version >= 3 and not flags & 0xC0:  # frames walkable: no unsync, no extended header
        while off + 10 <= min(end, len(head)) and head[off] != 0:
            if not _ID3_FRAME.fullmatch(head[off : off + 4]):
                return f"bad ID3v2 frame at offset {off}"
            raw = head[off + 4 : off + 8]
            n = sum((b & 0x7F) << (21 - 7 * i) for i, b in enumerate(raw))
            off += 10 + (n if version == 4 else int.from_bytes(raw, "big"))
        if off > end:
            return f"ID3v2 frame at offset {off} runs past the tag"
    return end + (10 if flags & 0x10 else 0)


class Mp3Validator:
    name = "mp3"

    def sniff(self, sample: Sample) -> bool:
        head = sample.head
        if head.startswith(b"ID3") and len(head) >= 10 and head[3] in (2, 3, 4):
            return True
        frames, end = _walk(head, 0)
        return frames >= 3 or (frames >= 1 and end == sample.size)

    def validate(self, sample: Sample) -> FormatCheck:
        audio = _id3_end(sample.head)
        if isinstance(audio, str):
            return bad("mp3", audio, dense=True)
        if audio >= sample.size:
            return bad("mp3", f"ID3v2 tag runs past end of file ({audio} bytes)", dense=True)
        regions = sample.regions()
        end = sample.size
        for start, buf in regions:
            lo = max(0, audio - start)
            if lo >= len(buf):
                continue
            first = _resync(buf, lo, lo + 4096 if start else lo + 8192)
            if first is None:
                return bad("mp3", f"no MPEG audio frames at offset {start + lo}", dense=True)
            _frames, stop = _walk(buf, first)
            if stop < len(buf) - 3:
                if start + len(buf) < sample.size:
                    return bad("mp3", f"frame chain broken at offset {start + stop}", dense=True)
                end = start + stop
            elif stop > len(buf) and start + len(buf) == sample.size:
                return bad("mp3", f"last frame runs past end of file at {start + stop}", dense=True)
        rest = sample.tail[end - sample.tail_offset :] if end >= sample.tail_offset else b""
        if rest[:3] == b"TAG":  # ID3v1
            if len(rest) < 128:
                return bad("mp3", f"ID3v1 tag at offset {end} cut short (truncated)", dense=True)
            end, rest = end + 128, rest[128:]
        if rest.startswith((b"APETAGEX", b"LYRICSBEGIN")):
            end = sample.size
        if sample.size - end > max(sample.size // 4, 1):
            return bad("mp3", f"frame chain broken at offset {end}", dense=True)
        return ended("mp3", sample, end, f"last frame at offset {end}", dense=True)


# --- RIFF: WAV and AVI --------------------------------------------------------------------


class RiffValidator:
    name = "riff"

    def sniff(self, sample: Sample) -> bool:
        return sample.head[:4] == b"RIFF" and sample.head[8:12] in (b"WAVE", b"AVI ")

    def validate(self, sample: Sample) -> FormatCheck:
        fmt, dense = ("wav", False) if sample.head[8:12] == b"WAVE" else ("avi", True)
        riff_end = 8 + int.from_bytes(sample.head[4:8], "little")
        off, seen, where = 12, list[bytes](), dict[bytes, tuple[int, int]]()
        try:  # walk to the end of the file: writers get the RIFF size wrong, trailers follow it
            while off + 8 <= sample.size:
                fourcc, n = struct.unpack("<4sI", sample.read(off, 8))
                if not _FOURCC.fullmatch(fourcc) or off + 8 + n > sample.size:
                    if off >= riff_end and seen:
                        break  # a trailer after the RIFF data
                    if _FOURCC.fullmatch(fourcc):
                        why = f"{fourcc.decode()!r} chunk at offset {off} runs past end of file"
                        return bad(fmt, why + " (truncated)", dense=dense)
                    return bad(fmt, f"bad chunk header at offset {off}", dense=dense)
                seen.append(fourcc)
                where[sample.read(off + 8, 4) if fourcc == b"LIST" else fourcc] = (off + 8, n)
                off += 8 + n + (n & 1)
        except struct.error:
            return bad(fmt, f"chunk chain unreadable at offset {off}", dense=dense)
        except BudgetExceeded:
            return unchecked(fmt, dense=dense)
        if riff_end > sample.size or off < min(riff_end, sample.size):
            return bad(
                fmt, f"RIFF says {riff_end} bytes, chunks end at {off} (truncated)", dense=dense
            )
        if fmt == "wav" and (b"fmt " not in seen or b"data" not in seen):
            return bad(fmt, "no 'fmt ' or 'data' chunk", dense=dense)
        if fmt == "avi" and b"LIST" not in seen:
            return bad(fmt, "no LIST chunk", dense=dense)
        if b"movi" in where and b"idx1" in where:
            mismatch = _avi_index(sample, where[b"movi"][0], *where[b"idx1"])
            if mismatch is not None:
                return bad(
                    fmt, f"frame chunk at offset {mismatch} does not match the index", dense=dense
                )
        return ended(fmt, sample, off, "RIFF end", dense=dense)


def _avi_index(sample: Sample, movi: int, at: int, length: int) -> int | None:
    """Check frame chunks that the index places in the sampled regions: the first mismatch."""
    try:
        raw = sample.read(at, min(length, 1 << 20))
    except BudgetExceeded:
        return None
    index = np.frombuffer(raw[: len(raw) // 16 * 16], dtype=_IDX1)
    if not len(index):
        return None
    heads = [(bytes(index["id"][i]), int(index["offset"][i])) for i in range(min(8, len(index)))]
    bases = [b for b in (movi, 0) if any(sample.read(b + o, 4) == c for c, o in heads)]
    if not bases:
        return None  # offsets neither relative to 'movi' nor absolute: nothing to compare
    positions = bases[0] + index["offset"].astype(np.int64)
    for start, data in sample.regions():
        inside = (positions >= start) & (positions + 8 <= start + len(data))
        for i in np.flatnonzero(inside & (index["size"] > 0))[:64].tolist():
            pos, ckid = int(positions[i]) - start, bytes(index["id"][i])
            if ckid[:2].isdigit() and data[pos : pos + 4] != ckid:  # a stream chunk, "00dc"...
                return start + pos
    return None


# --- Ogg and FLAC -------------------------------------------------------------------------

_REVERSED = bytes(int(f"{i:08b}"[::-1], 2) for i in range(256))


def ogg_crc(data: bytes) -> int:
    """Ogg's CRC-32 (polynomial 0x04C11DB7, not reflected), through zlib's reflected one."""
    raw = zlib.crc32(data.translate(_REVERSED), 0xFFFFFFFF) ^ 0xFFFFFFFF
    return int(f"{raw:032b}"[::-1], 2)


class OggValidator:
    name = "ogg"

    def sniff(self, sample: Sample) -> bool:
        return sample.head[:5] == b"OggS\0"

    def validate(self, sample: Sample) -> FormatCheck:
        end = largest = 0
        for start, buf in sample.regions():
            off = 0 if start == 0 else buf.find(b"OggS")
            last = start + len(buf) == sample.size
            if off < 0 and 0 < 3 * largest < len(buf):  # pages seen so far were much smaller
                return bad("ogg", f"no page in the {len(buf)} bytes at offset {start}", dense=True)
            while off >= 0 and off + 27 <= len(buf):
                if buf[off : off + 5] != b"OggS\0":
                    if last and end:  # after the last page of the file: a trailer
                        break
                    return bad("ogg", f"no page header at offset {start + off}", dense=True)
                nseg = buf[off + 26]
                page = 27 + nseg + sum(buf[off + 27 : off + 27 + nseg])
                if off + page > len(buf):
                    if last:
                        return bad(
                            "ogg", f"page at offset {start + off} runs past end of file", dense=True
                        )
                    break
                body = buf[off : off + 22] + b"\0\0\0\0" + buf[off + 26 : off + page]
                if ogg_crc(body) != int.from_bytes(buf[off + 22 : off + 26], "little"):
                    return bad("ogg", f"CRC mismatch in page at offset {start + off}", dense=True)
                off, largest = off + page, max(largest, page)
                end = start + off
        if end == 0 or sample.size - end > 65307:
            return bad("ogg", f"page chain stops at offset {end} (truncated?)", dense=True)
        return ended("ogg", sample, end, "last page", dense=True)


class FlacValidator:
    name = "flac"

    def sniff(self, sample: Sample) -> bool:
        return sample.head[:4] == b"fLaC"

    def validate(self, sample: Sample) -> FormatCheck:
        off, first = 4, True
        try:
            for _ in range(1024):
                kind, n = sample.read(off, 1)[0], int.from_bytes(sample.read(off + 1, 3), "big")
                if (first and (kind & 0x7F != 0 or n != 34)) or kind & 0x7F == 127:
                    return bad("flac", f"bad metadata block at offset {off}", dense=True)
                first, off = False, off + 4 + n
                if kind & 0x80:
                    break
            else:
                return bad("flac", "no last metadata block in the first 1024", dense=True)
            if sample.read(off, 2) not in (b"\xff\xf8", b"\xff\xf9"):
                return bad("flac", f"no audio frame sync at offset {off}", dense=True)
        except IndexError:
            return bad("flac", f"metadata unreadable at offset {off}", dense=True)
        except BudgetExceeded:
            return unchecked("flac", dense=True)
        return FormatCheck("flac", True, dense=True)


for _validator in (
    Mp3Validator(),
    Mp4Validator(),
    RiffValidator(),
    OggValidator(),
    FlacValidator(),
):
    VALIDATORS.add(_validator.name, _validator)
