"""Tables of the workspace area (see migration 0003).

Logbook entries and audit records are append-only: the library never updates or deletes them
(the logbook's hash chain makes a change made behind its back visible).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from rempart.store.models import Base, utcnow

TS = DateTime(timezone=True)


class Organisation(Base):
    """The shared digital service (kind "service") or a member town (kind "town")."""

    __tablename__ = "ws_orgs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    #: the service a town belongs to: the service's members see the town's incidents
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("ws_orgs.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(TS, default=utcnow)


class User(Base):
    __tablename__ = "ws_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(TS, default=utcnow)


class Membership(Base):
    """A user's role in one organisation."""

    __tablename__ = "ws_memberships"
    __table_args__ = (UniqueConstraint("user_id", "org_id", name="uq_ws_memberships"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("ws_users.id", ondelete="CASCADE"))
    org_id: Mapped[int] = mapped_column(ForeignKey("ws_orgs.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(20))


class IncidentOrg(Base):
    """A town (or service) an incident touches."""

    __tablename__ = "ws_incident_orgs"
    __table_args__ = (UniqueConstraint("incident_id", "org_id", name="uq_ws_incident_orgs"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    org_id: Mapped[int] = mapped_column(ForeignKey("ws_orgs.id"))


class Invitation(Base):
    """A user let into one incident outside their organisations (e.g. the investigator)."""

    __tablename__ = "ws_invitations"
    __table_args__ = (UniqueConstraint("incident_id", "user_id", name="uq_ws_invitations"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("ws_users.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(20))


class LogEntry(Base):
    __tablename__ = "ws_log_entries"
    __table_args__ = (UniqueConstraint("incident_id", "seq", name="uq_ws_log_seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(TS)
    author: Mapped[str] = mapped_column(String(254))
    what: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(200))
    corrects: Mapped[int | None] = mapped_column(Integer, nullable=True)  # seq it corrects
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class Task(Base):
    __tablename__ = "ws_tasks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    playbook: Mapped[str | None] = mapped_column(String(80), nullable=True)
    step: Mapped[str | None] = mapped_column(String(80), nullable=True)
    phase: Mapped[str] = mapped_column(String(40), default="")
    title: Mapped[str] = mapped_column(String(300))
    detail: Mapped[str] = mapped_column(Text, default="")
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("ws_users.id"), nullable=True)
    due_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)
    status: Mapped[str] = mapped_column(String(20), default="todo")
    created_at: Mapped[datetime] = mapped_column(TS, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(TS, default=utcnow)


class Decision(Base):
    __tablename__ = "ws_decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(300))
    rationale: Mapped[str] = mapped_column(Text)
    decided_by: Mapped[str] = mapped_column(String(200))  # who took it (may be a mayor)
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("ws_users.id"), nullable=True)
    decided_at: Mapped[datetime] = mapped_column(TS, default=utcnow)


class Contact(Base):
    __tablename__ = "ws_contacts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str] = mapped_column(String(60), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    reference: Mapped[str] = mapped_column(String(200), default="")  # case / ticket number
    notes: Mapped[str] = mapped_column(Text, default="")


class IncidentScan(Base):
    """A `rempart scan` run attached to an incident, labelled with its town and share."""

    __tablename__ = "ws_incident_scans"
    __table_args__ = (UniqueConstraint("scan_id", name="uq_ws_incident_scans"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    scan_id: Mapped[int] = mapped_column(ForeignKey("scans.id", ondelete="CASCADE"))
    org_id: Mapped[int | None] = mapped_column(ForeignKey("ws_orgs.id"), nullable=True)
    share: Mapped[str] = mapped_column(String(300), default="")


class StatusUpdate(Base):
    """One service's status for one town: a draft, then approved (published) or rejected."""

    __tablename__ = "ws_status_updates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("ws_orgs.id", ondelete="CASCADE"))
    service: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20))
    message_fr: Mapped[str] = mapped_column(Text, default="")
    message_en: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(20), default="draft")
    drafted_by: Mapped[int | None] = mapped_column(ForeignKey("ws_users.id"), nullable=True)
    drafted_at: Mapped[datetime] = mapped_column(TS, default=utcnow)
    reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("ws_users.id"), nullable=True)
    reviewed_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)


class AuditRecord(Base):
    __tablename__ = "ws_audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(TS, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("ws_users.id"), nullable=True)
    actor: Mapped[str] = mapped_column(String(254))  # e-mail, or "cli:<login>" / "system"
    action: Mapped[str] = mapped_column(String(60))
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str] = mapped_column(String(60))
    incident_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    before: Mapped[str | None] = mapped_column(Text, nullable=True)  # JSON
    after: Mapped[str | None] = mapped_column(Text, nullable=True)  # JSON


class WebSession(Base):
    """A signed-in browser: only the SHA-256 of its token is stored."""

    __tablename__ = "ws_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("ws_users.id", ondelete="CASCADE"))
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(TS, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(TS)


class LoginFailure(Base):
    """A failed sign-in, for throttling per account and per address."""

    __tablename__ = "ws_login_failures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    address: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(TS, default=utcnow)


class AlertToken(Base):
    """The credential of an incident's alert webhook (`rempart guard`): only its SHA-256."""

    __tablename__ = "ws_alert_tokens"
    __table_args__ = (UniqueConstraint("incident_id", name="uq_ws_alert_tokens"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(TS, default=utcnow)


class Secret(Base):
    """Secrets generated on first use (e.g. the web layer's signing key): never a default."""

    __tablename__ = "ws_secrets"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))
