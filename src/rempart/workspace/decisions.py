"""Decisions with their rationale and who took them; the incident's contacts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from rempart.store.workspace import Contact, Decision
from rempart.workspace import audit, logbook
from rempart.workspace._errors import Invalid
from rempart.workspace._roles import Permission
from rempart.workspace.access import Actor, require
from rempart.workspace.auth import aware


@dataclass(frozen=True)
class DecisionView:
    id: int
    incident_id: int
    title: str
    rationale: str
    decided_by: str
    recorded_by: str
    decided_at: datetime


class ContactKind(StrEnum):
    AGENCY = "agency"  # national agency / CERT (ANSSI, CERT-FR)
    POLICE = "police"  # police or gendarmerie
    DATA_PROTECTION = "data_protection"  # data-protection authority (CNIL), the DPO
    INSURER = "insurer"
    PROVIDER = "provider"  # incident response provider
    OTHER = "other"


@dataclass(frozen=True)
class ContactView:
    id: int
    incident_id: int
    kind: ContactKind
    name: str
    phone: str
    email: str
    reference: str
    notes: str


def record_decision(
    s: Session,
    actor: Actor,
    incident_id: int,
    title: str,
    rationale: str,
    *,
    decided_by: str = "",
    decided_at: datetime | None = None,
) -> DecisionView:
    """Record a decision (e.g. "the ransom is not paid") with why and who took it.

    It is also written to the logbook, so the decision has its place in the chain.
    """
    require(s, actor, incident_id, Permission.DECIDE)
    if not title.strip() or not rationale.strip():
        raise Invalid("a decision needs a title and its rationale")
    who = decided_by.strip() or actor.label
    row = Decision(
        incident_id=incident_id,
        title=title.strip()[:300],
        rationale=rationale.strip(),
        decided_by=who[:200],
        recorded_by=actor.user_id,
        decided_at=decided_at or datetime.now(UTC),
    )
    s.add(row)
    s.flush()
    view = DecisionView(
        row.id,
        incident_id,
        row.title,
        row.rationale,
        row.decided_by,
        actor.label,
        aware(row.decided_at),
    )
    audit.record(
        s,
        actor,
        "create",
        "decision",
        row.id,
        after={"title": view.title, "rationale": view.rationale, "decided_by": who},
        incident_id=incident_id,
    )
    logbook.append(
        s,
        actor,
        incident_id,
        f"Decision by {who}: {view.title}. Why: {view.rationale}",
        source="decisions",
    )
    return view


def list_decisions(s: Session, actor: Actor, incident_id: int) -> list[DecisionView]:
    require(s, actor, incident_id, Permission.READ)
    rows = s.scalars(
        select(Decision).where(Decision.incident_id == incident_id).order_by(Decision.id)
    )
    return [
        DecisionView(
            d.id,
            d.incident_id,
            d.title,
            d.rationale,
            d.decided_by,
            _recorder(s, d.recorded_by),
            aware(d.decided_at),
        )
        for d in rows
    ]


def _recorder(s: Session, user_id: int | None) -> str:
    from rempart.store.workspace import User  # noqa: PLC0415  # one lookup, kept local

    user = s.get(User, user_id) if user_id is not None else None
    return user.email if user else "cli"


def add_contact(
    s: Session,
    actor: Actor,
    incident_id: int,
    kind: ContactKind,
    name: str,
    *,
    phone: str = "",
    email: str = "",
    reference: str = "",
    notes: str = "",
) -> ContactView:
    """Add a contact (agency, police, data-protection authority, insurer, provider...)."""
    require(s, actor, incident_id, Permission.CONTACTS)
    if not name.strip():
        raise Invalid("a contact needs a name")
    row = Contact(
        incident_id=incident_id,
        kind=kind.value,
        name=name.strip()[:200],
        phone=phone[:60],
        email=email[:254],
        reference=reference[:200],
        notes=notes,
    )
    s.add(row)
    s.flush()
    view = _contact(row)
    audit.record(
        s, actor, "create", "contact", row.id, after=_contact_dict(view), incident_id=incident_id
    )
    return view


def _contact(c: Contact) -> ContactView:
    return ContactView(
        c.id, c.incident_id, ContactKind(c.kind), c.name, c.phone, c.email, c.reference, c.notes
    )


def _contact_dict(v: ContactView) -> dict[str, object]:
    return {
        "kind": v.kind.value,
        "name": v.name,
        "phone": v.phone,
        "email": v.email,
        "reference": v.reference,
    }


def list_contacts(s: Session, actor: Actor, incident_id: int) -> list[ContactView]:
    require(s, actor, incident_id, Permission.READ)
    rows = s.scalars(select(Contact).where(Contact.incident_id == incident_id).order_by(Contact.id))
    return [_contact(c) for c in rows]
