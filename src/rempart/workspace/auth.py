"""Signing in: credentials, throttling, server-side sessions with their CSRF token, secrets.

The web layer keeps only an opaque token in a cookie; the store keeps its SHA-256, so a copy
of the database does not let anyone sign in.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Engine,
    Select,
    String,
    bindparam,
    delete,
    func,
    insert,
    literal,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from rempart.store.workspace import (
    Invitation,
    LoginFailure,
    Membership,
    Secret,
    User,
    WebSession,
)
from rempart.workspace import audit
from rempart.workspace._errors import BadCredentials, LoginThrottled
from rempart.workspace._roles import Role
from rempart.workspace.access import Actor, load_actor
from rempart.workspace.passwords import dummy_hash, hash_password, needs_rehash, verify_password

#: Failures counted over this window; past FREE_TRIES the wait doubles with each failure.
WINDOW = timedelta(minutes=15)
FREE_TRIES = 5
FREE_TRIES_PER_ADDRESS = 20
MAX_WAIT = 900
SESSION_TTL = timedelta(hours=12)


@dataclass(frozen=True)
class WebLogin:
    """A signed-in browser: `token` goes in the cookie, `csrf` in every form."""

    token: str
    csrf: str
    actor: Actor
    expires_at: datetime


def aware(value: datetime) -> datetime:
    """A UTC-aware datetime (SQLite gives naive values back, PostgreSQL aware ones)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _wait(failures: int, free: int, last: datetime | None, now: datetime) -> int:
    if failures < free or last is None:
        return 0
    wait = min(MAX_WAIT, 30 * 2 ** (failures - free))
    left = wait - (now - aware(last)).total_seconds()
    return max(0, int(left + 0.999))


def retry_after(s: Session, email: str, address: str, now: datetime | None = None) -> int:
    """Seconds before this account or address may try again (0: now)."""
    now = now or datetime.now(UTC)
    since = now - WINDOW
    email = email.strip().lower()
    by_email = s.execute(
        select(func.count(), func.max(LoginFailure.at)).where(
            LoginFailure.email == email, LoginFailure.at >= since
        )
    ).one()
    by_addr = s.execute(
        select(func.count(), func.max(LoginFailure.at)).where(
            LoginFailure.address == address, LoginFailure.at >= since
        )
    ).one()
    return max(
        _wait(by_email[0], FREE_TRIES, by_email[1], now),
        _wait(by_addr[0], FREE_TRIES_PER_ADDRESS, by_addr[1], now),
    )


def authenticate(
    s: Session, email: str, password: str, address: str = "", now: datetime | None = None
) -> Actor:
    """Check credentials, with throttling per account and per address.

    Raises:
        LoginThrottled: too many recent failures (checked before the password).
        BadCredentials: unknown e-mail, disabled account or wrong password.
    """
    now = now or datetime.now(UTC)
    email = email.strip().lower()
    wait = retry_after(s, email, address, now)
    if wait:
        raise LoginThrottled(wait)
    user = s.scalar(select(User).where(User.email == email))
    # An unknown e-mail still costs one verification: timing does not tell who has an account.
    ok = verify_password(user.password_hash if user else dummy_hash(), password)
    if user is None or not ok or not user.active:
        _remember_failure(s, email, address, now)
        raise BadCredentials("wrong e-mail or password")
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    s.execute(delete(LoginFailure).where(LoginFailure.email == email))
    return load_actor(s, user.id)


def _remember_failure(s: Session, email: str, address: str, now: datetime) -> None:
    # Committed on its own connection: the caller's transaction rolls back with the
    # BadCredentials raised next, and the failure must count all the same. Call
    # `authenticate` before writing anything else in the session (SQLite has one writer).
    bind = s.get_bind()
    if not isinstance(bind, Engine):
        raise TypeError("workspace sessions are bound to the store's engine")
    with bind.connect() as conn:
        conn.execute(insert(LoginFailure).values(email=email, address=address[:64], at=now))
        # Older failures no longer count: keep the table small under a password spray.
        conn.execute(delete(LoginFailure).where(LoginFailure.at < now - WINDOW))
        conn.commit()


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(s: Session, actor: Actor, now: datetime | None = None) -> WebLogin:
    """Start a session for a signed-in actor (records a "login" audit entry)."""
    if actor.user_id is None:
        raise BadCredentials("the CLI operator has no web session")
    now = now or datetime.now(UTC)
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    expires = now + SESSION_TTL
    s.execute(delete(WebSession).where(WebSession.expires_at <= now))
    s.add(
        WebSession(
            token_hash=_digest(token),
            user_id=actor.user_id,
            csrf=csrf,
            created_at=now,
            expires_at=expires,
        )
    )
    audit.record(s, actor, "login", "user", actor.user_id)
    s.flush()
    return WebLogin(token, csrf, actor, expires)


def _session_statement() -> Select[tuple[Any, ...]]:
    # Built once per process: statement building cost as much as running it.
    grants = union_all(
        select(
            Membership.user_id.label("user_id"),
            literal("org", String(3)).label("kind"),
            Membership.org_id.label("ref"),
            Membership.role.label("role"),
        ),
        select(
            Invitation.user_id, literal("inc", String(3)), Invitation.incident_id, Invitation.role
        ),
    ).subquery()
    return (
        select(
            WebSession.csrf,
            WebSession.expires_at,
            User.id,
            User.email,
            User.name,
            User.active,
            grants.c.kind,
            grants.c.ref,
            grants.c.role,
        )
        .join(User, User.id == WebSession.user_id)
        .outerjoin(grants, grants.c.user_id == User.id)
        .where(WebSession.token_hash == bindparam("digest"))
    )


_SESSION = _session_statement()


def session_login(s: Session, token: str, now: datetime | None = None) -> WebLogin | None:
    """The session behind a cookie token; None when unknown, expired or its user disabled.

    One query (session, user, memberships and invitations joined): it runs on every page,
    and nothing of it is cached, so a closed session or a disabled account stops at once.
    """
    if not token:
        return None
    now = now or datetime.now(UTC)
    rows = s.execute(_SESSION, {"digest": _digest(token)}).all()
    if not rows:
        return None
    csrf, expires_at, user_id, email, name, active = rows[0][:6]
    if not active or aware(expires_at) <= now:
        return None
    members = tuple(
        (ref, Role(role)) for _, _, _, _, _, _, kind, ref, role in rows if kind == "org"
    )
    invited = tuple(
        (ref, Role(role)) for _, _, _, _, _, _, kind, ref, role in rows if kind == "inc"
    )
    actor = Actor(user_id, email, name, memberships=members, invitations=invited)
    return WebLogin(token, csrf, actor, aware(expires_at))


def close_session(s: Session, token: str) -> None:
    """Sign out: forget the session (unknown tokens are ignored)."""
    s.execute(delete(WebSession).where(WebSession.token_hash == _digest(token)))


def check_csrf(login: WebLogin, sent: str) -> bool:
    """True when the token sent with a form is the session's (constant-time compare)."""
    return bool(sent) and secrets.compare_digest(login.csrf, sent)


def get_secret(s: Session, name: str) -> str:
    """A secret generated on first use and kept in the store (never a default value)."""
    found = s.get(Secret, name)
    if found is not None:
        return found.value
    value = secrets.token_urlsafe(48)
    s.add(Secret(name=name, value=value))
    s.flush()
    return value
