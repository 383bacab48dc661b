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
from collections.abc import Callable, Iterable

from sqlalchemy import Engine, Select, Table, bindparam, select, update

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
_PAGE = 5000  # rows read, and updates written, at a time: memory stays flat
_SUSPICIOUS = Verdict.SUSPICIOUS.value


def apply_context(engine: Engine, scan_id: int) -> None:
    """Run every cross-file rule over a finished scan."""
    promote_campaigns(engine, scan_id, attacked=_attacked(engine, scan_id))
    promote_next_to_notes(engine, scan_id)
    assign_families(engine, scan_id)


def _attacked(engine: Engine, scan_id: int) -> bool:
    """The scan shows an attack: a ransom note, or encrypted files."""
    f = ScanFile
    hit = [Verdict.RANSOM_NOTE.value, *_DAMAGED]
    with engine.connect() as conn:
        found = conn.scalar(select(f.id).where(f.scan_id == scan_id, f.verdict.in_(hit)).limit(1))
    return found is not None


def _stream_updates(
    engine: Engine,
    query: Select[int, bytes, str],
    update_for: Callable[[int, bytes, str], dict[str, object] | None],
) -> int:
    """Read `query` page by page and apply what `update_for(*row)` returns, page by page."""
    pending: list[dict[str, object]] = []
    done = 0
    with engine.connect() as conn:
        for row in conn.execute(query.execution_options(yield_per=_PAGE)):
            change = update_for(row[0], bytes(row[1]), row[2])
            if change is not None:
                pending.append(change)
            if len(pending) >= _PAGE:
                _apply(engine, pending)
                done += len(pending)
                pending = []
    _apply(engine, pending)
    return done + len(pending)


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


def promote_campaigns(engine: Engine, scan_id: int, attacked: bool) -> int:
    """Suspicious files sharing an unfamiliar extension with a campaign are encrypted.

    Two kinds of campaign: an extension that at least `CAMPAIGN_MIN` encrypted files carry,
    and, only where the scan shows an attack (`attacked`), an extension that many files of
    random content share. Without that, random files alike are a format we do not know
    (web fonts, packs, backups of some tool), not an attack.
    """
    f = ScanFile
    damaged: Counter[str] = Counter()
    random_: Counter[str] = Counter()
    rows = select(f.path, f.verdict, f.evidence).where(
        f.scan_id == scan_id, f.verdict.in_([*_DAMAGED, _SUSPICIOUS])
    )
    with engine.connect() as conn:
        for path, verdict, evidence in conn.execute(rows.execution_options(yield_per=_PAGE)):
            ext = _ext(bytes(path))
            if ext in OPAQUE or ext in STRUCTURED:
                continue
            if verdict != _SUSPICIOUS:
                damaged[ext] += 1
            elif RANDOM_THROUGHOUT in evidence:
                random_[ext] += 1
    why: dict[str, str] = {}
    for ext in {*damaged, *random_}:
        if damaged[ext] >= CAMPAIGN_MIN:
            why[ext] = f"shares the extension .{ext} with {damaged[ext]} encrypted files"
        elif attacked and random_[ext] >= CAMPAIGN_MIN:
            why[ext] = f"{random_[ext]} files share the extension .{ext} and are random throughout"
    if not why:
        return 0

    def promote(fid: int, path: bytes, evidence: str) -> dict[str, object] | None:
        reason = why.get(_ext(path))
        if reason is None:
            return None
        return _promotion(fid, evidence, _promoted_verdict(evidence), reason)

    suspects = select(f.id, f.path, f.evidence).where(
        f.scan_id == scan_id, f.verdict == _SUSPICIOUS
    )
    return _stream_updates(engine, suspects, promote)


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

    def promote(fid: int, path: bytes, evidence: str) -> dict[str, object] | None:
        if SIGNATURE_LOST not in evidence or _parent(path) not in note_dirs:
            return None
        why = "a ransom note lies in the same folder"
        return _promotion(fid, evidence, _promoted_verdict(evidence), why)

    f = ScanFile
    suspects = select(f.id, f.path, f.evidence).where(
        f.scan_id == scan_id, f.verdict == _SUSPICIOUS
    )
    return _stream_updates(engine, suspects, promote)


def assign_families(engine: Engine, scan_id: int) -> int:
    """Name the family of damaged files: nearest ransom note, else an extension's only family."""
    by_dir = _notes_by_dir(engine, scan_id)
    nearest = {d: c.most_common(1)[0][0] for d, c in by_dir.items() if c.most_common(1)[0][0]}
    overall = {fam for c in by_dir.values() for fam in c if fam}
    only = next(iter(overall)) if len(overall) == 1 else None

    def name(fid: int, path: bytes, evidence: str) -> dict[str, object] | None:
        family, why = _family_of(path, nearest, only)
        if not family:
            return None
        return {"fid": fid, "family": family, "evidence": json.dumps([*json.loads(evidence), why])}

    f = ScanFile
    damaged = select(f.id, f.path, f.evidence).where(
        f.scan_id == scan_id, f.verdict.in_(_DAMAGED), f.family.is_(None)
    )
    return _stream_updates(engine, damaged, name)


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
