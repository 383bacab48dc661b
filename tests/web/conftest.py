"""A workspace with two towns of one shared service, people in each, and a web client."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from rempart.store import open_store
from rempart.web import create_app
from rempart.web.public import CACHE
from rempart.workspace import Role, passwords, system_actor, transaction
from rempart.workspace.orgs import OrgKind, create_org, create_user

PASSWORD = "Tres-Long-Mot-De-Passe-2026"
PEOPLE = {
    "sam@sdn.test": {"sdn": Role.ADMIN},
    "alice@ville-a.test": {"ville-a": Role.RESPONDER},
    "carol@ville-a.test": {"ville-a": Role.COMMUNICATIONS},
    "olivia@ville-a.test": {"ville-a": Role.OFFICIAL},
    "bob@ville-b.test": {"ville-b": Role.RESPONDER},
}


def build_world(url: str) -> None:
    """Organisations and users, made the way `rempart admin create` makes them."""
    engine = open_store(url)
    actor = system_actor()
    with transaction(engine) as s:
        create_org(s, actor, "sdn", "Service numérique partagé", OrgKind.SERVICE)
        create_org(s, actor, "ville-a", "Ville-A-sur-Loire", OrgKind.TOWN, parent="sdn")
        create_org(s, actor, "ville-b", "Ville-B", OrgKind.TOWN, parent="sdn")
        for email, roles in PEOPLE.items():
            create_user(s, actor, email, PASSWORD, name=email.split("@")[0], roles=roles)
    engine.dispose()


@dataclass
class World:
    url: str
    app_client: TestClient

    def client(self) -> TestClient:
        """A new browser (its own cookies) on the same app."""
        return TestClient(self.app_client.app, base_url="http://testserver")

    def login(self, email: str) -> TestClient:
        c = self.client()
        page = c.get("/login")
        token = csrf_in(page.text)
        r = c.post("/login", data={"email": email, "password": PASSWORD, "csrf": token})
        assert r.status_code == 200, r.text  # followed the redirect to the dashboard
        return c

    def api(self, email: str) -> TestClient:
        """A script signed in through the API with a bearer token."""
        c = self.client()
        r = c.post("/api/login", json={"email": email, "password": PASSWORD})
        assert r.status_code == 200, r.text
        c.headers["Authorization"] = f"Bearer {r.json()['token']}"
        return c


def csrf_in(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF token in the page"
    return found.group(1)


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    """One store per module and database kind (hashing passwords is slow by design)."""
    passwords.configure(time_cost=1, memory_cost=8 * 1024)  # test speed only
    if request.param == "sqlite":
        url = f"sqlite:///{Path(tmp_path_factory.mktemp('web')) / 'store.db'}"
    else:
        url = request.getfixturevalue("postgres").new_database()
    build_world(url)
    app = create_app(url)
    CACHE.clear()
    with TestClient(app) as client:
        yield World(url, client)
    app.state.web.engine.dispose()
    passwords.configure(time_cost=3, memory_cost=64 * 1024)  # argon2-cffi's defaults back
