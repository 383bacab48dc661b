"""What a file alone cannot tell: conclusions drawn across the scanned tree, after the walk.

- Files that share an unfamiliar extension with many encrypted files belong to the same
  campaign, and so do dozens of random files sharing one: a single random file may be a
  VeraCrypt container or a key, dozens renamed alike are an attack.
- A file whose signature is gone, sitting next to a ransom note, was hit too.
- An encrypted file takes the family of the ransom note in its folder or the nearest one
  above it (attacks drop a note in every folder they touch); failing that, the family of
  its extension when only one family uses it. A marker in the file itself came first.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable

from sqlalchemy import Engine, Table, bindparam, select, update

from rempart.store.models import ScanFile
from rempart.triage import families
from rempart.triage.classify import RANDOM_THROUGHOUT, SIGNATURE_LOST, STRUCTURED
from rempart.triage.verdicts import DAMAGED, Verdict

#: Files sharing one unfamiliar extension, from this many on, make a campaign.
CAMPAIGN_MIN = 5
#: Extensions whose files are random by nature: never a campaign on their own.
OPAQUE = frozenset(
    {"", "bin", "dat", "key", "hc", "tc", "vc", "img", "iso", "raw", "enc", "kdbx", "rnd", "tmp"}
)
_DAMAGED = [v.value for v in DAMAGED]
_SUSPICIOUS = Verdict.SUSPICIOUS.value


def apply_context(engine: Engine, scan_id: int) -> None:
    """Run every cross-file rule over a finished scan."""
    promote_campaigns(engine, scan_id)
    promote_next_to_notes(engine, scan_id)
    assign_families(engine, scan_id)


def _parent(path: bytes) -> bytes:
    return path.rpartition(b"/")[0]


def _ext(path: bytes) -> str:
    name = path.rpartition(b"/")[2].lstrip(b".")
    return name.rpartition(b".")[2].decode("utf-8", "replace").lower() if b"." in name else ""


def _promotion(fid: int, evidence: str, verdict: Verdict, why: str) -> dict[str, object]:
    return {
        "fid": fid,
        "verdict": verdict.value,
        "evidence": json.dumps([*json.loads(evidence), why]),
    }


def _promoted_verdict(evidence: str) -> Verdict:
    if RANDOM_THROUGHOUT in evidence:
        return Verdict.ENCRYPTED
    return Verdict.PARTIALLY_ENCRYPTED


def promote_campaigns(engine: Engine, scan_id: int) -> int:
    """Suspicious files sharing an unfamiliar extension with a campaign are encrypted."""
    f = ScanFile
    damaged: Counter[str] = Counter()
    random_: Counter[str] = Counter()
    suspects: dict[str, list[tuple[int, str]]] = defaultdict(list)
    with engine.connect() as conn:
        rows = conn.execute(
            select(f.id, f.path, f.verdict, f.evidence).where(
                f.scan_id == scan_id, f.verdict.in_([*_DAMAGED, _SUSPICIOUS])
            )
        )
        for fid, path, verdict, evidence in rows:
            ext = _ext(bytes(path))
            if ext in OPAQUE or ext in STRUCTURED:
                continue
            if verdict == _SUSPICIOUS:
                suspects[ext].append((fid, evidence))
                random_[ext] += RANDOM_THROUGHOUT in evidence
            else:
                damaged[ext] += 1
    updates = []
    for ext, members in suspects.items():
        if damaged[ext] >= CAMPAIGN_MIN:
            why = f"shares the extension .{ext} with {damaged[ext]} encrypted files"
        elif random_[ext] >= CAMPAIGN_MIN:
            why = f"{random_[ext]} files share the extension .{ext} and are random throughout"
        else:
            continue
        updates += [_promotion(fid, ev, _promoted_verdict(ev), why) for fid, ev in members]
    _apply(engine, updates)
    return len(updates)


def _notes_by_dir(engine: Engine, scan_id: int) -> dict[bytes, Counter[str]]:
    f = ScanFile
    with engine.connect() as conn:
        notes = conn.execute(
            select(f.path, f.family).where(
                f.scan_id == scan_id, f.verdict == Verdict.RANSOM_NOTE.value
            )
        ).all()
    by_dir: dict[bytes, Counter[str]] = defaultdict(Counter)
    for path, family in notes:
        by_dir[_parent(bytes(path))][family or ""] += 1
    return by_dir


def promote_next_to_notes(engine: Engine, scan_id: int) -> int:
    """A file whose signature is gone, in a folder holding a ransom note, was hit."""
    note_dirs = _notes_by_dir(engine, scan_id)
    if not note_dirs:
        return 0
    f = ScanFile
    updates = []
    with engine.connect() as conn:
        rows = conn.execute(
            select(f.id, f.path, f.evidence).where(f.scan_id == scan_id, f.verdict == _SUSPICIOUS)
        )
        for fid, path, evidence in rows:
            if SIGNATURE_LOST not in evidence or _parent(bytes(path)) not in note_dirs:
                continue
            why = "a ransom note lies in the same folder"
            updates.append(_promotion(fid, evidence, _promoted_verdict(evidence), why))
    _apply(engine, updates)
    return len(updates)


def assign_families(engine: Engine, scan_id: int) -> int:
    """Name the family of damaged files: nearest ransom note, else an extension's only family."""
    by_dir = _notes_by_dir(engine, scan_id)
    nearest = {d: c.most_common(1)[0][0] for d, c in by_dir.items() if c.most_common(1)[0][0]}
    overall = {fam for c in by_dir.values() for fam in c if fam}
    only = next(iter(overall)) if len(overall) == 1 else None
    f = ScanFile
    updates = []
    with engine.connect() as conn:
        rows = conn.execute(
            select(f.id, f.path, f.evidence).where(
                f.scan_id == scan_id, f.verdict.in_(_DAMAGED), f.family.is_(None)
            )
        )
        for fid, path, evidence in rows:
            family, why = _family_of(bytes(path), nearest, only)
            if family:
                ev = [*json.loads(evidence), why]
                updates.append({"fid": fid, "family": family, "evidence": json.dumps(ev)})
    _apply(engine, updates)
    return len(updates)


def _family_of(path: bytes, nearest: dict[bytes, str], only: str | None) -> tuple[str | None, str]:
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
    by_ext = families.by_extension(path.decode("utf-8", "surrogateescape"))
    if len(by_ext) == 1:
        return by_ext[0], f"family of the extension .{_ext(path)}, used by no other family"
    return None, ""


def _apply(engine: Engine, updates: Iterable[dict[str, object]]) -> None:
    updates = list(updates)
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
