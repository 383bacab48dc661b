"""The pages a browser uses: sign-in, dashboard, incident, forms, communications desk."""

from __future__ import annotations

import re

from tests.web.conftest import PASSWORD, World, csrf_in


def _open_incident(world: World, key: str, towns: str = "ville-a") -> None:
    c = world.login("alice@ville-a.test")
    form = c.get("/incidents/new")
    r = c.post(
        "/incidents/new",
        data={
            "csrf": csrf_in(form.text),
            "key": key,
            "title": f"Chiffrement du serveur ({key})",
            "owner": "ville-a",
            "towns": towns,
            "severity": "critical",
            "services": "messagerie, état civil",
            "first_seen": "2026-11-21T22:40",
        },
    )
    assert r.status_code == 200 and r.url.path == f"/incidents/{key}", r.text


def test_sign_in_dashboard_and_sign_out(world: World) -> None:
    c = world.client()
    assert c.get("/", follow_redirects=False).headers["location"] == "/login"
    page = c.get("/login")
    assert page.status_code == 200 and 'name="password"' in page.text
    set_cookie = page.headers["set-cookie"].lower()
    assert "httponly" in set_cookie and "samesite=strict" in set_cookie
    r = c.post(
        "/login",
        data={"email": "alice@ville-a.test", "password": PASSWORD, "csrf": csrf_in(page.text)},
        follow_redirects=False,
    )
    assert r.status_code == 303
    cookie = r.headers["set-cookie"].lower()
    assert "rempart_session=" in cookie and "httponly" in cookie and "samesite=strict" in cookie
    assert "secure" not in cookie  # plain HTTP on loopback: a Secure cookie would never come back
    home = c.get("/")
    assert home.status_code == 200 and "alice@ville-a.test" in home.text
    out = c.post("/logout", data={"csrf": csrf_in(home.text)}, follow_redirects=False)
    assert out.status_code == 303
    # The old cookie is dead on the server too, not just forgotten by this browser.
    c.cookies.set("rempart_session", r.cookies["rempart_session"])
    assert c.get("/", follow_redirects=False).status_code == 303


def test_wrong_password_and_login_csrf(world: World) -> None:
    c = world.client()
    token = csrf_in(c.get("/login").text)
    r = c.post("/login", data={"email": "carol@ville-a.test", "password": "nope", "csrf": token})
    assert r.status_code == 401 and "rempart_session" not in r.cookies
    # A form posted from another site has no valid token for this browser's nonce.
    other = world.client()
    r = other.post(
        "/login", data={"email": "carol@ville-a.test", "password": PASSWORD, "csrf": token}
    )
    assert r.status_code == 403 and "rempart_session" not in r.cookies


def test_incident_logbook_task_decision_contact(world: World) -> None:
    _open_incident(world, "inc-pages")
    c = world.login("alice@ville-a.test")
    page = c.get("/incidents/inc-pages")
    assert page.status_code == 200 and "Chiffrement du serveur" in page.text
    token = csrf_in(page.text)
    r = c.post(
        "/incidents/inc-pages/logbook",
        data={"csrf": token, "what": "Serveur <b>isolé</b> du réseau", "source": "téléphone"},
    )
    assert r.status_code == 200
    assert "Serveur &lt;b&gt;isolé&lt;/b&gt; du réseau" in r.text  # stored text is escaped
    r = c.post(
        "/incidents/inc-pages/logbook",
        data={"csrf": token, "what": "Serveur isolé à 23 h 10, pas 22 h 10", "corrects": "1"},
    )
    assert r.status_code == 200 and 'id="entry-2"' in r.text and "entrée 1)" in r.text
    r = c.post("/incidents/inc-pages/playbooks", data={"csrf": token, "playbook": "first-hours"})
    assert r.status_code == 200 and 'id="task-' in r.text
    task_id = int(re.search(r'id="task-(\d+)"', r.text).group(1))
    r = c.post(f"/incidents/inc-pages/tasks/{task_id}", data={"csrf": token, "status": "done"})
    assert r.status_code == 200 and f'id="task-{task_id}" class="task-done"' in r.text
    assert "<svg" in r.text  # the task progress chart
    r = c.post(
        "/incidents/inc-pages/decisions",
        data={"csrf": token, "title": "La rançon n'est pas payée", "rationale": "Doctrine ANSSI"},
    )
    assert r.status_code == 200 and "Doctrine ANSSI" in r.text
    r = c.post(
        "/incidents/inc-pages/contacts",
        data={"csrf": token, "kind": "agency", "name": "CERT-FR", "phone": "+33 1 71 75 84 68"},
    )
    assert r.status_code == 200 and "CERT-FR" in r.text
    r = c.post("/incidents/inc-pages/contacts", data={"csrf": token, "kind": "x", "name": "n"})
    assert r.status_code == 422


def test_forms_without_csrf_token_are_refused(world: World) -> None:
    _open_incident(world, "inc-csrf")
    c = world.login("alice@ville-a.test")
    for path, data in (
        ("/incidents/inc-csrf/logbook", {"what": "forged"}),
        ("/incidents/inc-csrf/logbook", {"what": "forged", "csrf": "0" * 43}),
        ("/logout", {}),
    ):
        r = c.post(path, data=data)
        assert r.status_code == 403, path
    page = c.get("/incidents/inc-csrf")
    assert "forged" not in page.text


def test_a_user_of_another_town_is_refused(world: World) -> None:
    _open_incident(world, "inc-private")
    bob = world.login("bob@ville-b.test")
    assert "inc-private" not in bob.get("/").text
    assert bob.get("/incidents/inc-private").status_code == 404
    token = csrf_in(bob.get("/").text)
    r = bob.post("/incidents/inc-private/logbook", data={"csrf": token, "what": "intrusion"})
    assert r.status_code == 404
    # The shared service's people see their member towns' incidents.
    sam = world.login("sam@sdn.test")
    assert sam.get("/incidents/inc-private").status_code == 200


def test_status_drafted_then_approved_reaches_the_public_page(world: World) -> None:
    carol = world.login("carol@ville-a.test")
    desk = carol.get("/communications")
    assert desk.status_code == 200 and "Ville-A-sur-Loire" in desk.text
    r = carol.post(
        "/communications/ville-a/drafts",
        data={
            "csrf": csrf_in(desk.text),
            "service": "email",
            "level": "down",
            "message_fr": "Messagerie coupée : appelez le 01 23 45 67 89",
            "message_en": "E-mail is down: call 01 23 45 67 89",
        },
    )
    assert r.status_code == 200 and "approve" not in r.text  # carol may draft, not approve
    public = world.client().get("/status/ville-a")
    assert "Messagerie coupée" not in public.text  # a draft is not public
    olivia = world.login("olivia@ville-a.test")
    desk = olivia.get("/communications")
    draft_id = int(re.search(r'id="draft-(\d+)"', desk.text).group(1))
    r = olivia.post(
        f"/communications/drafts/{draft_id}",
        data={"csrf": csrf_in(desk.text), "decision": "approve"},
    )
    assert r.status_code == 200
    public = world.client().get("/status/ville-a")
    assert public.status_code == 200 and "Messagerie coupée" in public.text
    assert "olivia" not in public.text and "carol" not in public.text  # no internal data
    csp = public.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp
    assert "<script" not in public.text and "<style" not in public.text
    assert public.headers["x-content-type-options"] == "nosniff"
    en = world.client().get("/status/ville-a?lang=en")
    assert "E-mail is down" in en.text
    again = world.client().get("/status/ville-a", headers={"If-None-Match": public.headers["etag"]})
    assert again.status_code == 304
    feed = world.client().get("/status/ville-a/feed.atom")
    assert feed.headers["content-type"].startswith("application/atom+xml")
    assert "Messagerie coupée" in feed.text
    assert world.client().get("/status/nowhere").status_code == 404


def test_healthz_and_language(world: World) -> None:
    c = world.client()
    assert c.get("/healthz").json() == {"status": "ok"}
    r = c.get("/lang/en?back=/login")
    assert r.status_code == 200 and "Sign in" in r.text
    for evil in ("//evil.example/", "/\\evil.example/", "https://evil.example/"):
        r = c.get("/lang/fr", params={"back": evil}, follow_redirects=False)
        assert r.headers["location"] == "/"


def test_unstorable_text_in_a_form_is_a_422(world: World) -> None:
    """A NUL character cannot be stored by PostgreSQL: a clear refusal, never a 500."""
    _open_incident(world, "inc-nul")
    c = world.login("alice@ville-a.test")
    token = csrf_in(c.get("/incidents/inc-nul").text)
    r = c.post("/incidents/inc-nul/logbook", data={"csrf": token, "what": "a\x00b"})
    assert r.status_code == 422
    # Bytes that are not UTF-8 (a lone surrogate's encoding), sent raw.
    r = c.post(
        "/incidents/inc-nul/logbook",
        content=f"csrf={token}&what=bad%ED%B2%80text".encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code in (200, 422)  # replaced on decoding, or refused: never a 500
    page = c.get("/incidents/inc-nul")
    assert "a\x00b" not in page.text


def test_chain_status_and_invitation_from_the_incident_page(world: World) -> None:
    _open_incident(world, "inc-chain")
    alice = world.login("alice@ville-a.test")
    token = csrf_in(alice.get("/incidents/inc-chain").text)
    page = alice.post("/incidents/inc-chain/logbook", data={"csrf": token, "what": "Début"})
    assert 'id="chain"' in page.text and "intègre" in page.text
    bob = world.login("bob@ville-b.test")
    assert bob.get("/incidents/inc-chain").status_code == 404
    r = alice.post(
        "/incidents/inc-chain/invitations",
        data={"csrf": token, "email": "bob@ville-b.test", "role": "investigator"},
    )
    assert r.status_code == 200
    page = bob.get("/incidents/inc-chain")
    assert page.status_code == 200 and 'id="logbook-form"' not in page.text  # read-only
    # Tampering behind the library's back shows on the page.
    from sqlalchemy import create_engine, text

    engine = create_engine(world.url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as conn:
        conn.execute(text("UPDATE ws_log_entries SET what = 'Rien' WHERE what = 'Début'"))
    engine.dispose()
    page = alice.get("/incidents/inc-chain")
    assert "rompue" in page.text and "changed" in page.text
