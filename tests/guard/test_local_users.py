"""Local processes added up per Unix user: one process per file, each below the threshold."""

from __future__ import annotations

import os
import pwd
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tests.guard.conftest import guarding

from rempart.guard import status
from rempart.guard.alarm import Actor, ActorKind, Alarm
from rempart.guard.attribution import keeps_running, owner, parse_status
from rempart.guard.respond import build_dispatcher
from rempart.guard.respond.clients import BlockClient, CloseSession
from rempart.guard.respond.hook import hook_env
from rempart.guard.scoring import THRESHOLD, ActorState
from rempart.guard.users import LOCAL, SMB, Users
from rempart.store import open_store


def proc(pid: int, score: float) -> ActorState:
    state = ActorState(Actor(ActorKind.PROCESS, pid=pid))
    state.score = score
    state.paths.append(f"docs/{pid}.odt")
    state.first_seen = datetime.now(UTC)
    state.last_seen = time.monotonic()
    return state


def test_processes_of_one_user_below_threshold_raise_one_local_user_alarm() -> None:
    users = Users("/srv/share")
    a, b, c = proc(101, 1.0), proc(102, 0.25), proc(103, 1.0)
    assert a.score < THRESHOLD
    assert not users.scored("marie", "101", a, LOCAL)
    assert not users.scored("marie", "102", b, LOCAL)  # a rename's worth: does not count
    assert users.scored("marie", "103", c, LOCAL)
    assert not users.scored("marie", "103", c, LOCAL)  # once
    alarm = users.alarm("marie", "inc-2", LOCAL)
    assert alarm.actor.kind is ActorKind.USER and alarm.actor.key == "local-user:marie"
    # only the processes that counted are stopped: not the one that renamed a file
    assert alarm.actor.pids == (101, 103) and alarm.actor.addresses == ()
    assert (
        alarm.reasons[0] == "Unix user marie writing from 2 processes: PIDs 101 (1.00), 103 (1.00)"
    )
    assert alarm.score == 2.0 and set(alarm.paths) == {"docs/101.odt", "docs/103.odt"}


def test_a_local_user_and_the_samba_account_of_that_name_are_kept_apart() -> None:
    users = Users("/srv/share")
    assert not users.scored("alice", "10.0.0.8", proc(1, 1.5), SMB)
    assert not users.scored("alice", "201", proc(201, 1.5), LOCAL)
    assert users.users.keys() == {(SMB, "alice"), (LOCAL, "alice")}
    one = Actor(ActorKind.USER, user="alice", addresses=("10.0.0.8",))
    assert one.key == "user:alice" and Actor(ActorKind.USER, user="alice", pids=(2,)).key != one.key


def test_owner_of_a_process_and_of_one_gone() -> None:
    assert owner(os.getpid()) == (os.getuid(), os.getppid())
    assert owner(2**22 + 7) is None  # above pid_max: never a process


def test_damaged_status_texts_give_no_owner() -> None:
    good = b"Name:\tsh\nPPid:\t812\nUid:\t1000\t1000\t1000\t1000\n"
    assert parse_status(good) == (1000, 812)
    assert parse_status(b"Name:\tsh\nUid:\t1000\n") is None  # cut before PPid
    assert parse_status(b"PPid:\t812\nUid:\n") is None  # no value
    assert parse_status(b"PPid:\tx\nUid:\t0\n") is None  # not a number
    assert parse_status(b"\xff\x00garbage") is None


def _local_alarm(pids: tuple[int, ...], user: str = "marie", ago: float = 0.0) -> Alarm:
    actor = Actor(ActorKind.USER, user=user, pids=pids)
    at = datetime.now(UTC) - timedelta(seconds=ago)
    return Alarm(actor, at, 2.5, (f"Unix user {user} writing from 2 processes",))


def test_smb_responders_do_nothing_for_a_local_user_and_say_so() -> None:
    block = {"never_block": [], "ports": [445], "all_ports": False, "action": "reject", "netns": ""}
    alarm = _local_alarm((101, 102))
    for r in (
        BlockClient(block).respond(alarm, dry_run=False),
        CloseSession({"smbconf": "", "netns": ""}).respond(alarm, dry_run=False),
    ):
        assert r.ok and r.detail.startswith("nothing to do: local-user:marie is a local user")
    env = hook_env(alarm, dry_run=False)
    assert env["REMPART_PIDS"] == "101 102" and env["REMPART_ACTOR"] == "local-user:marie"


def test_stop_process_acts_on_each_pid_with_its_refusals(tmp_path: Path) -> None:
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        url = f"sqlite:///{tmp_path / 'g.db'}"
        disp = build_dispatcher(None, ["stop-process"], store_url=url, incident=None, dry_run=True)
        me = pwd.getpwuid(os.getuid()).pw_name
        done = disp.handle(_local_alarm((1, os.getpid(), sleeper.pid), me))
        (r,) = [r for r in done if r.responder == "stop-process"]
        assert not r.ok  # two refusals
        assert "PID 1 (init) is never stopped" in r.detail
        assert "is the guard itself" in r.detail
        assert f"would stop and kill 1 process(es): {sleeper.pid} (sleep)" in r.detail
        # a PID of the alarm now run by another user, or by a process started since: reused
        (r,) = disp.handle(_local_alarm((sleeper.pid,), "marie"))[:1]
        assert f"refused: PID {sleeper.pid} now belongs to {me}" in r.detail
        (r,) = disp.handle(_local_alarm((sleeper.pid,), me, ago=60))[:1]
        assert f"refused: PID {sleeper.pid} started after the alarm" in r.detail
        assert sleeper.poll() is None
        # a Samba account's alarm has no PID here: stop-process makes no response at all
        account = Actor(ActorKind.USER, user="alice", addresses=("10.0.0.8",))
        done = disp.handle(Alarm(account, datetime.now(UTC), 3.0, ()))
        assert [r for r in done if r.responder == "stop-process"] == []
        disp.close()
    finally:
        sleeper.kill()
        sleeper.wait()


# -- with fanotify: one process per file ---------------------------------------------------

#: encrypt the files given, one at a time, `PAUSE` seconds apart (random bytes in place:
#: what a cipher tool called once per file leaves)
ENCRYPT = """
import os, sys, time
for i, path in enumerate(sys.argv[1:]):
    if i:
        time.sleep(float(os.environ.get("PAUSE", "0")))
    size = os.path.getsize(path)
    with open(path, "r+b") as f:
        f.write(os.urandom(max(size, 4096)))
"""


def _documents(share: Path) -> list[Path]:
    """The practice share's documents that the content analysis knows (not empty ones)."""
    wanted = {".docx", ".odt", ".pdf", ".xlsx", ".jpg", ".png", ".ods", ".pptx"}
    found = [p for p in sorted(share.rglob("*")) if p.is_file() and p.suffix in wanted]
    return [p for p in found if ".rempart" not in str(p) and p.stat().st_size > 4096]


def _wait_alarm(running: object, limit: float = 30) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline and not running.responder.alarms:  # type: ignore[attr-defined]
        time.sleep(0.05)


pytestmark_root = pytest.mark.skipif(os.geteuid() != 0, reason="fanotify needs root")


@pytestmark_root
@pytest.mark.parametrize("kill", [False, True], ids=["record", "stop-process"])
def test_a_process_per_file_raises_the_local_user_alarm(
    share: Path, tmp_path: Path, kill: bool
) -> None:
    files = _documents(share)[:16]
    assert len(files) == 16, "the practice share has too few documents"
    before = {f: f.read_bytes() for f in files}
    with guarding(share, tmp_path, place_decoys=False, kill=kill) as running:
        # a shell loop calling the cipher once per file: no process alone reaches the threshold
        script = 'for f in "$@"; do "$PY" -c "$ENCRYPT" "$f"; sleep 0.3; done'
        env = {**os.environ, "PY": sys.executable, "ENCRYPT": ENCRYPT}
        loop = subprocess.Popen(["sh", "-c", script, "sh", *map(str, files)], env=env)
        try:
            _wait_alarm(running)
            loop.wait(30)
            # the loop dies inside the response, which is listed once it has checked
            deadline = time.monotonic() + 10
            while kill and not running.responder.responses and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            if loop.poll() is None:
                loop.kill()
                loop.wait()
        alarms = list(running.responder.alarms)
        responses = list(running.responder.responses)
    users = [a for a in alarms if a.actor.kind is ActorKind.USER]
    assert users, [(a.actor.key, a.reasons) for a in alarms]
    alarm = users[0]
    name = pwd.getpwuid(os.getuid()).pw_name
    assert alarm.actor.key == f"local-user:{name}" and len(alarm.actor.pids) >= 2
    assert alarm.reasons[0].startswith(f"Unix user {name} writing from ")
    assert not any(a.actor.kind is ActorKind.PROCESS for a in alarms), "one process alone alarmed"
    # the shell loop starting them writes nothing, yet it is the attack: named, stopped first
    assert alarm.actor.loop == loop.pid
    assert f"started by PID {loop.pid} (sh -c for f in" in alarm.reasons[1], alarm.reasons
    assert alarm.reasons[1].endswith("the loop starting them, stopped first")
    changed = sum(f.read_bytes() != data for f, data in before.items())
    if not kill:
        assert loop.returncode == 0 and changed == len(files)
        return
    (r,) = [r for r in responses if r.responder == "stop-process"]
    assert r.ok and r.detail.startswith("stopped then killed"), r.detail
    assert str(loop.pid) in r.extra["pids"].split(", ")
    assert loop.returncode == -9
    assert 2 <= changed <= 8, f"{changed} of {len(files)} files encrypted"


@pytestmark_root
def test_the_local_user_alarm_stops_every_process_still_running(
    share: Path, tmp_path: Path
) -> None:
    files = _documents(share)[:12]
    assert len(files) == 12
    env = {**os.environ, "PAUSE": "1.5"}
    with guarding(share, tmp_path, place_decoys=False) as running:
        # three processes at once on their own files, each slow enough to stay below alone
        procs = [
            subprocess.Popen([sys.executable, "-c", ENCRYPT, *map(str, files[i::3])], env=env)
            for i in range(3)
        ]
        try:
            _wait_alarm(running)
            for p in procs:
                p.wait(10)
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
                    p.wait()
        alarms = list(running.responder.alarms)
        responses = list(running.responder.responses)
    (alarm,) = [a for a in alarms if a.actor.kind is ActorKind.USER]
    assert set(alarm.actor.pids) <= {p.pid for p in procs} and len(alarm.actor.pids) >= 2
    stopped = [p for p in procs if p.returncode == -9]
    assert {p.pid for p in stopped} >= set(alarm.actor.pids), [r.detail for r in responses]
    mine = [r for r in responses if r.actor_key == alarm.actor.key]
    (r,) = [r for r in mine if r.responder == "stop-process"]
    assert r.ok and "stopped then killed" in r.detail, r.detail
    # `guard status` shows it as it shows the other user alarms, with what was done
    (run,) = status.runs(open_store(f"sqlite:///{tmp_path / 'guard.db'}"))
    line = next(x for x in run.last_alarms if x.startswith(alarm.actor.key))
    assert f"{alarm.actor.key}: Unix user " in line
    assert any(x.startswith("stop-process: ok") for x in run.alarm_responses[alarm.actor.key])


def test_a_parent_is_stopped_only_when_it_is_the_loop(tmp_path: Path) -> None:
    """Not a service or session manager, not a login shell, not another user's process and
    still there: a shell running a script, xargs, find, a Python pool's parent are."""
    me = pwd.getpwuid(os.getuid()).pw_name
    manager = tmp_path / "sshd"  # any program named like a session manager
    manager.symlink_to("/bin/sleep")
    procs = {
        "loop": subprocess.Popen(["sh", "-c", "sleep 30"]),
        "login": subprocess.Popen(["-sh", "-c", "sleep 30"], executable="/bin/sh"),
        "manager": subprocess.Popen([str(manager), "30"]),
        "other": subprocess.Popen(["sleep", "30"], user="nobody"),
    }
    gone = subprocess.Popen(["true"])
    gone.wait()
    try:
        assert keeps_running(procs["loop"].pid, me) is None
        assert keeps_running(procs["login"].pid, me) == "a login shell: the user's whole session"
        assert keeps_running(procs["manager"].pid, me) == "sshd manages sessions or services"
        assert keeps_running(procs["other"].pid, me) == "it belongs to nobody"
        assert keeps_running(gone.pid, me) == "it has exited"
        assert keeps_running(os.getpid(), me) == "it is the guard itself or one of its parents"
    finally:
        for p in procs.values():
            p.kill()
            p.wait()


def test_benign_jobs_spreading_writes_across_folders_do_not_add_up() -> None:
    """Backups, photo imports... run as root: each reaches 0.5 ("writes across N folders");
    any number of them within the hour is no local-user alarm."""
    users = Users("/srv/share")
    for pid in range(300, 320):
        assert not users.scored("root", str(pid), proc(pid, 0.5), LOCAL)
