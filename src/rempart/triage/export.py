"""Reading a scan back out of the store: the JSONL contract and the report summary."""

from __future__ import annotations

import base64
import json
import os
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, func, select

from rempart.report.model import FileRow, NoteRow, ScanSummary

__all__ = ["ScanSummary", "jsonl_record", "summarise", "write_jsonl"]
from rempart.store.models import Incident, Scan, ScanFile
from rempart.triage.verdicts import DAMAGED, Verdict

SAMPLES = 25  # rows per verdict shown in a report
NOTES_SHOWN = 200
HOUR_NS = 3_600_000_000_000


def jsonl_record(path: bytes, row: dict[str, object]) -> dict[str, object]:
    """One line of the JSONL contract; undecodable name bytes are escaped, never dropped."""
    record: dict[str, object] = {"path": os.fsdecode(path), **row}
    try:
        path.decode("utf-8")
    except UnicodeDecodeError:
        # `path` then holds lone surrogates (\\udcXX) that round-trip through os.fsencode;
        # path_b64 gives the exact bytes to tools whose JSON parser refuses those.
        record["path_b64"] = base64.b64encode(path).decode("ascii")
    return record


def write_jsonl(engine: Engine, scan_id: int, dest: Path) -> int:
    """Write one JSON object per file of the scan to `dest` (atomically); return the count."""
    f = ScanFile
    tmp = dest.with_name(dest.name + ".part")
    count = 0
    query = (
        select(
            f.path, f.verdict, f.family, f.format, f.size, f.evidence, f.sha256, f.mtime_ns, f.note
        )
        .where(f.scan_id == scan_id)
        .order_by(f.path)
        .execution_options(yield_per=5000)
    )
    with engine.connect() as conn, tmp.open("w", encoding="utf-8") as out:
        for path, verdict, family, fmt, size, evidence, sha, mtime_ns, note in conn.execute(query):
            row: dict[str, object] = {
                "verdict": verdict,
                "family": family,
                "format": fmt,
                "size": size,
                "evidence": json.loads(evidence),
                "sha256": sha,
                "mtime": _iso(mtime_ns),
            }
            if note:
                row["note"] = json.loads(note)
            out.write(json.dumps(jsonl_record(bytes(path), row)) + "\n")
            count += 1
    os.replace(tmp, dest)
    return count


def _iso(mtime_ns: int | None) -> str | None:
    found = _dt(mtime_ns)
    return None if found is None else found.isoformat()


def _dt(mtime_ns: int | None) -> datetime | None:
    if mtime_ns is None:
        return None
    try:
        return datetime.fromtimestamp(mtime_ns / 1e9, UTC)
    except (OverflowError, ValueError, OSError):  # past year 9999: the store keeps the ns
        return None


def summarise(engine: Engine, scan_id: int) -> ScanSummary:
    """Aggregates of one scan, for the HTML report, the terminal and `--json`."""
    f = ScanFile
    mine = f.scan_id == scan_id
    damaged = f.verdict.in_([v.value for v in DAMAGED])
    with engine.connect() as conn:
        root, status, started, finished, incident = conn.execute(
            select(Scan.root, Scan.status, Scan.started_at, Scan.finished_at, Incident.key)
            .join(Incident)
            .where(Scan.id == scan_id)
        ).one()
        by_verdict = dict(
            conn.execute(select(f.verdict, func.count()).where(mine).group_by(f.verdict)).all()
        )
        total_files, total_bytes = conn.execute(
            select(func.count(), func.coalesce(func.sum(f.size), 0)).where(mine)
        ).one()
        by_folder: dict[str, dict[str, int]] = {}
        for top, verdict, n in conn.execute(
            select(f.top, f.verdict, func.count()).where(mine).group_by(f.top, f.verdict)
        ):
            by_folder.setdefault(top, {})[verdict] = n
        by_format: dict[str, dict[str, int]] = {}
        for fmt, verdict, n in conn.execute(
            select(f.format, f.verdict, func.count()).where(mine).group_by(f.format, f.verdict)
        ):
            by_format.setdefault(fmt, {})[verdict] = n
        by_family = dict(
            conn.execute(
                select(f.family, func.count())
                .where(mine, f.family.is_not(None))
                .group_by(f.family)
                .order_by(func.count().desc())
            ).all()
        )
        lo, hi = conn.execute(
            select(func.min(f.mtime_ns), func.max(f.mtime_ns)).where(mine, damaged)
        ).one()
        bucket = (f.mtime_ns // HOUR_NS).label("bucket")
        timeline = tuple(
            (datetime.fromtimestamp(int(b or 0) * 3600, UTC), int(n))
            for b, n in conn.execute(
                select(bucket, func.count())
                .where(mine, damaged, f.mtime_ns.is_not(None))
                .group_by(bucket)
                .order_by(bucket)
            )
        )
        notes = tuple(
            NoteRow(
                path=path_text,
                family=family,
                confidence=float(conf or 0.0),
                indicators=tuple(tuple(i) for i in json.loads(note or "{}").get("indicators", [])),
            )
            for path_text, family, conf, note in conn.execute(
                select(f.path_text, f.family, f.confidence, f.note)
                .where(mine, f.verdict == Verdict.RANSOM_NOTE.value)
                .order_by(f.path)
                .limit(NOTES_SHOWN)
            )
        )
        samples = {}
        for verdict in by_verdict:
            samples[verdict] = tuple(
                FileRow(p, verdict, fmt, fam, size, _dt(mt), tuple(json.loads(ev)))
                for p, fmt, fam, size, mt, ev in conn.execute(
                    select(f.path_text, f.format, f.family, f.size, f.mtime_ns, f.evidence)
                    .where(mine, f.verdict == verdict)
                    .order_by(f.path)
                    .limit(SAMPLES)
                )
            )
    window = (_dt(lo), _dt(hi)) if lo is not None and hi is not None else None
    return ScanSummary(
        scan_id=scan_id,
        incident=incident,
        root=root,
        status=status,
        started=started,
        finished=finished,
        total_files=int(total_files),
        total_bytes=int(total_bytes),
        by_verdict={str(k): int(v) for k, v in by_verdict.items()},
        by_folder=by_folder,
        by_family={str(k): int(v) for k, v in by_family.items()},
        by_format=by_format,
        notes=notes,
        window=window,  # type: ignore[arg-type]
        timeline=timeline,
        samples=samples,
    )
