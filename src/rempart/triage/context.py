"""What a file alone cannot tell: conclusions drawn across the scanned tree, after the walk.

- An encrypted file with no family marker takes the family of the ransom note in its folder
  or the nearest folder above it (attacks drop a note in every folder they touch).
- Files of random content sharing an extension no known format uses are one campaign: a
  single such file may be a VeraCrypt container or a key; dozens of them are encrypted files.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict

from sqlalchemy import Engine, Table, bindparam, select, update

from rempart.store.models import ScanFile
from rempart.triage.verdicts import DAMAGED, Verdict

#: Suspicious random-content files sharing one unfamiliar extension, from this many on.
CAMPAIGN_MIN = 5
#: The format id the classifier gives to content that is random from end to end.
RANDOM_FORMAT = "random"
#: Extensions whose files are random by nature: never a campaign on their own.
OPAQUE = frozenset(
    {"", "bin", "dat", "key", "hc", "tc", "vc", "img", "iso", "raw", "enc", "kdbx", "rnd", "tmp"}
)


def apply_context(engine: Engine, scan_id: int) -> None:
    """Run every cross-file rule over a finished scan."""
    promote_campaigns(engine, scan_id)
    families_from_notes(engine, scan_id)


def _parent(path: bytes) -> bytes:
    return path.rpartition(b"/")[0]


def families_from_notes(engine: Engine, scan_id: int) -> int:
    """Give damaged files without a family the family of the nearest ransom note above them."""
    f = ScanFile
    with engine.connect() as conn:
        notes = conn.execute(
            select(f.path, f.family).where(
                f.scan_id == scan_id, f.verdict == Verdict.RANSOM_NOTE.value, f.family.is_not(None)
            )
        ).all()
    by_dir: dict[bytes, Counter[str]] = defaultdict(Counter)
    for path, family in notes:
        by_dir[_parent(bytes(path))][str(family)] += 1
    if not by_dir:
        return 0
    nearest = {d: c.most_common(1)[0][0] for d, c in by_dir.items()}
    overall = Counter(fam for c in by_dir.values() for fam in c.elements())
    only = next(iter(overall)) if len(overall) == 1 else None
    updates = []
    with engine.connect() as conn:
        rows = conn.execute(
            select(f.id, f.path, f.evidence).where(
                f.scan_id == scan_id,
                f.verdict.in_([v.value for v in DAMAGED]),
                f.family.is_(None),
            )
        )
        for fid, path, evidence in rows:
            family, why = _nearest(bytes(path), nearest, only)
            if family:
                ev = [*json.loads(evidence), why]
                updates.append({"fid": fid, "family": family, "evidence": json.dumps(ev)})
    _apply(engine, updates)
    return len(updates)


def _nearest(path: bytes, nearest: dict[bytes, str], only: str | None) -> tuple[str | None, str]:
    d = _parent(path)
    while True:
        if d in nearest:
            where = d.decode("utf-8", "backslashreplace") or "."
            return nearest[d], f"family from the ransom note in {where}/"
        if not d:
            break
        d = _parent(d)
    if only:
        return only, "family of the only ransom notes found in this scan"
    return None, ""


def _ext(path: bytes) -> str:
    name = path.rpartition(b"/")[2].lstrip(b".")
    return name.rpartition(b".")[2].decode("utf-8", "replace").lower() if b"." in name else ""


def promote_campaigns(engine: Engine, scan_id: int) -> int:
    """Call encrypted the random-content files that share an unfamiliar extension."""
    f = ScanFile
    groups: dict[str, list[tuple[int, str]]] = defaultdict(list)
    with engine.connect() as conn:
        rows = conn.execute(
            select(f.id, f.path, f.evidence).where(
                f.scan_id == scan_id,
                f.verdict == Verdict.SUSPICIOUS.value,
                f.format == RANDOM_FORMAT,
            )
        )
        for fid, path, evidence in rows:
            ext = _ext(bytes(path))
            if ext not in OPAQUE:
                groups[ext].append((fid, evidence))
    updates = []
    for ext, members in groups.items():
        if len(members) < CAMPAIGN_MIN:
            continue
        why = f"{len(members)} files share the extension .{ext} and are random from end to end"
        for fid, evidence in members:
            ev = [*json.loads(evidence), why]
            updates.append(
                {"fid": fid, "verdict": Verdict.ENCRYPTED.value, "evidence": json.dumps(ev)}
            )
    _apply(engine, updates)
    return len(updates)


def _apply(engine: Engine, updates: list[dict[str, object]]) -> None:
    if not updates:
        return
    keys = [k for k in updates[0] if k != "fid"]
    table = ScanFile.__table__  # Core table: executemany by our own key, not ORM bulk rules
    assert isinstance(table, Table)
    stmt = (
        update(table).where(table.c.id == bindparam("fid")).values({k: bindparam(k) for k in keys})
    )
    with engine.begin() as conn:
        for i in range(0, len(updates), 5000):
            conn.execute(stmt, updates[i : i + 5000])
