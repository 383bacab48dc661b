"""Incidents: create (towns and services touched, severity, first seen), list, get, invite."""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session

from rempart.store.models import Incident
from rempart.store.workspace import IncidentOrg, Invitation, Organisation, User
from rempart.workspace import audit
from rempart.workspace._errors import Forbidden, Invalid, NotFound
from rempart.workspace._roles import Permission, Role, allows
from rempart.workspace.access import (
    Actor,
    Shape,
    incident_roles,
    org_roles,
    require,
    visibility,
    visible,
)
from rempart.workspace.auth import aware

KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,119}$")


class Severity(StrEnum):
    UNKNOWN = "unknown"  # incidents made by `rempart scan --incident` start here
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


@dataclass(frozen=True)
class IncidentView:
    id: int
    key: str  # what `rempart scan --incident KEY` names
    title: str
    description: str
    severity: Severity
    services: tuple[str, ...]  # services affected, free text ("e-mail", "état civil"...)
    towns: tuple[str, ...]  # slugs of the organisations touched
    owner: str | None  # slug of the organisation running the response
    first_seen_at: datetime | None
    created_at: datetime
    log_count: int


_TOWNS = (
    select(IncidentOrg.incident_id, Organisation.slug)
    .join(Organisation, IncidentOrg.org_id == Organisation.id)
    .where(IncidentOrg.incident_id.in_(bindparam("ids", expanding=True)))
    .order_by(Organisation.slug)
)


def _views(
    s: Session, found: list[Incident], owners: dict[int, str] | None = None
) -> list[IncidentView]:
    """Views of several incidents in one or two queries whatever their number (dashboards).

    `owners`: organisation id -> slug of the owners, when the caller read them already.
    """
    ids = [inc.id for inc in found]
    towns: dict[int, list[str]] = {i: [] for i in ids}
    if ids:
        rows = s.execute(_TOWNS, {"ids": ids})
        for incident_id, slug in rows:
            towns[incident_id].append(slug)
    owner_ids = {inc.owner_org_id for inc in found if inc.owner_org_id is not None}
    if owners is None:
        owners = {}
        if owner_ids:
            query = select(Organisation.id, Organisation.slug).where(Organisation.id.in_(owner_ids))
            owners = {org_id: slug for org_id, slug in s.execute(query)}
    return [
        IncidentView(
            id=inc.id,
            key=inc.key,
            title=inc.title,
            description=inc.description,
            severity=Severity(inc.severity) if inc.severity in set(Severity) else Severity.UNKNOWN,
            services=tuple(json.loads(inc.services or "[]")),
            towns=tuple(towns[inc.id]),
            owner=owners.get(inc.owner_org_id) if inc.owner_org_id is not None else None,
            first_seen_at=aware(inc.first_seen_at) if inc.first_seen_at else None,
            created_at=aware(inc.created_at),
            log_count=inc.log_count,
        )
        for inc in found
    ]


def _view(s: Session, inc: Incident) -> IncidentView:
    return _views(s, [inc])[0]


def _org_id(s: Session, slug: str) -> int:
    found = s.scalar(select(Organisation.id).where(Organisation.slug == slug))
    if found is None:
        raise Invalid(f"no organisation {slug!r}")
    return int(found)


def create_incident(
    s: Session,
    actor: Actor,
    *,
    key: str,
    title: str,
    owner: str,
    towns: list[str],
    severity: Severity = Severity.HIGH,
    services: list[str] | None = None,
    first_seen_at: datetime | None = None,
    description: str = "",
) -> IncidentView:
    """Open an incident run by `owner` (an organisation slug) touching `towns` (slugs).

    Raises:
        Invalid: bad key, key taken, unknown organisation, no title.
        Forbidden: the actor is not admin or responder over the owner and every town.
    """
    if not KEY.match(key):
        raise Invalid(f"bad incident key {key!r}", hint="letters, digits, '.', '_', '-'")
    if not title.strip():
        raise Invalid("an incident needs a title")
    found = s.scalar(select(Incident).where(Incident.key == key))
    # An incident made by `rempart scan --incident KEY` has no owner yet: it is adopted, so
    # the scans already run under that key come with it. An owned one is never taken over.
    if found is not None and found.owner_org_id is not None:
        raise Invalid(f"incident {key!r} already exists")
    owner_id = _org_id(s, owner)
    town_ids = {slug: _org_id(s, slug) for slug in dict.fromkeys(towns)}
    for slug, org_id in {owner: owner_id, **town_ids}.items():
        if not allows(org_roles(s, actor, org_id), Permission.MANAGE):
            raise Forbidden(f"{actor.label} may not open an incident for {slug}")
    if first_seen_at is not None and first_seen_at.tzinfo is None:
        raise Invalid("the first-seen time needs a time zone")
    inc = found or Incident(key=key, created_at=datetime.now(UTC))
    inc.title, inc.description, inc.severity = title.strip(), description, severity.value
    inc.services = json.dumps(list(services or []), ensure_ascii=False)
    inc.first_seen_at, inc.owner_org_id = first_seen_at, owner_id
    s.add(inc)
    s.flush()
    for org_id in town_ids.values():
        s.add(IncidentOrg(incident_id=inc.id, org_id=org_id))
    s.flush()
    view = _view(s, inc)
    after = {
        "key": key,
        "title": view.title,
        "severity": severity.value,
        "towns": list(view.towns),
        "owner": owner,
        "services": list(view.services),
        "first_seen_at": first_seen_at.isoformat() if first_seen_at else None,
    }
    action = "adopt" if found is not None else "create"
    audit.record(s, actor, action, "incident", inc.id, after=after, incident_id=inc.id)
    return view


@functools.cache
def _list_statement(shape: Shape) -> Select[Incident, str]:
    return (
        select(Incident, Organisation.slug)
        .outerjoin(Organisation, Organisation.id == Incident.owner_org_id)
        .where(visible(shape, Incident.id))
        .order_by(Incident.id.desc())
    )


def list_incidents(s: Session, actor: Actor) -> list[IncidentView]:
    """The incidents the actor may see, newest first (two queries: incidents, towns)."""
    shape, params = visibility(actor)
    rows = s.execute(_list_statement(shape), params).all()
    owners = {i.owner_org_id: slug for i, slug in rows if i.owner_org_id is not None and slug}
    return _views(s, [inc for inc, _ in rows], owners)


def get_incident(s: Session, actor: Actor, ref: int | str) -> IncidentView:
    """One incident by id or key.

    Raises:
        NotFound: unknown, or not visible to the actor (the same answer, on purpose).
    """
    inc = _lookup(s, ref)
    if inc is None or not incident_roles(s, actor, inc.id):
        raise NotFound(f"no incident {ref}")
    return _view(s, inc)


def _lookup(s: Session, ref: int | str) -> Incident | None:
    if isinstance(ref, int):
        return s.get(Incident, ref)
    return s.scalar(select(Incident).where(Incident.key == ref))


def roles_on(s: Session, actor: Actor, incident_id: int) -> frozenset[Role]:
    """The actor's roles on the incident (for showing or hiding buttons)."""
    return incident_roles(s, actor, incident_id)


def invite(s: Session, actor: Actor, incident_id: int, email: str, role: Role) -> None:
    """Let a user into one incident with a role (e.g. an investigator, read-only).

    Raises:
        NotFound: unknown user or incident.
        Forbidden: the actor may not manage the incident.
    """
    require(s, actor, incident_id, Permission.MANAGE)
    user = s.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise NotFound(f"no user {email}")
    found = s.scalar(
        select(Invitation).where(
            Invitation.incident_id == incident_id, Invitation.user_id == user.id
        )
    )
    before = {"role": found.role} if found else None
    if found is None:
        s.add(Invitation(incident_id=incident_id, user_id=user.id, role=role.value))
    else:
        found.role = role.value
    s.flush()
    audit.record(
        s,
        actor,
        "invite",
        "incident",
        incident_id,
        before=before,
        after={"user": user.email, "role": role.value},
        incident_id=incident_id,
    )
