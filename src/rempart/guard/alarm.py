"""What the detector hands to the responders: an alarm about one actor, and what was done.

This module is the contract between the two halves of the guard: event sources and scoring
(which raise alarms) and responders (which act on them). Fields are only ever added, with
defaults, so neither half breaks the other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol


class ActorKind(StrEnum):
    PROCESS = "process"  # a local process, known by its PID (fanotify)
    SMB_CLIENT = "smb-client"  # a client of Samba, known by its address (vfs_full_audit)
    #: an account, whatever the process or address it writes from: a Samba account (its
    #: `addresses`) or a local Unix user (its `pids`)
    USER = "user"


@dataclass(frozen=True)
class Actor:
    """Who is doing the writing; the fields the source knows are set, the others are None."""

    kind: ActorKind
    pid: int | None = None
    #: the process's command line as read from /proc when the alarm was raised
    command: str | None = None
    address: str | None = None  # IPv4 or IPv6 address of an SMB client
    user: str | None = None
    #: the smbd process serving this client (closing it closes the client's session)
    smbd_pid: int | None = None
    #: a user: every client address the account was seen on recently (block-client)
    addresses: tuple[str, ...] = ()
    #: a local Unix user: the PIDs of its processes that scored (stop-process stops each)
    pids: tuple[int, ...] = ()
    #: a local Unix user: the process that started two or more of `pids` (a shell loop,
    #: xargs, find: one process per file), stopped first so that no next file is started
    loop: int | None = None

    @property
    def key(self) -> str:
        """A stable name for the actor: one alarm, one response per key."""
        if self.kind is ActorKind.PROCESS:
            return f"process:{self.pid}"
        if self.kind is ActorKind.SMB_CLIENT:
            return f"smb-client:{self.address}"
        if self.pids:  # a local Unix user, never mistaken for the Samba account of that name
            return f"local-user:{self.user}"
        return f"user:{self.user}"


@dataclass(frozen=True)
class Alarm:
    """Encryption in progress, attributed to one actor, with the evidence that decided it."""

    actor: Actor
    at: datetime  # timezone-aware, when the decision was taken
    score: float
    #: short human-readable reasons, strongest first ("decoy written: ...", "format broken: ...")
    reasons: tuple[str, ...]
    #: the files involved so far (as shown to users: relative to the watched root)
    paths: tuple[str, ...] = ()
    watched_root: str = ""
    incident: str | None = None
    #: when the first event of this actor that counted towards the alarm was seen
    first_seen: datetime | None = None
    #: the guard run (`rempart.store.guard.GuardRun.id`) that raised it, for responses
    run_id: int | None = None


@dataclass(frozen=True)
class Response:
    """What one responder did (or would have done, in a dry run) about one alarm."""

    responder: str
    actor_key: str
    ok: bool
    dry_run: bool
    detail: str  # what was done, or why it failed, in one line
    at: datetime
    #: True when the same response had already been made for this actor (idempotence)
    already_done: bool = False
    extra: dict[str, str] = field(default_factory=dict)


class Responder(Protocol):
    """One way of acting on an alarm; registered by name, configured from TOML."""

    name: str

    def respond(self, alarm: Alarm, *, dry_run: bool) -> Response:
        """Act on `alarm` (or say what would be done); never raise for an expected failure."""
        ...
