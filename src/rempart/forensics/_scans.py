"""The file times `rempart scan` recorded: when each encrypted file (or note) was written."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Engine, select

from rempart.forensics._db import insert_ignoring
from rempart.forensics._time import iso_from_us
from rempart.store.models import Scan, ScanFile, utcnow
from rempart.store.timeline import EVENTS, SOURCES

#: verdicts whose file time says something about the attack
VERDICTS = ("encrypted", "partially_encrypted", "ransom_note")
_BATCH = 5000


def ingest_scans(engine: Engine, incident: int) -> int:
    """Copy the times of the incident's encrypted files and notes into the timeline.

    Returns:
        the number of file times read (already stored ones are not stored twice).
    """
    total = 0
    with engine.connect() as conn:
        scans = conn.execute(
            select(Scan.id, Scan.root).where(Scan.incident_id == incident).order_by(Scan.id)
        ).all()
    for scan_id, root in scans:
        source_id = _source(engine, incident, scan_id, root)
        with engine.connect() as conn:
            files = conn.execution_options(stream_results=True, yield_per=_BATCH).execute(
                select(
                    ScanFile.path_key,
                    ScanFile.path_text,
                    ScanFile.verdict,
                    ScanFile.family,
                    ScanFile.mtime_ns,
                    ScanFile.size,
                ).where(ScanFile.scan_id == scan_id, ScanFile.verdict.in_(VERDICTS))
            )
            for part in files.partitions(_BATCH):
                rows = [_row(incident, source_id, scan_id, root, f) for f in part]
                with engine.begin() as write:
                    insert_ignoring(write, EVENTS, rows)
                total += len(rows)
    return total


def _source(engine: Engine, incident: int, scan_id: int, root: str) -> int:
    key = f"scan:{scan_id}"
    table = SOURCES
    with engine.begin() as conn:
        insert_ignoring(
            conn,
            table,
            [
                {
                    "incident_id": incident,
                    "source_key": key,
                    "path": root,
                    "kind": "scan",
                    "size": 0,
                    "status": "done",
                    "done": 0,
                    "events": 0,
                    "warnings": 0,
                    "updated_at": utcnow(),
                }
            ],
        )
        return int(
            conn.scalar(
                select(table.c.id).where(table.c.incident_id == incident, table.c.source_key == key)
            )
            or 0
        )


def _row(incident: int, source_id: int, scan_id: int, root: str, f: Any) -> dict[str, object]:
    path_key, path_text, verdict, family, mtime_ns, size = f
    ts_us = None if mtime_ns is None else int(mtime_ns) // 1000
    what = "ransom note written" if verdict == "ransom_note" else f"file {verdict}"
    return {
        "incident_id": incident,
        "source_id": source_id,
        "record_key": bytes(path_key).hex(),
        "ts_us": ts_us,
        "ts_text": "" if mtime_ns is None else str(mtime_ns),
        "ts_precision": "ns, file modification time" if mtime_ns is not None else "unknown",
        "host": root[:255],
        "source": "scan",
        "channel": verdict,
        "event_id": None,
        "record_id": None,
        "account": "",
        "process": "",
        "command_line": "",
        "parent": "",
        "logon_type": None,
        "src_addr": "",
        "target_host": "",
        "message": f"{what}: {path_text}" + (f" ({family})" if family else ""),
        "raw": json.dumps(
            {
                "scan_id": scan_id,
                "root": root,
                "path": path_text,
                "verdict": verdict,
                "family": family,
                "size": size,
                "mtime_ns": mtime_ns,
                "mtime": None if ts_us is None else iso_from_us(ts_us),
            },
            ensure_ascii=False,
        ),
    }
