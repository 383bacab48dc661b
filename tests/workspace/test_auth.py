"""Passwords, sign-in throttling, sessions and CSRF tokens, generated secrets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from _wsworld import PASSWORD, World
from sqlalchemy import select

from rempart.store.workspace import User, WebSession
from rempart.workspace import (
    BadCredentials,
    Invalid,
    LoginThrottled,
    WeakPassword,
    auth,
    orgs,
    passwords,
    transaction,
)


@pytest.mark.parametrize(
    "bad",
    ["", "short1A!", "motdepasse123", "aaaaaaaaaaaaaaaa", "alllowercase1", "marie.dupont-2026!"],
)
def test_weak_passwords_are_refused(bad: str) -> None:
    with pytest.raises(WeakPassword):
        passwords.check_strength(bad, "marie.dupont@ville-a.fr")


def test_strong_passwords_pass_and_hash_with_argon2id() -> None:
    passwords.check_strength("correct horse battery staple", "a@b.fr")
    passwords.check_strength("Tres-Bon-Mot2passe", "a@b.fr")
    hashed = passwords.hash_password("Tres-Bon-Mot2passe")
    assert hashed.startswith("$argon2id$")
    assert passwords.verify_password(hashed, "Tres-Bon-Mot2passe")
    assert not passwords.verify_password(hashed, "tres-bon-mot2passe")
    assert not passwords.verify_password("$argon2id$damaged", "x")  # damaged hash: just False


def test_no_user_without_a_strong_password(world: World) -> None:
    with transaction(world.engine) as s:
        with pytest.raises(WeakPassword):
            orgs.create_user(s, world.op, "new@ville-a.fr", "")
        with pytest.raises(Invalid):
            orgs.create_user(s, world.op, "not-an-email", PASSWORD)
        with pytest.raises(Invalid):
            orgs.create_user(s, world.op, "tech@ville-a.fr", PASSWORD)  # taken


def test_sign_in_session_csrf_and_sign_out(world: World) -> None:
    with transaction(world.engine) as s:
        actor = auth.authenticate(s, "Tech@Ville-A.fr", PASSWORD, "127.0.0.1")
        login = auth.open_session(s, actor)
    assert actor.email == "tech@ville-a.fr"
    with transaction(world.engine) as s:
        again = auth.session_login(s, login.token)
        stored = s.scalars(select(WebSession.token_hash)).all()
    assert again is not None and again.actor.user_id == actor.user_id
    assert login.token not in stored  # only its digest is kept
    assert auth.check_csrf(again, login.csrf) and not auth.check_csrf(again, "forged")
    assert not auth.check_csrf(again, "")
    with transaction(world.engine) as s:
        later = datetime.now(UTC) + auth.SESSION_TTL + timedelta(minutes=1)
        assert auth.session_login(s, login.token, now=later) is None
        auth.close_session(s, login.token)
    with transaction(world.engine) as s:
        assert auth.session_login(s, login.token) is None
        assert auth.session_login(s, "") is None


def test_wrong_passwords_are_throttled_per_account(world: World) -> None:
    t0 = datetime.now(UTC)
    for i in range(auth.FREE_TRIES):
        with transaction(world.engine) as s, pytest.raises(BadCredentials):
            auth.authenticate(
                s, "tech@ville-a.fr", "wrong", "10.0.0.1", now=t0 + timedelta(seconds=i)
            )
    with transaction(world.engine) as s, pytest.raises(LoginThrottled) as caught:
        # Even the right password waits: the attacker learns nothing during the backoff.
        auth.authenticate(s, "tech@ville-a.fr", PASSWORD, "10.0.0.2", now=t0 + timedelta(seconds=5))
    assert 0 < caught.value.retry_after <= 30
    with transaction(world.engine) as s:
        ok = auth.authenticate(
            s, "tech@ville-a.fr", PASSWORD, "10.0.0.2", now=t0 + timedelta(seconds=45)
        )
    assert ok.email == "tech@ville-a.fr"
    with transaction(world.engine) as s:  # success forgets the failures
        assert auth.retry_after(s, "tech@ville-a.fr", "10.0.0.9") == 0


def test_unknown_accounts_are_throttled_per_address(world: World) -> None:
    t0 = datetime.now(UTC)
    for i in range(auth.FREE_TRIES_PER_ADDRESS):
        with transaction(world.engine) as s, pytest.raises(BadCredentials):
            auth.authenticate(s, f"nobody{i}@x.fr", "pw", "192.0.2.7", now=t0)
    with transaction(world.engine) as s, pytest.raises(LoginThrottled):
        auth.authenticate(s, "maire@ville-a.fr", PASSWORD, "192.0.2.7", now=t0)
    with transaction(world.engine) as s:  # another address is not affected
        auth.authenticate(s, "maire@ville-a.fr", PASSWORD, "192.0.2.8", now=t0)


def test_disabled_account_cannot_sign_in(world: World) -> None:
    with transaction(world.engine) as s:
        s.scalar(select(User).where(User.email == "agent@ville-a.fr")).active = 0  # type: ignore[union-attr]
    with transaction(world.engine) as s, pytest.raises(BadCredentials):
        auth.authenticate(s, "agent@ville-a.fr", PASSWORD)


def test_secrets_are_generated_once(world: World) -> None:
    with transaction(world.engine) as s:
        first = auth.get_secret(s, "web-signing")
    with transaction(world.engine) as s:
        assert auth.get_secret(s, "web-signing") == first
        assert auth.get_secret(s, "other") != first
    assert len(first) >= 40


def test_a_session_loads_its_user_and_rights_in_one_query(world: World) -> None:
    """The session, its user, memberships and invitations: one joined query, the same actor
    as `load_actor`, and nothing kept between requests (a disabled user stops at once)."""
    from sqlalchemy import event

    from rempart.workspace import Role, incidents
    from rempart.workspace.access import load_actor
    from rempart.workspace.users import set_active

    with transaction(world.engine) as s:
        incidents.invite(
            s, world.responder_a, world.incident.id, "enquete@police.fr", Role.INVESTIGATOR
        )
        # A member of ville-a invited as well: memberships and invitations side by side.
        incidents.invite(s, world.responder_a, world.incident.id, "agent@ville-a.fr", Role.VIEWER)
    counted: list[str] = []

    def count(*args: object) -> None:
        counted.append(str(args[2]))

    for who in (world.outsider, world.viewer_a, world.responder_b):
        assert who.user_id is not None
        with transaction(world.engine) as s:
            login = auth.open_session(s, who)
        counted.clear()
        event.listen(world.engine, "before_cursor_execute", count)
        try:
            with transaction(world.engine) as s:
                found = auth.session_login(s, login.token)
        finally:
            event.remove(world.engine, "before_cursor_execute", count)
        assert len(counted) == 1
        with transaction(world.engine) as s:
            expected = load_actor(s, who.user_id)
        assert found is not None and found.actor.user_id == expected.user_id
        assert sorted(found.actor.memberships) == sorted(expected.memberships)
        assert sorted(found.actor.invitations) == sorted(expected.invitations)
        assert (found.actor.email, found.actor.name) == (expected.email, expected.name)
    with transaction(world.engine) as s:
        set_active(s, world.service_admin, "tech@ville-b.fr", False)
    with transaction(world.engine) as s:
        assert auth.session_login(s, login.token) is None
