"""What a scan report shows, computed from the store; the HTML and terminal views render it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class FileRow:
    path: str  # display form: undecodable bytes shown as \xNN
    verdict: str
    format: str
    family: str | None
    size: int
    mtime: datetime | None
    evidence: tuple[str, ...]


@dataclass(frozen=True)
class NoteRow:
    path: str
    family: str | None
    confidence: float
    indicators: tuple[tuple[str, str], ...]  # (kind, value)


@dataclass(frozen=True)
class ScanSummary:
    scan_id: int
    incident: str
    root: str
    status: str  # "running", "interrupted", "done"
    started: datetime
    finished: datetime | None
    total_files: int
    total_bytes: int
    by_verdict: dict[str, int]
    #: top-level folder ("." for files directly under the root) -> verdict -> count
    by_folder: dict[str, dict[str, int]]
    by_family: dict[str, int]  # families of damaged files and notes
    by_format: dict[str, dict[str, int]]  # format -> verdict -> count
    notes: tuple[NoteRow, ...]
    #: earliest and latest mtime of encrypted and partially encrypted files
    window: tuple[datetime, datetime] | None
    #: damaged files per hour of mtime, for the "encrypted over time" chart
    timeline: tuple[tuple[datetime, int], ...]
    samples: dict[str, tuple[FileRow, ...]] = field(default_factory=dict)  # verdict -> rows
