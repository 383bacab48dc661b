"""Encrypted chunks inside a text file: where a text should be, bursts of control bytes.

Ransomware that encrypts a percentage of a file in chunks (Akira, Conti), or 64 bytes in
every 192 (Black Basta), or every other 16 bytes (LockFile), leaves a text file mostly
readable. Text has no control bytes (NUL, BEL, 0x0e-0x1f...); 32 random bytes hold about
3.4 of them. Counting them per 32-byte chunk finds the encrypted chunks, however small.
A noisy chunk must also look random: 32 random bytes hold about 30 distinct values, while
the control bytes text does carry (NUL padding, BEL and ANSI codes in logs, backspace
overstrike in man pages) come with few distinct values, and as one code repeated.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from rempart.triage.sample import Sample

CHUNK = 32
#: Control bytes that no text encoding we read uses (tab, newlines, form feed, escape
#: and everything from 0x20 up are allowed: cp1252 uses 0x80-0x9f for letters and quotes).
_CONTROL = np.zeros(256, dtype=np.uint8)
_CONTROL[[*range(0, 9), 11, *range(14, 27), *range(28, 32), 127]] = 1
_CONTROL_TABLE = _CONTROL.tobytes()  # the same as a bytes.translate table
NOISY = 2  # control bytes in one chunk; a random chunk has 2 or more 88% of the time
#: Distinct byte values in a noisy chunk: 32 random bytes hold 30 on average, fewer than 20
#: about once in 10^7 chunks; half a chunk of random bytes (LockFile's 16) about 24.
DISTINCT = 20
#: Bytes from 0x80 up in a noisy chunk: 16 in 32 random bytes, 8 in LockFile's 16.
HIGH = 4
#: Share of noisy chunks above which the whole file is noise (random content gives 87%).
THROUGHOUT = 0.8
_QUIET = 0.13  # share of random chunks that are not noisy


@dataclass(frozen=True)
class Noise:
    """Chunks of noise found in a file that should be text."""

    noisy: int
    chunks: int
    regions_hit: int
    regions: int

    @property
    def throughout(self) -> bool:
        """Noise in nearly every chunk (THROUGHOUT of them): the whole file is affected.

        Not from the regions hit: a file sampled whole is one region. A small file is
        allowed two standard deviations more quiet chunks than random content leaves.
        """
        spread = 2 * math.sqrt(self.chunks * _QUIET * (1 - _QUIET))
        return self.chunks - self.noisy <= self.chunks * (1 - THROUGHOUT) + spread

    def describe(self) -> str:
        return (
            f"{self.noisy} of {self.chunks} {CHUNK}-byte chunks are binary noise "
            f"inside a text file ({self.regions_hit} of {self.regions} sampled regions)"
        )


def find_noise(sample: Sample, minimum: int = 2) -> Noise | None:
    """Noise chunks in a sample of a file expected to be text, or None when there are few."""
    noisy = chunks = hit = 0
    regions = sample.regions()
    for _offset, data in regions:
        usable = len(data) - len(data) % CHUNK
        if not usable:
            continue
        rows = np.frombuffer(data, dtype=np.uint8, count=usable).reshape(-1, CHUNK)
        found = _noisy(rows, _controls(data[:usable]))
        noisy += found
        chunks += rows.shape[0]
        hit += found > 0
    if noisy < minimum or noisy * 50 < chunks:  # under 2%: stray bytes, not encryption
        return None
    return Noise(noisy, chunks, hit, len(regions))


def _controls(data: bytes) -> NDArray[np.uint64]:
    """Control bytes in each 32-byte chunk of `data` (a whole number of chunks).

    The bytes become 0/1 in C (`bytes.translate`); each chunk is then four 64-bit words
    whose byte lanes are added, and one multiplication sums the eight lanes into the top
    byte (at most 32: no lane overflows). A gather and a sum per byte cost ten times more.
    """
    words = np.frombuffer(data.translate(_CONTROL_TABLE), dtype="<u8").reshape(-1, CHUNK // 8)
    lanes = words.sum(axis=1, dtype=np.uint64)
    counts: NDArray[np.uint64] = (lanes * np.uint64(0x0101010101010101)) >> np.uint64(56)
    return counts


def _noisy(rows: NDArray[np.uint8], controls: NDArray[np.uint64]) -> int:
    """How many of these chunks hold enough control bytes and enough distinct values."""
    rows = rows[controls >= NOISY]
    if not rows.shape[0]:
        return 0
    ordered = np.sort(rows, axis=1)
    first = np.ones(ordered.shape, dtype=bool)  # each value's first place in its sorted row
    first[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    distinct = first.sum(axis=1, dtype=np.int32)
    # The control bytes themselves differ too: a text's are one code repeated (NUL, BEL,
    # the backspace of overstrike), next to letters that may reach DISTINCT on their own.
    controls = (first & _CONTROL[ordered].astype(bool)).sum(axis=1, dtype=np.int32)
    # Random bytes are half from 0x80 up; an ASCII text's (a log, a terminal capture) never.
    high = np.count_nonzero(rows >= 0x80, axis=1)
    return int(np.count_nonzero((distinct >= DISTINCT) & (controls >= 2) & (high >= HIGH)))
