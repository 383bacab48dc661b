"""Login throttling per account and per address (its own store: it locks people out)."""

from __future__ import annotations

from tests.web.conftest import PASSWORD, World, csrf_in


def test_login_throttling_per_account(world: World) -> None:
    c = world.client()
    for _ in range(5):
        r = c.post("/api/login", json={"email": "sam@sdn.test", "password": "wrong-password"})
        assert r.status_code == 401
    r = c.post("/api/login", json={"email": "sam@sdn.test", "password": "wrong-password"})
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    # Even the right password waits: the attacker learns nothing during the backoff.
    r = c.post("/api/login", json={"email": "sam@sdn.test", "password": PASSWORD})
    assert r.status_code == 429
    # The page says so too, in the visitor's language.
    page = c.get("/login")
    r = c.post(
        "/login", data={"email": "sam@sdn.test", "password": PASSWORD, "csrf": csrf_in(page.text)}
    )
    assert r.status_code == 429 and "rempart_session" not in r.cookies
    assert "Trop d" in r.text and r.headers["retry-after"]


def test_login_throttling_per_address(world: World) -> None:
    c = world.client()
    codes = [
        c.post("/api/login", json={"email": f"nobody{n}@x.test", "password": "guess-1234"})
        for n in range(21)  # many accounts tried from one address: a password spray
    ]
    assert [r.status_code for r in codes].count(401) <= 20 and codes[-1].status_code == 429
    r = c.post("/api/login", json={"email": "bob@ville-b.test", "password": PASSWORD})
    assert r.status_code == 429
