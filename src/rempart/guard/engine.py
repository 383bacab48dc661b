"""The guard's loop: sources -> bounded queue -> content analysis -> scores -> alarms.

Sources run in their own threads and only read the kernel (or the log); everything else
(reading content, scoring, recording, responding) runs in the thread that calls `run`, so
the state needs no locks. Responses run in that thread too: the next file of an actor is
not analysed before its alarm was acted on.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

from sqlalchemy import Engine

from rempart.guard import decoys
from rempart.guard._errors import GuardError, SourceUnavailable
from rempart.guard._record import Recorder
from rempart.guard.alarm import Actor, ActorKind, Alarm, Response
from rempart.guard.attribution import Attribution
from rempart.guard.baseline import Baseline
from rempart.guard.correlate import Client, Correlator
from rempart.guard.events import Event, EventQueue, Op
from rempart.guard.scoring import ActorState, Scorer
from rempart.guard.sources import AUDIT_SOURCES, SOURCES, Source, SourceOptions
from rempart.guard.tripwire import Frozen, Tripwire, decoy_of
from rempart.guard.users import Users

#: events taken at once: a fast attacker's whole backlog, for `_urgent_first` to reorder
_BATCH = 4096


class Dispatcher(Protocol):
    def handle(self, alarm: Alarm) -> list[Response]: ...

    def close(self) -> None: ...


@dataclass
class GuardOptions:
    root: Path
    samba_log: Path | None = None
    incident: str | None = None
    #: None: fanotify, else inotify; plus samba-audit / samba-syslog when a log / socket is given
    sources: list[str] | None = None
    queue_bound: int = 20_000
    place_decoys: bool = True
    #: freeze a local process at a decoy before judging it (needs stop-process, not dry)
    tripwire: bool = True
    #: a socket to bind for smbd's audit records sent with syslog(3)
    samba_syslog: Path | None = None
    #: fanotify also reports files closed after reading (for the type-funnel indicator)
    reads: bool = True


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


class Guard:
    def __init__(
        self, engine: Engine, options: GuardOptions, dispatcher: Dispatcher, hooks: Hooks
    ) -> None:
        if not options.root.is_dir():
            raise GuardError(f"not a folder: {options.root}")
        self.root = str(options.root.resolve())
        for name in options.sources or []:
            SOURCES[name]  # an unknown name fails here, before a run is recorded
        self.options = options
        self.dispatcher = dispatcher
        self.hooks = hooks
        self.queue = EventQueue(options.queue_bound)
        self.baseline = Baseline(self.root)
        self.scorer = Scorer(self.root)
        self.corr = Correlator()
        self.users = Users(self.root)
        self.who = Attribution(self.root, self.corr, self.scorer, self.users)
        self.recorder = Recorder(engine, self.root, options.incident)
        self.sources: list[Source] = []
        self.decoys: list[str] = []
        self._decoy_set: frozenset[str] = frozenset()
        self.stopping = threading.Event()
        self.summary = Summary(self.recorder.run_id)
        self._due: list[ActorState] = []
        # stop-process enabled and not dry: decoys trip a freeze before any analysis
        freezer = getattr(dispatcher, "freezer", lambda: None)() if options.tripwire else None
        self.tripwire = Tripwire(self.root, freezer, hooks.note) if freezer else None
        if self.tripwire is not None:
            self.queue.before_put = self.tripwire
            self.queue.on_drop = self.tripwire.dropped

    # -- start and stop ---------------------------------------------------
    def _start_sources(self) -> None:
        o = self.options
        opts = SourceOptions(Path(self.root), o.samba_log, o.samba_syslog, reads=o.reads)
        wanted = list(self.options.sources or ["fanotify"])
        for name, given in (("samba-audit", opts.samba_log), ("samba-syslog", opts.samba_syslog)):
            if given is not None and name not in wanted:
                wanted.append(name)
        for name in wanted:
            try:
                src = SOURCES[name](opts, self.queue)
            except SourceUnavailable as exc:
                if name != "fanotify" or self.options.sources:
                    raise
                self.hooks.note(f"fanotify unavailable ({exc}): falling back to inotify")
                src = SOURCES["inotify"](opts, self.queue)
            # started at once: a later source that cannot start leaves only started ones
            # for `run` to stop
            src.start()
            self.sources.append(src)

    def run(self) -> Summary:
        """Watch until `stop()` (or SIGTERM through the caller); returns what happened."""
        status = "crashed"
        try:
            self._start_sources()
            if self.options.place_decoys:
                folders = [d for d, _s, _f in os.walk(self.root) if not _hidden(d, self.root)]
                self.decoys = decoys.place(folders)
                self._decoy_set = frozenset(self.decoys)
                if self.tripwire is not None:
                    self.tripwire.decoys = self._decoy_set
            n = self.baseline.build(skip=lambda p: _hidden(p, self.root))
            for src in self.sources:  # what a source starts only once the share was read
                getattr(src, "after_baseline", lambda: None)()
            names = [s.name for s in self.sources]
            blind = "; ".join(f"{s.name}: {s.blind_spots}" for s in self.sources if s.blind_spots)
            self.recorder.started(names, blind, n)
            self.hooks.ready(
                f"watching {self.root} (source: {', '.join(names)}; {n} files in baseline)"
            )
            if blind:
                self.hooks.note(f"cannot see: {blind}")
            self._loop()
            status = "stopped"
        finally:
            for src in self.sources:
                src.stop()
            if self.tripwire is not None:  # never leave a process stopped behind us
                self._released(self.tripwire.release_all())
            decoys.remove(self.decoys)
            self._flush()
            self.recorder.finish(status)
            self.dispatcher.close()
        return self.summary

    def stop(self) -> None:
        self.stopping.set()

    # -- the loop -----------------------------------------------------------
    def _loop(self) -> None:
        while not self.stopping.is_set():
            for ev in self._urgent_first(self.queue.get_batch(0.1, limit=_BATCH)):
                try:
                    self._one(ev)
                finally:
                    ev.release()
                    if self.tripwire is not None:
                        self.tripwire.judged(ev)
            self._raise_due()
            if self.tripwire is not None:
                self._released(self.tripwire.settle(self._alarmed))
            if self.recorder.due():
                self._flush()
                dead = [s.name for s in self.sources if not s.alive()]
                if dead:  # blind: exit non-zero so that systemd restarts the guard
                    raise GuardError(f"event source stopped: {', '.join(dead)}")

    def _flush(self) -> None:
        s = self.summary
        s.dropped_kernel, s.dropped_queue = self.queue.kernel_dropped, self.queue.dropped
        s.damaged_audit_lines = sum(src.damaged for src in self.sources)
        s.refused_audit_records = sum(getattr(src, "refused", 0) for src in self.sources)
        s.reads_dropped = sum(getattr(src, "reads_dropped", 0) for src in self.sources)
        self.recorder.flush(s.dropped_kernel, s.dropped_queue)
        s.events = self.recorder.events

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
            elif smbd and self._audited() and ev.op is not Op.READ:
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
        if hits and (alarm := self.who.account_alarm(actor, state, self.options.incident)):
            self._raise(alarm)

    def _folder_renamed(self, ev: Event) -> bool:
        """A rename from the audit log (which does not say files from folders) of a folder."""
        return (
            ev.source in AUDIT_SOURCES
            and ev.path not in self.baseline
            and (os.path.isdir(ev.path2 or ""))
        )

    def _urgent_first(self, batch: list[Event]) -> list[Event]:
        """Events touching a decoy first (decisive, known by path alone), then arrival order:
        a multi-threaded attacker outpaces the content analysis (measured: hundreds of events
        queued, 50-250 ms of wait) and would otherwise be judged behind its own backlog."""
        urgent = [ev for ev in batch if self._decoy(ev) is not None]
        if not urgent or len(urgent) == len(batch):
            return batch
        first = {id(ev) for ev in urgent}
        return urgent + [ev for ev in batch if id(ev) not in first]

    def _decoy(self, ev: Event) -> tuple[str, str] | None:
        return decoy_of(ev, self._decoy_set, self.root)

    def _alarmed(self, pid: int) -> bool:
        """Whether the process `pid` crossed the threshold (alarmed, or waiting to be)."""
        state = self.scorer.actors.get(Actor(ActorKind.PROCESS, pid=pid).key)
        return state is not None and (state.alarmed or state.due_since is not None)

    def _released(self, released: list[Frozen]) -> None:
        """Frozen at a decoy, then judged harmless (or never judged): say so, keep a trace."""
        for f in released:
            self.hooks.note(f.describe(self.root))
            self.recorder.event(f.row(self.root))

    def _audited(self) -> bool:
        return any(s.name in AUDIT_SOURCES for s in self.sources)

    def _raise_due(self) -> None:
        """Alarm the actors past the threshold, once the SMB ones are named (or waited for)."""
        keep = []
        for state in self._due:
            actor = self.who.name(state, audited=self._audited())
            if actor is None:
                keep.append(state)
                continue
            self._raise(self.scorer.alarm(state, actor, self.options.incident))
        self._due = keep

    def _raise(self, alarm: Alarm) -> None:
        alarm = _with_run(alarm, self.recorder.run_id)
        self.recorder.alarm(alarm)
        self.summary.alarms.append(alarm)
        self.hooks.alarm(alarm)
        for response in self.dispatcher.handle(alarm):
            self.hooks.response(response)


def _hidden(path: str, root: str) -> bool:
    """The exercise's state folder and the like: dot-folders at any depth are not watched."""
    rel = os.path.relpath(path, root)
    return any(part.startswith(".rempart") for part in rel.split(os.sep))


def _wall(at: float) -> datetime:
    """A `time.monotonic()` of the recent past as a wall-clock time."""
    now = time.monotonic()
    return datetime.now(UTC) - timedelta(seconds=max(0.0, now - at) if at else 0.0)


def _with_run(alarm: Alarm, run_id: int) -> Alarm:
    return replace(alarm, run_id=run_id)


class NoResponders:
    """Used when the responders package is not there: alarms are recorded and printed only."""

    def handle(self, alarm: Alarm) -> list[Response]:
        return []

    def close(self) -> None:
        return None
