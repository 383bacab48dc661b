"""`timeline story`: what the events say happened, each claim citing the events behind it.

Heuristics, stated as such: patient zero is the host of the first event a rule of medium
level or above matched, with the logons that reached it before; lateral movement is the
network and remote logons (Windows 4624 types 3 and 10, SSH sessions) drawn host to host.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, and_, func, select

from rempart.forensics._db import incident_id
from rempart.forensics._time import iso_from_us
from rempart.forensics.parsers._syslog import SSH_LOGON
from rempart.store.timeline import EVENTS, MATCHES

SERIOUS = ("medium", "high", "critical")
#: a client writing this many files over SMB in one minute is encrypting, not working
MASS_WRITES_PER_MINUTE = 100
_CITED = 10  # events cited per claim (the count says how many there are)
_LOCAL = {"", "-", "127.0.0.1", "::1", "localhost"}
_SERVICE_ACCOUNTS = {"system", "local service", "network service", "anonymous logon", "-", ""}
#: story tags of the project's rules -> what the claim says
STEPS = {
    "shadow_copies_deleted": "shadow copies deleted",
    "backups_deleted": "backup catalog deleted",
    "services_stopped": "backup or antivirus services stopped",
    "recovery_disabled": "system recovery disabled",
    "remote_execution": "remote execution (PsExec-like)",
}


@dataclass(frozen=True)
class Claim:
    text: str
    time: str | None
    events: tuple[int, ...]
    count: int = 1


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    first: str | None
    last: str | None
    logons: int
    accounts: tuple[str, ...]
    kinds: tuple[str, ...]
    events: tuple[int, ...]


@dataclass
class Story:
    incident: str
    patient_zero: Claim | None = None
    first_malicious: Claim | None = None
    accounts: list[Claim] = field(default_factory=list)
    lateral_movement: list[Edge] = field(default_factory=list)
    steps: dict[str, Claim] = field(default_factory=dict)  # shadow_copies_deleted...
    mass_smb_writes: list[Claim] = field(default_factory=list)
    first_encrypted: Claim | None = None
    last_encrypted: Claim | None = None


def _when(us: int | None) -> str | None:
    return None if us is None else iso_from_us(us)


def build_story(engine: Engine, incident: str) -> Story:
    """Read the incident's events and matches into a story."""
    inc = incident_id(engine, incident, create=False)
    story = Story(incident)
    e, m = EVENTS.c, MATCHES.c
    with engine.connect() as conn:
        first = conn.execute(
            select(e.id, e.ts_us, e.host, m.rule_title, m.level)
            .join(MATCHES, m.event_pk == e.id)
            .where(e.incident_id == inc, m.level.in_(SERIOUS), e.ts_us.is_not(None))
            .order_by(e.ts_us, e.id)
            .limit(1)
        ).first()
        edges = _edges(conn, inc)
        story.lateral_movement = edges
        if first is not None:
            story.first_malicious = Claim(
                f"{first.rule_title} ({first.level}) on {first.host}",
                _when(first.ts_us),
                (first.id,),
            )
            story.patient_zero = _patient_zero(first, edges)
        story.accounts = _accounts(conn, inc)
        for tag, label in STEPS.items():
            hits = conn.execute(
                select(e.id, e.ts_us, e.host)
                .join(MATCHES, m.event_pk == e.id)
                .where(e.incident_id == inc, m.story == tag)
                .order_by(e.ts_us, e.id)
            ).all()
            if hits:
                hosts = sorted({h.host for h in hits})
                story.steps[tag] = Claim(
                    f"{label} on {', '.join(hosts)}",
                    _when(hits[0].ts_us),
                    tuple(h.id for h in hits[:_CITED]),
                    len(hits),
                )
        story.mass_smb_writes = _mass_writes(conn, inc)
        story.first_encrypted, story.last_encrypted = _encrypted(conn, inc)
    return story


def _patient_zero(first: Any, edges: list[Edge]) -> Claim:
    before = [
        edge
        for edge in edges
        if edge.target.lower() == str(first.host).lower()
        and edge.first
        and edge.first <= iso_from_us(first.ts_us)
    ]
    text = f"{first.host}: the first serious detection happened there"
    cited: tuple[int, ...] = (first.id,)
    if before:
        earliest = min(before, key=lambda edge: edge.first or "")
        text += f", reached from {earliest.source} at {earliest.first}"
        cited += earliest.events[:1]
    return Claim(text, _when(first.ts_us), cited)


def _edges(conn: Any, inc: int) -> list[Edge]:
    e = EVENTS.c
    logons = conn.execute(
        select(e.id, e.ts_us, e.host, e.src_addr, e.account, e.logon_type, e.source)
        .where(
            e.incident_id == inc,
            ((e.event_id == 4624) & e.logon_type.in_((3, 10)) & (e.source == "evtx"))
            | ((e.source == "syslog") & (e.event_id == SSH_LOGON)),
        )
        .order_by(e.ts_us, e.id)
    )
    grouped: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for row in logons:
        if row.src_addr.lower() in _LOCAL:
            continue
        grouped[(row.src_addr, row.host)].append(row)
    edges = []
    for (source, target), rows in grouped.items():
        kinds = sorted(
            {
                "ssh" if r.source == "syslog" else "rdp" if r.logon_type == 10 else "network"
                for r in rows
            }
        )
        edges.append(
            Edge(
                source,
                target,
                _when(rows[0].ts_us),
                _when(rows[-1].ts_us),
                len(rows),
                tuple(sorted({r.account for r in rows if r.account})),
                tuple(kinds),
                tuple(r.id for r in rows[:_CITED]),
            )
        )
    return sorted(edges, key=lambda edge: edge.first or "")


def _accounts(conn: Any, inc: int) -> list[Claim]:
    """Accounts on events a rule matched, and on remote logons."""
    e, m = EVENTS.c, MATCHES.c
    rows = conn.execute(
        select(e.account, func.min(e.ts_us), func.count(func.distinct(e.id)))
        .join(MATCHES, m.event_pk == e.id)
        .where(e.incident_id == inc, e.account != "", m.level != "informational")
        .group_by(e.account)
        .order_by(func.min(e.ts_us))
    ).all()
    claims = []
    for account, first_us, count in rows:
        if account.split("\\")[-1].lower() in _SERVICE_ACCOUNTS:
            continue
        ids = (
            conn.execute(
                select(e.id)
                .join(MATCHES, m.event_pk == e.id)
                .where(and_(e.incident_id == inc, e.account == account))
                .group_by(e.id)
                .order_by(func.min(e.ts_us))
                .limit(_CITED)
            )
            .scalars()
            .all()
        )
        claims.append(Claim(account, _when(first_us), tuple(ids), int(count)))
    return claims


def _mass_writes(conn: Any, inc: int) -> list[Claim]:
    e, m = EVENTS.c, MATCHES.c
    minute = (e.ts_us // 60_000_000).label("minute")
    rows = conn.execute(
        select(e.src_addr, e.account, minute, func.count(), func.min(e.id), func.min(e.ts_us))
        .join(MATCHES, m.event_pk == e.id)
        .where(e.incident_id == inc, m.story == "smb_write", e.ts_us.is_not(None))
        .group_by(e.src_addr, e.account, minute)
        .having(func.count() >= MASS_WRITES_PER_MINUTE)
        .order_by(func.min(e.ts_us))
    ).all()
    return [
        Claim(
            f"{count} files written over SMB in one minute by {account} from {src}",
            _when(first_us),
            (int(first_id),),
            int(count),
        )
        for src, account, _minute, count, first_id, first_us in rows
    ]


def _encrypted(conn: Any, inc: int) -> tuple[Claim | None, Claim | None]:
    e = EVENTS.c
    base = select(e.id, e.ts_us, e.message).where(
        e.incident_id == inc,
        e.source == "scan",
        e.channel.in_(("encrypted", "partially_encrypted")),
        e.ts_us.is_not(None),
    )
    first = conn.execute(base.order_by(e.ts_us, e.id).limit(1)).first()
    last = conn.execute(base.order_by(e.ts_us.desc(), e.id.desc()).limit(1)).first()
    if first is None:
        return None, None
    return (
        Claim(first.message, _when(first.ts_us), (first.id,)),
        Claim(last.message, _when(last.ts_us), (last.id,)),
    )


def render_text(story: Story) -> str:
    """The story for people: one claim a line, with its time and the events it rests on."""

    def line(label: str, claim: Claim | None) -> str:
        if claim is None:
            return f"{label}: not found in the events"
        cites = ", ".join(f"#{i}" for i in claim.events)
        more = f" ({claim.count} events)" if claim.count > 1 else ""
        return f"{label}: {claim.text}{more} at {claim.time or 'unknown time'} [events {cites}]"

    out = [
        f"Incident {story.incident}",
        line("Probable patient zero", story.patient_zero),
        line("First malicious event", story.first_malicious),
    ]
    for tag, label in STEPS.items():
        if tag in story.steps:
            out.append(line(label.capitalize(), story.steps[tag]))
    out.append(
        line("Shadow copies deleted", story.steps.get("shadow_copies_deleted"))
        if "shadow_copies_deleted" not in story.steps
        else ""
    )
    out.append(line("First encrypted file", story.first_encrypted))
    out.append(line("Last encrypted file", story.last_encrypted))
    for claim in story.mass_smb_writes:
        out.append(line("Mass SMB writes", claim))
    out.append("Accounts used:" if story.accounts else "Accounts used: none found")
    out.extend(line("  account", c) for c in story.accounts)
    out.append("Lateral movement:" if story.lateral_movement else "Lateral movement: none found")
    for edge in story.lateral_movement:
        cites = ", ".join(f"#{i}" for i in edge.events)
        out.append(
            f"  {edge.source} -> {edge.target}: {edge.logons} {'/'.join(edge.kinds)} logons "
            f"({', '.join(edge.accounts) or 'no account'}) {edge.first} .. {edge.last} "
            f"[events {cites}]"
        )
    return "\n".join(x for x in out if x) + "\n"
