"""What `rempart guard status` shows: the runs, their events, alarms, responses and drops."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, func, select

from rempart.store.guard import GuardAlarm, GuardResponse, GuardRun


@dataclass(frozen=True)
class RunStatus:
    id: int
    root: str
    status: str
    sources: str
    blind_spots: str
    started_at: datetime
    finished_at: datetime | None
    baseline_files: int
    events: int
    alarms: int
    responses: int
    dropped_kernel: int
    dropped_queue: int
    last_alarms: tuple[str, ...]
    #: actor key of each of `last_alarms` -> what the responders did about it, one line each
    #: (a user alarm: every address blocked or refused, every session closed)
    alarm_responses: dict[str, tuple[str, ...]]


def runs(engine: Engine, limit: int = 10) -> list[RunStatus]:
    """The latest guard runs, newest first."""
    out = []
    with engine.connect() as conn:
        rows = conn.execute(select(GuardRun).order_by(GuardRun.id.desc()).limit(limit)).all()
        for r in rows:
            run = r[0] if hasattr(r, "__getitem__") and not hasattr(r, "root") else r
            responses = conn.scalar(
                select(func.count())
                .select_from(GuardResponse)
                .where(GuardResponse.run_id == run.id)
            )
            alarms = conn.execute(
                select(GuardAlarm.actor_key, GuardAlarm.reasons)
                .where(GuardAlarm.run_id == run.id)
                .order_by(GuardAlarm.id.desc())
                .limit(5)
            ).all()
            keys = {key for key, _reasons in alarms}
            done: dict[str, list[str]] = {}
            for key, responder, ok, dry, detail in conn.execute(
                select(
                    GuardResponse.actor_key,
                    GuardResponse.responder,
                    GuardResponse.ok,
                    GuardResponse.dry_run,
                    GuardResponse.detail,
                )
                .where(GuardResponse.run_id == run.id, GuardResponse.actor_key.in_(keys))
                .order_by(GuardResponse.id)
            ).all():
                said = f"{responder}: {'ok' if ok else 'FAILED'}{' (dry run)' if dry else ''}"
                done.setdefault(key, []).append(f"{said} {detail}")
            out.append(
                RunStatus(
                    id=run.id,
                    root=run.root,
                    status=run.status,
                    sources=run.sources,
                    blind_spots=run.blind_spots,
                    started_at=run.started_at,
                    finished_at=run.finished_at,
                    baseline_files=run.baseline_files,
                    events=run.events,
                    alarms=run.alarms,
                    responses=int(responses or 0),
                    dropped_kernel=run.dropped_kernel,
                    dropped_queue=run.dropped_queue,
                    last_alarms=tuple(
                        f"{key}: {(json.loads(reasons) or ['?'])[0]}" for key, reasons in alarms
                    ),
                    alarm_responses={k: tuple(v) for k, v in done.items()},
                )
            )
    return out
