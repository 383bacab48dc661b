"""`rempart admin create`, `rempart logbook verify|export`, `rempart status export` as run."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

from _wsworld import PASSWORD
from sqlalchemy import text

from rempart.store import open_store
from rempart.workspace import incidents, logbook, status, system_actor, transaction
from rempart.workspace.orgs import OrgKind, create_org, create_user
from rempart.workspace.status import Level

RE = str(Path(sys.executable).parent / "rempart")


def _run(*args: str, password: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "REMPART_ADMIN_PASSWORD"}
    if password is not None:
        env["REMPART_ADMIN_PASSWORD"] = password
    return subprocess.run(
        [RE, *args], capture_output=True, text=True, check=False, env=env, stdin=subprocess.DEVNULL
    )


def test_admin_create_refuses_weak_or_missing_passwords(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/s.db"
    for pw in ("", "password", "agglo-admin"):
        proc = _run(
            "admin", "create", "--email", "a@agglo.fr", "--org", "agglo", "--db", db, password=pw
        )
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    proc = _run("admin", "create", "--email", "a@agglo.fr", "--org", "agglo", "--db", db)
    assert proc.returncode == 2 and "REMPART_ADMIN_PASSWORD" in proc.stderr
    proc = _run(
        "admin",
        "create",
        "--email",
        "a@agglo.fr",
        "--org",
        "agglo",
        "--org-name",
        "Agglo",
        "--db",
        db,
        password=PASSWORD,
    )
    assert proc.returncode == 0, proc.stderr
    again = _run(
        "admin", "create", "--email", "a@agglo.fr", "--org", "agglo", "--db", db, password=PASSWORD
    )
    assert again.returncode == 2 and "already exists" in again.stderr
    town = _run(
        "admin",
        "create",
        "--email",
        "m@ville.fr",
        "--org",
        "ville",
        "--kind",
        "town",
        "--parent",
        "agglo",
        "--db",
        db,
        password=PASSWORD,
    )
    assert town.returncode == 0, town.stderr
    with transaction(open_store(db)) as s:
        from rempart.workspace import auth

        actor = auth.authenticate(s, "a@agglo.fr", PASSWORD)
    assert actor.memberships and actor.memberships[0][1].value == "admin"


def _store(tmp_path: Path) -> str:
    db = f"sqlite:///{tmp_path}/s.db"
    engine = open_store(db)
    op = system_actor("cli:test")
    with transaction(engine) as s:
        create_org(s, op, "ville-a", "Ville A", OrgKind.TOWN)
        create_user(s, op, "com@ville-a.fr", PASSWORD, roles={})
        inc = incidents.create_incident(
            s, op, key="inc-1", title="t", owner="ville-a", towns=["ville-a"]
        )
        for what in ("first", "second", "third"):
            logbook.append(s, op, inc.id, what, source="cli")
        d = status.draft(s, op, "ville-a", "website", Level.READ_ONLY, "Site figé", "Site frozen")
    # The operator drafted it; approval by the operator is the CLI's override of four eyes.
    with transaction(engine) as s:
        status.review(s, op, d.id, approve=True)
    return db


def test_logbook_verify_and_export(tmp_path: Path) -> None:
    db = _store(tmp_path)
    ok = _run("logbook", "verify", "--incident", "inc-1", "--db", db, "--json")
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["ok"] is True and json.loads(ok.stdout)["entries"] == 3
    out = tmp_path / "log.csv"
    exp = _run(
        "logbook", "export", "--incident", "inc-1", "--format", "csv", "-o", str(out), "--db", db
    )
    assert exp.returncode == 0, exp.stderr
    assert [r["what"] for r in csv.DictReader(io.StringIO(out.read_text()))] == [
        "first",
        "second",
        "third",
    ]
    jl = _run("logbook", "export", "--incident", "inc-1", "--db", db)
    assert len(jl.stdout.splitlines()) == 3
    anchor = tmp_path / "anchor.jsonl"
    anchor.write_text(jl.stdout)
    with open_store(db).begin() as conn:
        conn.execute(text("UPDATE ws_log_entries SET what='rewritten' WHERE seq=2"))
    bad = _run("logbook", "verify", "--incident", "inc-1", "--db", db)
    assert bad.returncode == 1 and "changed" in bad.stdout and "TAMPERED" in bad.stdout
    vs = _run("logbook", "verify", "--incident", "inc-1", "--against", str(anchor), "--db", db)
    assert vs.returncode == 1 and "differs" in vs.stdout
    (tmp_path / "damaged.jsonl").write_bytes(b"\xff\xfe")
    dmg = _run(
        "logbook",
        "verify",
        "--incident",
        "inc-1",
        "--against",
        str(tmp_path / "damaged.jsonl"),
        "--db",
        db,
    )
    assert dmg.returncode == 2 and "Traceback" not in dmg.stderr
    missing = _run("logbook", "verify", "--incident", "nope", "--db", db)
    assert missing.returncode == 2 and "no incident" in missing.stderr


def test_status_export_writes_the_static_site(tmp_path: Path) -> None:
    db = _store(tmp_path)
    dest = tmp_path / "site"
    proc = _run("status", "export", str(dest), "--db", db)
    assert proc.returncode == 0, proc.stderr
    assert "Site figé" in (dest / "ville-a" / "index.html").read_text()
    assert "Site frozen" in (dest / "ville-a" / "en.html").read_text()
    (tmp_path / "file").write_text("x")
    bad = _run("status", "export", str(tmp_path / "file"), "--db", db)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    unknown = _run("status", "export", str(dest), "--town", "nowhere", "--db", db)
    assert unknown.returncode == 2 and "no town" in unknown.stderr
