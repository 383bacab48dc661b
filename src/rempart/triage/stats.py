"""Block randomness of file samples: which regions look encrypted, which look structured.

Entropy alone misleads: compressed data (deflate, JPEG scan data) is high-entropy too, and
the plug-in entropy of a small window is biased low (256 random bytes score about 7.2
bits, not 8). The chi-square statistic against uniform does not have that bias: for N
uniform random bytes it has mean 255 and standard deviation sqrt(510 * (1 - 1/N)) ~ 22.6
whatever N, so one threshold serves every window size, and compressed data, whose byte
histogram is close to but not quite flat, fails it once the window holds a few KiB.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from functools import lru_cache

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
    shifted = rows.astype(np.int32) + (np.arange(n, dtype=np.int32) * 256)[:, None]
    return np.bincount(shifted.ravel(), minlength=n * 256).reshape(n, 256)


def chi_square(counts: IntArray) -> FloatArray:
    """Chi-square of each histogram row against the uniform distribution."""
    n = counts.sum(axis=1).astype(np.float64)
    chi: FloatArray = (counts.astype(np.float64) ** 2).sum(axis=1) * 256.0 / n - n
    return chi


def entropy(counts: IntArray) -> FloatArray:
    """Shannon entropy (bits/byte) of each histogram row."""
    c = counts.astype(np.float64)
    n = c.sum(axis=1)
    logs = np.log2(c, out=np.zeros_like(c), where=c > 0)
    ent: FloatArray = np.log2(n) - (c * logs).sum(axis=1) / n
    return ent


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
    else:
        rows = np.lib.stride_tricks.sliding_window_view(arr, window)[offsets]
    counts = byte_counts(rows)
    return offsets, entropy(counts), chi_square(counts)


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
        return int(np.count_nonzero(self.labels == kind))

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
    common = (g for g in COMMON_LAGS if _random_phases(first, g) is not None)
    for lag in itertools.chain(_score_lags(blocks), common):
        if lag in tried:
            continue
        tried.add(lag)
        phases = _random_phases(blocks, lag)
        if phases is not None:
            return Intermittent(lag * BLOCK, int(phases.sum()) * BLOCK, _covers(sample, phases, n))
    return None


COMMON_LAGS = (2, 3, 4, 6, 8, 12, 16, 24, 32)  # in blocks: periods of 32 B to 512 B


def _score_lags(blocks: NDArray[np.uint8]) -> list[int]:
    n = blocks.shape[0]
    distinct = 1 + np.count_nonzero(np.diff(np.sort(blocks, axis=1), axis=1), axis=1)
    high = (distinct >= BLOCK - 1).astype(np.float64)
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


def _random_phases(blocks: NDArray[np.uint8], lag: int) -> NDArray[np.bool_] | None:
    """Which 16-byte phases of a `lag`-block period are random, when they split cleanly."""
    rows = blocks.shape[0] // lag
    if rows < 16:
        return None
    grid = blocks[: rows * lag].reshape(rows, lag, BLOCK).transpose(1, 0, 2).reshape(lag, -1)
    chi = chi_square(byte_counts(np.ascontiguousarray(grid)))
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
