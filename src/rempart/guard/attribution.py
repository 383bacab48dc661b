"""Who an alarm is about: the SMB client behind an smbd process, the account behind clients
and the Unix user behind local processes (`users`). Kept apart from the loop of `engine`,
which only asks."""

from __future__ import annotations

import os
import pwd
import time
from collections import OrderedDict
from dataclasses import replace

from rempart.guard.alarm import Actor, ActorKind, Alarm
from rempart.guard.correlate import Client, Correlator, command_of
from rempart.guard.scoring import ActorState, Scorer
from rempart.guard.users import LOCAL, Users

#: how long an alarm on an smbd process waits for the audit log to name its client
NAME_WAIT = 1.5
_UIDS = 4096  # PIDs whose user was read (one read of /proc per process, not per event)
#: parents (comm) that start many processes without being a loop of the attack: the service,
#: session and container managers; stopping one would cut far more than the attack
# fmt: off
MANAGERS = frozenset({
    "systemd", "init", "sshd", "sshd-session", "login", "su", "sudo", "cron", "crond", "atd",
    "anacron", "screen", "SCREEN", "tmux", "tmux: server", "containerd", "containerd-shim",
    "runc", "dockerd", "supervisord", "runsv", "s6-supervise", "smbd",
})
# fmt: on


class Attribution:
    def __init__(self, root: str, corr: Correlator, scorer: Scorer, users: Users) -> None:
        self.root = root
        self.corr = corr
        self.scorer = scorer
        self.users = users
        #: PID -> (its Unix user's name, its parent's PID), None when it had exited (it then
        #: does not count)
        self._uids: OrderedDict[int, tuple[str, int] | None] = OrderedDict()

    def name(self, state: ActorState, *, audited: bool) -> Actor | None:
        """The actor to alarm about `state`: its SMB client when the audit names one; None
        while an smbd process waits (at most NAME_WAIT seconds) for the audit to name it."""
        a = state.actor
        if a.kind is not ActorKind.PROCESS:
            return a
        paths = [os.path.join(self.root, p) for p in state.paths]
        client = self.corr.actor(a.pid, paths)
        if client is not None:
            return client
        waited = time.monotonic() - (state.due_since or 0.0)
        if a.pid is not None and self.corr.smbd(a.pid) and audited and waited < NAME_WAIT:
            return None
        return Actor(ActorKind.PROCESS, pid=a.pid, command=command_of(a.pid) if a.pid else None)

    def account_alarm(self, actor: Actor, state: ActorState, incident: str | None) -> Alarm | None:
        """Add `state` to its account's score, with the smbd children's states of the same
        client (their writes may have been scored before the audit log named them); the
        account's alarm when it has just crossed the threshold."""
        client = self.client(actor)
        if client is None:
            return self.local_alarm(actor, state, incident)
        states = [state]
        for pid in self.corr.pids_of(client):
            found = self.scorer.actors.get(Actor(ActorKind.PROCESS, pid=pid).key)
            if found is not None and found is not state:
                states.append(found)
        crossed = [self.users.scored(client.user, client.address, s) for s in states]
        return self.users.alarm(client.user or "", incident) if any(crossed) else None

    def local_alarm(self, actor: Actor, state: ActorState, incident: str | None) -> Alarm | None:
        """Add a local process's `state` to its Unix user's score; the user's alarm when it has
        just crossed the threshold. smbd (SMB clients' work), the guard itself and processes
        already gone before their first scored event are never counted."""
        pid = actor.pid
        if actor.kind is not ActorKind.PROCESS or pid is None or pid == os.getpid():
            return None
        if self.corr.smbd(pid):
            return None
        user = self.user_of(pid)
        if user is None or not self.users.scored(user, str(pid), state, LOCAL):
            return None
        alarm = self.users.alarm(user, incident, LOCAL)
        loop, reason = self._loop(user, alarm.actor.pids)
        if reason is not None:
            # the loop starting one process per file writes nothing itself, yet each process
            # stopped is followed by the next file's: stop-process stops the loop first
            actor = replace(alarm.actor, loop=loop)
            alarm = replace(
                alarm, actor=actor, reasons=(alarm.reasons[0], reason, *alarm.reasons[1:])
            )
        return alarm

    def user_of(self, pid: int) -> str | None:
        """The name of `pid`'s real user (read once per PID), "uid N" without a name."""
        if pid not in self._uids:
            found = owner(pid)
            self._uids[pid] = None if found is None else (user_name(found[0]), found[1])
            while len(self._uids) > _UIDS:
                self._uids.popitem(last=False)
        known = self._uids[pid]
        return None if known is None else known[0]

    def _loop(self, user: str, pids: tuple[int, ...]) -> tuple[int | None, str | None]:
        """The process that started two or more of `pids`, when one did: (its PID when
        stop-process may stop it, else None; the reason naming it), or (None, None)."""
        parents = [k[1] for p in pids if (k := self._uids.get(p)) is not None and k[1] > 1]
        if not parents:
            return None, None
        ppid = max(set(parents), key=parents.count)
        n = parents.count(ppid)
        if n < 2:
            return None, None
        what = command_of(ppid) or "exited"
        head = f"{n} of these processes started by PID {ppid} ({what})"
        if (why := keeps_running(ppid, user)) is not None:
            return None, f"{head}: it is not stopped ({why})"
        return ppid, f"{head}: the loop starting them, stopped first"

    def client(self, actor: Actor) -> Client | None:
        """The SMB client (address and account) behind `actor`, when the audit named one."""
        if actor.kind is ActorKind.SMB_CLIENT and actor.address and actor.user:
            return Client(actor.address, actor.user)
        if actor.kind is ActorKind.PROCESS and actor.pid is not None and self.corr.smbd(actor.pid):
            found = self.corr.client_of_pid(actor.pid)
            return found if found is not None and found.user else None
        return None


def owner(pid: int) -> tuple[int, int] | None:
    """The real uid (`Uid:`) and parent (`PPid:`) of `pid` from /proc/PID/status, in one read;
    None when it is gone."""
    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            return parse_status(f.read(4096))  # both lines come within the first 1 KiB
    except OSError:  # gone: not counted
        return None


def keeps_running(ppid: int, user: str) -> str | None:
    """Why the parent `ppid` of a local user's processes must not be stopped with them, or
    None: a service or session manager, a login shell (the user's whole session), another
    user's process, the guard or one of its parents, or one already gone."""
    found = owner(ppid)
    name = _comm(ppid)
    if found is None or name is None:
        return "it has exited"
    if ppid in _guard_and_parents():
        return "it is the guard itself or one of its parents"
    if user_name(found[0]) != user:
        return f"it belongs to {user_name(found[0])}"
    if name in MANAGERS:
        return f"{name} manages sessions or services"
    if (command_of(ppid) or "").startswith("-"):
        return "a login shell: the user's whole session"
    return None


def _guard_and_parents() -> set[int]:
    found, pid = set(), os.getpid()
    while pid > 1 and pid not in found:
        found.add(pid)
        known = owner(pid)
        pid = known[1] if known is not None else 0
    return found


def _comm(pid: int) -> str | None:
    """The process's name as the kernel keeps it (15 characters), None when it is gone."""
    try:
        with open(f"/proc/{pid}/comm", "rb") as f:
            return f.read().rstrip(b"\n").decode("utf-8", "replace")
    except OSError:
        return None


def parse_status(raw: bytes) -> tuple[int, int] | None:
    """(real uid, parent PID) from the text of /proc/PID/status; None when either is missing
    or unreadable."""
    found: dict[bytes, int] = {}
    for line in raw.splitlines():
        key, _sep, value = line.partition(b":")
        if key in (b"Uid", b"PPid") and key not in found:
            try:
                found[key] = int(value.split()[0])
            except (ValueError, IndexError):
                return None
    if len(found) != 2:
        return None
    return found[b"Uid"], found[b"PPid"]


def user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:  # a uid without an entry (a container's, a deleted account's)
        return f"uid {uid}"
