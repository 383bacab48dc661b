"""Tasks: instantiated from playbooks or added by hand; assigned, due, with a status."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import BindParameter, Select, bindparam, func, select
from sqlalchemy.orm import Session

from rempart.store.models import Incident
from rempart.store.workspace import Task, User
from rempart.workspace import audit, logbook
from rempart.workspace._errors import Invalid, NotFound
from rempart.workspace._roles import Permission
from rempart.workspace.access import Actor, Shape, incident_roles, require, visibility, visible
from rempart.workspace.auth import aware
from rempart.workspace.playbooks import Playbook, builtin


class TaskStatus(StrEnum):
    TODO = "todo"
    DOING = "doing"
    BLOCKED = "blocked"
    DONE = "done"
    SKIPPED = "skipped"  # not relevant to this incident (say why in the logbook)


@dataclass(frozen=True)
class TaskView:
    id: int
    incident_id: int
    playbook: str | None
    step: str | None
    phase: str
    title: str
    detail: str
    assignee: str | None  # e-mail
    due_at: datetime | None
    status: TaskStatus
    updated_at: datetime

    def overdue(self, now: datetime | None = None) -> bool:
        """True when not finished and past its due time."""
        open_ = self.status not in (TaskStatus.DONE, TaskStatus.SKIPPED)
        return bool(open_ and self.due_at and self.due_at < (now or datetime.now(UTC)))


def _view(s: Session, t: Task) -> TaskView:
    user = s.get(User, t.assignee_id) if t.assignee_id is not None else None
    return TaskView(
        t.id,
        t.incident_id,
        t.playbook,
        t.step,
        t.phase,
        t.title,
        t.detail,
        user.email if user else None,
        aware(t.due_at) if t.due_at else None,
        TaskStatus(t.status),
        aware(t.updated_at),
    )


def _snapshot(t: Task, s: Session) -> dict[str, object]:
    v = _view(s, t)
    return {"status": v.status.value, "assignee": v.assignee, "due_at": v.due_at, "title": v.title}


def instantiate(
    s: Session, actor: Actor, incident_id: int, playbook: str | Playbook, *, lang: str = "fr"
) -> list[TaskView]:
    """Add a playbook's steps as tasks, due relative to when the incident was first seen.

    Steps already instantiated for the incident are skipped, so running it twice is safe.
    """
    require(s, actor, incident_id, Permission.TASKS)
    book = builtin()[playbook] if isinstance(playbook, str) else playbook
    inc = s.get(Incident, incident_id)
    if inc is None:
        raise NotFound(f"no incident {incident_id}")
    base = aware(inc.first_seen_at or inc.created_at)
    have = set(
        s.scalars(
            select(Task.step).where(Task.incident_id == incident_id, Task.playbook == book.id)
        )
    )
    made: list[Task] = []
    for step in book.steps:
        if step.id in have:
            continue
        task = Task(
            incident_id=incident_id,
            playbook=book.id,
            step=step.id,
            phase=book.phase,
            title=step.title.get(lang),
            detail=step.detail.get(lang),
            due_at=base + step.due if step.due else None,
            status=TaskStatus.TODO.value,
        )
        s.add(task)
        made.append(task)
    s.flush()
    audit.record(
        s,
        actor,
        "instantiate",
        "playbook",
        book.id,
        after={"tasks": [t.id for t in made]},
        incident_id=incident_id,
    )
    return [_view(s, t) for t in made]


def add_task(
    s: Session,
    actor: Actor,
    incident_id: int,
    title: str,
    *,
    detail: str = "",
    phase: str = "",
    due_at: datetime | None = None,
) -> TaskView:
    """Add a task by hand."""
    require(s, actor, incident_id, Permission.TASKS)
    if not title.strip():
        raise Invalid("a task needs a title")
    task = Task(
        incident_id=incident_id,
        title=title.strip()[:300],
        detail=detail,
        phase=phase,
        due_at=due_at,
        status=TaskStatus.TODO.value,
    )
    s.add(task)
    s.flush()
    audit.record(
        s, actor, "create", "task", task.id, after=_snapshot(task, s), incident_id=incident_id
    )
    return _view(s, task)


def list_tasks(s: Session, actor: Actor, incident_id: int) -> list[TaskView]:
    """The incident's tasks, by due time (undated last), then creation."""
    require(s, actor, incident_id, Permission.READ)
    rows = s.scalars(select(Task).where(Task.incident_id == incident_id).order_by(Task.id))
    views = [_view(s, t) for t in rows]
    far = datetime.max.replace(tzinfo=UTC)
    return sorted(views, key=lambda v: (v.due_at or far, v.id))


@functools.cache
def _progress_statement(shape: Shape) -> Select[int, str, int]:
    ids: BindParameter[list[int]] = bindparam("ids", expanding=True)
    return (
        select(Task.incident_id, Task.status, func.count())
        .where(Task.incident_id.in_(ids), visible(shape, Task.incident_id))
        .group_by(Task.incident_id, Task.status)
    )


def progress(
    s: Session, actor: Actor, incident_ids: Iterable[int]
) -> dict[int, dict[TaskStatus, int]]:
    """Incident id -> task status -> count, in one query (dashboards).

    Hidden incidents, and incidents without tasks, are left out.
    """
    # Visibility is a condition of the same query: one query in all.
    shape, params = visibility(actor)
    params["ids"] = sorted(set(incident_ids))
    rows = s.execute(_progress_statement(shape), params).all()
    found: dict[int, dict[TaskStatus, int]] = {i: {} for i, _, _ in rows}
    for incident_id, state, count in rows:
        if state in set(TaskStatus):
            found[incident_id][TaskStatus(state)] = int(count)
    return found


def _task(s: Session, actor: Actor, task_id: int) -> Task:
    task = s.get(Task, task_id)
    if task is None or not incident_roles(s, actor, task.incident_id):
        raise NotFound(f"no task {task_id}")
    require(s, actor, task.incident_id, Permission.TASKS)
    return task


def update_task(
    s: Session,
    actor: Actor,
    task_id: int,
    *,
    status: TaskStatus | None = None,
    assignee: str | None = None,
    unassign: bool = False,
    due_at: datetime | None = None,
) -> TaskView:
    """Change a task's status, assignee (an e-mail) or due time; done tasks go to the logbook.

    Raises:
        NotFound: unknown task or user, or not visible to the actor.
        Forbidden: the actor may not manage tasks here.
    """
    task = _task(s, actor, task_id)
    before = _snapshot(task, s)
    if assignee is not None:
        user = s.scalar(select(User).where(User.email == assignee.strip().lower()))
        if user is None or not incident_roles(s, _as_actor(s, user), task.incident_id):
            raise NotFound(f"no user {assignee} on this incident")
        task.assignee_id = user.id
    if unassign:
        task.assignee_id = None
    if due_at is not None:
        task.due_at = due_at
    if status is not None:
        task.status = status.value
    task.updated_at = datetime.now(UTC)
    s.flush()
    after = _snapshot(task, s)
    audit.record(
        s,
        actor,
        "update",
        "task",
        task.id,
        before=before,
        after=after,
        incident_id=task.incident_id,
    )
    if status is not None and before["status"] != status.value and status is TaskStatus.DONE:
        logbook.append(s, actor, task.incident_id, f"Task done: {task.title}", source="tasks")
    return _view(s, task)


def _as_actor(s: Session, user: User) -> Actor:
    from rempart.workspace.access import load_actor  # noqa: PLC0415  # avoids a cycle at import

    return load_actor(s, user.id)
