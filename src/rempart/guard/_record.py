"""The guard's writes to the incident store: a run, its events and alarms, as they happen.

Events are buffered and written every fraction of a second (or every few hundred), each
batch in its own transaction: a crash loses at most the batch in flight. The run's
counters (events, alarms, drops) are updated with every batch, so `guard status` on a
crashed run still shows them.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from sqlalchemy import Engine, insert, update

from rempart.guard.alarm import Alarm
from rempart.store.guard import GuardAlarm, GuardEvent, GuardRun
from rempart.store.models import utcnow
from rempart.triage._persist import incident_id

BATCH = 500
EVERY = 0.25  # seconds


class Recorder:
    def __init__(self, engine: Engine, root: str, incident: str | None) -> None:
        self.engine = engine
        self.incident_id = incident_id(engine, incident) if incident else None
        with engine.begin() as conn:
            res = conn.execute(
                insert(GuardRun).values(
                    incident_id=self.incident_id, root=root, pid=os.getpid(), status="running"
                )
            )
            self.run_id = int(res.inserted_primary_key[0])  # type: ignore[index]
        self._rows: list[dict[str, Any]] = []
        self._last = time.monotonic()
        self.events = 0
        self.alarms = 0

    def started(self, sources: list[str], blind_spots: str, baseline: int) -> None:
        self._run(sources=", ".join(sources), blind_spots=blind_spots, baseline_files=baseline)

    def event(self, row: dict[str, Any]) -> None:
        row.setdefault("at", utcnow())  # every row of a batch needs the same keys
        self._rows.append(row)
        self.events += 1

    def alarm(self, alarm: Alarm) -> None:
        a = alarm.actor
        with self.engine.begin() as conn:
            conn.execute(
                insert(GuardAlarm).values(
                    run_id=self.run_id,
                    at=alarm.at,
                    first_seen=alarm.first_seen,
                    actor_key=a.key,
                    actor_kind=a.kind.value,
                    pid=a.pid,
                    command=a.command,
                    address=a.address,
                    user=a.user,
                    score=alarm.score,
                    reasons=json.dumps(list(alarm.reasons)),
                    paths=json.dumps(list(alarm.paths)),
                )
            )
        self.alarms += 1

    def due(self) -> bool:
        return len(self._rows) >= BATCH or time.monotonic() - self._last >= EVERY

    def flush(self, dropped_kernel: int, dropped_queue: int) -> None:
        rows, self._rows = self._rows, []
        self._last = time.monotonic()
        with self.engine.begin() as conn:
            if rows:
                conn.execute(insert(GuardEvent), [{"run_id": self.run_id, **r} for r in rows])
            conn.execute(
                update(GuardRun)
                .where(GuardRun.id == self.run_id)
                .values(
                    events=self.events,
                    alarms=self.alarms,
                    dropped_kernel=dropped_kernel,
                    dropped_queue=dropped_queue,
                )
            )

    def finish(self, status: str) -> None:
        self._run(status=status, finished_at=utcnow())

    def _run(self, **values: object) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(GuardRun).where(GuardRun.id == self.run_id).values(**values))
