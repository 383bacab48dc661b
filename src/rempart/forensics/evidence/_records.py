"""Looking up incidents and items of the locker."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, Engine, select
from sqlalchemy.orm import Session

from rempart.forensics.evidence._errors import UnknownError
from rempart.store.evidence import EvidenceItem
from rempart.store.models import Incident, find_incident

_LABEL = re.compile(r"(?:E-?)?0*(\d+)", re.IGNORECASE)


def label(item_id: int) -> str:
    """The short name responders use for an item: E-0007."""
    return f"E-{item_id:04d}"


def incident_id(conn: Connection, key: str, *, create: bool = False) -> int:
    found = find_incident(conn, key, create=create)
    if found is None:
        raise UnknownError(
            f"unknown incident {key!r}",
            hint="check --incident; 'evidence add --create-incident' starts a new one",
        )
    return found


def item_id(engine: Engine, ref: str) -> int:
    """The id of the item named `ref`: E-0007, E7, 7, or its uid."""
    match = _LABEL.fullmatch(ref.strip())
    with engine.connect() as conn:
        if match:
            found = conn.scalar(select(EvidenceItem.id).where(EvidenceItem.id == int(match[1])))
        else:
            found = conn.scalar(select(EvidenceItem.id).where(EvidenceItem.uid == ref.strip()))
    if found is None:
        raise UnknownError(
            f"unknown evidence item {ref!r}", hint="list them: rempart evidence show --incident ID"
        )
    return int(found)


@dataclass(frozen=True)
class ItemView:
    """An item as `show`, `export` and `verify` see it."""

    id: int
    uid: str
    incident: str
    description: str
    kind: str
    in_place: bool
    content_root: Path  # the folder the item's relative paths start from
    source_host: str
    source_path: str
    size: int
    files: int
    sha256: str
    sha1: str
    md5: str
    acquired_by: str
    acquired_at: str
    custody_head: str
    custody_count: int

    @property
    def label(self) -> str:
        return label(self.id)


def items(
    conn: Connection, *, incident: str | None = None, ids: list[int] | None = None
) -> list[ItemView]:
    query = select(EvidenceItem, Incident.key).join(Incident).order_by(EvidenceItem.id)
    if incident is not None:
        query = query.where(Incident.id == incident_id(conn, incident))
    if ids is not None:
        query = query.where(EvidenceItem.id.in_(ids))
    found = []
    for item, key in Session(bind=conn).execute(query):
        root = (
            Path(item.locker_path)
            if item.locker_path
            else Path(os.fsdecode(item.source_path_bytes)).parent
        )
        found.append(
            ItemView(
                item.id,
                item.uid,
                key,
                item.description,
                item.kind,
                item.in_place,
                root,
                item.source_host,
                item.source_path,
                item.size,
                item.files,
                item.sha256,
                item.sha1,
                item.md5,
                item.acquired_by,
                item.acquired_at.isoformat(),
                item.custody_head,
                item.custody_count,
            )
        )
    return found
