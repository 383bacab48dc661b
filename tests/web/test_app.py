"""The application's plumbing: health check, HTTPS cookies and headers, translations."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import create_engine
from tests.web.conftest import PASSWORD, build_world, csrf_in

from rempart.web import _i18n, create_app

TEMPLATES = Path(__file__).parents[2] / "src" / "rempart" / "web" / "templates"


def test_healthz_says_503_when_the_store_is_gone(tmp_path: Path) -> None:
    app = create_app(f"sqlite:///{tmp_path / 'store.db'}")
    with TestClient(app) as c:
        assert c.get("/healthz").status_code == 200
        # A PostgreSQL server that is not there (port 1 on loopback refuses at once).
        app.state.web.engine = create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
        r = c.get("/healthz")
        assert r.status_code == 503 and r.json() == {"status": "unavailable"}


def test_https_marks_cookies_secure_and_sends_hsts(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    build_world(url)
    with TestClient(create_app(url, https=True), base_url="https://testserver") as c:
        page = c.get("/login")
        assert "secure" in page.headers["set-cookie"].lower()
        assert page.headers["strict-transport-security"].startswith("max-age=")
        r = c.post(
            "/login",
            data={"email": "alice@ville-a.test", "password": PASSWORD, "csrf": csrf_in(page.text)},
            follow_redirects=False,
        )
        cookie = r.headers["set-cookie"].lower()
        assert "rempart_session=" in cookie and "secure" in cookie and "httponly" in cookie


def test_the_secret_is_made_on_first_run_and_kept(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    first = create_app(url).state.web.login_secret
    assert len(first) >= 40 and first == create_app(url).state.web.login_secret
    assert first != create_app(f"sqlite:///{tmp_path / 'other.db'}").state.web.login_secret


def test_every_text_used_by_a_template_exists_in_both_languages() -> None:
    used: set[str] = set()
    for template in TEMPLATES.glob("*.j2"):
        used |= set(re.findall(r"\bt\.([a-z_]+)", template.read_text(encoding="utf-8")))
    fr, en = _i18n.messages("fr"), _i18n.messages("en")
    for key in used:
        assert fr[key] and en[key], key
    assert fr["login"] != en["login"]
