"""Alarms to respond to, built the way the detector builds them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from rempart.guard.alarm import Actor, ActorKind, Alarm


def make_alarm(actor: Actor, **kw: object) -> Alarm:
    values: dict[str, object] = {
        "actor": actor,
        "at": datetime.now(UTC),
        "score": 12.5,
        "reasons": ("decoy written: .aaa-rempart.docx", "format broken: a.docx"),
        "paths": ("a.docx", "b.xlsx"),
        "watched_root": "/srv/share",
    }
    values.update(kw)
    return Alarm(**values)  # type: ignore[arg-type]


@pytest.fixture
def alarm_for() -> Callable[..., Alarm]:
    def build(
        *, pid: int | None = None, address: str | None = None, user: str | None = None, **kw: object
    ) -> Alarm:
        if pid is not None:
            actor = Actor(ActorKind.PROCESS, pid=pid, **kw)  # type: ignore[arg-type]
        elif address is not None:
            actor = Actor(ActorKind.SMB_CLIENT, address=address, user=user, **kw)  # type: ignore[arg-type]
        else:
            actor = Actor(ActorKind.USER, user=user or "alice")
        return make_alarm(actor)

    return build
