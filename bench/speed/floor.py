"""What classifying a tree costs at the least with numpy, beside what `rempart scan` spends.

    .venv/bin/python bench/speed/floor.py TREE [--runs 3]

One process, page cache warm (a first pass reads everything). Prints CPU seconds for:
- read: taking every file's samples (`sample.take`: whole up to 256 KiB, else head, tail
  and strides), the bytes any classifier of ours has to look at;
- histograms: one byte histogram per window of every sampled region, in one `byte_counts`
  call per region: the least the randomness profile needs, before any decision;
- read + classify: both, as a worker does them (everything but the walk and the store).

The first two are a floor for a numpy design: no exit skips them on a damaged file.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from rempart.triage import classify, sample, stats


def _files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and not p.is_symlink()]


def _take(paths: list[Path]) -> list[sample.Sample]:
    out = []
    for path in paths:
        fd = os.open(path, os.O_RDONLY)
        try:
            out.append(sample.take(fd, os.fstat(fd).st_size, path.name))
        finally:
            os.close(fd)
    return out


def _histograms(samples: list[sample.Sample]) -> int:
    total = 0
    for s in samples:
        window = stats.choose_window(s.size)
        for _, data in s.regions():
            rows = len(data) // window
            if rows:
                arr = np.frombuffer(data, dtype=np.uint8, count=rows * window)
                stats.byte_counts(arr.reshape(rows, window))
                total += rows * window
    return total


def _classify(paths: list[Path]) -> None:
    for path in paths:
        fd = os.open(path, os.O_RDONLY)  # open while classifying: validators may read more
        try:
            classify.classify(sample.take(fd, os.fstat(fd).st_size, path.name))
        finally:
            os.close(fd)


def _cpu(fn: Callable[..., object], *args: object) -> float:
    start = time.process_time()
    fn(*args)
    return time.process_time() - start


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("tree", type=Path)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    paths = _files(args.tree)
    samples = _take(paths)  # warms the page cache
    read, hist, full = [], [], []
    for _ in range(args.runs):
        read.append(_cpu(_take, paths))
        hist.append(_cpu(_histograms, samples))
        full.append(_cpu(_classify, paths))
    sampled = sum(len(d) for s in samples for _, d in s.regions())
    mb = sampled / 1e6
    print(f"{len(paths):,} files, {mb:,.0f} MB sampled; median CPU s of {args.runs} runs")
    print(f"read samples          {statistics.median(read):6.2f}")
    print(f"window histograms     {statistics.median(hist):6.2f}")
    print(f"read + classify       {statistics.median(full):6.2f}")


if __name__ == "__main__":
    main()
