"""What every responder shares: declared options, the registry, idempotence, responses.

A responder is declared once as a `ResponderSpec` (name, phase, options with defaults and help,
a factory) in `RESPONDERS`; built-ins register the way an extension would. The dispatcher runs
the `block` phase first, synchronously, and the `notify` phase after, in threads.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from rempart.guard.alarm import Actor, ActorKind, Alarm, Responder, Response
from rempart.registry import Registry

Phase = Literal["block", "notify", "record"]


@dataclass(frozen=True)
class Option:
    """One configuration key of a responder: its type, default and help (documented once)."""

    name: str
    types: type | tuple[type, ...]
    default: Any
    help: str
    #: for lists: the type of the items
    item: type | None = None


@dataclass(frozen=True)
class Context:
    """What the guard run gives every responder besides its own options."""

    store_url: str
    incident: str | None = None


@dataclass(frozen=True)
class ResponderSpec:
    """How to build a responder from its options, and when it runs."""

    name: str
    phase: Phase
    help: str
    options: tuple[Option, ...]
    factory: Callable[[Mapping[str, Any], Context], Responder]
    #: the kinds of actors the responder can act on (others get no response)
    kinds: frozenset[ActorKind] = field(default_factory=lambda: frozenset(ActorKind))
    #: a finer test than `kinds` (stop-process: a user only when it is a local one, with PIDs)
    applies: Callable[[Actor], bool] | None = None

    def acts_on(self, actor: Actor) -> bool:
        return actor.kind in self.kinds and (self.applies is None or self.applies(actor))


#: Options every responder takes.
COMMON_OPTIONS = (
    Option("dry_run", bool, False, "Say what would be done, do nothing (also --dry-run)."),
    Option("enabled", bool, True, "Set to false to keep the table but not run the responder."),
)

RESPONDERS: Registry[ResponderSpec] = Registry("responder")


def now() -> datetime:
    return datetime.now(UTC)


class Once:
    """Remembers which actor keys were already acted on, so an action is never repeated."""

    def __init__(self) -> None:
        self._done: dict[str, str] = {}
        self._lock = threading.Lock()

    def claim(self, key: str) -> str | None:
        """None the first time `key` is claimed; afterwards, the detail of the first action."""
        with self._lock:
            if key in self._done:
                return self._done[key]
            self._done[key] = "in progress"
            return None

    def settle(self, key: str, detail: str, *, keep: bool) -> None:
        """Store what was done for `key`; forget it (`keep=False`) so a failure can be retried."""
        with self._lock:
            if keep:
                self._done[key] = detail
            else:
                self._done.pop(key, None)


def response(
    name: str,
    alarm: Alarm,
    *,
    ok: bool,
    dry_run: bool,
    detail: str,
    already_done: bool = False,
    extra: Mapping[str, str] | None = None,
) -> Response:
    return Response(
        responder=name,
        actor_key=alarm.actor.key,
        ok=ok,
        dry_run=dry_run,
        detail=detail,
        at=now(),
        already_done=already_done,
        extra=dict(extra or {}),
    )


def actor_json(actor: Actor) -> dict[str, Any]:
    return {
        "kind": str(actor.kind),
        "key": actor.key,
        "pid": actor.pid,
        "command": actor.command,
        "address": actor.address,
        "user": actor.user,
        "smbd_pid": actor.smbd_pid,
        "addresses": list(actor.addresses),
        "pids": list(actor.pids),
        "loop": actor.loop,
    }


def alarm_json(alarm: Alarm) -> dict[str, Any]:
    """The alarm as JSON-ready data (hooks' stdin, webhooks, e-mails)."""
    return {
        "actor": actor_json(alarm.actor),
        "at": alarm.at.isoformat(),
        "score": alarm.score,
        "reasons": list(alarm.reasons),
        "paths": list(alarm.paths),
        "watched_root": alarm.watched_root,
        "incident": alarm.incident,
        "run_id": alarm.run_id,
        "first_seen": alarm.first_seen.isoformat() if alarm.first_seen else None,
    }


def response_json(resp: Response) -> dict[str, Any]:
    return {
        "responder": resp.responder,
        "actor_key": resp.actor_key,
        "ok": resp.ok,
        "dry_run": resp.dry_run,
        "already_done": resp.already_done,
        "detail": resp.detail,
        "at": resp.at.isoformat(),
        "extra": dict(resp.extra),
    }


def summary(alarm: Alarm) -> str:
    """One line about the alarm, for alerts and logs."""
    reasons = "; ".join(alarm.reasons[:3]) or "no reason given"
    return f"rempart guard: encryption in progress by {alarm.actor.key} ({reasons})"
