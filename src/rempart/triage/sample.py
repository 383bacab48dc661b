"""Bounded reads of a file: head, tail and strided samples, plus a small budget of extra reads.

Triage never reads a large file whole: a 50 GB sparse file costs the same few hundred KiB
as a 1 MB one. Validators that need a bit more (a ZIP central directory, a PDF xref) ask
`Sample.read`, which stops at a fixed budget so that a hostile file cannot make us read
(or inflate) without bound.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

HEAD = 64 * 1024
TAIL = 64 * 1024
STRIDE = 16 * 1024
STRIDES = 8
WHOLE = 256 * 1024  # files up to this size are read in one go
EXTRA_BUDGET = 4 * 1024 * 1024  # what validators may read beyond the samples, per file


class BudgetExceeded(Exception):
    """A validator asked for more bytes than one file is allowed to cost."""


@dataclass
class Sample:
    """What triage read of one file."""

    name: str  # the file name (decoded with surrogateescape), for extension hints only
    size: int
    head: bytes
    tail: bytes
    strides: tuple[tuple[int, bytes], ...] = ()
    fd: int | None = None
    data: bytes | None = field(default=None, repr=False)  # in-memory content (tests, callers)
    budget: int = EXTRA_BUDGET
    _spent: int = field(default=0, repr=False)

    @property
    def whole(self) -> bool:
        """True when `head` holds the entire file."""
        return len(self.head) >= self.size

    @property
    def tail_offset(self) -> int:
        return self.size - len(self.tail)

    @property
    def extension(self) -> str:
        """Lower-case last extension without the dot ('' when none)."""
        base = self.name.rsplit("/", 1)[-1]
        if "." not in base.lstrip("."):
            return ""
        return base.rsplit(".", 1)[-1].lower()

    def read(self, offset: int, length: int) -> bytes:
        """Read `length` bytes at `offset`, from the samples when possible, else from the file.

        Raises:
            BudgetExceeded: when this file has already cost its extra-read budget.
        """
        if offset < 0 or length <= 0 or offset >= self.size:
            return b""
        length = min(length, self.size - offset)
        if offset + length <= len(self.head):
            return self.head[offset : offset + length]
        if offset >= self.tail_offset:
            start = offset - self.tail_offset
            return self.tail[start : start + length]
        if self.data is not None:
            return self.data[offset : offset + length]
        if self.fd is None:
            return b""
        if self._spent + length > self.budget:
            raise BudgetExceeded(f"more than {self.budget} bytes asked")
        self._spent += length
        return os.pread(self.fd, length, offset)

    def regions(self) -> list[tuple[int, bytes]]:
        """All sampled regions as (offset, bytes), in file order, without overlap."""
        if self.whole:
            return [(0, self.head)]
        out = [(0, self.head), *self.strides]
        if self.tail:
            out.append((self.tail_offset, self.tail))
        out.sort(key=lambda r: r[0])
        merged: list[tuple[int, bytes]] = []
        end = 0
        for off, data in out:
            start = max(off, end)
            piece = data[start - off :]
            if piece:
                merged.append((start, piece))
                end = start + len(piece)
        return merged


def take(fd: int, size: int, name: str) -> Sample:
    """Read the samples of an open file of the given size."""
    if size <= WHOLE:
        head = _read_all(fd, size)
        return Sample(name=name, size=len(head), head=head, tail=head[-TAIL:], fd=fd)
    head = os.pread(fd, HEAD, 0)
    tail = os.pread(fd, TAIL, size - TAIL)
    span = size - HEAD - TAIL - STRIDE
    strides: list[tuple[int, bytes]] = []
    if span > 0:
        for i in range(STRIDES):
            off = HEAD + span * (i + 1) // (STRIDES + 1)
            strides.append((off, os.pread(fd, STRIDE, off)))
    return Sample(name=name, size=size, head=head, tail=tail, strides=tuple(strides), fd=fd)


def from_bytes(data: bytes, name: str = "sample") -> Sample:
    """A sample of in-memory content, for tests and for callers that already hold the bytes."""
    if len(data) <= WHOLE:
        return Sample(name=name, size=len(data), head=data, tail=data[-TAIL:], data=data)
    size = len(data)
    span = size - HEAD - TAIL - STRIDE
    offsets = [HEAD + span * (i + 1) // (STRIDES + 1) for i in range(STRIDES)] if span > 0 else []
    strides = tuple((off, data[off : off + STRIDE]) for off in offsets)
    return Sample(
        name=name, size=size, head=data[:HEAD], tail=data[-TAIL:], strides=strides, data=data
    )


def _read_all(fd: int, size: int) -> bytes:
    # The file may grow while we read it: read what `size` said, and no more.
    chunks = []
    got = 0
    while got < size:
        chunk = os.pread(fd, size - got, got)
        if not chunk:
            break
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)
