"""What the guard does with one event: name its actor, update the baseline and the scores,
record it, raise the alarms it causes and hand them to the responders.

All of it runs in the one thread that takes events from the queue, so the state needs no
locks. `engine.Guard` builds on it: the sources, the queue, the decoys and the tripwire.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Protocol

from sqlalchemy import Engine

from rempart.guard._record import Recorder
from rempart.guard.alarm import Actor, ActorKind, Alarm, Response
from rempart.guard.attribution import Attribution
from rempart.guard.baseline import Baseline
from rempart.guard.correlate import Client, Correlator
from rempart.guard.events import Event, Op
from rempart.guard.scoring import ActorState, Scorer
from rempart.guard.sources import AUDIT_SOURCES
from rempart.guard.tripwire import decoy_of
from rempart.guard.users import Users


class Dispatcher(Protocol):
    def handle(self, alarm: Alarm) -> list[Response]: ...

    def close(self) -> None: ...


@dataclass
class Hooks:
    """What the caller (the CLI) is told as it happens."""

    ready: Callable[[str], None] = lambda _line: None
    alarm: Callable[[Alarm], None] = lambda _a: None
    response: Callable[[Response], None] = lambda _r: None
    note: Callable[[str], None] = lambda _line: None


@dataclass
class Summary:
    run_id: int
    events: int = 0
    alarms: list[Alarm] = field(default_factory=list)
    dropped_kernel: int = 0
    dropped_queue: int = 0
    damaged_audit_lines: int = 0
    #: audit records sent by a process that is neither smbd nor a trusted forwarder
    refused_audit_records: int = 0
    #: overflows of fanotify's reads queue (reads only feed the type funnel: not a blind spot)
    reads_dropped: int = 0


class Analysis:
    """The analysis thread's state, and what one event does to it."""

    def __init__(
        self,
        engine: Engine,
        root: str,
        incident: str | None,
        dispatcher: Dispatcher,
        hooks: Hooks,
    ) -> None:
        self.root = root
        self.incident = incident
        self.dispatcher = dispatcher
        self.hooks = hooks
        self.baseline = Baseline(root)
        self.scorer = Scorer(root)
        self.corr = Correlator()
        self.users = Users(root)
        self.who = Attribution(root, self.corr, self.scorer, self.users)
        self.recorder = Recorder(engine, root, incident)
        self.summary = Summary(self.recorder.run_id)
        #: an audit source runs: it reports smbd's renames and deletes, naming the client
        self.audited = False
        self._decoy_set: frozenset[str] = frozenset()
        self._due: list[ActorState] = []

    def _one(self, ev: Event) -> None:
        inside = self.root + "/"
        if not ev.path.startswith(inside) and not (ev.path2 or "").startswith(inside):
            return
        if ev.op is Op.RENAME and ev.path2 and (ev.folder or self._folder_renamed(ev)):
            # not scored (a folder has no content); its files keep their records
            self.baseline.folder_renamed(ev.path, ev.path2)
            return
        if ev.source in AUDIT_SOURCES:
            client = Client(ev.address or "?", ev.user)
            self.corr.audit(ev.path, client, ev.smbd_pid)
            self.users.seen(ev.user, ev.address)
            if ev.op is Op.WRITE:  # content comes from fanotify/inotify; this only names
                return
            actor = Actor(
                ActorKind.SMB_CLIENT, address=ev.address, user=ev.user, smbd_pid=ev.smbd_pid
            )
        else:
            smbd = ev.pid is not None and self.corr.smbd(ev.pid)
            if smbd and ev.op is Op.WRITE and ev.pid is not None:
                self.corr.write(ev.path, ev.pid)
            elif smbd and self.audited and ev.op is not Op.READ:
                return  # the audit log reports smbd's renames and deletes, with the client
            elif not smbd and ev.pid is not None and ev.op is not Op.READ:
                # its user now, while it runs: a process per file is gone in milliseconds
                self.who.user_of(ev.pid)
            actor = self.corr.actor(ev.pid, [ev.path]) or Actor(ActorKind.PROCESS, pid=ev.pid)
        if ev.op is Op.READ:  # cheap: no content read, nothing recorded
            self.scorer.read(self.scorer.state(actor), ev, self.baseline.get(ev.path))
            return
        before, after = self.baseline.apply(ev)
        state = self.scorer.state(actor)
        rel = os.path.relpath(ev.path2 if ev.op is Op.RENAME and ev.path2 else ev.path, self.root)
        hits = self.scorer.observe(state, ev, rel, before, after, self._decoy(ev))
        self.recorder.event(
            {
                # when the source saw it (not when it was analysed): rates are measured on it
                "at": _wall(ev.at),
                "source": ev.source,
                "op": ev.op.value,
                "path": os.path.relpath(ev.path, self.root),
                "path2": os.path.relpath(ev.path2, self.root) if ev.path2 else None,
                "actor_key": actor.key,
                "pid": ev.pid,
                "address": ev.address,
                "user": ev.user,
                "verdict": after.verdict.value if after is not None else None,
                "points": sum(h.points for h in hits),
                "reasons": json.dumps([h.reason for h in hits]),
            }
        )
        if self.scorer.crossed(state) and state.due_since is None:
            state.due_since = time.monotonic()
            self._due.append(state)
            self._raise_due()
        if hits and (alarm := self.who.account_alarm(actor, state, self.incident)):
            self._raise(alarm)

    def _folder_renamed(self, ev: Event) -> bool:
        """A rename from the audit log (which does not say files from folders) of a folder."""
        return (
            ev.source in AUDIT_SOURCES
            and ev.path not in self.baseline
            and (os.path.isdir(ev.path2 or ""))
        )

    def _decoy(self, ev: Event) -> tuple[str, str] | None:
        return decoy_of(ev, self._decoy_set, self.root)

    def _alarmed(self, pid: int) -> bool:
        """Whether the process `pid` crossed the threshold (alarmed, or waiting to be)."""
        state = self.scorer.actors.get(Actor(ActorKind.PROCESS, pid=pid).key)
        return state is not None and (state.alarmed or state.due_since is not None)

    def _raise_due(self) -> None:
        """Alarm the actors past the threshold, once the SMB ones are named (or waited for)."""
        keep = []
        for state in self._due:
            actor = self.who.name(state, audited=self.audited)
            if actor is None:
                keep.append(state)
                continue
            self._raise(self.scorer.alarm(state, actor, self.incident))
        self._due = keep

    def _raise(self, alarm: Alarm) -> None:
        alarm = _with_run(alarm, self.recorder.run_id)
        self.recorder.alarm(alarm)
        self.summary.alarms.append(alarm)
        self.hooks.alarm(alarm)
        for response in self.dispatcher.handle(alarm):
            self.hooks.response(response)


def _wall(at: float) -> datetime:
    """A `time.monotonic()` of the recent past as a wall-clock time."""
    now = time.monotonic()
    return datetime.now(UTC) - timedelta(seconds=max(0.0, now - at) if at else 0.0)


def _with_run(alarm: Alarm, run_id: int) -> Alarm:
    return replace(alarm, run_id=run_id)
