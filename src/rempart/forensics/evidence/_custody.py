"""The chain of custody: append-only, hash-chained, Ed25519-signed entries per item.

Each entry is a canonical JSON object (sorted keys, no spaces, UTF-8) holding the hash of
the entry before it; the signature covers exactly those bytes, so `openssl pkeyutl -verify
-rawin` checks an entry written out as-is.
"""

from __future__ import annotations

import hashlib
import json
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from rempart.forensics.evidence._errors import EvidenceError
from rempart.forensics.evidence._keys import Signer
from rempart.store.evidence import CustodyEntry, EvidenceItem

FORMAT = 1
GENESIS = "0" * 64  # the `prev` of an item's first entry
ACTIONS = ("acquired", "transferred", "examined", "exported")
#: actions a responder records by hand; acquisition and export record their own entries
MANUAL_ACTIONS = ("transferred", "examined")


@dataclass(frozen=True)
class Entry:
    """A custody entry as signed: `payload` is the exact signed bytes."""

    seq: int
    payload: bytes
    entry_hash: str
    key_fingerprint: str
    signature: bytes

    @property
    def fields(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.payload)
        return loaded


def canonical(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def sign_entry(
    *,
    item_uid: str,
    item_sha256: str,
    seq: int,
    prev: str,
    action: str,
    signer: Signer,
    note: str = "",
    where: str | None = None,
    details: dict[str, Any] | None = None,
) -> Entry:
    """A new entry, chained to `prev` and signed by `signer`."""
    if action not in ACTIONS:
        raise EvidenceError(f"unknown custody action {action!r}", hint=f"one of {ACTIONS}")
    payload = canonical(
        {
            "v": FORMAT,
            "item": item_uid,
            "item_sha256": item_sha256,
            "seq": seq,
            "prev": prev,
            "action": action,
            "by": signer.name,
            "key": signer.fingerprint,
            "at": now(),
            "where": where or socket.gethostname(),
            "note": note,
            "details": details or {},
        }
    )
    digest = hashlib.sha256(payload).hexdigest()
    return Entry(seq, payload, digest, signer.fingerprint, signer.sign(payload))


def insert_entry(conn: Connection, item_id: int, entry: Entry) -> None:
    """Store `entry` and move the item's head to it (inside the caller's transaction)."""
    try:
        conn.execute(
            insert(CustodyEntry).values(
                item_id=item_id,
                seq=entry.seq,
                payload=entry.payload.decode(),
                entry_hash=entry.entry_hash,
                key_fingerprint=entry.key_fingerprint,
                signature=entry.signature.hex(),
            )
        )
    except IntegrityError as exc:
        raise EvidenceError(
            "another custody entry was recorded for this item at the same moment",
            hint="run the command again",
        ) from exc
    conn.execute(
        update(EvidenceItem)
        .where(EvidenceItem.id == item_id)
        .values(custody_head=entry.entry_hash, custody_count=entry.seq + 1)
    )


def append(
    conn: Connection,
    item_id: int,
    action: str,
    signer: Signer,
    *,
    note: str = "",
    where: str | None = None,
    details: dict[str, Any] | None = None,
) -> Entry:
    """Sign and store the next entry of an item's log (inside the caller's transaction)."""
    row = conn.execute(
        select(EvidenceItem.uid, EvidenceItem.sha256)
        .where(EvidenceItem.id == item_id)
        .with_for_update()
    ).one()
    last = conn.execute(
        select(CustodyEntry.seq, CustodyEntry.entry_hash)
        .where(CustodyEntry.item_id == item_id)
        .order_by(CustodyEntry.seq.desc())
        .limit(1)
    ).first()
    seq, prev = (0, GENESIS) if last is None else (last.seq + 1, last.entry_hash)
    entry = sign_entry(
        item_uid=row.uid,
        item_sha256=row.sha256,
        seq=seq,
        prev=prev,
        action=action,
        signer=signer,
        note=note,
        where=where,
        details=details,
    )
    insert_entry(conn, item_id, entry)
    return entry


def entries(conn: Connection, item_id: int) -> list[Entry]:
    """An item's entries in the order of their sequence numbers."""
    rows = conn.execute(
        select(
            CustodyEntry.seq,
            CustodyEntry.payload,
            CustodyEntry.entry_hash,
            CustodyEntry.key_fingerprint,
            CustodyEntry.signature,
        )
        .where(CustodyEntry.item_id == item_id)
        .order_by(CustodyEntry.seq)
    )
    return [Entry(r[0], r[1].encode(), r[2], r[3], _unhex(r[4])) for r in rows]


def _unhex(text: str) -> bytes:
    try:
        return bytes.fromhex(text)
    except ValueError:
        return b""  # a damaged signature verifies as wrong, it does not stop the check
