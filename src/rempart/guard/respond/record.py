"""The `record` responder: every response, with the alarm that triggered it, in the store.

The alarm itself is written by the guard's run recorder (table guard_alarms, tied to the run);
each row of guard_responses keeps the run, the incident and, in `extra`, the alarm's time,
score and first reason, so a response can always be traced back to what triggered it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Engine, insert
from sqlalchemy.exc import SQLAlchemyError

from rempart.guard.alarm import Alarm, Response
from rempart.guard.respond._base import (
    RESPONDERS,
    Context,
    Once,
    ResponderSpec,
    response,
)
from rempart.store.guard import GuardResponse

NAME = "record"


def _trigger(alarm: Alarm) -> dict[str, str]:
    return {
        "alarm_at": alarm.at.isoformat(),
        "alarm_score": f"{alarm.score:g}",
        "alarm_reason": alarm.reasons[0] if alarm.reasons else "",
    }


class Record:
    """Writes responses to guard_responses; one writer, one transaction per response."""

    name = NAME

    def __init__(self, options: Mapping[str, Any], context: Context | None = None) -> None:
        if context is None:
            raise ValueError("record needs the store (a Context)")
        from rempart.store import open_store  # noqa: PLC0415  # alembic only when recording

        self.engine: Engine = open_store(context.store_url)
        self.incident_key = context.incident
        self._incident_ids: dict[str, int] = {}
        self._lock = threading.Lock()
        self._once = Once()
        #: responses that could not be written since the last record response (store down...)
        self.failures: list[str] = []

    def _incident_id(self, alarm: Alarm) -> int | None:
        key = alarm.incident or self.incident_key
        if not key:
            return None
        if key not in self._incident_ids:
            from rempart.triage._persist import incident_id  # noqa: PLC0415  # as above

            self._incident_ids[key] = incident_id(self.engine, key)
        return self._incident_ids[key]

    def write(self, alarm: Alarm, resp: Response) -> None:
        """Record one response of another responder about `alarm`; a store failure is kept
        (and reported by the next record response), never raised: the blocks go on."""
        extra = {**_trigger(alarm), **resp.extra}
        try:
            self._insert(alarm, resp, extra)
        except SQLAlchemyError as exc:
            with self._lock:
                self.failures.append(f"{resp.responder}: {type(exc).__name__}: {exc}"[:300])

    def _insert(self, alarm: Alarm, resp: Response, extra: dict[str, str]) -> None:
        with self._lock, self.engine.begin() as conn:
            conn.execute(
                insert(GuardResponse).values(
                    run_id=alarm.run_id,
                    incident_id=self._incident_id(alarm),
                    responder=resp.responder,
                    actor_key=resp.actor_key,
                    ok=resp.ok,
                    dry_run=resp.dry_run,
                    already_done=resp.already_done,
                    detail=resp.detail,
                    at=resp.at,
                    extra=json.dumps(extra, sort_keys=True),
                )
            )

    def respond(self, alarm: Alarm, *, dry_run: bool) -> Response:
        """Record that the alarm was handled (its own row); once per alarm."""
        key = f"{alarm.actor.key}@{alarm.at.isoformat()}"
        if (first := self._once.claim(key)) is not None:
            return response(NAME, alarm, ok=True, dry_run=dry_run, detail=first, already_done=True)
        if dry_run:
            detail = "would record the responses in the incident store"
            self._once.settle(key, detail, keep=False)
            return response(NAME, alarm, ok=True, dry_run=True, detail=detail)
        detail = f"recorded in {self.engine.url.render_as_string(hide_password=True)}"
        resp = response(NAME, alarm, ok=True, dry_run=False, detail=detail)
        self.write(alarm, resp)
        with self._lock:
            failed, self.failures = self.failures, []
        if failed:
            detail = f"{len(failed)} response(s) not recorded: {failed[-1]}"
            resp = response(NAME, alarm, ok=False, dry_run=False, detail=detail)
        self._once.settle(key, detail, keep=not failed)
        return resp

    def close(self) -> None:
        self.engine.dispose()


RESPONDERS.add(
    NAME,
    ResponderSpec(
        name=NAME,
        phase="record",
        help="Record every response, with the alarm that triggered it, in the incident store.",
        options=(),
        factory=Record,
    ),
)
