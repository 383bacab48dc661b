"""Block randomness of file samples: which regions look encrypted, which look structured.

Entropy alone misleads: compressed data (deflate, JPEG scan data) is high-entropy too, and
the plug-in entropy of a small window is biased low (256 random bytes score about 7.2
bits, not 8). The chi-square statistic against uniform does not have that bias: for N
uniform random bytes it has mean 255 and standard deviation sqrt(510 * (1 - 1/N)) ~ 22.6
whatever N, so one threshold serves every window size, and compressed data, whose byte
histogram is close to but not quite flat, fails it once the window holds a few KiB.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np
from numpy.typing import NDArray

from rempart.triage.sample import Sample

WINDOW = 4096
FINE = 512
MIN_WINDOW = 64  # below this, byte statistics say nothing
#: Six standard deviations above the mean of uniform random bytes: a truly random window
#: fails this about once in 10^8, while 4 KiB of deflate or JPEG data rarely passes.
CHI_RANDOM = 255.0 + 6 * math.sqrt(510.0)
DENSE_MARGIN = 0.5  # bits below the random expectation still counted as compressed-like

# Window labels (small ints so that they live in numpy arrays).
RANDOM, DENSE, STRUCTURED, SPARSE = 0, 1, 2, 3
LABELS = ("random", "dense", "structured", "sparse")

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@lru_cache(maxsize=64)
def expected_entropy(n: int) -> float:
    """Expected plug-in Shannon entropy (bits/byte) of `n` uniform random bytes.

    Each byte value's count is Binomial(n, 1/256); summing c*log2(c) over the few likely
    counts gives the exact expectation without simulation.
    """
    total = 0.0
    for c in range(2, min(n, 64) + 1):  # c = 0 and c = 1 contribute nothing
        log_choose = math.lgamma(n + 1) - math.lgamma(c + 1) - math.lgamma(n - c + 1)
        log_pmf = log_choose - c * math.log(256) + (n - c) * math.log1p(-1 / 256)
        total += math.exp(log_pmf) * c * math.log2(c)
    return math.log2(n) - 256 * total / n


def byte_counts(rows: NDArray[np.uint8]) -> IntArray:
    """Histogram of each row of a 2-D byte array, as an (n, 256) array, in one bincount."""
    n = rows.shape[0]
    if n <= 256:
        # (row, byte) keys fit in 16 bits: built in one pass over 2-byte values, ~25% faster
        # than building them in intp (8 bytes each) even though bincount converts them.
        keys = np.add(rows, (np.arange(n, dtype=np.uint16) * 256)[:, None], dtype=np.uint16)
        return np.bincount(keys.ravel(), minlength=n * 256).reshape(n, 256)
    shifted = rows.astype(np.intp)
    shifted += (np.arange(n, dtype=np.intp) * 256)[:, None]
    return np.bincount(shifted.ravel(), minlength=n * 256).reshape(n, 256)


def chi_square(counts: IntArray, n: int | None = None) -> FloatArray:
    """Chi-square of each histogram row against the uniform distribution.

    `n`, when given, is the length of every row (the caller knows it: one sum less).
    """
    total = counts.sum(axis=1).astype(np.float64) if n is None else float(n)
    # Squares summed in integers: exact, as the float sum of these integers was (< 2**53).
    squares = (counts * counts).sum(axis=1).astype(np.float64)
    chi: FloatArray = squares * 256.0 / total - total
    return chi


def entropy(counts: IntArray, n: int | None = None) -> FloatArray:
    """Shannon entropy (bits/byte) of each histogram row (`n`: the length of every row)."""
    total = counts.sum(axis=1).astype(np.float64) if n is None else float(n)
    # c * log2(c) looked up rather than computed: a window holds at most a few KiB.
    top = (int(counts.max()) if counts.size else 0) if n is None else n
    table = _c_log_c(max(top, WINDOW))
    ent: FloatArray = np.log2(total) - table[counts].sum(axis=1) / total
    return ent


@lru_cache(maxsize=8)
def _c_log_c(top: int) -> FloatArray:
    """c * log2(c) for c in 0..top (0 for c = 0)."""
    c = np.arange(top + 1, dtype=np.float64)
    table: FloatArray = c * np.log2(c, out=np.zeros_like(c), where=c > 0)
    return table


def window_offsets(length: int, window: int) -> list[int]:
    """Start offsets of the windows over `length` bytes; the last one is aligned to the end."""
    if length < window:
        return []
    offsets = list(range(0, length - window + 1, window))
    if offsets[-1] + window < length:
        offsets.append(length - window)  # overlaps its neighbour, but sees the very end
    return offsets


def window_stats(data: bytes, window: int) -> tuple[list[int], FloatArray, FloatArray]:
    """(offsets, entropy, chi-square) of each window of `data`."""
    offsets = window_offsets(len(data), window)
    if not offsets:
        return [], np.zeros(0), np.zeros(0)
    arr = np.frombuffer(data, dtype=np.uint8)
    if len(data) % window == 0:
        rows = arr.reshape(-1, window)
    else:  # the whole windows, then the last one aligned to the end
        whole = (len(offsets) - 1) * window
        rows = np.concatenate((arr[:whole], arr[-window:])).reshape(-1, window)
    counts = byte_counts(rows)
    return offsets, entropy(counts, window), chi_square(counts, window)


def label(ent: FloatArray, chi: FloatArray, window: int) -> NDArray[np.int8]:
    """Label each window random, dense (compressed-like), structured or sparse."""
    labels = np.full(ent.shape, STRUCTURED, dtype=np.int8)
    labels[ent >= expected_entropy(window) - DENSE_MARGIN] = DENSE
    labels[chi <= CHI_RANDOM] = RANDOM
    labels[ent < 1.0] = SPARSE  # zero-filled or one repeated byte: holes, not ciphertext
    return labels


@dataclass(frozen=True, eq=False)
class RandomnessProfile:
    """The randomness of every window of a sample, in file order."""

    window: int
    offsets: IntArray  # absolute file offsets of the windows
    entropy: FloatArray
    chi2: FloatArray
    labels: NDArray[np.int8]

    @property
    def count(self) -> int:
        return int(self.labels.size)

    def counted(self, kind: int) -> int:
        return self._tally[kind]

    @cached_property
    def _tally(self) -> tuple[int, ...]:
        """Windows of each label, counted once: the verdict asks for them many times."""
        return tuple(np.bincount(self.labels, minlength=len(LABELS)).tolist())

    @property
    def fraction_random(self) -> float:
        return self.counted(RANDOM) / self.count if self.count else 0.0

    @property
    def plain(self) -> int:
        """Windows that are clearly not ciphertext (structured or sparse)."""
        return self.counted(STRUCTURED) + self.counted(SPARSE)

    def random_runs(self) -> list[tuple[int, int]]:
        """(start, end) file offsets of runs of adjacent random windows."""
        runs: list[tuple[int, int]] = []
        for off, lab in zip(self.offsets.tolist(), self.labels.tolist(), strict=True):
            if lab != RANDOM:
                continue
            if runs and off <= runs[-1][1]:
                runs[-1] = (runs[-1][0], off + self.window)
            else:
                runs.append((off, off + self.window))
        return runs

    def describe(self) -> str:
        """One line for evidence: how many windows of which kind."""
        parts = [
            f"{self.counted(k)} {LABELS[k]}"
            for k in (RANDOM, DENSE, STRUCTURED, SPARSE)
            if self.counted(k)
        ]
        return f"{self.count} sampled {size_text(self.window)} blocks: " + ", ".join(parts)


def profile(sample: Sample, window: int | None = None) -> RandomnessProfile:
    """Randomness of every window of every sampled region of `sample`."""
    if window is None:
        window = choose_window(sample.size)
    offs: list[int] = []
    ents: list[FloatArray] = []
    chis: list[FloatArray] = []
    for base, data in sample.regions():
        w = min(window, len(data))
        if w < MIN_WINDOW:
            continue
        o, e, c = window_stats(data, w)
        offs.extend(base + x for x in o)
        ents.append(e)
        chis.append(c)
    ent = np.concatenate(ents) if ents else np.zeros(0)
    chi = np.concatenate(chis) if chis else np.zeros(0)
    return RandomnessProfile(
        window=window,
        offsets=np.asarray(offs, dtype=np.int64),
        entropy=ent,
        chi2=chi,
        labels=label(ent, chi, window),
    )


def choose_window(size: int) -> int:
    """4 KiB windows, finer for small files so that they still have a few windows."""
    if size >= 4 * WINDOW:
        return WINDOW
    if size >= 4 * FINE:
        return FINE
    return max(MIN_WINDOW, min(size, FINE))


def is_random(data: bytes | NDArray[np.uint8]) -> bool:
    """True when `data` as a whole passes the chi-square test for uniform random bytes."""
    arr = np.frombuffer(data, dtype=np.uint8) if isinstance(data, bytes) else data.ravel()
    if arr.size < MIN_WINDOW:
        return False
    return bool(chi_square(np.bincount(arr, minlength=256)[None, :])[0] <= CHI_RANDOM)


def size_text(n: int) -> str:
    """Human size for evidence strings: 512 B, 4 KiB, 1.5 MiB."""
    if n == 0:
        return "0"
    if n < 1024:
        return f"{n} B"
    if n < 1024 * 1024:
        return f"{round(n / 1024, 1):g} KiB"
    return f"{round(n / (1024 * 1024), 1):g} MiB"


# The intermittent search moved to its own module, which uses the helpers above: its names
# stay reachable from here, imported on first use (no import cycle).
_MOVED = frozenset({"BLOCK", "SCAN", "Intermittent", "distinct_per_block", "find_intermittent"})


def __getattr__(name: str) -> object:
    if name in _MOVED:
        from rempart.triage import _intermittent  # noqa: PLC0415 - lazily, to avoid a cycle

        return getattr(_intermittent, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
