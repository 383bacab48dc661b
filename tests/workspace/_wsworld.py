"""A workspace with a shared service, three towns and people in each role, on each store."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine

from rempart.store import open_store
from rempart.workspace import Actor, Role, load_actor, system_actor, transaction
from rempart.workspace.incidents import IncidentView, create_incident
from rempart.workspace.orgs import OrgKind, create_org, create_user

PASSWORD = "Tres-Bon-Mot2passe"


@dataclass
class World:
    engine: Engine
    op: Actor  # the CLI operator
    service_admin: Actor
    responder_a: Actor  # responder of ville-a
    comms_a: Actor
    official_a: Actor
    viewer_a: Actor
    responder_b: Actor  # responder of ville-b: must never see ville-a's incidents
    outsider: Actor  # belongs to nobody; invited as investigator in tests
    incident: IncidentView  # touches ville-a (and the website of ville-c)

    def actor(self, who: Actor) -> Actor:
        """Reload an actor after an invitation changed their rights."""
        assert who.user_id is not None
        with transaction(self.engine) as s:
            return load_actor(s, who.user_id)


def _user(s, op: Actor, email: str, roles: dict[str, Role]) -> Actor:  # type: ignore[no-untyped-def]
    view = create_user(s, op, email, PASSWORD, roles=roles)
    return load_actor(s, view.id)


@pytest.fixture
def world(store_url: str) -> World:
    engine = open_store(store_url)
    op = system_actor("cli:test")
    with transaction(engine) as s:
        create_org(s, op, "agglo", "Agglo numérique", OrgKind.SERVICE)
        create_org(s, op, "ville-a", "Ville A", OrgKind.TOWN, "agglo")
        create_org(s, op, "ville-b", "Ville B", OrgKind.TOWN, "agglo")
        create_org(s, op, "ville-c", "Ville C", OrgKind.TOWN)
        people = {
            "service_admin": _user(s, op, "admin@agglo.fr", {"agglo": Role.ADMIN}),
            "responder_a": _user(s, op, "tech@ville-a.fr", {"ville-a": Role.RESPONDER}),
            "comms_a": _user(s, op, "com@ville-a.fr", {"ville-a": Role.COMMUNICATIONS}),
            "official_a": _user(s, op, "maire@ville-a.fr", {"ville-a": Role.OFFICIAL}),
            "viewer_a": _user(s, op, "agent@ville-a.fr", {"ville-a": Role.VIEWER}),
            "responder_b": _user(s, op, "tech@ville-b.fr", {"ville-b": Role.RESPONDER}),
            "outsider": _user(s, op, "enquete@police.fr", {}),
        }
        incident = create_incident(
            s,
            op,
            key="2026-rans-a",
            title="Rançongiciel sur le serveur de fichiers",
            owner="ville-a",
            towns=["ville-a", "ville-c"],
            services=["messagerie", "site internet"],
            first_seen_at=datetime(2026, 11, 21, 23, 40, tzinfo=UTC),
        )
    return World(engine=engine, op=op, incident=incident, **people)
