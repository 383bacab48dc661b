"""The logbook ("main courante"): append-only, hash-chained entries.

Each entry's hash is SHA-256 over the previous entry's hash and a canonical JSON encoding of
the entry (incident key, sequence number, UTC time to the microsecond, author, text, source,
corrected entry). The incident row keeps the newest hash and the count, so deleting the last
entries shows too. Entries are never edited or deleted: a correction is a new entry that
names the one it corrects. Someone able to rewrite the whole chain and the head can hide it;
an exported copy kept elsewhere (`export_jsonl`) is the anchor against that.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from rempart.store.models import Incident
from rempart.store.workspace import LogEntry
from rempart.workspace import audit
from rempart.workspace._errors import Invalid, NotFound
from rempart.workspace._roles import Permission
from rempart.workspace.access import Actor, require
from rempart.workspace.auth import aware

GENESIS = "0" * 64
MAX_TEXT = 20_000


@dataclass(frozen=True)
class Entry:
    seq: int
    at: datetime
    author: str
    what: str
    source: str
    corrects: int | None
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class ChainProblem:
    seq: int | None
    kind: str  # "changed", "link" (deleted, inserted or reordered), "sequence", "head"
    detail: str


@dataclass(frozen=True)
class ChainReport:
    incident: str
    entries: int
    head: str
    problems: tuple[ChainProblem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def _stamp(at: datetime) -> str:
    return aware(at).isoformat(timespec="microseconds")


def entry_hash(
    prev_hash: str,
    incident_key: str,
    seq: int,
    at: datetime,
    author: str,
    what: str,
    source: str,
    corrects: int | None,
) -> str:
    """The chained hash of one entry (the definition the verifier recomputes)."""
    canonical = json.dumps(
        {
            "incident": incident_key,
            "seq": seq,
            "at": _stamp(at),
            "author": author,
            "what": what,
            "source": source,
            "corrects": corrects,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(prev_hash.encode("ascii") + b"\n" + canonical.encode("utf-8")).hexdigest()


def _entry(row: LogEntry) -> Entry:
    return Entry(
        row.seq,
        aware(row.at),
        row.author,
        row.what,
        row.source,
        row.corrects,
        row.prev_hash,
        row.hash,
    )


def append(
    s: Session,
    actor: Actor,
    incident_id: int,
    what: str,
    *,
    source: str = "workspace",
    corrects: int | None = None,
    at: datetime | None = None,
) -> Entry:
    """Append an entry (the time is now unless given, e.g. an event noted afterwards).

    Raises:
        NotFound / Forbidden: the actor may not write to this incident's logbook.
        Invalid: empty text, or `corrects` names no earlier entry.
    """
    require(s, actor, incident_id, Permission.LOG)
    what = what.strip()
    if not what or len(what) > MAX_TEXT:
        raise Invalid(f"a logbook entry needs 1 to {MAX_TEXT} characters of text")
    # Locks the incident row on PostgreSQL so two appends cannot fork the chain; SQLite has
    # one writer anyway, and the unique (incident, seq) catches any race left.
    inc = s.scalar(select(Incident).where(Incident.id == incident_id).with_for_update())
    if inc is None:
        raise NotFound(f"no incident {incident_id}")
    if corrects is not None and not 1 <= corrects <= inc.log_count:
        raise Invalid(f"entry {corrects} does not exist: nothing to correct")
    seq = inc.log_count + 1
    prev = inc.log_head or GENESIS
    when = aware(at) if at else datetime.now(UTC)
    source = source.strip()[:200] or "workspace"
    digest = entry_hash(prev, inc.key, seq, when, actor.label, what, source, corrects)
    row = LogEntry(
        incident_id=incident_id,
        seq=seq,
        at=when,
        author=actor.label,
        what=what,
        source=source,
        corrects=corrects,
        prev_hash=prev,
        hash=digest,
    )
    s.add(row)
    inc.log_count, inc.log_head = seq, digest
    s.flush()
    audit.record(
        s,
        actor,
        "append",
        "logbook",
        f"{inc.key}#{seq}",
        after={"what": what, "source": source, "corrects": corrects},
        incident_id=incident_id,
    )
    return _entry(row)


def entries(s: Session, actor: Actor, incident_id: int) -> list[Entry]:
    """The logbook in order (oldest first)."""
    require(s, actor, incident_id, Permission.READ)
    rows = s.scalars(
        select(LogEntry).where(LogEntry.incident_id == incident_id).order_by(LogEntry.seq)
    )
    return [_entry(r) for r in rows]


def verify(s: Session, actor: Actor, incident_id: int) -> ChainReport:
    """Recompute the chain: find changed, deleted, inserted or reordered entries."""
    require(s, actor, incident_id, Permission.READ)
    inc = s.get(Incident, incident_id)
    if inc is None:
        raise NotFound(f"no incident {incident_id}")
    # Insertion order (id), not seq: a reordering done by renumbering shows as a break.
    rows = list(
        s.scalars(select(LogEntry).where(LogEntry.incident_id == incident_id).order_by(LogEntry.id))
    )
    problems: list[ChainProblem] = []
    prev = GENESIS
    for position, row in enumerate(rows, start=1):
        if row.seq != position:
            problems.append(
                ChainProblem(row.seq, "sequence", f"entry at position {position} says {row.seq}")
            )
        if row.prev_hash != prev:
            problems.append(ChainProblem(row.seq, "link", "previous entry missing, added or moved"))
        again = entry_hash(
            row.prev_hash, inc.key, row.seq, row.at, row.author, row.what, row.source, row.corrects
        )
        if again != row.hash:
            problems.append(ChainProblem(row.seq, "changed", "content differs from its hash"))
        prev = row.hash
    if len(rows) != inc.log_count or prev != (inc.log_head or GENESIS):
        problems.append(
            ChainProblem(
                None,
                "head",
                f"the incident records {inc.log_count} entries ending in {inc.log_head[:12]}, "
                f"the table holds {len(rows)} ending in {prev[:12]}",
            )
        )
    return ChainReport(inc.key, len(rows), prev, tuple(problems))


def compare_export(s: Session, actor: Actor, incident_id: int, jsonl: str) -> list[ChainProblem]:
    """Check the store against an earlier export kept elsewhere (the anchor of the chain).

    Every exported entry must still be there with the same hash: this catches even a chain
    rewritten from the start with fresh hashes. Entries added since the export are fine.

    Raises:
        Invalid: the export is damaged (not JSON Lines of logbook entries).
    """
    current = {e.seq: e.hash for e in entries(s, actor, incident_id)}
    problems: list[ChainProblem] = []
    for n, line in enumerate(jsonl.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            seq, digest = int(row["seq"]), str(row["hash"])
        except (ValueError, TypeError, KeyError) as exc:
            raise Invalid(f"line {n} of the export is not a logbook entry: {exc}") from exc
        if seq not in current:
            problems.append(ChainProblem(seq, "missing", "exported entry no longer in the store"))
        elif current[seq] != digest:
            problems.append(ChainProblem(seq, "differs", "hash differs from the exported one"))
    return problems


def _records(items: list[Entry]) -> Iterator[dict[str, object]]:
    for e in items:
        row = asdict(e)
        row["at"] = _stamp(e.at)
        yield row


def export_jsonl(s: Session, actor: Actor, incident_id: int) -> str:
    """The logbook as JSON Lines (one entry a line, with its hashes)."""
    lines = (json.dumps(r, ensure_ascii=False) for r in _records(entries(s, actor, incident_id)))
    return "".join(line + "\n" for line in lines)


FIELDS = ("seq", "at", "author", "what", "source", "corrects", "prev_hash", "hash")


#: What a spreadsheet takes for the start of a formula (OWASP "CSV injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> object:
    """A cell a spreadsheet shows as text: a leading apostrophe before a would-be formula.

    Logbook text comes from anyone who can write in it (and from the guard's webhook): an
    entry "=HYPERLINK(...)" must not run when an official opens the export in a spreadsheet.
    """
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def export_csv(s: Session, actor: Actor, incident_id: int) -> str:
    """The logbook as CSV (header row first), for a spreadsheet or a printed annex.

    Text cells that would start a formula get a leading apostrophe (see `csv_cell`), so the
    CSV is for reading; the JSONL export is the exact copy `compare_export` checks.
    """
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=FIELDS, lineterminator="\n")
    writer.writeheader()
    for row in _records(entries(s, actor, incident_id)):
        writer.writerow({k: csv_cell(v) for k, v in row.items()})
    return out.getvalue()
