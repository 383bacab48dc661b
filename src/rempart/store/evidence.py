"""Tables of the evidence area (see migration 0005).

Custody entries keep the exact bytes that were signed (`payload`, canonical JSON): the
readable fields live there and nowhere else, so what `show` prints is what `verify` checks.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from rempart.store.models import Base, utcnow


class EvidenceKey(Base):
    """A responder's Ed25519 public key (the private key stays in the responder's keys folder)."""

    __tablename__ = "evidence_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 of the raw key
    public_pem: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class EvidenceItem(Base):
    """One acquired item: a file or a directory tree, copied into the locker or kept in place."""

    __tablename__ = "evidence_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uid: Mapped[str] = mapped_column(String(32), unique=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"))
    description: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(10))  # file, tree
    in_place: Mapped[bool] = mapped_column(Boolean)
    #: absolute path of the copy in the locker (None when recorded in place)
    locker_path: Mapped[str | None] = mapped_column(Text, nullable=True)
    source_host: Mapped[str] = mapped_column(String(255))
    source_path: Mapped[str] = mapped_column(Text)  # display form
    source_path_bytes: Mapped[bytes] = mapped_column(LargeBinary)
    #: sha1 of host and path: a rerun of the same acquisition finds the earlier one
    source_key: Mapped[bytes] = mapped_column(LargeBinary(20), index=True)
    source_mtime_ns: Mapped[int] = mapped_column(BigInteger)
    source_ctime_ns: Mapped[int] = mapped_column(BigInteger)
    source_atime_ns: Mapped[int] = mapped_column(BigInteger)
    size: Mapped[int] = mapped_column(BigInteger)
    files: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    sha1: Mapped[str] = mapped_column(String(40))
    md5: Mapped[str] = mapped_column(String(32))
    acquired_by: Mapped[str] = mapped_column(String(120))
    acquired_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    #: the newest custody entry's hash and the count: deleting the last entries shows
    custody_head: Mapped[str] = mapped_column(String(64))
    custody_count: Mapped[int] = mapped_column(Integer)


class EvidenceFile(Base):
    """A regular file of an item, as found at the source (original times, ns precision)."""

    __tablename__ = "evidence_files"
    __table_args__ = (UniqueConstraint("item_id", "path_key", name="uq_evidence_files_path"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("evidence_items.id", ondelete="CASCADE"))
    path: Mapped[bytes] = mapped_column(LargeBinary)  # relative to the item, raw bytes
    path_key: Mapped[bytes] = mapped_column(LargeBinary(20))  # sha1 of `path`
    path_text: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(BigInteger)
    mtime_ns: Mapped[int] = mapped_column(BigInteger)
    ctime_ns: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    sha1: Mapped[str] = mapped_column(String(40))
    md5: Mapped[str] = mapped_column(String(32))


class CustodyEntry(Base):
    """One signed, hash-chained entry of an item's chain of custody (append-only)."""

    __tablename__ = "evidence_custody"
    __table_args__ = (UniqueConstraint("item_id", "seq", name="uq_evidence_custody_seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("evidence_items.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    payload: Mapped[str] = mapped_column(Text)  # canonical JSON: the bytes signed
    entry_hash: Mapped[str] = mapped_column(String(64))  # sha256 of payload
    key_fingerprint: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(128))  # Ed25519, hex
