"""Accounts after their creation: disable or re-enable a user, change or reset a password.

Who may: the CLI operator; an admin of every organisation the user belongs to (a town's admin
does not lock out someone who also works for another town); for a password, the user themself
with their current password. A disabled account cannot sign in and its sessions end at once.
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from rempart.store.workspace import Membership, User, WebSession
from rempart.workspace import audit
from rempart.workspace._errors import BadCredentials, Forbidden, Invalid, NotFound
from rempart.workspace._roles import Permission, allows
from rempart.workspace.access import Actor, org_roles
from rempart.workspace.orgs import UserView, get_user
from rempart.workspace.passwords import check_strength, hash_password, verify_password


def _user(s: Session, email: str) -> User:
    found = s.scalar(select(User).where(User.email == email.strip().lower()))
    if found is None:
        raise NotFound(f"no user {email}")
    return found


def _may_manage(s: Session, actor: Actor, user: User) -> bool:
    if actor.system:
        return True
    orgs = list(s.scalars(select(Membership.org_id).where(Membership.user_id == user.id)))
    # A user in no organisation (an invited investigator) is managed from the CLI only.
    return bool(orgs) and all(allows(org_roles(s, actor, o), Permission.USERS) for o in orgs)


def _end_sessions(s: Session, user_id: int) -> int:
    done = s.execute(delete(WebSession).where(WebSession.user_id == user_id))
    return int(getattr(done, "rowcount", 0) or 0)


def set_active(s: Session, actor: Actor, email: str, active: bool) -> UserView:
    """Disable (active=False) or re-enable a user; disabling ends their sessions.

    Raises:
        NotFound: no such user.
        Forbidden: the actor does not administer all the user's organisations.
        Invalid: a user tries to disable their own account (an admin would lock themself out).
    """
    user = _user(s, email)
    if not _may_manage(s, actor, user):
        raise Forbidden(f"{actor.label} may not manage the account of {user.email}")
    if not active and user.id == actor.user_id:
        raise Invalid("you cannot disable your own account", hint="ask another administrator")
    before = {"active": bool(user.active)}
    user.active = 1 if active else 0
    ended = 0 if active else _end_sessions(s, user.id)
    s.flush()
    after = {"active": active, "sessions_ended": ended}
    action = "enable" if active else "disable"
    audit.record(s, actor, action, "user", user.id, before=before, after=after)
    return get_user(s, user.id)


def change_password(
    s: Session, actor: Actor, email: str, new_password: str, *, current: str | None = None
) -> UserView:
    """Set a new password (argon2id); every session of the user ends.

    A user changing their own password gives the current one; an administrator of all their
    organisations (or the CLI operator) resets it without. Neither password reaches the audit.

    Raises:
        NotFound: no such user.
        BadCredentials: the current password is wrong (own change).
        Forbidden: someone else's account the actor does not administer.
        WeakPassword: the new password is refused.
    """
    user = _user(s, email)
    own = actor.user_id == user.id and not actor.system
    if own:
        if current is None or not verify_password(user.password_hash, current):
            raise BadCredentials("the current password is wrong")
    elif not _may_manage(s, actor, user):
        raise Forbidden(f"{actor.label} may not manage the account of {user.email}")
    check_strength(new_password, user.email)
    user.password_hash = hash_password(new_password)
    # Whoever held a session (perhaps with the old, leaked password) must sign in again.
    ended = _end_sessions(s, user.id)
    s.flush()
    after = {"by": "self" if own else "admin", "sessions_ended": ended}
    audit.record(s, actor, "password", "user", user.id, after=after)
    return get_user(s, user.id)
