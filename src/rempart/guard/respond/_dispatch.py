"""Run the enabled responders on each alarm: blocking ones first, then records, then alerts.

`block` responders (stop-process, block-client, close-session) run in the caller's thread, in
that order, before anything else. `notify` responders (hook, alert) run in a thread pool: the
caller waits for them at most `notify_wait` seconds, so a slow SMTP server or webhook never
holds back the next alarm's block. Late responses are recorded (and passed to `on_response`)
when they arrive; `close()` waits for them.
"""

from __future__ import annotations

import functools
import subprocess
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

from rempart.errors import RempartError
from rempart.guard.alarm import Alarm, Responder, Response
from rempart.guard.respond._base import ResponderSpec, response
from rempart.guard.respond.process import StopProcess
from rempart.guard.respond.record import Record


@dataclass(frozen=True)
class Enabled:
    spec: ResponderSpec
    responder: Responder
    dry_run: bool


def _call(item: Enabled, alarm: Alarm) -> Response:
    try:
        return item.responder.respond(alarm, dry_run=item.dry_run)
    # A responder must not raise for an expected failure; if one does, the others still run.
    except (RempartError, OSError, subprocess.SubprocessError, ValueError) as exc:
        detail = f"failed: {type(exc).__name__}: {exc}"
        return response(item.spec.name, alarm, ok=False, dry_run=item.dry_run, detail=detail)


class Dispatcher:
    """Hands each alarm to the enabled responders and collects what they did."""

    def __init__(
        self,
        enabled: list[Enabled],
        *,
        notify_wait: float = 1.0,
        on_response: Callable[[Response], None] | None = None,
    ) -> None:
        order = {"block": 0, "record": 1, "notify": 2}
        self.enabled = sorted(enabled, key=lambda e: order[e.spec.phase])  # stable sort
        self.notify_wait = notify_wait
        self.on_response = on_response
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="guard-notify")
        self._pending: set[Future[Response]] = set()
        self._lock = threading.Lock()
        self._record = next((e for e in self.enabled if isinstance(e.responder, Record)), None)

    @property
    def names(self) -> list[str]:
        return [e.spec.name for e in self.enabled]

    def freezer(self) -> Callable[[int], tuple[list[int], str]] | None:
        """stop-process's freeze, for the tripwire; None when it is not enabled or dry."""
        for e in self.enabled:
            if isinstance(e.responder, StopProcess) and not e.dry_run:
                return e.responder.freeze
        return None

    def handle(self, alarm: Alarm) -> list[Response]:
        """Act on `alarm`; returns the responses made by the time the blocks and records are done
        (plus the alerts finished within `notify_wait`)."""
        todo = [e for e in self.enabled if e.spec.acts_on(alarm.actor)]
        out = [_call(e, alarm) for e in todo if e.spec.phase == "block"]
        for resp in out:
            self._write(alarm, resp)
        if self._record is not None and self._record in todo:
            out.append(_call(self._record, alarm))
        futures = [self._pool.submit(_call, e, alarm) for e in todo if e.spec.phase == "notify"]
        done, _late = wait(futures, timeout=self.notify_wait) if futures else (set(), set())
        for fut in futures:
            with self._lock:
                self._pending.add(fut)
            fut.add_done_callback(functools.partial(self._finished, alarm, early=fut in done))
        out.extend(f.result() for f in futures if f in done)
        return out

    def _finished(self, alarm: Alarm, fut: Future[Response], *, early: bool) -> None:
        resp = fut.result()
        self._write(alarm, resp)
        if not early and self.on_response is not None:
            self.on_response(resp)
        with self._lock:
            self._pending.discard(fut)

    def _write(self, alarm: Alarm, resp: Response) -> None:
        if self._record is None or self._record.dry_run:
            return
        assert isinstance(self._record.responder, Record)
        self._record.responder.write(alarm, resp)

    def close(self) -> None:
        """Wait for alerts still on their way, then release the store."""
        with self._lock:
            pending = list(self._pending)
        wait(pending)
        self._pool.shutdown(wait=True)
        if self._record is not None:
            assert isinstance(self._record.responder, Record)
            self._record.responder.close()
