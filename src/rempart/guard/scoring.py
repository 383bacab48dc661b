"""Per-actor scores: indicators' points add up; past the threshold, an alarm.

Actors are processes (fanotify PIDs), SMB clients (address, from the audit log) and, when
neither is known (inotify), one anonymous local actor. Points do not decay: a slow attack
(three files a minute) adds up as a fast one does; actors idle for an hour are forgotten.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from rempart.guard.alarm import Actor, Alarm
from rempart.guard.behaviour import note_created, note_flow
from rempart.guard.content import Content
from rempart.guard.events import Event
from rempart.guard.indicators import INDICATORS, History, Hit, Observation

THRESHOLD = 2.0
_IDLE = 3600.0
_SWEEP = 60.0  # seconds between two sweeps of idle actors
#: actors kept at most: every process that reads a file of the share is one (reads feed the
#: type funnel), so `find -exec cat` over a big share would otherwise keep one per file for
#: an hour; past it, actors without points go first, the least recently seen first
MAX_ACTORS = 20_000
_KEEP_PATHS = 20
_KEEP_REASONS = 12


@dataclass
class ActorState:
    actor: Actor
    score: float = 0.0
    hits: list[Hit] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    first_seen: datetime | None = None
    last_seen: float = 0.0
    history: History = field(default_factory=History)
    alarmed: bool = False
    #: when the threshold was crossed but the actor could not be named yet (SMB correlation)
    due_since: float | None = None


class Scorer:
    def __init__(self, root: str, threshold: float = THRESHOLD) -> None:
        self.root = root
        self.threshold = threshold
        self.actors: dict[str, ActorState] = {}
        self._swept = time.monotonic()

    def state(self, actor: Actor) -> ActorState:
        found = self.actors.get(actor.key)
        now = time.monotonic()
        if found is None:
            if now - self._swept > _SWEEP:  # readers make many short-lived actors
                self._forget_idle()
                self._swept = now
            if len(self.actors) >= MAX_ACTORS:
                self._evict()
            found = self.actors[actor.key] = ActorState(actor)
        found.last_seen = now
        return found

    def read(self, state: ActorState, event: Event, before: Content | None) -> None:
        """A file the actor read: only its format is kept (no indicator runs on a read)."""
        note_flow(Observation(event, "", before, None, state.history))

    def observe(
        self,
        state: ActorState,
        event: Event,
        rel: str,
        before: Content | None,
        after: Content | None,
        decoy: tuple[str, str] | None = None,
    ) -> list[Hit]:
        """Run every indicator on one operation of `state`'s actor; returns the hits."""
        obs = Observation(event, rel, before, after, state.history, decoy)
        note_flow(obs)
        hits = [hit for _, ind in INDICATORS.items() if (hit := ind(obs)) is not None]
        note_created(obs)
        if hits:
            if state.first_seen is None:
                state.first_seen = datetime.now(UTC)
            state.score += sum(h.points for h in hits)
            state.hits.extend(hits)
            if obs.rel not in state.paths and len(state.paths) < _KEEP_PATHS:
                state.paths.append(obs.rel)
        return hits

    def crossed(self, state: ActorState) -> bool:
        return not state.alarmed and state.score >= self.threshold

    def alarm(self, state: ActorState, actor: Actor, incident: str | None) -> Alarm:
        state.alarmed = True
        strongest = sorted(state.hits, key=lambda h: -h.points)[:_KEEP_REASONS]
        return Alarm(
            actor=actor,
            at=datetime.now(UTC),
            score=round(state.score, 2),
            reasons=tuple(h.reason for h in strongest),
            paths=tuple(state.paths),
            watched_root=self.root,
            incident=incident,
            first_seen=state.first_seen,
        )

    def _evict(self) -> None:
        """Down to 90% of MAX_ACTORS: actors without points first (readers), least recently
        seen first; an actor alarmed or waiting to be is kept."""
        self._forget_idle()
        excess = len(self.actors) - int(MAX_ACTORS * 0.9)
        if excess <= 0:
            return
        candidates = [
            (s.score > 0, s.last_seen, k)
            for k, s in self.actors.items()
            if not s.alarmed and s.due_since is None
        ]
        for _points, _seen, key in sorted(candidates)[:excess]:
            del self.actors[key]

    def _forget_idle(self) -> None:
        now = time.monotonic()
        for key in [k for k, s in self.actors.items() if now - s.last_seen > _IDLE]:
            del self.actors[key]
