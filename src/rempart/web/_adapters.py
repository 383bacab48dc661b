"""Store reads the workspace library does not offer yet (flagged for its maintainers).

ADAPTER: `task_counts` belongs in `rempart.workspace.tasks` (e.g. `progress(s, actor, ids)`).
The dashboard needs each incident's task counts; `tasks.list_tasks` per incident costs ~5 ms
each (permission checks and a view per task), this one grouped query well under 1 ms.
Callers pass only ids the library already let the actor see (`incidents.list_incidents`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rempart.store.workspace import Task
from rempart.workspace.tasks import TaskStatus


def task_counts(s: Session, visible_ids: Iterable[int]) -> dict[int, dict[TaskStatus, int]]:
    """incident id -> task status -> how many, for incidents the caller may already see."""
    ids = list(visible_ids)
    found: dict[int, dict[TaskStatus, int]] = defaultdict(dict)
    if not ids:
        return found
    rows = s.execute(
        select(Task.incident_id, Task.status, func.count())
        .where(Task.incident_id.in_(ids))
        .group_by(Task.incident_id, Task.status)
    )
    for incident_id, status, count in rows:
        if status in TaskStatus.__members__.values():
            found[incident_id][TaskStatus(status)] = count
    return found
