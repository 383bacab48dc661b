"""Who sees which incident, and who may change what."""

from __future__ import annotations

import pytest
from _wsworld import World
from sqlalchemy import select

from rempart.store.workspace import AuditRecord
from rempart.workspace import Forbidden, Invalid, NotFound, Role, incidents, logbook, transaction
from rempart.workspace.access import visible_incident_ids


def test_a_user_of_another_town_never_sees_the_incident(world: World) -> None:
    inc = world.incident
    with transaction(world.engine) as s:
        assert incidents.list_incidents(s, world.responder_b) == []
        assert inc.id not in visible_incident_ids(s, world.responder_b)
        with pytest.raises(NotFound):
            incidents.get_incident(s, world.responder_b, inc.key)
        # Same answer as for an incident that does not exist: nothing to probe.
        with pytest.raises(NotFound):
            incidents.get_incident(s, world.responder_b, "no-such-incident")
        with pytest.raises(NotFound):
            logbook.append(s, world.responder_b, inc.id, "I should not write here")


def test_town_members_and_the_service_see_it(world: World) -> None:
    with transaction(world.engine) as s:
        for who in (world.responder_a, world.viewer_a, world.official_a, world.service_admin):
            assert [i.key for i in incidents.list_incidents(s, who)] == ["2026-rans-a"]
        got = incidents.get_incident(s, world.responder_a, world.incident.id)
    assert got.towns == ("ville-a", "ville-c")
    assert got.owner == "ville-a"
    assert got.services == ("messagerie", "site internet")
    assert got.first_seen_at is not None and got.first_seen_at.hour == 23


def test_viewer_reads_but_does_not_write(world: World) -> None:
    with transaction(world.engine) as s, pytest.raises(Forbidden):
        logbook.append(s, world.viewer_a, world.incident.id, "hello")


def test_invited_investigator_reads_one_incident_only(world: World) -> None:
    with transaction(world.engine) as s:
        incidents.invite(s, world.responder_a, world.incident.id, "enquete@police.fr",
                         Role.INVESTIGATOR)  # fmt: skip
    investigator = world.actor(world.outsider)
    with transaction(world.engine) as s:
        assert [i.key for i in incidents.list_incidents(s, investigator)] == ["2026-rans-a"]
        assert logbook.entries(s, investigator, world.incident.id) == []
        with pytest.raises(Forbidden):
            logbook.append(s, investigator, world.incident.id, "edit attempt")


def test_another_town_invited_sees_it(world: World) -> None:
    with transaction(world.engine) as s:
        incidents.invite(s, world.responder_a, world.incident.id, "tech@ville-b.fr", Role.RESPONDER)
    helper = world.actor(world.responder_b)
    with transaction(world.engine) as s:
        assert [i.key for i in incidents.list_incidents(s, helper)] == ["2026-rans-a"]
        logbook.append(s, helper, world.incident.id, "ville-b lends a technician")


def test_incident_creation_needs_rights_over_every_town(world: World) -> None:
    with transaction(world.engine) as s:
        with pytest.raises(Forbidden):  # ville-c is not a member of the service
            incidents.create_incident(
                s, world.service_admin, key="x1", title="t", owner="agglo", towns=["ville-c"]
            )
        with pytest.raises(Forbidden):
            incidents.create_incident(
                s, world.responder_b, key="x2", title="t", owner="ville-b", towns=["ville-a"]
            )
        made = incidents.create_incident(
            s, world.service_admin, key="x3", title="t", owner="agglo", towns=["ville-b"]
        )
        assert made.towns == ("ville-b",)
        with pytest.raises(Invalid):
            incidents.create_incident(
                s, world.service_admin, key="x3", title="t", owner="agglo", towns=["ville-b"]
            )
        with pytest.raises(Invalid):
            incidents.create_incident(
                s, world.service_admin, key="bad key/", title="t", owner="agglo", towns=[]
            )
    with transaction(world.engine) as s:
        # ville-b's responder sees x3 and still not ville-a's incident
        keys = [i.key for i in incidents.list_incidents(s, world.responder_b)]
    assert keys == ["x3"]


def test_every_change_leaves_an_audit_record(world: World) -> None:
    with transaction(world.engine) as s:
        logbook.append(s, world.responder_a, world.incident.id, "server isolated")
    with transaction(world.engine) as s:
        rows = s.scalars(select(AuditRecord).order_by(AuditRecord.id)).all()
        actions = [(r.actor, r.action, r.entity) for r in rows]
    assert ("cli:test", "create", "organisation") in actions
    assert ("cli:test", "create", "incident") in actions
    assert ("tech@ville-a.fr", "append", "logbook") in actions
    last = rows[-1]
    assert last.incident_id == world.incident.id and "server isolated" in (last.after or "")
