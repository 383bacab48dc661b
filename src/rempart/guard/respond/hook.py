"""The `hook` responder: run a command of the site's own, the alarm as JSON on its stdin.

Environment: REMPART_ACTOR (the actor key), REMPART_ACTOR_KIND, REMPART_PID, REMPART_ADDRESS,
REMPART_USER, REMPART_SMBD_PID, REMPART_PIDS (a local user's processes, space-separated),
REMPART_SCORE, REMPART_INCIDENT, REMPART_ROOT, REMPART_DRY_RUN (empty when unknown). The
command gets its own process group, killed whole at the timeout.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import signal
import subprocess
from collections.abc import Mapping
from typing import Any

from rempart.guard.alarm import Alarm, Response
from rempart.guard.respond._base import (
    RESPONDERS,
    Context,
    Once,
    Option,
    ResponderSpec,
    alarm_json,
    response,
)
from rempart.guard.respond._errors import ResponseConfigError

NAME = "hook"


def hook_env(alarm: Alarm, *, dry_run: bool) -> dict[str, str]:
    a = alarm.actor

    def text(v: object) -> str:
        return "" if v is None else str(v)

    return {
        "REMPART_ACTOR": a.key,
        "REMPART_ACTOR_KIND": str(a.kind),
        "REMPART_PID": text(a.pid),
        "REMPART_ADDRESS": text(a.address),
        # a user alarm: every address the account was seen on recently, space-separated
        "REMPART_ADDRESSES": " ".join(a.addresses or ((a.address,) if a.address else ())),
        "REMPART_USER": text(a.user),
        # a local user's alarm: every PID of the user that scored, space-separated
        "REMPART_PIDS": " ".join(str(p) for p in a.pids),
        "REMPART_SMBD_PID": text(a.smbd_pid),
        "REMPART_SCORE": f"{alarm.score:g}",
        "REMPART_INCIDENT": text(alarm.incident),
        "REMPART_ROOT": alarm.watched_root,
        "REMPART_DRY_RUN": "1" if dry_run else "",
    }


class Hook:
    """Run the configured command once per actor; its exit status is the response."""

    name = NAME

    def __init__(self, options: Mapping[str, Any], context: Context | None = None) -> None:
        command = options["command"]
        self.argv = shlex.split(command) if isinstance(command, str) else [str(c) for c in command]
        if not self.argv:
            raise ResponseConfigError(
                "the hook needs a command", key="hook.command", hint='command = ["/path", "arg"]'
            )
        self.timeout = float(options["timeout"])
        self.run_in_dry_run = bool(options["run_in_dry_run"])
        self._once = Once()

    def respond(self, alarm: Alarm, *, dry_run: bool) -> Response:
        key = alarm.actor.key
        if (first := self._once.claim(key)) is not None:
            return response(NAME, alarm, ok=True, dry_run=dry_run, detail=first, already_done=True)
        shown = shlex.join(self.argv)
        if dry_run and not self.run_in_dry_run:
            detail = f"would run {shown} (alarm as JSON on stdin)"
            self._once.settle(key, detail, keep=False)
            return response(NAME, alarm, ok=True, dry_run=True, detail=detail)
        ok, detail, status = self._run(alarm, dry_run=dry_run)
        self._once.settle(key, detail, keep=ok and not dry_run)
        return response(
            NAME, alarm, ok=ok, dry_run=dry_run, detail=detail, extra={"exit_status": status}
        )

    def _run(self, alarm: Alarm, *, dry_run: bool) -> tuple[bool, str, str]:
        shown = shlex.join(self.argv)
        stdin = json.dumps(alarm_json(alarm))
        env = {**os.environ, **hook_env(alarm, dry_run=dry_run)}
        try:
            proc = subprocess.Popen(
                self.argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,  # the timeout kills the hook's children too
            )
        except OSError as exc:
            return False, f"cannot run {shown}: {exc}", ""
        try:
            out, _ = proc.communicate(stdin.encode(), timeout=self.timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            return False, f"{shown} killed after {self.timeout:g} s", "timeout"
        said = out.decode(errors="replace").strip().splitlines()
        last = f": {said[-1][:200]}" if said else ""
        code = proc.returncode
        return code == 0, f"{shown} exited with {code}{last}", str(code)


RESPONDERS.add(
    NAME,
    ResponderSpec(
        name=NAME,
        phase="notify",
        help="Run a command with the alarm as JSON on stdin and REMPART_* variables.",
        options=(
            Option("command", (list, str), [], "The command (a list, or a shell-like string)."),
            Option("timeout", float, 10.0, "Seconds before the command is killed."),
            Option("run_in_dry_run", bool, False, "Run it in a dry run too (REMPART_DRY_RUN=1)."),
        ),
        factory=Hook,
    ),
)
