"""Disabling accounts and changing passwords: who may, what it ends, what the audit keeps."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from _wsworld import PASSWORD, World
from sqlalchemy import select

from rempart.store import open_store
from rempart.store.workspace import AuditRecord
from rempart.workspace import (
    BadCredentials,
    Forbidden,
    Invalid,
    NotFound,
    Role,
    WeakPassword,
    auth,
    transaction,
)
from rempart.workspace.orgs import OrgKind, create_org, create_user
from rempart.workspace.users import change_password, set_active

NEW = "Nouveau-Mot-De-Passe-2026!"
RE = str(Path(sys.executable).parent / "rempart")


def test_disabled_user_is_signed_out_and_cannot_sign_in(world: World) -> None:
    with transaction(world.engine) as s:
        login = auth.open_session(s, world.viewer_a)
        assert auth.session_login(s, login.token) is not None
        view = set_active(s, world.service_admin, "AGENT@ville-a.fr", False)
        assert view.active is False
        assert auth.session_login(s, login.token) is None
    with transaction(world.engine) as s, pytest.raises(BadCredentials):
        auth.authenticate(s, "agent@ville-a.fr", PASSWORD)
    with transaction(world.engine) as s:
        assert set_active(s, world.op, "agent@ville-a.fr", True).active is True
        assert auth.authenticate(s, "agent@ville-a.fr", PASSWORD).email == "agent@ville-a.fr"
        trail = s.execute(
            select(AuditRecord.actor, AuditRecord.action, AuditRecord.before, AuditRecord.after)
            .where(AuditRecord.entity == "user", AuditRecord.action.in_(["disable", "enable"]))
            .order_by(AuditRecord.id)
        ).all()
    assert [(a, b) for a, b, *_ in trail] == [
        ("admin@agglo.fr", "disable"),
        ("cli:test", "enable"),
    ]
    assert '"active": true' in (trail[0][2] or "") and '"sessions_ended": 1' in (trail[0][3] or "")


def test_who_may_disable(world: World) -> None:
    with transaction(world.engine) as s:
        create_org(s, world.op, "ville-d", "Ville D", OrgKind.TOWN)
        create_user(s, world.op, "x@ville-d.fr", PASSWORD, roles={"ville-d": Role.ADMIN})
    with transaction(world.engine) as s:
        for who in (world.responder_a, world.official_a, world.responder_b):
            with pytest.raises(Forbidden):
                set_active(s, who, "agent@ville-a.fr", False)
        with pytest.raises(Forbidden):  # the agglo's admin does not run ville-d
            set_active(s, world.service_admin, "x@ville-d.fr", False)
        with pytest.raises(Forbidden):  # no organisation: the CLI operator only
            set_active(s, world.service_admin, "enquete@police.fr", False)
        with pytest.raises(Invalid):
            set_active(s, world.service_admin, "admin@agglo.fr", False)
        with pytest.raises(NotFound):
            set_active(s, world.op, "nobody@nowhere.fr", False)


def test_change_password_own_and_by_an_admin(world: World) -> None:
    with transaction(world.engine) as s:
        login = auth.open_session(s, world.responder_a)
        with pytest.raises(BadCredentials):
            change_password(s, world.responder_a, "tech@ville-a.fr", NEW, current="wrong")
        with pytest.raises(BadCredentials):
            change_password(s, world.responder_a, "tech@ville-a.fr", NEW)
        with pytest.raises(WeakPassword):
            change_password(s, world.responder_a, "tech@ville-a.fr", "password", current=PASSWORD)
        with pytest.raises(Forbidden):  # a responder does not reset a colleague's password
            change_password(s, world.responder_a, "agent@ville-a.fr", NEW)
        change_password(s, world.responder_a, "tech@ville-a.fr", NEW, current=PASSWORD)
        assert auth.session_login(s, login.token) is None
    with transaction(world.engine) as s:
        assert auth.authenticate(s, "tech@ville-a.fr", NEW).email == "tech@ville-a.fr"
    with transaction(world.engine) as s, pytest.raises(BadCredentials):
        auth.authenticate(s, "tech@ville-a.fr", PASSWORD)
    with transaction(world.engine) as s:
        change_password(s, world.service_admin, "tech@ville-a.fr", PASSWORD)  # reset
        rows = s.execute(
            select(AuditRecord.actor, AuditRecord.after).where(AuditRecord.action == "password")
        ).all()
    assert [r[0] for r in rows] == ["tech@ville-a.fr", "admin@agglo.fr"]
    assert all(NEW not in (r[1] or "") and PASSWORD not in (r[1] or "") for r in rows)
    assert '"by": "self"' in (rows[0][1] or "") and '"by": "admin"' in (rows[1][1] or "")


def _run(*args: str, password: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "REMPART_ADMIN_PASSWORD"}
    if password is not None:
        env["REMPART_ADMIN_PASSWORD"] = password
    return subprocess.run(
        [RE, *args], capture_output=True, text=True, check=False, env=env, stdin=subprocess.DEVNULL
    )


def test_admin_cli_disables_enables_and_sets_passwords(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/s.db"
    made = _run("admin", "create", "--email", "a@agglo.fr", "--org", "agglo", "--db", db,
                password=PASSWORD)  # fmt: skip
    assert made.returncode == 0, made.stderr
    engine = open_store(db)
    with transaction(engine) as s:
        token = auth.open_session(s, auth.authenticate(s, "a@agglo.fr", PASSWORD)).token
    off = _run("admin", "disable", "--email", "a@agglo.fr", "--db", db)
    assert off.returncode == 0 and "disabled" in off.stdout, off.stderr
    with transaction(engine) as s:
        assert auth.session_login(s, token) is None
    assert _run("admin", "enable", "--email", "a@agglo.fr", "--db", db).returncode == 0
    weak = _run("admin", "password", "--email", "a@agglo.fr", "--db", db, password="agglo123")
    assert weak.returncode == 2 and "Traceback" not in weak.stderr
    unknown = _run("admin", "disable", "--email", "x@agglo.fr", "--db", db)
    assert unknown.returncode == 2 and "no user" in unknown.stderr
    assert "Traceback" not in unknown.stderr
    ok = _run("admin", "password", "--email", "a@agglo.fr", "--db", db, password=NEW)
    assert ok.returncode == 0, ok.stderr
    with transaction(engine) as s:
        assert auth.authenticate(s, "a@agglo.fr", NEW).email == "a@agglo.fr"
        actions = list(s.scalars(select(AuditRecord.action).where(AuditRecord.entity == "user")))
    assert actions[-3:] == ["disable", "enable", "password"]
    engine.dispose()
