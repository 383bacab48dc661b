"""The alert webhook's token: made, rotated and revoked by the incident's managers, hashed."""

from __future__ import annotations

import pytest
from _wsworld import World
from sqlalchemy import event, select

from rempart.store.workspace import AlertToken, AuditRecord
from rempart.workspace import (
    BadCredentials,
    Forbidden,
    Invalid,
    NotFound,
    alerts,
    incidents,
    logbook,
    tasks,
    transaction,
)


def test_token_life_cycle_is_audited_and_never_stored_in_clear(world: World) -> None:
    inc = world.incident
    with transaction(world.engine) as s:
        assert alerts.has_token(s, world.responder_a, inc.id) is False
        first = alerts.create_token(s, world.responder_a, inc.id)
        with pytest.raises(Invalid):
            alerts.create_token(s, world.responder_a, inc.id)
        stored = s.scalars(select(AlertToken.token_hash)).all()
        assert len(first) >= 40 and stored and first not in stored[0]
        entry = alerts.receive_alert(s, inc.key, first, "  canary renamed  ", "on \\\\srv\\rh")
        assert (entry.author, entry.source) == ("guard", "guard")
        assert entry.what == "ALERT: canary renamed\non \\\\srv\\rh"
        second = alerts.rotate_token(s, world.service_admin, inc.id)
        with pytest.raises(BadCredentials):
            alerts.receive_alert(s, inc.key, first, "old token")
        alerts.receive_alert(s, inc.key, second, "new token")
        alerts.revoke_token(s, world.responder_a, inc.id)
        with pytest.raises(BadCredentials):
            alerts.receive_alert(s, inc.key, second, "revoked")
        with pytest.raises(NotFound):
            alerts.revoke_token(s, world.responder_a, inc.id)
        trail = s.execute(
            select(AuditRecord.actor, AuditRecord.action, AuditRecord.after).where(
                AuditRecord.entity == "alert_token"
            )
        ).all()
        assert [(a, b) for a, b, _ in trail] == [
            ("tech@ville-a.fr", "create"),
            ("admin@agglo.fr", "rotate"),
            ("tech@ville-a.fr", "revoke"),
        ]
        assert all(
            first not in (after or "") and second not in (after or "") for *_, after in trail
        )
        assert [e.what for e in logbook.entries(s, world.viewer_a, inc.id)][-2:] == [
            "ALERT: canary renamed\non \\\\srv\\rh",
            "ALERT: new token",
        ]
        assert logbook.verify(s, world.op, inc.id).ok


def test_only_managers_and_only_their_incident(world: World) -> None:
    inc = world.incident
    with transaction(world.engine) as s:
        for who in (world.viewer_a, world.comms_a):
            with pytest.raises(Forbidden):
                alerts.rotate_token(s, who, inc.id)
        with pytest.raises(NotFound):  # another town: the incident does not exist for them
            alerts.rotate_token(s, world.responder_b, inc.id)
        token = alerts.rotate_token(s, world.responder_a, inc.id)
        other = incidents.create_incident(
            s, world.op, key="2026-other", title="Autre", owner="ville-a", towns=["ville-a"]
        )
        for key, sent in (("2026-other", token), ("no-such-key", token), (inc.key, "")):
            with pytest.raises(BadCredentials):
                alerts.receive_alert(s, key, sent, "forged")
        with pytest.raises(Invalid):
            alerts.receive_alert(s, inc.key, token, "   ")
        assert logbook.entries(s, world.op, other.id) == []


def test_dashboard_reads_cost_the_same_whatever_the_number_of_incidents(world: World) -> None:
    def cost(n: int) -> int:
        with transaction(world.engine) as s:
            for i in range(n):
                incidents.create_incident(
                    s, world.op, key=f"q-{n}-{i}", title="t", owner="ville-a", towns=["ville-c"]
                )
        counted = [0]

        def count(*_: object) -> None:
            counted[0] += 1

        event.listen(world.engine, "before_cursor_execute", count)
        try:
            with transaction(world.engine) as s:
                found = incidents.list_incidents(s, world.responder_a)
                tasks.progress(s, world.responder_a, [i.id for i in found])
        finally:
            event.remove(world.engine, "before_cursor_execute", count)
        assert all(i.towns for i in found) and all(i.owner == "ville-a" for i in found)
        return counted[0]

    # Two for the incidents (with their owners) and their towns, one for the task counts.
    assert cost(1) == cost(6) == 3
