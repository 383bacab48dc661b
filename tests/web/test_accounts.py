"""A disabled account or a changed password ends the sessions already open in browsers."""

from __future__ import annotations

from tests.web.conftest import PASSWORD, World

from rempart.store import open_store
from rempart.workspace import Role, system_actor, transaction
from rempart.workspace.orgs import create_user
from rempart.workspace.users import change_password, set_active


def test_disabling_a_user_ends_their_sessions(world: World) -> None:
    engine = open_store(world.url)
    try:
        with transaction(engine) as s:
            create_user(
                s, system_actor(), "dora@ville-a.test", PASSWORD, roles={"ville-a": Role.VIEWER}
            )
        browser = world.login("dora@ville-a.test")
        script = world.api("dora@ville-a.test")
        assert script.get("/api/me").status_code == 200
        with transaction(engine) as s:
            set_active(s, system_actor(), "dora@ville-a.test", False)
        assert script.get("/api/me").status_code == 401
        page = browser.get("/", follow_redirects=False)
        assert page.status_code == 303 and page.headers["location"].startswith("/login")
        refused = world.client().post(
            "/api/login", json={"email": "dora@ville-a.test", "password": PASSWORD}
        )
        assert refused.status_code == 401
        with transaction(engine) as s:
            set_active(s, system_actor(), "dora@ville-a.test", True)
        script = world.api("dora@ville-a.test")
        with transaction(engine) as s:
            change_password(s, system_actor(), "dora@ville-a.test", "Autre-Mot-De-Passe-2026!")
        assert script.get("/api/me").status_code == 401
    finally:
        engine.dispose()
