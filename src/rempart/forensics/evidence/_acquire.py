"""`evidence add`: copy an item into the locker (or record it in place), hash it, sign it.

Order matters for the promise "a failed copy leaves nothing recorded as acquired": copy to a
`.partial-*` folder, fsync, hash the copy again, rename it to its final name, and only then
record the item and its "acquired" custody entry in one transaction.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import stat
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, insert, select

from rempart.forensics.evidence import _custody
from rempart.forensics.evidence._errors import AcquisitionError
from rempart.forensics.evidence._hashing import Digests, ReadError, hash_fd, tree_digests
from rempart.forensics.evidence._keys import Signer
from rempart.forensics.evidence._locker import Hashed, copy, locker_dir, refuse_store_inside
from rempart.forensics.evidence._records import incident_id, label
from rempart.forensics.evidence._walk import Found, Listing, list_item, opened
from rempart.store.evidence import EvidenceFile, EvidenceItem
from rempart.store.models import path_key

Progress = Callable[[int, int], None]  # bytes done, bytes in all


@dataclass(frozen=True)
class Acquired:
    id: int
    uid: str
    in_place: bool
    size: int
    files: int
    digests: Digests
    locker_path: str | None
    skipped: tuple[str, ...]
    already: bool = False  # the same source was acquired before: nothing new was done

    @property
    def label(self) -> str:
        return label(self.id)


def acquire(
    engine: Engine,
    source: Path,
    *,
    incident: str,
    description: str,
    signer: Signer,
    locker: Path,
    in_place: bool = False,
    max_copy: int | None = None,
    create_incident: bool = False,
    again: bool = False,
    progress: Progress | None = None,
) -> Acquired:
    """Acquire `source` (a file or a folder) as evidence of `incident`.

    Raises:
        AcquisitionError: the source cannot be read or the copy failed (nothing recorded).
        UnknownError: the incident does not exist (and `create_incident` is false).
    """
    path = os.fsencode(os.path.abspath(source))
    host = socket.gethostname()
    key = hashlib.sha1(host.encode() + b"\0" + path, usedforsecurity=False).digest()
    try:
        st = os.stat(path)
    except OSError as exc:
        raise AcquisitionError(f"cannot read {source}: {exc.strerror}") from exc
    if not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):
        raise AcquisitionError(f"{source} is neither a regular file nor a folder")
    refuse_store_inside(engine, path)
    with engine.begin() as conn:
        inc = incident_id(conn, incident, create=create_incident)
        earlier = conn.scalar(
            select(EvidenceItem.id)
            .where(EvidenceItem.incident_id == inc, EvidenceItem.source_key == key)
            .order_by(EvidenceItem.id)
            .limit(1)
        )
    if earlier is not None and not again:
        return _earlier(engine, int(earlier))
    listing = list_item(path, st)
    keep_in_place = in_place or (max_copy is not None and listing.size > max_copy)
    done = [0]

    def tick(n: int) -> None:
        done[0] += n
        if progress:
            progress(done[0], listing.size)

    uid = uuid.uuid4().hex
    final: Path | None = None
    if keep_in_place:
        hashed = [_hash_in_place(path, f, listing.tree, tick) for f in listing.files]
    else:
        final = locker_dir(locker, incident, path) / uid
        hashed = copy(path, listing, final, key.hex()[:16], tick)
    try:
        return _record(
            engine,
            inc=inc,
            uid=uid,
            source=path,
            st=st,
            host=host,
            key=key,
            description=description,
            signer=signer,
            listing=listing,
            hashed=hashed,
            final=final,
        )
    except BaseException:
        if final is not None:  # copied but not recorded: leave no orphan in the locker
            shutil.rmtree(final, ignore_errors=True)
        raise


def _earlier(engine: Engine, item: int) -> Acquired:
    with engine.connect() as conn:
        row = conn.execute(select(EvidenceItem).where(EvidenceItem.id == item)).one()
    return Acquired(
        row.id,
        row.uid,
        row.in_place,
        row.size,
        row.files,
        Digests(row.sha256, row.sha1, row.md5),
        row.locker_path,
        (),
        already=True,
    )


def _hash_in_place(source: bytes, found: Found, tree: bool, tick: Callable[[int], None]) -> Hashed:
    path = os.path.join(os.path.dirname(source), found.rel)
    with opened(path, follow=not tree) as fd:
        try:
            digests, size = hash_fd(fd, progress=tick)
        except ReadError as exc:
            shown = path.decode(errors="backslashreplace")
            raise AcquisitionError(f"cannot read {shown}: {exc.strerror}") from exc
    return Hashed(found, digests, size)


def _record(
    engine: Engine,
    *,
    inc: int,
    uid: str,
    source: bytes,
    st: os.stat_result,
    host: str,
    key: bytes,
    description: str,
    signer: Signer,
    listing: Listing,
    hashed: list[Hashed],
    final: Path | None,
) -> Acquired:
    kind = "file" if stat.S_ISREG(st.st_mode) else "tree"
    digests = (
        hashed[0].digests
        if kind == "file"
        else tree_digests([(h.found.rel, h.digests.sha256) for h in hashed])
    )
    with engine.begin() as conn:
        pk = conn.execute(
            insert(EvidenceItem).values(
                uid=uid,
                incident_id=inc,
                description=description,
                kind=kind,
                in_place=final is None,
                locker_path=str(final) if final else None,
                source_host=host,
                source_path=source.decode(errors="backslashreplace"),
                source_path_bytes=source,
                source_key=key,
                source_mtime_ns=st.st_mtime_ns,
                source_ctime_ns=st.st_ctime_ns,
                source_atime_ns=st.st_atime_ns,
                size=sum(h.size for h in hashed),
                files=len(hashed),
                **digests.as_dict(),
                acquired_by=signer.name,
                custody_head=_custody.GENESIS,
                custody_count=0,
            )
        ).inserted_primary_key
        assert pk is not None
        item = int(pk[0])
        if hashed:
            conn.execute(insert(EvidenceFile), [_file_row(item, h) for h in hashed])
        details = {
            "source": {
                "host": host,
                "path": source.decode(errors="backslashreplace"),
                "mtime_ns": st.st_mtime_ns,
                "ctime_ns": st.st_ctime_ns,
                "atime_ns": st.st_atime_ns,
            },
            "kind": kind,
            "size": sum(h.size for h in hashed),
            "files": len(hashed),
            "digests": digests.as_dict(),
            "stored": "in place" if final is None else "locker",
            "skipped": listing.skipped,
        }
        _custody.append(conn, item, "acquired", signer, note=description, details=details)
    return Acquired(
        item,
        uid,
        final is None,
        sum(h.size for h in hashed),
        len(hashed),
        digests,
        str(final) if final else None,
        tuple(listing.skipped),
    )


def _file_row(item: int, h: Hashed) -> dict[str, object]:
    return {
        "item_id": item,
        "path": h.found.rel,
        "path_key": path_key(h.found.rel),
        "path_text": h.found.rel.decode(errors="backslashreplace"),
        "size": h.size,
        "mtime_ns": h.found.mtime_ns,
        "ctime_ns": h.found.ctime_ns,
        **h.digests.as_dict(),
    }
