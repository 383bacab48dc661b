"""Encrypted chunks inside a text file: where a text should be, bursts of control bytes.

Ransomware that encrypts a percentage of a file in chunks (Akira, Conti), or 64 bytes in
every 192 (Black Basta), or every other 16 bytes (LockFile), leaves a text file mostly
readable. Text has no control bytes (NUL, BEL, 0x0e-0x1f...); 32 random bytes hold about
3.4 of them. Counting them per 32-byte chunk finds the encrypted chunks, however small.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rempart.triage.sample import Sample

CHUNK = 32
#: Control bytes that no text encoding we read uses (tab, newlines, form feed, escape
#: and everything from 0x20 up are allowed: cp1252 uses 0x80-0x9f for letters and quotes).
_CONTROL = np.zeros(256, dtype=np.uint8)
_CONTROL[[*range(0, 9), 11, *range(14, 27), *range(28, 32), 127]] = 1
NOISY = 2  # control bytes in one chunk; a random chunk has 2 or more 85% of the time


@dataclass(frozen=True)
class Noise:
    """Chunks of noise found in a file that should be text."""

    noisy: int
    chunks: int
    regions_hit: int
    regions: int

    @property
    def throughout(self) -> bool:
        """Noise in every sampled region: the whole file is affected."""
        return self.regions_hit == self.regions

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
        found = int(np.count_nonzero(_CONTROL[rows].sum(axis=1, dtype=np.int32) >= NOISY))
        noisy += found
        chunks += rows.shape[0]
        hit += found > 0
    if noisy < minimum or noisy * 50 < chunks:  # under 2%: stray bytes, not encryption
        return None
    return Noise(noisy, chunks, hit, len(regions))
