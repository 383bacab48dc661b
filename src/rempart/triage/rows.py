"""The stored form of one file's result, passed from workers to the single writer."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    """One file's result, as stored."""

    path: bytes
    verdict: str
    format: str
    family: str | None
    size: int
    mtime_ns: int | None
    sha256: str | None
    evidence: tuple[str, ...]
    note: str | None = None  # JSON: confidence and indicators of a ransom note
    confidence: float | None = None
