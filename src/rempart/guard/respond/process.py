"""The `stop-process` responder: freeze then kill the writing process and all its children.

Never PID 1, never the guard or one of its parents, never a protected name (smbd's master:
killing it would cut every client of the file server, not only the attacker). A local user's
alarm (`Actor.pids`) stops each of its processes the same way, with the same refusals, and
first the loop that started them one per file (`Actor.loop`), or it would start the next.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from rempart.guard.alarm import ActorKind, Alarm, Response
from rempart.guard.attribution import owner, user_name
from rempart.guard.respond import _procs
from rempart.guard.respond._base import RESPONDERS, Context, Once, Option, ResponderSpec, response

NAME = "stop-process"


class StopProcess:
    """SIGSTOP the process tree of `actor.pid`, then SIGKILL it."""

    name = NAME

    def __init__(self, options: Mapping[str, Any], context: Context | None = None) -> None:
        self.protect_smbd_master = bool(options["protect_smbd_master"])
        self.protect = {str(n) for n in options["protect"]}
        self.check_command = bool(options["check_command"])
        self._once = Once()
        # The guard and its parents, read from /proc once: the tripwire's freeze checks them
        # before its SIGSTOP, where one /proc read per ancestor cost up to 29 ms under load.
        # A parent that exits re-parents the guard: os.getppid() (no /proc) is checked too.
        me = os.getpid()
        self._guard_line = frozenset({me, *_procs.ancestors(me)})

    def refusal(self, pid: int, proc: _procs.ProcInfo) -> str | None:
        """Why `pid` must not be stopped, or None."""
        if pid == 1:
            return "PID 1 (init) is never stopped"
        if pid in self._guard_line or pid in (os.getpid(), os.getppid()):
            return f"PID {pid} is the guard itself or one of its parents"
        if proc.name in self.protect:
            return f"PID {pid} ({proc.name}) is protected by the configuration"
        if self.protect_smbd_master and proc.name == "smbd":
            parent = _procs.info(proc.ppid)
            if parent is None or parent.name != "smbd":
                return f"PID {pid} is smbd's master process (it serves every client)"
        return None

    def freeze(self, pid: int) -> tuple[list[int], str]:
        """The tripwire's half of this responder: SIGSTOP `pid`'s tree now, before the alarm
        (which then kills it) or the release; same refusals. smbd is never frozen here: it
        serves a whole session, its client is blocked instead. Returns (PIDs stopped, why)."""
        proc = _procs.info(pid)
        if proc is None or proc.state in ("Z", "X"):
            return [], f"PID {pid} had already exited"
        if proc.name == "smbd":
            return [], f"PID {pid} is smbd (an SMB client is blocked, not frozen)"
        if (why := self.refusal(pid, proc)) is not None:
            return [], f"refused: {why}"
        frozen = _procs.freeze_tree(pid)
        return frozen, f"froze {len(frozen)} process(es)"

    def respond(self, alarm: Alarm, *, dry_run: bool) -> Response:
        pids = alarm.actor.pids or ((alarm.actor.pid,) if alarm.actor.pid is not None else ())
        if not pids:
            return response(NAME, alarm, ok=False, dry_run=dry_run, detail="the actor has no PID")
        key = alarm.actor.key
        if (first := self._once.claim(key)) is not None:
            return response(NAME, alarm, ok=True, dry_run=dry_run, detail=first, already_done=True)
        if alarm.actor.pids:  # a local user: each process on its own, refusals included
            loop = alarm.actor.loop
            targets = pids if loop is None else (loop, *(p for p in pids if p != loop))
            done = [self._act(alarm, p, dry_run=dry_run) for p in targets]
            ok = all(d[0] for d in done)
            detail = "; ".join(d[1] for d in done)
            extra = {"pids": " ".join(d[2].get("pids", "") for d in done if d[2].get("pids"))}
        else:
            ok, detail, extra = self._act(alarm, pids[0], dry_run=dry_run)
        # A dry run or a failure is not "done": a later alarm tries (and says) it again.
        self._once.settle(key, detail, keep=ok and not dry_run)
        return response(NAME, alarm, ok=ok, dry_run=dry_run, detail=detail, extra=extra)

    def _act(self, alarm: Alarm, pid: int, *, dry_run: bool) -> tuple[bool, str, dict[str, str]]:
        proc = _procs.info(pid)
        if proc is None or proc.state in ("Z", "X"):
            return True, f"PID {pid} had already exited", {}
        if (why := self.refusal(pid, proc)) is not None:
            return False, f"refused: {why}", {}
        command = _procs.cmdline(pid) or proc.name
        if self.check_command and alarm.actor.command and alarm.actor.command != command:
            # The PID was reused since the alarm: the process now there did nothing.
            return False, f"refused: PID {pid} now runs {command!r}, not the alarm's process", {}
        if alarm.actor.pids and (why := _reused(pid, alarm)) is not None:
            return False, f"refused: PID {pid} {why}, not the alarm's process", {}
        tree = [pid, *_procs.children(pid)]
        names = ", ".join(f"{p} ({(i.name if (i := _procs.info(p)) else '?')})" for p in tree)
        if dry_run:
            return True, f"would stop and kill {len(tree)} process(es): {names}", {"pids": names}
        # Already frozen by the tripwire or not: stopping a stopped process changes nothing,
        # and the rescan catches children forked since; SIGKILL ends stopped processes too.
        frozen = _procs.freeze_tree(pid)
        alive = _procs.kill_all(frozen)
        listed = ", ".join(str(p) for p in frozen)
        extra = {"pids": listed, "command": command}
        if alive:
            return False, f"stopped {len(frozen)} process(es) but {alive} survived SIGKILL", extra
        return (
            True,
            f"stopped then killed {len(frozen)} process(es) of {command!r}: {listed}",
            extra,
        )


def _reused(pid: int, alarm: Alarm) -> str | None:
    """Why `pid`, listed by a local user's alarm, is now another process (a local user's PIDs
    may have exited long before the alarm, their numbers reused), or None."""
    found = owner(pid)
    if found is not None and user_name(found[0]) != alarm.actor.user:
        return f"now belongs to {user_name(found[0])}"
    start = _procs.started(pid)
    if start is not None and start > alarm.at.timestamp() + 1.0:  # btime has whole seconds
        return "started after the alarm"
    return None


RESPONDERS.add(
    NAME,
    ResponderSpec(
        name=NAME,
        phase="block",
        help="Freeze (SIGSTOP) the process tree writing, then kill it (SIGKILL).",
        options=(
            Option("protect_smbd_master", bool, True, "Never stop smbd's master process."),
            Option("protect", list, [], "Process names (comm) never stopped.", item=str),
            Option(
                "check_command",
                bool,
                True,
                "Refuse when the PID now runs another command than at the alarm (PID reuse).",
            ),
        ),
        factory=StopProcess,
        # a user too when it is a local one (its PIDs); a Samba account has no PID here
        kinds=frozenset({ActorKind.PROCESS, ActorKind.USER}),
        applies=lambda a: a.kind is ActorKind.PROCESS or bool(a.pids),
    ),
)
