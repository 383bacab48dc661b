"""hook: a real command, the alarm on stdin, REMPART_* in its environment, a timeout."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

from rempart.guard.alarm import Alarm
from rempart.guard.respond.hook import Hook

SAVE = r"""
import json, os, sys
data = json.load(sys.stdin)
env = {k: v for k, v in os.environ.items() if k.startswith("REMPART_")}
json.dump({"alarm": data, "env": env}, open(sys.argv[1], "w"))
print("paged on-call")
"""


def options(command: object, timeout: float = 5.0) -> dict[str, object]:
    return {"command": command, "timeout": timeout, "run_in_dry_run": False}


def test_hook_gets_alarm_and_env(tmp_path: Path, alarm_for: Callable[..., Alarm]) -> None:
    script, out = tmp_path / "save.py", tmp_path / "out.json"
    script.write_text(SAVE)
    hook = Hook(options([sys.executable, str(script), str(out)]))
    alarm = alarm_for(address="10.0.0.9", user="bob", smbd_pid=4242)
    resp = hook.respond(alarm, dry_run=False)
    assert resp.ok, resp.detail
    assert resp.detail.endswith("exited with 0: paged on-call")
    assert resp.extra == {"exit_status": "0"}
    got = json.loads(out.read_text())
    assert got["alarm"]["actor"]["address"] == "10.0.0.9"
    assert got["alarm"]["reasons"][0].startswith("decoy written")
    env = got["env"]
    assert env["REMPART_ACTOR"] == "smb-client:10.0.0.9"
    assert env["REMPART_ADDRESS"] == "10.0.0.9"
    assert env["REMPART_USER"] == "bob"
    assert env["REMPART_SMBD_PID"] == "4242"
    assert env["REMPART_PID"] == ""
    assert env["REMPART_DRY_RUN"] == ""
    out.unlink()
    again = hook.respond(alarm, dry_run=False)
    assert again.already_done and not out.exists()  # not run twice for one actor


def test_exit_status_and_timeout(tmp_path: Path, alarm_for: Callable[..., Alarm]) -> None:
    failing = Hook(options("sh -c 'echo no route >&2; exit 3'"))
    resp = failing.respond(alarm_for(pid=12345), dry_run=False)
    assert not resp.ok and resp.extra["exit_status"] == "3"
    assert resp.detail.endswith("exited with 3: no route")
    # a failure is retried on the next alarm (it is not "done")
    assert not failing.respond(alarm_for(pid=12345), dry_run=False).already_done

    slow = Hook(options(["sh", "-c", "sleep 30 & sleep 30"], timeout=0.3))
    started = time.monotonic()
    resp = slow.respond(alarm_for(pid=12345), dry_run=False)
    assert time.monotonic() - started < 3
    assert not resp.ok and resp.extra["exit_status"] == "timeout"
    assert "killed after 0.3 s" in resp.detail

    missing = Hook(options([str(tmp_path / "nope")]))
    resp = missing.respond(alarm_for(pid=1), dry_run=False)
    assert not resp.ok and resp.detail.startswith("cannot run")


def test_dry_run(tmp_path: Path, alarm_for: Callable[..., Alarm]) -> None:
    out = tmp_path / "ran"
    hook = Hook(options(["touch", str(out)]))
    resp = hook.respond(alarm_for(user="carol"), dry_run=True)
    assert resp.ok and resp.dry_run and resp.detail.startswith("would run touch ")
    assert not out.exists()
    both = Hook(
        {
            **options(["sh", "-c", f'test "$REMPART_DRY_RUN" = 1 && touch {out}']),
            "run_in_dry_run": True,
        }
    )
    assert both.respond(alarm_for(user="carol"), dry_run=True).ok
    assert out.exists()
