"""The JSON API: bearer tokens for scripts, cookies + X-CSRF-Token for browsers."""

from __future__ import annotations

from tests.web.conftest import PASSWORD, World

INCIDENT = {
    "key": "inc-api",
    "title": "Rançongiciel sur le serveur de fichiers",
    "owner": "ville-a",
    "towns": ["ville-a"],
    "severity": "high",
    "services": ["messagerie"],
    "first_seen_at": "2026-11-21T22:40:00+01:00",
}


def _incident(world: World, key: str) -> None:
    alice = world.api("alice@ville-a.test")
    r = alice.post("/api/incidents", json={**INCIDENT, "key": key})
    assert r.status_code == 201, r.text


def test_incident_round_trip(world: World) -> None:
    alice = world.api("alice@ville-a.test")
    r = alice.post("/api/incidents", json=INCIDENT)
    assert r.status_code == 201, r.text
    assert r.json()["towns"] == ["ville-a"] and r.json()["severity"] == "high"
    assert [i["key"] for i in alice.get("/api/incidents").json()].count("inc-api") == 1
    r = alice.post("/api/incidents/inc-api/logbook", json={"what": "Serveur isolé"})
    assert r.status_code == 201 and r.json()["seq"] == 1 and len(r.json()["hash"]) == 64
    r = alice.post("/api/incidents/inc-api/logbook", json={"what": "Faux", "corrects": 1})
    assert r.status_code == 201 and r.json()["corrects"] == 1
    log = alice.get("/api/incidents/inc-api/logbook").json()
    assert [e["seq"] for e in log] == [1, 2] and log[1]["prev_hash"] == log[0]["hash"]
    made = alice.post("/api/incidents/inc-api/playbooks", json={"playbook": "containment"})
    assert made.status_code == 201 and made.json()
    task = made.json()[0]["id"]
    r = alice.patch(f"/api/tasks/{task}", json={"status": "done", "assignee": "alice@ville-a.test"})
    assert r.status_code == 200 and r.json()["status"] == "done"
    assert r.json()["assignee"] == "alice@ville-a.test"
    r = alice.post(
        "/api/incidents/inc-api/decisions",
        json={"title": "Pas de paiement", "rationale": "Aucune garantie", "decided_by": "Maire"},
    )
    assert r.status_code == 201 and r.json()["decided_by"] == "Maire"
    r = alice.post(
        "/api/incidents/inc-api/contacts", json={"kind": "police", "name": "Gendarmerie"}
    )
    assert r.status_code == 201
    assert alice.get("/api/incidents/inc-api/contacts").json()[0]["name"] == "Gendarmerie"
    assert alice.get("/api/incidents/inc-api/scans").json() == []
    assert {p["id"] for p in alice.get("/api/playbooks").json()} >= {"first-hours", "recovery"}


def test_bad_input_is_a_422_not_a_crash(world: World) -> None:
    alice = world.api("alice@ville-a.test")
    for body in (
        {**INCIDENT, "key": "bad key!"},
        {**INCIDENT, "key": "inc-naive", "first_seen_at": "2026-11-21T22:40:00"},  # no zone
        {**INCIDENT, "key": "inc-nul", "title": "a\x00b"},
        {**INCIDENT, "key": "inc-sev", "severity": "apocalyptic"},
        {**INCIDENT, "key": "inc-own", "owner": "nowhere"},
    ):
        r = alice.post("/api/incidents", json=body)
        assert r.status_code == 422, (body, r.text)
    r = alice.post(
        "/api/incidents",
        content='{"key": "inc-sur", "title": "\\udc80", "owner": "ville-a", "towns": []}',
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 422, r.text  # a lone surrogate: not UTF-8, cannot be stored
    assert alice.patch(f"/api/tasks/{2**40}", json={}).status_code == 422
    assert alice.patch("/api/tasks/999999", json={}).status_code == 404
    assert alice.get("/api/incidents/nope").status_code == 404


def test_another_town_gets_404_and_roles_are_enforced(world: World) -> None:
    _incident(world, "inc-api-private")
    bob = world.api("bob@ville-b.test")
    assert "inc-api-private" not in [i["key"] for i in bob.get("/api/incidents").json()]
    assert bob.get("/api/incidents/inc-api-private").status_code == 404
    r = bob.post("/api/incidents/inc-api-private/logbook", json={"what": "x"})
    assert r.status_code == 404
    # carol (communications) reads and writes the logbook but may not record decisions.
    carol = world.api("carol@ville-a.test")
    r = carol.post(
        "/api/incidents/inc-api-private/decisions", json={"title": "t", "rationale": "r"}
    )
    assert r.status_code == 403
    # bob cannot open an incident for a town that is not his.
    r = bob.post("/api/incidents", json={**INCIDENT, "key": "inc-b-for-a"})
    assert r.status_code == 403


def test_cookie_sessions_need_the_csrf_header(world: World) -> None:
    _incident(world, "inc-api-csrf")
    c = world.client()
    r = c.post("/api/login", json={"email": "alice@ville-a.test", "password": PASSWORD})
    token, csrf = r.json()["token"], r.json()["csrf"]
    c.cookies.set("rempart_session", token)
    body = {"what": "from a cookie"}
    assert c.post("/api/incidents/inc-api-csrf/logbook", json=body).status_code == 403
    r = c.post("/api/incidents/inc-api-csrf/logbook", json=body, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 201
    assert c.get("/api/me").json()["email"] == "alice@ville-a.test"


def test_guard_webhook_and_logout(world: World) -> None:
    _incident(world, "inc-api-alert")
    guard = world.api("alice@ville-a.test")
    r = guard.post(
        "/api/incidents/inc-api-alert/alerts",
        json={"summary": "encryption in progress on \\\\srv\\share", "detail": "42 files"},
    )
    assert r.status_code == 201 and r.json()["source"] == "guard"
    assert r.json()["what"].startswith("ALERT: encryption in progress")
    assert (
        world.client()
        .post("/api/incidents/inc-api-alert/alerts", json={"summary": "x"})
        .status_code
        == 401
    )
    assert guard.post("/api/logout").status_code == 204
    assert guard.get("/api/me").status_code == 401


def test_status_api_draft_approve(world: World) -> None:
    carol = world.api("carol@ville-a.test")
    r = carol.post(
        "/api/status/ville-a/drafts",
        json={
            "service": "website",
            "level": "read_only",
            "message_fr": "Lecture",
            "message_en": "Read",
        },
    )
    assert r.status_code == 201, r.text
    draft = r.json()["id"]
    assert carol.post(f"/api/status/drafts/{draft}/approve").status_code == 403
    olivia = world.api("olivia@ville-a.test")
    assert draft in [d["id"] for d in olivia.get("/api/status/ville-a/drafts").json()]
    r = olivia.post(f"/api/status/drafts/{draft}/approve")
    assert r.status_code == 200 and r.json()["state"] == "approved"
    public = world.client().get("/api/status/ville-a").json()
    assert any(s["service"]["key"] == "website" for s in public["services"])
    bob = world.api("bob@ville-b.test")
    r = bob.post(
        "/api/status/ville-a/drafts",
        json={"service": "email", "level": "down", "message_fr": "x", "message_en": "x"},
    )
    assert r.status_code == 403


def test_investigator_invitation_audit_and_exports(world: World) -> None:
    _incident(world, "inc-api-invite")
    alice = world.api("alice@ville-a.test")
    bob = world.api("bob@ville-b.test")
    assert bob.get("/api/incidents/inc-api-invite").status_code == 404
    r = alice.post("/api/incidents/inc-api-invite/invitations", json={"email": "bob@ville-b.test"})
    assert r.status_code == 204
    assert bob.get("/api/incidents/inc-api-invite").status_code == 200  # read-only now
    assert bob.post("/api/incidents/inc-api-invite/logbook", json={"what": "x"}).status_code == 403
    alice.post("/api/incidents/inc-api-invite/logbook", json={"what": "Première entrée"})
    actions = [a["action"] for a in alice.get("/api/incidents/inc-api-invite/audit").json()]
    assert {"create", "invite", "append"} <= set(actions)
    csv = alice.get("/api/incidents/inc-api-invite/logbook.csv")
    assert csv.status_code == 200 and csv.text.startswith("seq,at,author,what")
    jsonl = bob.get("/api/incidents/inc-api-invite/logbook.jsonl")
    assert jsonl.status_code == 200 and '"Première entrée"' in jsonl.text


def test_scan_summaries_attached_to_the_incident(world: World, tmp_path) -> None:
    from rempart.cli import main

    _incident(world, "inc-api-scan")
    share = tmp_path / "share"
    share.mkdir()
    (share / "note.txt").write_text("Bonjour, ceci est un fichier texte intact.\n" * 20)
    (share / "data.bin.locked").write_bytes(bytes(range(256)) * 64)
    assert main(["scan", str(share), "--incident", "inc-api-scan", "--db", world.url]) in (0, 1)
    alice = world.api("alice@ville-a.test")
    found = alice.get("/api/incidents/inc-api-scan/scans").json()
    assert len(found) == 1 and found[0]["files"] == 2
    body = {"scan_id": found[0]["scan_id"], "town": "ville-a", "share": "Partage mairie"}
    assert alice.post("/api/incidents/inc-api-scan/scans", json=body).status_code == 204
    found = alice.get("/api/incidents/inc-api-scan/scans").json()
    assert found[0]["town"] == "ville-a" and found[0]["share"] == "Partage mairie"
    page = world.login("alice@ville-a.test").get("/incidents/inc-api-scan")
    assert 'id="chart-scans"' in page.text and "Partage mairie" in page.text


def test_guard_webhook_with_the_incident_alert_token(world: World) -> None:
    _incident(world, "inc-api-token")
    url = "/api/incidents/inc-api-token/alert-token"
    carol = world.api("carol@ville-a.test")  # communications: may not manage the incident
    assert carol.post(url).status_code == 403
    alice = world.api("alice@ville-a.test")
    assert alice.get(url).json()["active"] is False
    answer = alice.post(url).json()
    assert alice.get(url).json()["active"] is True
    guard = world.client()  # no session at all: a daemon with its token
    headers = {answer["header"]: answer["token"]}
    r = guard.post(
        "/api/incidents/inc-api-token/alerts",
        json={"summary": "canary", "source": "forged-source"},
        headers=headers,
    )
    assert r.status_code == 201 and r.json()["author"] == "guard"
    assert r.json()["source"] == "guard"
    for key, token in (("inc-api-token", "x" * 64), ("no-such-incident", answer["token"])):
        bad = {answer["header"]: token}
        r = guard.post(f"/api/incidents/{key}/alerts", json={"summary": "forged"}, headers=bad)
        assert r.status_code == 401
    _incident(world, "inc-api-token-2")  # one incident's token does not open another
    r = guard.post("/api/incidents/inc-api-token-2/alerts", json={"summary": "x"}, headers=headers)
    assert r.status_code == 401
    # Rotation: the old token stops working, the new one works; revocation closes the door.
    fresh = {answer["header"]: alice.post(url).json()["token"]}
    alert = {"summary": "again"}
    assert (
        guard.post("/api/incidents/inc-api-token/alerts", json=alert, headers=headers).status_code
        == 401
    )
    assert (
        guard.post("/api/incidents/inc-api-token/alerts", json=alert, headers=fresh).status_code
        == 201
    )
    assert alice.delete(url).status_code == 204
    assert (
        guard.post("/api/incidents/inc-api-token/alerts", json=alert, headers=fresh).status_code
        == 401
    )
    assert alice.delete(url).status_code == 404
