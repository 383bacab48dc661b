"""Per-account scores: the same SMB account encrypting from several clients at once.

An attacker holding one account's password can encrypt from several machines, each staying
below the threshold. Samba's audit names the account, so the points of every SMB client
(and of the smbd children serving them) are also added up per account. A user alarm needs
points from at least two client addresses, each with at least `MIN_SHARE` (about one content
indicator's worth: a rename or a changed digest alone is everyday work): one client alone
is that client's alarm, and blocking every machine of a user is only worth it when the
account itself is spread over several.

Local processes are added up the same way per Unix user (`LOCAL`, keyed by the user name,
each part a PID): an attack running one process per file (`find -exec`, `xargs -P 4`) keeps
each process below the threshold. A local-user alarm needs points from at least two
processes, each with at least `MIN_SHARE`, the same rule as for accounts.

Responders act on a user alarm through `Actor.addresses` (every address the account was
seen on recently, not only those that scored) and `Actor.user` (its Samba sessions); on a
local user's through `Actor.pids` (the processes whose points counted).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from rempart.guard.alarm import Actor, ActorKind, Alarm
from rempart.guard.scoring import THRESHOLD, ActorState

Kind = Literal["smb account", "local uid"]
SMB: Kind = "smb account"  # parts are client addresses (Samba's audit names the account)
LOCAL: Kind = "local uid"  # parts are PIDs (fanotify's), the user read from /proc

#: points one address (or process) must bring before it counts towards its account: more
#: than the spread of one job's writes across folders (0.5), which benign jobs reach
MIN_SHARE = 0.75
#: how long an address stays among the account's "recent" ones (block-client blocks them all)
RECENT = 1800.0
_ADDRESSES = 64  # per account: the most recent ones are kept
_PARTS = 256  # per account: scored actors kept (smbd children come and go for weeks)
_IDLE = 3600.0
_KEEP_REASONS = 12


@dataclass
class UserState:
    user: str
    kind: Kind = SMB
    #: actor key -> (part: client address or PID, that actor's state): the scorer's states
    parts: dict[str, tuple[str, ActorState]] = field(default_factory=dict)
    #: part -> when last seen (monotonic), most recent last
    seen: OrderedDict[str, float] = field(default_factory=OrderedDict)
    alarmed: bool = False
    last_seen: float = 0.0

    def by_part(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for part, state in self.parts.values():
            out[part] = out.get(part, 0.0) + state.score
        return out

    def counted(self) -> dict[str, float]:
        """The parts (addresses, PIDs) whose points count for the user, with their points."""
        return {a: s for a, s in self.by_part().items() if s >= MIN_SHARE}

    @property
    def score(self) -> float:
        return sum(self.counted().values())


class Users:
    def __init__(self, root: str, threshold: float = THRESHOLD) -> None:
        self.root = root
        self.threshold = threshold
        self.users: dict[tuple[Kind, str], UserState] = {}

    def seen(self, user: str | None, address: str | None, kind: Kind = SMB) -> UserState | None:
        """Any record naming both (the audit log's): remember the address (or, for a local
        user, the PID) for the user."""
        if not user or not address:
            return None
        found = self.users.get((kind, user))
        if found is None:
            self._forget_idle()
            found = self.users[(kind, user)] = UserState(user, kind)
        now = found.last_seen = time.monotonic()
        found.seen[address] = now
        found.seen.move_to_end(address)
        while len(found.seen) > _ADDRESSES:
            found.seen.popitem(last=False)
        return found

    def scored(
        self, user: str | None, address: str | None, state: ActorState, kind: Kind = SMB
    ) -> bool:
        """`state` (of a client of `user` at `address`, or of `user`'s process `address`) was
        scored: True when the user has just crossed the threshold (once)."""
        found = self.seen(user, address, kind)
        if found is None or address is None:
            return False
        if state.score > 0:  # only actors with points: the parts stay few
            found.parts[state.actor.key] = (address, state)
            _prune(found.parts)
        counted = found.counted()
        if found.alarmed or len(counted) < 2 or sum(counted.values()) < self.threshold:
            return False
        found.alarmed = True
        return True

    def actor(self, user: str, kind: Kind = SMB) -> Actor:
        """The account, with every address it was seen on in the last `RECENT` seconds; a
        local user, with every PID of its that scored (the processes to stop)."""
        found = self.users[(kind, user)]
        if kind == LOCAL:
            # only the processes that counted: a root alarm must not kill every root job
            # that renamed a file this hour
            pids = sorted(int(p) for p in found.counted())
            return Actor(ActorKind.USER, user=user, pids=tuple(pids))
        since = time.monotonic() - RECENT
        recent = tuple(a for a, t in reversed(found.seen.items()) if t >= since)
        return Actor(ActorKind.USER, user=user, addresses=recent)

    def alarm(self, user: str, incident: str | None, kind: Kind = SMB) -> Alarm:
        found = self.users[(kind, user)]
        counted = found.counted()
        states = [s for a, s in found.parts.values() if a in counted]
        hits = sorted((h for s in states for h in s.hits), key=lambda h: -h.points)
        order = (lambda a: (int(a), "")) if kind == LOCAL else (lambda a: (0, a))
        where = ", ".join(f"{a} ({counted[a]:.2f})" for a in sorted(counted, key=order))
        head = (
            f"Unix user {user} writing from {len(counted)} processes: PIDs {where}"
            if kind == LOCAL
            else f"account {user} writing from {len(counted)} clients: {where}"
        )
        first = [s.first_seen for s in states if s.first_seen is not None]
        paths = list(dict.fromkeys(p for s in states for p in s.paths))
        return Alarm(
            actor=self.actor(user, kind),
            at=datetime.now(UTC),
            score=round(sum(counted.values()), 2),
            reasons=(
                head,
                *(h.reason for h in hits[: _KEEP_REASONS - 1]),
            ),
            paths=tuple(paths[:20]),
            watched_root=self.root,
            incident=incident,
            first_seen=min(first) if first else None,
        )

    def _forget_idle(self) -> None:
        now = time.monotonic()
        for key in [k for k, u in self.users.items() if now - u.last_seen > _IDLE]:
            del self.users[key]


def _prune(parts: dict[str, tuple[str, ActorState]]) -> None:
    """Drop the actors the scorer forgets (idle for `_IDLE`): their points no longer count for
    the account either, and a busy account's smbd children of past weeks are not kept; then
    the least recently seen beyond `_PARTS`."""
    since = time.monotonic() - _IDLE
    for key in [k for k, (_a, s) in parts.items() if s.last_seen < since]:
        del parts[key]
    if len(parts) > _PARTS:
        by_age = sorted(parts, key=lambda k: parts[k][1].last_seen)
        for key in by_age[: len(parts) - _PARTS]:
            del parts[key]
