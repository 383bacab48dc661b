"""Tables of the timeline area (see migration 0004).

Times are kept twice: `ts_us` (microseconds since the epoch, UTC) sorts and filters; `ts_text`
and `ts_precision` keep the value as the log wrote it (100 ns ticks, a syslog second without
a year or zone...): evidence is kept as found.
"""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from rempart.store.models import Base, utcnow

_BIGID = BigInteger().with_variant(Integer, "sqlite")


class TimelineSource(Base):
    """One ingested log file (or the scan results of an incident): what a re-run resumes."""

    __tablename__ = "timeline_sources"
    __table_args__ = (UniqueConstraint("incident_id", "source_key", name="uq_timeline_sources"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"))
    source_key: Mapped[str] = mapped_column(String(40))  # sha1 of the resolved path
    path: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(20))  # parser name: evtx, samba, syslog, scan
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    #: running (or killed while running), done
    status: Mapped[str] = mapped_column(String(12), default="running")
    #: records (or lines) fully stored: a resumed run skips them
    done: Mapped[int] = mapped_column(BigInteger, default=0)
    events: Mapped[int] = mapped_column(BigInteger, default=0)
    warnings: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class TimelineEvent(Base):
    __tablename__ = "timeline_events"
    __table_args__ = (
        UniqueConstraint("source_id", "record_key", name="uq_timeline_events_record"),
        Index("ix_timeline_events_time", "incident_id", "ts_us"),
    )

    id: Mapped[int] = mapped_column(_BIGID, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"))
    source_id: Mapped[int] = mapped_column(ForeignKey("timeline_sources.id", ondelete="CASCADE"))
    record_key: Mapped[str] = mapped_column(String(64))  # record id, line number...
    ts_us: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    ts_text: Mapped[str] = mapped_column(String(64), default="")
    ts_precision: Mapped[str] = mapped_column(String(40), default="")
    host: Mapped[str] = mapped_column(String(255), default="")
    source: Mapped[str] = mapped_column(String(20))  # parser name
    channel: Mapped[str] = mapped_column(String(255), default="")
    event_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    record_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    account: Mapped[str] = mapped_column(String(255), default="")
    process: Mapped[str] = mapped_column(Text, default="")
    command_line: Mapped[str] = mapped_column(Text, default="")
    parent: Mapped[str] = mapped_column(Text, default="")
    logon_type: Mapped[int | None] = mapped_column(Integer, nullable=True)
    src_addr: Mapped[str] = mapped_column(String(255), default="")
    target_host: Mapped[str] = mapped_column(String(255), default="")
    message: Mapped[str] = mapped_column(Text, default="")
    raw: Mapped[str] = mapped_column(Text)  # the original record as JSON


class TimelineMatch(Base):
    """A rule that fired on an event."""

    __tablename__ = "timeline_matches"
    __table_args__ = (
        UniqueConstraint("event_pk", "rule_id", name="uq_timeline_matches"),
        Index("ix_timeline_matches_incident", "incident_id", "level"),
    )

    id: Mapped[int] = mapped_column(_BIGID, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"))
    event_pk: Mapped[int] = mapped_column(ForeignKey("timeline_events.id", ondelete="CASCADE"))
    rule_id: Mapped[str] = mapped_column(String(64))
    rule_title: Mapped[str] = mapped_column(Text)
    level: Mapped[str] = mapped_column(String(16))
    #: what the story reads: shadow_copies_deleted, lateral_logon... (custom rule attribute)
    story: Mapped[str] = mapped_column(String(40), default="")
    detected_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


# Core (not ORM) access: the timeline reads and writes in batches of thousands of rows.
SOURCES = cast(Table, TimelineSource.__table__)
EVENTS = cast(Table, TimelineEvent.__table__)
MATCHES = cast(Table, TimelineMatch.__table__)
