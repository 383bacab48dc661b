"""The audit record of every change: who, when, what, before and after.

Library functions call `record` themselves, in the same transaction as the change, so a
change without its audit record cannot be committed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from rempart.store.workspace import AuditRecord
from rempart.workspace.access import Actor, visible_incident_ids


@dataclass(frozen=True)
class AuditView:
    id: int
    at: datetime
    actor: str
    action: str
    entity: str
    entity_id: str
    incident_id: int | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None


def _dump(value: dict[str, Any] | None) -> str | None:
    return None if value is None else json.dumps(value, sort_keys=True, default=str)


def record(
    s: Session,
    actor: Actor,
    action: str,
    entity: str,
    entity_id: object,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    incident_id: int | None = None,
) -> None:
    """Add one audit record to the session (committed with the change it describes)."""
    s.add(
        AuditRecord(
            actor_id=actor.user_id,
            actor=actor.label,
            action=action,
            entity=entity,
            entity_id=str(entity_id),
            incident_id=incident_id,
            before=_dump(before),
            after=_dump(after),
        )
    )


def list_audit(
    s: Session, actor: Actor, *, incident_id: int | None = None, limit: int = 500
) -> list[AuditView]:
    """Newest audit records first; others' incidents stay hidden (system actor sees all)."""
    query = select(AuditRecord).order_by(AuditRecord.id.desc()).limit(limit)
    if incident_id is not None:
        query = query.where(AuditRecord.incident_id == incident_id)
    if not actor.system:
        query = query.where(AuditRecord.incident_id.in_(visible_incident_ids(s, actor)))
    return [
        AuditView(
            r.id,
            r.at,
            r.actor,
            r.action,
            r.entity,
            r.entity_id,
            r.incident_id,
            json.loads(r.before) if r.before else None,
            json.loads(r.after) if r.after else None,
        )
        for r in s.scalars(query)
    ]
