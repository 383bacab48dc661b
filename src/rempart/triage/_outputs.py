"""Checks on where a scan writes, made before the scan starts (no store library needed)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from rempart.errors import ScanError


def check_output(path: Path) -> None:
    """Fail before a long scan, not after it, when an output file cannot be written."""
    if path.is_dir():
        raise ScanError(f"{path} is a folder: give a file name for the output")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise ScanError(f"cannot write {path}: the folder {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise ScanError(f"cannot write {path}: the folder {parent} is not writable")


def refuse_inside(root: Path, outputs: Iterable[Path]) -> None:
    """Evidence is sacred: refuse to write a store, JSONL or report inside the scanned tree."""
    real_root = Path(os.path.realpath(root))
    for out in outputs:
        real = Path(os.path.realpath(out))
        if real == real_root or real_root in real.parents:
            raise ScanError(
                f"refusing to write {out} inside the tree being scanned ({root})",
                hint="write the store, JSONL and report somewhere else (--db, --jsonl, --html)",
            )
