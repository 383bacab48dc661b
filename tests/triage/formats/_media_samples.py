"""Shared helpers for the image, media and binary validator tests: damage and tiny samples.

Damage follows what ransomware does: the first 4 KiB, magic kept and the rest encrypted,
intermittent patterns (16 of every 32 bytes, 64 of every 192), 128 KiB runs, truncation,
and a trailer appended after the data.
"""

from __future__ import annotations

import random
import struct
from collections.abc import Callable

import numpy as np

from rempart.triage.formats import FormatCheck, Validator
from rempart.triage.sample import from_bytes


def noise(n: int, seed: int = 7) -> bytes:
    return random.Random(seed).randbytes(n)


def _masked(data: bytes, mask: np.ndarray) -> bytes:
    out = np.frombuffer(data, dtype=np.uint8).copy()
    out[mask] = np.frombuffer(noise(int(mask.sum())), dtype=np.uint8)
    return out.tobytes()


def first_4k(data: bytes) -> bytes:
    return noise(4096) + data[4096:]


def keep_magic(data: bytes) -> bytes:
    return data[:16] + noise(len(data) - 16)


def every_other_16(data: bytes) -> bytes:
    return _masked(data, (np.arange(len(data)) // 16) % 2 == 1)


def sixty_four_of_192(data: bytes) -> bytes:
    return _masked(data, np.arange(len(data)) % 192 < 64)


def runs_128k(data: bytes) -> bytes:
    """128 KiB encrypted every 512 KiB, after an intact first 64 KiB."""
    pos = np.arange(len(data))
    return _masked(data, (pos >= 65536) & ((pos - 65536) % (512 * 1024) < 128 * 1024))


def half(data: bytes) -> bytes:
    return data[: len(data) // 2]


def minus_7(data: bytes) -> bytes:
    return data[:-7]


DAMAGE: dict[str, Callable[[bytes], bytes]] = {
    "first_4k": first_4k,
    "keep_magic": keep_magic,
    "every_other_16": every_other_16,
    "sixty_four_of_192": sixty_four_of_192,
    "half": half,
    "minus_7": minus_7,
}


def check(validator: Validator, data: bytes, name: str = "sample") -> FormatCheck | None:
    """Validate with one validator; None when it does not claim the bytes."""
    sample = from_bytes(data, name)
    if not validator.sniff(sample):
        return None
    return validator.validate(sample)


def assert_damaged(validator: Validator, data: bytes, how: str) -> None:
    result = check(validator, DAMAGE[how](data))
    assert result is None or not result.valid, (how, result)
    if result is not None:
        assert result.evidence and all(e.startswith(f"{result.format}: ") for e in result.evidence)


def assert_trailer(validator: Validator, data: bytes) -> None:
    result = check(validator, data + noise(1000, seed=11))
    assert result is not None
    assert result.end == len(data), result
    assert any("after" in e for e in result.evidence), result


# --- tiny hand-built samples -------------------------------------------------------------


def box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def mp4(moov_first: bool = True, frames: int = 200) -> bytes:
    """A small ISO BMFF file: ftyp, moov (mvhd, trak...), mdat with plausible chunk offsets."""
    ftyp = box(b"ftyp", b"isom\0\0\2\0isomiso2avc1mp41")
    mdat_payload = noise(frames * 700, seed=3)
    stsd = box(b"stsd", b"\0\0\0\0\0\0\0\1" + box(b"avc1", bytes(78)))

    def build(mdat_at: int) -> bytes:
        offsets = [mdat_at + 8 + i * 700 for i in range(frames)]
        stco = box(b"stco", struct.pack(f">II{frames}I", 0, frames, *offsets))
        stsz = box(b"stsz", struct.pack(">III", 0, 700, frames))
        stbl = box(b"stbl", stsd + box(b"stts", bytes(16)) + stsz + stco)
        minf = box(b"minf", box(b"vmhd", bytes(12)) + box(b"dinf", box(b"dref", bytes(8))) + stbl)
        mdia = box(b"mdia", box(b"mdhd", bytes(24)) + box(b"hdlr", bytes(25)) + minf)
        trak = box(b"trak", box(b"tkhd", bytes(84)) + mdia)
        return box(b"moov", box(b"mvhd", bytes(100)) + trak + box(b"udta", bytes(4)))

    mdat = box(b"mdat", mdat_payload)
    if moov_first:
        moov = build(len(ftyp) + len(build(0)))
        return ftyp + moov + mdat
    return ftyp + mdat + build(len(ftyp))


_MP3_RATES = (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)


def mp3(frames: int = 400, id3: bool = True, seed: int = 5, v1: bool = True) -> bytes:
    """MPEG-1 Layer III frames at varying bitrates (VBR-like) with random payload."""
    rng = random.Random(seed)
    parts = []
    if id3:
        frame = b"TIT2" + struct.pack(">I", 6) + b"\0\0" + b"\0title"
        body = frame + bytes(64)
        size = len(body)
        synchsafe = bytes((size >> s) & 0x7F for s in (21, 14, 7, 0))
        parts.append(b"ID3\4\0\0" + synchsafe + body)
    for _ in range(frames):
        index = rng.choice((9, 10, 11))  # 128, 160, 192 kbit/s
        pad = rng.randint(0, 1)
        header = struct.pack(">I", 0xFFFB0000 | index << 12 | 0 << 10 | pad << 9 | 0x40)
        length = 144 * _MP3_RATES[index] * 1000 // 44100 + pad
        parts.append(header + rng.randbytes(length - 4))
    return b"".join(parts) + (b"TAG" + bytes(125) if v1 else b"")


def assert_never_raises(validator: Validator, data: bytes, rounds: int = 40) -> None:
    """Flip, cut and overwrite bytes near the structures: always a FormatCheck, never a crash."""
    rng = random.Random(len(data))
    for i in range(rounds):
        mutated = bytearray(data)
        where = rng.randrange(min(len(data), 4096 if i % 2 else len(data)))
        if i % 3 == 0:
            mutated = mutated[: where + 1]
        else:
            mutated[where : where + 4] = rng.choice((b"\xff" * 4, b"\0" * 4, rng.randbytes(4)))
        sample = from_bytes(bytes(mutated))
        if validator.sniff(sample):
            result = validator.validate(sample)
            assert isinstance(result, FormatCheck)
            assert all(e.startswith(f"{result.format}: ") for e in result.evidence)
