"""`rempart scan` results attached to an incident, labelled with the town and share scanned.

Scans run with `rempart scan --incident KEY` already belong to the incident; attaching one
only says which town and which share it covered. The figures come from the same summary as
the scan's own report (`rempart.triage.export.summarise`), never recomputed here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from rempart.report.model import NoteRow
from rempart.store.models import Scan
from rempart.store.workspace import IncidentScan, Organisation
from rempart.workspace import audit
from rempart.workspace._errors import Invalid, NotFound
from rempart.workspace._roles import Permission
from rempart.workspace.access import Actor, require

DAMAGED = ("encrypted", "partially_encrypted")


@dataclass(frozen=True)
class ScanResult:
    scan_id: int
    town: str | None  # organisation slug, None until attached
    share: str  # label given when attached, else the scanned root
    root: str
    status: str  # running, interrupted, done
    started: datetime
    finished: datetime | None
    files: int
    encrypted: int  # fully or partly encrypted
    encrypted_share: float  # encrypted / files (0.0 for an empty scan)
    by_verdict: dict[str, int]
    families: dict[str, int]
    notes: tuple[NoteRow, ...]  # ransom notes found, with their indicators


def attach_scan(
    s: Session, actor: Actor, incident_id: int, scan_id: int, *, town: str | None, share: str
) -> None:
    """Label a scan with the town and share it covered (and move it to this incident).

    Raises:
        NotFound: unknown scan or town.
        Invalid: no share label given.
    """
    require(s, actor, incident_id, Permission.SCANS)
    scan = s.get(Scan, scan_id)
    if scan is None:
        raise NotFound(f"no scan {scan_id}")
    if scan.incident_id != incident_id:
        # Moving a scan out of an incident the actor cannot write to would be a leak.
        require(s, actor, scan.incident_id, Permission.SCANS)
    org_id = None
    if town is not None:
        org_id = s.scalar(select(Organisation.id).where(Organisation.slug == town))
        if org_id is None:
            raise NotFound(f"no organisation {town!r}")
    if not share.strip():
        raise Invalid("name the share the scan covered (e.g. \\\\srv-mairie\\commun)")
    found = s.scalar(select(IncidentScan).where(IncidentScan.scan_id == scan_id))
    before = (
        {"incident": scan.incident_id, "org": found.org_id, "share": found.share} if found else None
    )
    if found is None:
        found = IncidentScan(scan_id=scan_id, incident_id=incident_id)
        s.add(found)
    found.incident_id, found.org_id, found.share = incident_id, org_id, share.strip()[:300]
    scan.incident_id = incident_id
    s.flush()
    after = {"incident": incident_id, "org": org_id, "share": found.share}
    audit.record(
        s, actor, "attach", "scan", scan_id, before=before, after=after, incident_id=incident_id
    )


def scan_results(s: Session, actor: Actor, incident_id: int) -> list[ScanResult]:
    """Summaries of every scan of the incident, oldest first."""
    from rempart.triage.export import summarise  # noqa: PLC0415  # only pages that show scans

    require(s, actor, incident_id, Permission.READ)
    labels = {
        scan_id: (slug, share)
        for scan_id, slug, share in s.execute(
            select(IncidentScan.scan_id, Organisation.slug, IncidentScan.share)
            .outerjoin(Organisation, Organisation.id == IncidentScan.org_id)
            .where(IncidentScan.incident_id == incident_id)
        )
    }
    ids = s.scalars(select(Scan.id).where(Scan.incident_id == incident_id).order_by(Scan.id))
    engine = s.get_bind()
    if not isinstance(engine, Engine):
        raise TypeError("workspace sessions are bound to the store's engine")
    results = []
    for scan_id in ids:
        summary = summarise(engine, scan_id)
        town, share = labels.get(scan_id, (None, ""))
        encrypted = sum(summary.by_verdict.get(v, 0) for v in DAMAGED)
        results.append(
            ScanResult(
                scan_id=scan_id,
                town=town,
                share=share or summary.root,
                root=summary.root,
                status=summary.status,
                started=summary.started,
                finished=summary.finished,
                files=summary.total_files,
                encrypted=encrypted,
                encrypted_share=encrypted / summary.total_files if summary.total_files else 0.0,
                by_verdict=summary.by_verdict,
                families=summary.by_family,
                notes=summary.notes,
            )
        )
    return results
