"""The incident store's tables (SQLAlchemy 2 declarative models).

Paths are kept as the raw bytes found on disk (`path`), with a display form beside them
(`path_text`, undecodable bytes shown as \\xNN): evidence is kept as found.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Connection,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    select,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class Incident(Base):
    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(120), unique=True)
    title: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # The workspace's fields (migration 0003); an incident made by `rempart scan` keeps the
    # defaults until someone describes it in the workspace.
    severity: Mapped[str] = mapped_column(String(20), default="unknown", server_default="unknown")
    description: Mapped[str] = mapped_column(Text, default="", server_default="")
    services: Mapped[str] = mapped_column(Text, default="[]", server_default="[]")  # JSON list
    first_seen_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    #: the organisation that runs the response (usually the shared digital service)
    owner_org_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: last hash and length of the logbook chain: deleting the newest entries shows too
    log_head: Mapped[str] = mapped_column(String(64), default="", server_default="")
    log_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    scans: Mapped[list[Scan]] = relationship(back_populates="incident")


class Scan(Base):
    __tablename__ = "scans"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"))
    root: Mapped[str] = mapped_column(Text)
    root_bytes: Mapped[bytes] = mapped_column(LargeBinary)
    #: running (or killed while running), interrupted, done
    status: Mapped[str] = mapped_column(String(20), default="running")
    options: Mapped[str] = mapped_column(Text, default="{}")  # JSON
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    incident: Mapped[Incident] = relationship(back_populates="scans")


class ScanFile(Base):
    __tablename__ = "scan_files"
    __table_args__ = (
        # A digest, not the path: index entries are bounded (PostgreSQL: ~2.7 KB) and paths
        # 5,000 levels deep are not.
        UniqueConstraint("scan_id", "path_key", name="uq_scan_files_path"),
        Index("ix_scan_files_verdict", "scan_id", "verdict"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    scan_id: Mapped[int] = mapped_column(ForeignKey("scans.id", ondelete="CASCADE"))
    path: Mapped[bytes] = mapped_column(LargeBinary)  # relative to the root, raw bytes
    path_key: Mapped[bytes] = mapped_column(LargeBinary(20))  # sha1 of `path`
    path_text: Mapped[str] = mapped_column(Text)
    top: Mapped[str] = mapped_column(Text)  # top-level folder, "." for files at the root
    verdict: Mapped[str] = mapped_column(String(24))
    format: Mapped[str] = mapped_column(String(40))
    family: Mapped[str | None] = mapped_column(String(60), nullable=True)
    size: Mapped[int] = mapped_column(BigInteger)
    mtime_ns: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    evidence: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of strings
    note: Mapped[str | None] = mapped_column(Text, nullable=True)  # JSON: confidence, indicators
    confidence: Mapped[float | None] = mapped_column(Float, nullable=True)


def path_key(path: bytes) -> bytes:
    """The fixed-size key that makes a path unique within a scan."""
    return hashlib.sha1(path, usedforsecurity=False).digest()


class ScanDir(Base):
    """A directory whose every entry is stored: a resumed scan skips it."""

    __tablename__ = "scan_dirs"
    __table_args__ = (UniqueConstraint("scan_id", "path_key", name="uq_scan_dirs_path"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    scan_id: Mapped[int] = mapped_column(ForeignKey("scans.id", ondelete="CASCADE"))
    path: Mapped[bytes] = mapped_column(LargeBinary)
    path_key: Mapped[bytes] = mapped_column(LargeBinary(20))  # sha1 of `path`


def find_incident(conn: Connection, key: str, *, create: bool) -> int | None:
    """The id of the incident called `key`: created (titled by its key) when new and `create`,
    else None; each command says in its own words what to do about an unknown incident.

    Two commands creating the same incident at once (scans started together into a new
    store) both get it: the insert skips a key that appeared meanwhile, instead of failing.
    """
    found = conn.scalar(select(Incident.id).where(Incident.key == key))
    if found is None and create:
        from sqlalchemy.dialects import postgresql, sqlite  # noqa: PLC0415  # only when creating

        values = {"key": key, "title": key}
        if conn.dialect.name == "postgresql":
            conn.execute(
                postgresql.insert(Incident)
                .values(values)
                .on_conflict_do_nothing(index_elements=["key"])
            )
        else:
            conn.execute(
                sqlite.insert(Incident)
                .values(values)
                .on_conflict_do_nothing(index_elements=["key"])
            )
        found = conn.scalar(select(Incident.id).where(Incident.key == key))
    return None if found is None else int(found)
