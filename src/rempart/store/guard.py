"""Tables of the guard area (see migration 0002): runs, events, alarms and responses.

Events and alarms are written as they happen, in small batches, so a crash loses at most
the batch in flight; drop counters live on the run and are updated with each batch.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from rempart.store.models import Base, utcnow

_ID = BigInteger().with_variant(Integer, "sqlite")


class GuardRun(Base):
    """One `rempart guard PATH` process, from start to exit (or crash)."""

    __tablename__ = "guard_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"), nullable=True)
    root: Mapped[str] = mapped_column(Text)
    sources: Mapped[str] = mapped_column(String(200), default="")  # "fanotify, samba-audit"
    #: what the running sources cannot see, in one line (inotify: no PIDs...)
    blind_spots: Mapped[str] = mapped_column(Text, default="")
    #: running (or crashed while running), stopped
    status: Mapped[str] = mapped_column(String(20), default="running")
    pid: Mapped[int] = mapped_column(Integer, default=0)
    baseline_files: Mapped[int] = mapped_column(Integer, default=0)
    events: Mapped[int] = mapped_column(BigInteger, default=0)
    alarms: Mapped[int] = mapped_column(Integer, default=0)
    #: events the kernel could not queue (fanotify FAN_Q_OVERFLOW, inotify IN_Q_OVERFLOW)
    dropped_kernel: Mapped[int] = mapped_column(BigInteger, default=0)
    #: events our own bounded queue refused while analysis lagged behind
    dropped_queue: Mapped[int] = mapped_column(BigInteger, default=0)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class GuardEvent(Base):
    """One file operation seen by a source, with what the analysis made of it."""

    __tablename__ = "guard_events"
    __table_args__ = (Index("ix_guard_events_run", "run_id", "id"),)

    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("guard_runs.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    source: Mapped[str] = mapped_column(String(20))
    op: Mapped[str] = mapped_column(String(20))  # write, create, delete, rename
    path: Mapped[str] = mapped_column(Text)  # relative to the watched root
    path2: Mapped[str | None] = mapped_column(Text, nullable=True)  # rename target
    actor_key: Mapped[str | None] = mapped_column(String(200), nullable=True)
    pid: Mapped[int | None] = mapped_column(Integer, nullable=True)
    address: Mapped[str | None] = mapped_column(String(64), nullable=True)
    user: Mapped[str | None] = mapped_column(String(120), nullable=True)
    verdict: Mapped[str | None] = mapped_column(String(24), nullable=True)  # content verdict
    points: Mapped[float] = mapped_column(Float, default=0.0)  # what it added to the actor
    reasons: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of strings


class GuardAlarm(Base):
    """An alarm raised about one actor, with the evidence that decided it."""

    __tablename__ = "guard_alarms"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("guard_runs.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    first_seen: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    actor_key: Mapped[str] = mapped_column(String(200))
    actor_kind: Mapped[str] = mapped_column(String(20))
    pid: Mapped[int | None] = mapped_column(Integer, nullable=True)
    command: Mapped[str | None] = mapped_column(Text, nullable=True)
    address: Mapped[str | None] = mapped_column(String(64), nullable=True)
    user: Mapped[str | None] = mapped_column(String(120), nullable=True)
    score: Mapped[float] = mapped_column(Float)
    reasons: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of strings
    paths: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of strings


class GuardResponse(Base):
    """What one responder did about one alarm (written by the responders, read by status)."""

    __tablename__ = "guard_responses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int | None] = mapped_column(
        ForeignKey("guard_runs.id", ondelete="CASCADE"), nullable=True
    )
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"), nullable=True)
    responder: Mapped[str] = mapped_column(String(40))
    actor_key: Mapped[str] = mapped_column(String(200))
    ok: Mapped[bool] = mapped_column(Boolean)
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False)
    already_done: Mapped[bool] = mapped_column(Boolean, default=False)
    detail: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    extra: Mapped[str] = mapped_column(Text, default="{}")  # JSON object of strings
