"""The public status of each town's services: drafted by communications, approved by an official.

Only approved updates are public; a public page carries no user names, no e-mail addresses
and nothing from the incidents (it is meant to be exposed, and exported outside).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rempart.registry import Registry
from rempart.store.workspace import Organisation, StatusUpdate
from rempart.workspace import audit
from rempart.workspace._errors import Forbidden, Invalid, NotFound
from rempart.workspace._roles import Permission
from rempart.workspace.access import Actor, require_org
from rempart.workspace.auth import aware
from rempart.workspace.orgs import OrgKind


class Level(StrEnum):
    WORKING = "working"
    DEGRADED = "degraded"
    READ_ONLY = "read_only"
    PARTIAL_OUTAGE = "partial_outage"
    DOWN = "down"


LEVEL_LABELS: dict[Level, tuple[str, str]] = {  # (fr, en)
    Level.WORKING: ("Fonctionne", "Working"),
    Level.DEGRADED: ("Perturbé", "Degraded"),
    Level.READ_ONLY: ("Consultation seule", "Read-only"),
    Level.PARTIAL_OUTAGE: ("Panne partielle", "Partial outage"),
    Level.DOWN: ("Interrompu", "Down"),
}


class UpdateState(StrEnum):
    DRAFT = "draft"
    APPROVED = "approved"  # published
    REJECTED = "rejected"


@dataclass(frozen=True)
class Service:
    key: str
    fr: str
    en: str


#: The services a town shows; extensions add theirs the same way.
SERVICES: Registry[Service] = Registry("service")
for _key, _fr, _en in (
    ("email", "Messagerie électronique", "E-mail"),
    ("phones", "Téléphones", "Phones"),
    ("website", "Site internet", "Website"),
    ("online_services", "Démarches en ligne", "Online services"),
    ("reception", "Accueil de la mairie", "Town hall reception"),
    ("civil_status", "État civil", "Civil records"),
    ("schools", "Écoles et périscolaire", "Schools"),
    ("social", "Action sociale", "Social services"),
    ("payments", "Paiements et factures", "Payments and bills"),
    ("library", "Médiathèque", "Library"),
):
    SERVICES.add(_key, Service(_key, _fr, _en))


@dataclass(frozen=True)
class StatusUpdateView:
    id: int
    town: str  # slug
    service: str
    level: Level
    message_fr: str
    message_en: str
    state: UpdateState
    drafted_at: datetime
    reviewed_at: datetime | None


@dataclass(frozen=True)
class ServiceStatus:
    service: Service
    level: Level
    message_fr: str
    message_en: str
    since: datetime


@dataclass(frozen=True)
class PublicPage:
    """Everything a town's public page shows, and nothing else."""

    slug: str
    name: str
    services: tuple[ServiceStatus, ...]
    history: tuple[StatusUpdateView, ...]  # approved updates, newest first
    updated_at: datetime | None


def _town(s: Session, slug: str) -> Organisation:
    org = s.scalar(select(Organisation).where(Organisation.slug == slug))
    if org is None or org.kind != OrgKind.TOWN.value:
        raise NotFound(f"no town {slug!r}")
    return org


def _view(u: StatusUpdate, slug: str) -> StatusUpdateView:
    return StatusUpdateView(
        u.id,
        slug,
        u.service,
        Level(u.status),
        u.message_fr,
        u.message_en,
        UpdateState(u.state),
        aware(u.drafted_at),
        aware(u.reviewed_at) if u.reviewed_at else None,
    )


def draft(
    s: Session,
    actor: Actor,
    town: str,
    service: str,
    level: Level,
    message_fr: str,
    message_en: str,
) -> StatusUpdateView:
    """Draft a status change for one service of a town (not public until approved).

    Raises:
        NotFound: unknown town. Invalid: unknown service, missing message.
        Forbidden: the actor is not communications (or official, admin) for the town.
    """
    org = _town(s, town)
    require_org(s, actor, org.id, Permission.DRAFT_STATUS)
    if service not in SERVICES:
        raise Invalid(f"unknown service {service!r}", hint="known: " + ", ".join(SERVICES))
    if not message_fr.strip() or not message_en.strip():
        raise Invalid("a status message is needed in French and in English")
    row = StatusUpdate(
        org_id=org.id,
        service=service,
        status=level.value,
        message_fr=message_fr.strip(),
        message_en=message_en.strip(),
        state=UpdateState.DRAFT.value,
        drafted_by=actor.user_id,
        drafted_at=datetime.now(UTC),
    )
    s.add(row)
    s.flush()
    view = _view(row, town)
    after = {
        "town": town,
        "service": service,
        "level": level.value,
        "fr": view.message_fr,
        "en": view.message_en,
    }
    audit.record(s, actor, "draft", "status", row.id, after=after)
    return view


def review(s: Session, actor: Actor, update_id: int, *, approve: bool) -> StatusUpdateView:
    """Approve (publish) or reject a draft.

    Raises:
        NotFound: no such draft. Invalid: already reviewed.
        Forbidden: the actor is not an official of the town, or drafted it themselves.
    """
    row = s.get(StatusUpdate, update_id)
    if row is None:
        raise NotFound(f"no status update {update_id}")
    require_org(s, actor, row.org_id, Permission.APPROVE_STATUS)
    if row.state != UpdateState.DRAFT.value:
        raise Invalid(f"status update {update_id} is already {row.state}")
    if not actor.system and row.drafted_by is not None and row.drafted_by == actor.user_id:
        raise Forbidden("a status change is approved by someone else than its author")
    row.state = (UpdateState.APPROVED if approve else UpdateState.REJECTED).value
    row.reviewed_by, row.reviewed_at = actor.user_id, datetime.now(UTC)
    s.flush()
    slug = s.get(Organisation, row.org_id).slug  # type: ignore[union-attr]
    audit.record(
        s,
        actor,
        "approve" if approve else "reject",
        "status",
        row.id,
        before={"state": UpdateState.DRAFT.value},
        after={"state": row.state},
    )
    return _view(row, slug)


def drafts(s: Session, actor: Actor, town: str) -> list[StatusUpdateView]:
    """Drafts waiting for approval in a town (for its communications and officials)."""
    org = _town(s, town)
    require_org(s, actor, org.id, Permission.DRAFT_STATUS)
    rows = s.scalars(
        select(StatusUpdate)
        .where(StatusUpdate.org_id == org.id, StatusUpdate.state == UpdateState.DRAFT.value)
        .order_by(StatusUpdate.id)
    )
    return [_view(r, town) for r in rows]


def public_page(s: Session, town: str, history: int = 50) -> PublicPage:
    """What the town's public page shows (no sign-in needed).

    Raises:
        NotFound: no such town.
    """
    org = _town(s, town)
    rows = list(
        s.scalars(
            select(StatusUpdate)
            .where(StatusUpdate.org_id == org.id, StatusUpdate.state == UpdateState.APPROVED.value)
            .order_by(StatusUpdate.reviewed_at.desc(), StatusUpdate.id.desc())
        )
    )
    current: dict[str, ServiceStatus] = {}
    for r in rows:
        if r.service not in current and r.service in SERVICES:
            current[r.service] = ServiceStatus(
                SERVICES[r.service],
                Level(r.status),
                r.message_fr,
                r.message_en,
                aware(r.reviewed_at or r.drafted_at),
            )
    order = list(SERVICES)
    services = tuple(sorted(current.values(), key=lambda c: order.index(c.service.key)))
    views = tuple(_view(r, town) for r in rows[:history])
    updated = views[0].reviewed_at if views else None
    return PublicPage(org.slug, org.name, services, views, updated)


def published_version(s: Session) -> int:
    """A number that changes whenever an update is published (to invalidate cached pages)."""
    found = s.scalar(select(func.count()).where(StatusUpdate.state == UpdateState.APPROVED.value))
    return int(found or 0)


def towns(s: Session) -> list[str]:
    """Slugs of every town (each has a public page, possibly empty)."""
    return list(
        s.scalars(
            select(Organisation.slug)
            .where(Organisation.kind == OrgKind.TOWN.value)
            .order_by(Organisation.slug)
        )
    )
