"""Small helpers shared by the format validators.

A container validator's checks (ZIP, PDF, OLE, compressed, archives, crypto) raise `Damaged`
at the first broken structure; `guarded` turns that, and the low-level errors that truncated
or garbled bytes cause (`struct.error`, `IndexError`, `ValueError`), into a `FormatCheck`
with `valid=False`. Reads past the extra budget are not damage: the file is reported as
sound but not fully checked (`unchecked`). The head-only validators (images, media,
binaries) return their verdicts directly through `bad`, `ended` and `unchecked`.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from typing import Protocol

from rempart.triage.formats._base import FormatCheck
from rempart.triage.sample import BudgetExceeded, Sample


class Damaged(Exception):
    """The bytes are of the format but a structure is broken; the message says what and where."""

    def __init__(self, message: str, *, format: str | None = None) -> None:
        super().__init__(message)
        self.format = format


def guarded(fmt: str, check: Callable[[], FormatCheck], *, dense: bool = False) -> FormatCheck:
    """Run `check`, turning damage into an invalid `FormatCheck` instead of an exception."""
    try:
        return check()
    except Damaged as exc:
        return FormatCheck(exc.format or fmt, False, (str(exc),), dense=dense)
    except (struct.error, IndexError, ValueError) as exc:
        # Truncated or garbled fields that no explicit check caught first.
        return FormatCheck(fmt, False, (f"{fmt}: unreadable structure ({exc})",), dense=dense)
    except BudgetExceeded:
        return unchecked(fmt, dense=dense)


def bad(fmt: str, why: str, *, dense: bool = False) -> FormatCheck:
    """The verdict for damage: `why` says what is broken and where."""
    return FormatCheck(fmt, False, (f"{fmt}: {why}",), dense=dense)


def unchecked(fmt: str, *, dense: bool = False) -> FormatCheck:
    """A sound start whose structure goes on past the read budget: not damage, not verified."""
    # A huge but sound structure must not be flagged: say that it was not fully checked.
    note = f"{fmt}: structure not fully checked (read budget reached)"
    return FormatCheck(fmt, True, (note,), dense=dense)


def ended(fmt: str, sample: Sample, end: int, what: str, *, dense: bool = False) -> FormatCheck:
    """The verdict for a sound file whose own data ends at `end`, noting any trailer."""
    evidence = trailer(fmt, end, sample.size, what, at=False)
    return FormatCheck(fmt, True, evidence, dense=dense, end=min(end, sample.size))


def need(sample: Sample, offset: int, length: int, what: str) -> bytes:
    """Read exactly `length` bytes at `offset`, or raise `Damaged` naming `what`."""
    data = sample.read(offset, length) if offset >= 0 else b""
    if len(data) < length:
        raise Damaged(f"{what} at offset {offset} runs past the end of the file")
    return data


def sampled(regions: list[tuple[int, bytes]], offset: int, length: int) -> bytes | None:
    """The bytes at `offset` when one of `Sample.regions()` holds them all (no read budget)."""
    for start, data in regions:
        if start <= offset and offset + length <= start + len(data):
            return data[offset - start : offset - start + length]
    return None


def trailer(
    fmt: str, end: int, size: int, what: str = "end of archive", *, at: bool = True
) -> tuple[str, ...]:
    """Evidence for bytes found after the end of the format's own data.

    Args:
        at: name the offset of `end` (False when `what` already says where it is).
    """
    extra = size - end
    where = f" (offset {end})" if at else ""
    return (f"{fmt}: {extra} bytes after {what}{where}",) if extra > 0 else ()


def crc32(data: bytes) -> int:
    return zlib.crc32(data) & 0xFFFFFFFF


def vint(buf: bytes, pos: int) -> tuple[int, int]:
    """Decode a little-endian base-128 integer (RAR5, xz); return (value, next position)."""
    value = 0
    for shift in range(0, 70, 7):
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
    raise ValueError(f"variable-length integer too long at {pos}")


class _Decompressor(Protocol):
    @property
    def eof(self) -> bool: ...

    @property
    def needs_input(self) -> bool: ...

    def decompress(self, data: bytes, max_length: int = ...) -> bytes: ...


def bounded_decompress(
    decomp: _Decompressor, data: bytes, cap: int, step: int = 1 << 20
) -> tuple[bool, int]:
    """Feed `data`, discarding output, stop after `cap` output bytes: a bomb costs `cap` at most.

    Returns:
        (reached end of stream, output bytes produced).
    """
    produced = len(decomp.decompress(data, step))
    while not decomp.eof and produced < cap and not decomp.needs_input:
        produced += len(decomp.decompress(b"", step))
    return decomp.eof, produced
