"""Intermittent encryption: a regular alternation of random and plain blocks in the head.

LockFile encrypts every other 16 bytes, Black Basta 64 bytes in every 192; other families
use other periods. A period is looked for in two cheap ways (the autocorrelation of a
per-block score, and the usual periods probed on one shared histogram), and the bytes
confirm it: at each phase of the period, the blocks must pass the chi-square test for
uniform bytes or clearly fail it.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from rempart.triage.sample import Sample
from rempart.triage.stats import CHI_RANDOM, WINDOW, IntArray, byte_counts, chi_square, is_random

BLOCK = 16  # the finest grain of intermittent encryption seen in the wild
SCAN = 64 * 1024  # bytes of the head searched for a period


@dataclass(frozen=True)
class Intermittent:
    """A regular alternation of random and structured blocks (intermittent encryption)."""

    period: int  # bytes
    length: int  # random bytes in each period
    covers_all: bool  # the pattern holds in every sampled region, to the end of the file

    def describe(self) -> str:
        return f"intermittent pattern: {self.length} of every {self.period} bytes random"


def find_intermittent(sample: Sample, dense: bool = False) -> Intermittent | None:
    """Find a random/structured alternation with a period of 32 B to 4 KiB in the head.

    Each 16-byte block is scored random-looking when it has at least 15 distinct values
    (92% of random blocks, few text or record blocks); the strongest peak of that score's
    autocorrelation gives the period. Compressed plaintext scores like random, so with
    `dense` the usual periods are tried as well. Either way the bytes decide: at each
    phase of the period, the blocks must pass the chi-square test or clearly fail it.
    """
    n = min(len(sample.head), SCAN) // BLOCK
    if n < 64:
        return None
    blocks = np.frombuffer(sample.head, dtype=np.uint8, count=n * BLOCK).reshape(n, BLOCK)
    # The usual periods are tried on the first 16 KiB only, then confirmed on the head.
    first = blocks if dense else blocks[:512]
    tried: set[int] = set()
    # Lazily, in this order: the autocorrelation's candidates, then the usual periods that
    # show on the first blocks. Most files stop at the first candidate.
    common = _common_lags(first)
    for lag in itertools.chain(_score_lags(blocks), common):
        if lag in tried:
            continue
        tried.add(lag)
        phases = _random_phases(blocks, lag)
        if phases is not None:
            return Intermittent(lag * BLOCK, int(phases.sum()) * BLOCK, _covers(sample, phases, n))
    return None


COMMON_LAGS = (2, 3, 4, 6, 8, 12, 16, 24, 32)  # in blocks: periods of 32 B to 512 B
_LCM = 96  # every usual period divides it


def _common_lags(blocks: NDArray[np.uint8]) -> Iterator[int]:
    """The usual periods whose phases split cleanly over `blocks`, shortest first.

    Same test as `_random_phases(blocks, lag)` for each lag, from one histogram pass: the
    histograms of the 96 phases of a 96-block period are summed into those of each usual
    period (all divide 96); the blocks after the last whole 96 are added in whole periods
    of the lag, up to where `_random_phases` stops too.
    """
    n = blocks.shape[0]
    whole = n // _LCM * _LCM
    rows = blocks[:whole].reshape(-1, _LCM * BLOCK)
    by_phase = byte_counts(rows.reshape(-1, _LCM, BLOCK).transpose(1, 0, 2).reshape(_LCM, -1))
    rest = byte_counts(blocks[whole:]) if whole < n else np.zeros((0, 256), dtype=np.intp)
    lags = [lag for lag in COMMON_LAGS if n // lag >= 16]
    if not lags:
        return
    # The phase histograms of every lag stacked, so that one chi-square call scores them all.
    stacked = []
    for lag in lags:
        counts = by_phase.reshape(-1, lag, 256).sum(axis=0)
        used = n // lag * lag - whole  # blocks after the last whole 96 that this lag uses
        if used:  # whole periods of this lag, starting at phase 0
            counts += rest[:used].reshape(-1, lag, 256).sum(axis=0)
        stacked.append(counts)
    chi = chi_square(np.concatenate(stacked))
    start = 0
    for lag in lags:
        if _split(chi[start : start + lag]) is not None:
            yield lag
        start += lag


def _score_lags(blocks: NDArray[np.uint8]) -> list[int]:
    n = blocks.shape[0]
    high = _nearly_distinct(blocks).astype(np.float64)
    if not 0.05 < high.mean() < 0.95:
        return []
    centred = high - high.mean()
    spectrum = np.fft.rfft(centred, 2 * n)
    ac = np.fft.irfft(spectrum * np.conj(spectrum))[: min(256, n // 4) + 1]
    ac /= ac[0]
    # Runs of random blocks correlate with their neighbours: look past the first dip.
    dips = np.flatnonzero(ac < 0.1)
    if dips.size == 0:
        return []
    best = int(dips[0] + np.argmax(ac[dips[0] :]))
    if ac[best] < 0.4:
        return []
    # The highest peak may be a multiple of the period: offer its divisors first.
    return [d for d in range(2, best + 1) if best % d == 0]


def distinct_per_block(blocks: NDArray[np.uint8]) -> IntArray:
    """How many distinct byte values each 16-byte block holds."""
    distinct: IntArray = BLOCK - _repeats(blocks).astype(np.int64)
    return distinct


def _nearly_distinct(blocks: NDArray[np.uint8]) -> NDArray[np.bool_]:
    """Blocks with at least 15 distinct values (at most one repeated byte)."""
    nearly: NDArray[np.bool_] = _repeats(blocks) <= 1
    return nearly


#: Row tags of 256 rows in the high byte of a 16-bit key (see `_repeats`).
_TAGS = (np.arange(256, dtype=np.uint16) << 8)[:, None]


def _repeats(blocks: NDArray[np.uint8]) -> NDArray[np.int8]:
    """How many bytes of each 16-byte block repeat an earlier value (16 - distinct values).

    Sorting each 16-byte row apart costs one call per row inside numpy; instead each byte
    is tagged with its row (modulo 256) in the high byte of a 16-bit key and 256 rows are
    sorted at once by numpy's radix sort. Equal neighbours in a sorted row are repeats.
    """
    n = blocks.shape[0]
    group = 256
    padded = -(-n // group) * group
    keys = np.empty((padded, BLOCK), dtype=np.uint16)
    keys[:n] = blocks
    keys[n:] = 0
    keys.reshape(-1, group, BLOCK)[...] |= _TAGS
    ordered = np.sort(keys.reshape(-1, group * BLOCK), axis=1, kind="stable")
    ordered = ordered.reshape(padded, BLOCK)[:n]
    # int8 sums: at most 15 repeats per row, and a narrow sum is the cheaper one.
    repeats: NDArray[np.int8] = (ordered[:, 1:] == ordered[:, :-1]).sum(axis=1, dtype=np.int8)
    return repeats


def _random_phases(blocks: NDArray[np.uint8], lag: int) -> NDArray[np.bool_] | None:
    """Which 16-byte phases of a `lag`-block period are random, when they split cleanly."""
    rows = blocks.shape[0] // lag
    if rows < 16:
        return None
    grid = blocks[: rows * lag].reshape(rows, lag, BLOCK).transpose(1, 0, 2).reshape(lag, -1)
    return _split(chi_square(byte_counts(np.ascontiguousarray(grid)), rows * BLOCK))


def _split(chi: NDArray[np.float64]) -> NDArray[np.bool_] | None:
    """The random phases when some are random and the others clearly not, else None."""
    phases = chi <= CHI_RANDOM
    if phases.all() or not phases.any() or chi[~phases].min() <= 1.3 * CHI_RANDOM:
        return None
    return phases


def _covers(sample: Sample, phases: NDArray[np.bool_], scanned: int) -> bool:
    """True when the random phases are random in every sampled chunk past the scanned head."""
    lag = phases.size
    start = scanned * BLOCK
    for base, data in sample.regions():
        for off in range(max(0, start - base), len(data), 4 * WINDOW):
            chunk = np.frombuffer(data, dtype=np.uint8)[off : off + 4 * WINDOW]
            if chunk.size < 1024:
                continue
            idx = (base + off + np.arange(chunk.size)) // BLOCK % lag
            if not is_random(chunk[phases[idx]]):
                return False
    return True
