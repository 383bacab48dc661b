"""The guard's webhook into a real `rempart serve`: an alarm lands in the incident's logbook.

The `alert` responder posts to `/api/incidents/KEY/alerts` with the incident's alert token,
as docs/guard.md tells an operator to configure it; a wrong token is refused and said.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from tests.e2e._serve import serving
from tests.web.conftest import build_world

from rempart.guard.alarm import Actor, ActorKind, Alarm
from rempart.guard.respond import build_dispatcher
from rempart.guard.respond._dispatch import Dispatcher
from rempart.store import open_store
from rempart.store.workspace import LogEntry
from rempart.workspace import alerts, system_actor, transaction
from rempart.workspace.incidents import create_incident

KEY = "2026-rans-webhook"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, str, str]]:
    """`rempart serve` on loopback with one incident and its alert token: (base, store, token)."""
    url = f"sqlite:///{tmp_path / 'store.db'}"
    build_world(url)
    engine = open_store(url)
    with transaction(engine) as s:
        inc = create_incident(
            s, system_actor(), key=KEY, title="Chiffrement", owner="ville-a", towns=["ville-a"]
        )
        token = alerts.create_token(s, system_actor(), inc.id)
    engine.dispose()
    with serving(url) as base:
        yield base, url, token


def _alarm() -> Alarm:
    return Alarm(
        actor=Actor(ActorKind.SMB_CLIENT, address="10.20.0.8", user="agent.rh"),
        at=datetime.now(UTC),
        score=3.5,
        reasons=("decoy written: !0000 Budget primitif - confidentiel.docx", "format broken"),
        paths=("Ressources humaines/paie.xlsx",),
        watched_root="/srv/partage",
    )


def _alert(base: str, token: str, tmp: Path) -> Dispatcher:
    """The `alert` responder as a guard builds it from the TOML file docs/guard.md shows."""
    config = tmp / "guard.toml"
    config.write_text(
        "[alert]\nsyslog = false\n"
        f'webhook_url = "{base}/api/incidents/{KEY}/alerts"\nwebhook_token = "{token}"\n'
    )
    return build_dispatcher(
        config,
        ["alert"],
        store_url=f"sqlite:///{tmp / 'guard.db'}",
        incident=None,
        dry_run=False,
    )


def test_an_alarm_lands_in_the_incident_logbook(
    served: tuple[str, str, str], tmp_path: Path
) -> None:
    base, url, token = served
    dispatcher = _alert(base, token, tmp_path)
    try:
        (response,) = [r for r in dispatcher.handle(_alarm()) if r.responder == "alert"]
    finally:
        dispatcher.close()
    assert response.ok, response.detail
    assert "HTTP 201" in response.extra["webhook"]
    engine = open_store(url)
    with engine.connect() as conn:
        texts = conn.scalars(select(LogEntry.what)).all()
    engine.dispose()
    (entry,) = [t for t in texts if t.startswith("ALERT: ")]
    assert "encryption in progress by smb-client:10.20.0.8" in entry
    assert "- decoy written: !0000 Budget primitif - confidentiel.docx" in entry
    assert "- Ressources humaines/paie.xlsx" in entry


def test_a_wrong_token_is_refused_and_said(served: tuple[str, str, str], tmp_path: Path) -> None:
    base, _url, _token = served
    dispatcher = _alert(base, "not-the-token", tmp_path)
    try:
        (response,) = [r for r in dispatcher.handle(_alarm()) if r.responder == "alert"]
    finally:
        dispatcher.close()
    assert not response.ok
    assert "401" in response.extra["webhook"], response.extra
