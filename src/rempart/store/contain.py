"""Tables of the contain area (see migration 0006)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from rempart.store.models import Base, utcnow


class ContainHost(Base):
    """One host of an incident's inventory."""

    __tablename__ = "contain_hosts"
    __table_args__ = (UniqueConstraint("incident_id", "name", name="uq_contain_hosts_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(60), default="")
    groups: Mapped[str] = mapped_column(Text, default="[]")  # JSON list
    ssh: Mapped[str] = mapped_column(String(300), default="")  # user@host[:port], "" = local
    management: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of addresses/CIDRs


class ContainPlan(Base):
    """A plan as printed: what it would change, and the fingerprint of each target then."""

    __tablename__ = "contain_plans"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    request: Mapped[str] = mapped_column(Text)  # JSON of the request (canonical)
    fingerprints: Mapped[str] = mapped_column(Text)  # JSON {change key: sha256 of state}
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ContainAction(Base):
    """One change applied to one target: who, what, when, the state before and after."""

    __tablename__ = "contain_actions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(60))
    target: Mapped[str] = mapped_column(String(300))
    #: applying, verified, failed, rolling_back, undone, refused (nothing was modified)
    state: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(200))
    detail: Mapped[str] = mapped_column(Text, default="")  # rules, commands or script applied
    #: ruleset or account state (JSON) before the change; None until the snapshot is taken
    before: Mapped[str | None] = mapped_column(Text, nullable=True)
    after_hash: Mapped[str] = mapped_column(String(64), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
