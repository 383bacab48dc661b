"""Who is acting, and what they may see and do: the single place visibility is decided.

A user sees an incident when one of their organisations is touched by it (or owns it), when
they belong to the shared service a touched town is a member of, or when they were invited
to it (the external investigator is always an invitation, to one incident, read-only).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BindParameter, ColumnElement, Select, bindparam, false, or_, select, true
from sqlalchemy.orm import InstrumentedAttribute, Session

from rempart.store.models import Incident
from rempart.store.workspace import IncidentOrg, Invitation, Membership, Organisation, User
from rempart.workspace._errors import Forbidden, NotFound
from rempart.workspace._roles import Permission, Role, allows


@dataclass(frozen=True)
class Actor:
    """The person (or the CLI operator) on whose behalf a library function runs."""

    user_id: int | None
    email: str
    name: str = ""
    #: (organisation id, role) pairs
    memberships: tuple[tuple[int, Role], ...] = ()
    #: (incident id, role) pairs
    invitations: tuple[tuple[int, Role], ...] = ()
    #: the operator of the CLI: whoever can open the store file already holds every right
    system: bool = False

    @property
    def label(self) -> str:
        """How the audit log and the logbook name this actor."""
        return self.email


def system_actor(label: str = "cli") -> Actor:
    """The actor of CLI commands run by someone with direct access to the store."""
    return Actor(user_id=None, email=label, name=label, system=True)


def load_actor(s: Session, user_id: int) -> Actor:
    """The actor for a user id (e.g. from a web session).

    Raises:
        NotFound: no such user, or the account is disabled.
    """
    user = s.get(User, user_id)
    if user is None or not user.active:
        raise NotFound(f"no active user {user_id}")
    members = s.execute(
        select(Membership.org_id, Membership.role).where(Membership.user_id == user_id)
    ).all()
    invited = s.execute(
        select(Invitation.incident_id, Invitation.role).where(Invitation.user_id == user_id)
    ).all()
    return Actor(
        user_id=user.id,
        email=user.email,
        name=user.name,
        memberships=tuple((o, Role(r)) for o, r in members),
        invitations=tuple((i, Role(r)) for i, r in invited),
    )


def org_roles(s: Session, actor: Actor, org_id: int) -> frozenset[Role]:
    """The actor's roles over an organisation: in it, or in the service it belongs to."""
    if actor.system:
        return frozenset({Role.ADMIN, Role.OFFICIAL})
    org = s.get(Organisation, org_id)
    if org is None:
        return frozenset()
    wanted = {org.id} | ({org.parent_id} if org.parent_id is not None else set())
    return frozenset(r for o, r in actor.memberships if o in wanted)


def incident_roles(s: Session, actor: Actor, incident_id: int) -> frozenset[Role]:
    """The actor's roles on one incident; empty when they may not see it."""
    if actor.system:
        return frozenset({Role.ADMIN, Role.OFFICIAL})
    roles = {r for i, r in actor.invitations if i == incident_id}
    if roles and all(r is Role.INVESTIGATOR for r in roles):
        return frozenset(roles)  # an investigator's access never widens through an org
    incident = s.get(Incident, incident_id)
    if incident is None:
        return frozenset()
    touched = set(
        s.scalars(select(IncidentOrg.org_id).where(IncidentOrg.incident_id == incident_id))
    )
    if incident.owner_org_id is not None:
        touched.add(incident.owner_org_id)
    parents = (
        set(
            s.scalars(
                select(Organisation.parent_id).where(
                    Organisation.id.in_(touched), Organisation.parent_id.is_not(None)
                )
            )
        )
        if touched
        else set()
    )
    roles |= {r for o, r in actor.memberships if o in touched or o in parents}
    return frozenset(roles)


#: What a visibility condition looks like for an actor: (system, has orgs, has invitations).
#: Statements are built once per shape and per process; the ids go in as parameters.
Shape = tuple[bool, bool, bool]
#: The incident id column a visibility condition is about.
Column = ColumnElement[int] | InstrumentedAttribute[int]
_ORGS: BindParameter[list[int]] = bindparam("vis_orgs", expanding=True)
_INVITED: BindParameter[list[int]] = bindparam("vis_invited", expanding=True)


def visibility(actor: Actor) -> tuple[Shape, dict[str, Any]]:
    """The shape of the actor's visibility condition and its parameters (see `visible`)."""
    orgs = sorted({o for o, _ in actor.memberships})
    invited = sorted({i for i, _ in actor.invitations})
    params: dict[str, Any] = {}
    if orgs:
        params["vis_orgs"] = orgs
    if invited:
        params["vis_invited"] = invited
    return (actor.system, bool(orgs), bool(invited)), params


def visible(shape: Shape, column: Column) -> ColumnElement[bool]:
    """A SQL condition: the incident id in `column` is one the actor may see.

    Put inside the query that reads the incidents (or their tasks), so a list costs no
    separate visibility query; run it with the parameters `visibility(actor)` gives.
    """
    system, orgs, invited = shape
    if system:
        return true()
    conditions = []
    if orgs:
        # The actor's organisations and the towns of the services among them.
        reach = select(Organisation.id).where(
            or_(Organisation.id.in_(_ORGS), Organisation.parent_id.in_(_ORGS))
        )
        touched = (
            select(Incident.id)
            .outerjoin(IncidentOrg, IncidentOrg.incident_id == Incident.id)
            .where(or_(IncidentOrg.org_id.in_(reach), Incident.owner_org_id.in_(reach)))
        )
        conditions.append(column.in_(touched))
    if invited:
        conditions.append(column.in_(_INVITED))
    return or_(*conditions) if conditions else false()


@functools.cache
def _visible_ids(shape: Shape) -> Select[int]:
    return select(Incident.id).where(visible(shape, Incident.id))


def visible_incident_ids(s: Session, actor: Actor) -> set[int]:
    """Ids of every incident the actor may see (the query behind every incident list)."""
    shape, params = visibility(actor)
    if shape == (False, False, False):
        return set()
    return set(s.scalars(_visible_ids(shape), params))


def can(s: Session, actor: Actor, incident_id: int, permission: Permission) -> bool:
    """True when the actor may do `permission` on the incident."""
    return allows(incident_roles(s, actor, incident_id), permission)


def require(s: Session, actor: Actor, incident_id: int, permission: Permission) -> None:
    """Check a permission on an incident.

    Raises:
        NotFound: the actor may not see the incident (or it does not exist).
        Forbidden: the actor sees it but may not do this.
    """
    roles = incident_roles(s, actor, incident_id)
    if not roles:
        raise NotFound(f"no incident {incident_id}")
    if not allows(roles, permission):
        raise Forbidden(f"{actor.label} may not {permission.value} on incident {incident_id}")


def require_org(s: Session, actor: Actor, org_id: int, permission: Permission) -> None:
    """Check a permission over an organisation (users, public status).

    Raises:
        Forbidden: the actor's roles there do not allow it.
    """
    if not allows(org_roles(s, actor, org_id), permission):
        raise Forbidden(f"{actor.label} may not {permission.value} for organisation {org_id}")
