"""Organisations (the shared service and its member towns), users and their roles."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from rempart.store.workspace import Membership, Organisation, User
from rempart.workspace import audit
from rempart.workspace._errors import Forbidden, Invalid, NotFound
from rempart.workspace._roles import Permission, Role
from rempart.workspace.access import Actor, require_org
from rempart.workspace.passwords import check_strength, hash_password

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,59}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")


class OrgKind(StrEnum):
    SERVICE = "service"  # the shared digital service (an agglomeration's IT department)
    TOWN = "town"


@dataclass(frozen=True)
class OrgView:
    id: int
    slug: str
    name: str
    kind: OrgKind
    parent_slug: str | None


@dataclass(frozen=True)
class UserView:
    id: int
    email: str
    name: str
    active: bool
    #: (organisation slug, role) pairs
    roles: tuple[tuple[str, Role], ...]


def _org_view(s: Session, org: Organisation) -> OrgView:
    parent = s.get(Organisation, org.parent_id) if org.parent_id is not None else None
    return OrgView(org.id, org.slug, org.name, OrgKind(org.kind), parent.slug if parent else None)


def get_org(s: Session, slug: str) -> OrgView:
    """The organisation called `slug`.

    Raises:
        NotFound: no such organisation.
    """
    org = s.scalar(select(Organisation).where(Organisation.slug == slug))
    if org is None:
        raise NotFound(f"no organisation {slug!r}", hint="list them with the workspace")
    return _org_view(s, org)


def list_orgs(s: Session) -> list[OrgView]:
    """Every organisation, services first (names are not secret: the status pages show them)."""
    orgs = s.scalars(select(Organisation).order_by(Organisation.kind, Organisation.slug))
    return [_org_view(s, o) for o in orgs]


def create_org(
    s: Session, actor: Actor, slug: str, name: str, kind: OrgKind, parent: str | None = None
) -> OrgView:
    """Create an organisation; a town may belong to a service (`parent`, its slug).

    Raises:
        Invalid: bad slug, duplicate slug, a service with a parent.
        Forbidden: only the CLI operator or an admin of the parent service may do this.
    """
    if not SLUG.match(slug):
        raise Invalid(f"bad organisation slug {slug!r}", hint="lower-case letters, digits, -")
    if not name.strip():
        raise Invalid("an organisation needs a name")
    if s.scalar(select(Organisation.id).where(Organisation.slug == slug)) is not None:
        raise Invalid(f"organisation {slug!r} already exists")
    parent_id = None
    if parent is not None:
        if kind is OrgKind.SERVICE:
            raise Invalid("a shared service belongs to no other organisation")
        parent_id = get_org(s, parent).id
        require_org(s, actor, parent_id, Permission.USERS)
    elif not actor.system:
        raise Forbidden("only the operator of the store (rempart admin) creates top-level orgs")
    org = Organisation(slug=slug, name=name.strip(), kind=kind.value, parent_id=parent_id)
    s.add(org)
    s.flush()
    after = {"slug": slug, "name": org.name, "kind": kind.value, "parent": parent}
    audit.record(s, actor, "create", "organisation", org.id, after=after)
    return _org_view(s, org)


def create_user(
    s: Session,
    actor: Actor,
    email: str,
    password: str,
    *,
    name: str = "",
    roles: dict[str, Role] | None = None,
) -> UserView:
    """Create a user with an argon2id hash and roles per organisation (slug -> role).

    Raises:
        WeakPassword: the password is refused (no default or weak password ever works).
        Invalid: bad or duplicate e-mail, investigator as an organisation role.
        Forbidden: the actor is not an admin of each organisation named.
    """
    email = email.strip().lower()
    if not EMAIL.match(email):
        raise Invalid(f"not an e-mail address: {email!r}")
    if s.scalar(select(User.id).where(User.email == email)) is not None:
        raise Invalid(f"user {email} already exists")
    check_strength(password, email)
    user = User(email=email, name=name.strip(), password_hash=hash_password(password), active=1)
    s.add(user)
    s.flush()
    audit.record(s, actor, "create", "user", user.id, after={"email": email, "name": user.name})
    for slug, role in (roles or {}).items():
        grant(s, actor, user.id, slug, role)
    return get_user(s, user.id)


def grant(s: Session, actor: Actor, user_id: int, org_slug: str, role: Role) -> None:
    """Give (or change) a user's role in an organisation.

    Raises:
        Invalid: the investigator role is given per incident (`incidents.invite`), not here.
        Forbidden: the actor is not an admin there.
    """
    if role is Role.INVESTIGATOR:
        raise Invalid("the investigator role is given for one incident: invite them to it")
    org = get_org(s, org_slug)
    require_org(s, actor, org.id, Permission.USERS)
    if s.get(User, user_id) is None:
        raise NotFound(f"no user {user_id}")
    found = s.scalar(
        select(Membership).where(Membership.user_id == user_id, Membership.org_id == org.id)
    )
    before = {"org": org_slug, "role": found.role} if found else None
    if found is None:
        s.add(Membership(user_id=user_id, org_id=org.id, role=role.value))
    else:
        found.role = role.value
    s.flush()
    after = {"org": org_slug, "role": role.value}
    audit.record(s, actor, "grant", "user", user_id, before=before, after=after)


def get_user(s: Session, user_id: int) -> UserView:
    """One user with their roles.

    Raises:
        NotFound: no such user.
    """
    user = s.get(User, user_id)
    if user is None:
        raise NotFound(f"no user {user_id}")
    roles = s.execute(
        select(Organisation.slug, Membership.role)
        .join(Organisation, Organisation.id == Membership.org_id)
        .where(Membership.user_id == user_id)
        .order_by(Organisation.slug)
    ).all()
    return UserView(
        user.id, user.email, user.name, bool(user.active), tuple((o, Role(r)) for o, r in roles)
    )


def find_user(s: Session, email: str) -> UserView:
    """The user with this e-mail address.

    Raises:
        NotFound: no such user.
    """
    found = s.scalar(select(User.id).where(User.email == email.strip().lower()))
    if found is None:
        raise NotFound(f"no user {email}")
    return get_user(s, found)


def list_users(s: Session, actor: Actor, org_slug: str) -> list[UserView]:
    """Members of an organisation (for assigning tasks); needs a role there."""
    org = get_org(s, org_slug)
    require_org(s, actor, org.id, Permission.READ)
    ids = s.scalars(
        select(Membership.user_id).where(Membership.org_id == org.id).order_by(Membership.user_id)
    )
    return [get_user(s, i) for i in ids]
