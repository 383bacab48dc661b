"""What was applied, by whom, when: rows in the store and a local journal file.

The journal (JSON lines, flushed and fsynced) is written before each change touches a
target, so an apply interrupted at any point, even with the store out of reach, can be
undone from it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.orm import Session

from rempart.store.contain import ContainAction, ContainPlan
from rempart.store.models import find_incident, utcnow

ACTIVE = ("applying", "verified", "failed", "rolling_back")


@dataclass(frozen=True)
class Record:
    id: int
    action: str
    target: str
    state: str
    actor: str
    detail: str
    before: str | None
    after_hash: str
    note: str
    created_at: datetime


def start(engine: Engine, incident: int, action: str, target: str, actor: str, detail: str) -> int:
    with engine.begin() as conn:
        key = conn.execute(
            insert(ContainAction).values(
                incident_id=incident,
                action=action,
                target=target,
                state="applying",
                actor=actor,
                detail=detail,
                after_hash="",
                note="",
            )
        ).inserted_primary_key
        assert key is not None
        return int(key[0])


def finish(
    engine: Engine,
    record: int,
    state: str,
    *,
    after_hash: str | None = None,
    note: str = "",
    before: str | None = None,
) -> None:
    values: dict[str, Any] = {"state": state, "note": note, "updated_at": utcnow()}
    if after_hash is not None:
        values["after_hash"] = after_hash
    if before is not None:
        values["before"] = before
    with engine.begin() as conn:
        conn.execute(update(ContainAction).where(ContainAction.id == record).values(**values))


def records(engine: Engine, incident: int, *, active_only: bool = False) -> list[Record]:
    query = select(ContainAction).where(ContainAction.incident_id == incident)
    if active_only:
        query = query.where(ContainAction.state.in_(ACTIVE))
    with Session(engine) as session:
        return [
            Record(
                r.id,
                r.action,
                r.target,
                r.state,
                r.actor,
                r.detail,
                r.before,
                r.after_hash,
                r.note,
                r.created_at,
            )
            for r in session.scalars(query.order_by(ContainAction.id))
        ]


def save_plan(
    engine: Engine, incident: int, request: dict[str, Any], fingerprints: dict[str, str]
) -> int:
    with engine.begin() as conn:
        key = conn.execute(
            insert(ContainPlan).values(
                incident_id=incident,
                request=json.dumps(request, sort_keys=True),
                fingerprints=json.dumps(fingerprints, sort_keys=True),
            )
        ).inserted_primary_key
        assert key is not None
        return int(key[0])


def last_plan(engine: Engine, incident: int, request: dict[str, Any]) -> dict[str, str] | None:
    """Fingerprints of the newest plan made with this exact request, if any."""
    wanted = json.dumps(request, sort_keys=True)
    with engine.connect() as conn:
        found = conn.scalar(
            select(ContainPlan.fingerprints)
            .where(ContainPlan.incident_id == incident, ContainPlan.request == wanted)
            .order_by(ContainPlan.id.desc())
            .limit(1)
        )
    return dict(json.loads(found)) if found else None


class Journal:
    """Append-only local journal of an apply (one JSON object per line)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def write(self, **entry: Any) -> None:
        entry["time"] = utcnow().isoformat()
        with self.path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(entry, sort_keys=True) + "\n")
            f.flush()
            os.fsync(f.fileno())

    def pending(self, incident: str) -> list[dict[str, Any]]:
        """Changes started for `incident` whose last journal entry is not an undo."""
        last: dict[str, dict[str, Any]] = {}
        if not self.path.exists():
            return []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut by the interruption itself: the ones before it stand
            if entry.get("incident") == incident:
                key = f"{entry['action']}:{entry['target']}"
                if entry.get("state") == "applying" or key in last:
                    last[key] = {**last.get(key, {}), **entry}
        return [e for e in last.values() if e.get("state") != "undone"]


def incident_id(engine: Engine, key: str, *, create: bool) -> int:
    """The incident called `key`; created when asked, else refused when unknown."""
    from rempart.contain._errors import ContainError  # noqa: PLC0415  # avoids an import cycle

    with engine.begin() as conn:
        found = find_incident(conn, key, create=create)
    if found is None:
        raise ContainError(
            f"unknown incident {key!r}",
            hint="import an inventory first: rempart contain inventory import FILE",
        )
    return found
