"""The guard against a real local attack process (fanotify), and against benign workloads."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tests.guard.conftest import guarding

from rempart.guard import decoys
from rempart.guard.alarm import ActorKind

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="fanotify needs root")

REMPART = [str(Path(sys.executable).parent / "rempart")]


def _attack(share: Path, *extra: str) -> subprocess.Popen[bytes]:
    cmd = [*REMPART, "exercise", "attack", str(share), "--seed", "3", *extra]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def lost(share: Path) -> int:
    """Real files the attack started on (its journal has one record per file; decoys aside)."""
    journal = share / ".rempart-exercise" / "journal.jsonl"
    if not journal.exists():
        return 0
    records = [json.loads(line) for line in journal.read_text().splitlines() if line.strip()]
    return sum(
        1
        for r in records
        if r.get("op") == "file" and not os.path.basename(r["path"]).startswith(("!0000", "~~~~"))
    )


def _wait_alarm(running: object, proc: subprocess.Popen[bytes], limit: float = 60) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline and proc.poll() is None:
        if running.responder.alarms:  # type: ignore[attr-defined]
            break
        time.sleep(0.05)
    proc.wait(10)


@pytest.mark.parametrize(
    "extra",
    [
        ("--order", "alpha", "--rate", "20"),
        ("--order", "random", "--rate", "20", "--layout", "head4k", "--extension", "keep"),
        ("--order", "largest", "--threads", "4", "--rate", "40", "--behaviour", "copy-delete"),
    ],
    ids=["alpha-decoy", "random-head4k", "largest-4threads"],
)
def test_local_attack_is_stopped_by_pid(
    share: Path, tmp_path: Path, extra: tuple[str, ...]
) -> None:
    with guarding(share, tmp_path) as running:
        proc = _attack(share, *extra)
        _wait_alarm(running, proc)
        assert proc.returncode == -9, "the attack was not stopped"
        alarm = running.responder.alarms[0]
        assert alarm.actor.kind is ActorKind.PROCESS and alarm.actor.pid == proc.pid
        assert alarm.reasons and alarm.paths
    assert running.summary is not None and running.summary.dropped_queue == 0
    assert lost(share) <= 10, alarm


def test_decoy_is_decisive(share: Path, tmp_path: Path) -> None:
    with guarding(share, tmp_path) as running:
        proc = _attack(share, "--order", "alpha", "--rate", "5")
        _wait_alarm(running, proc)
    alarm = running.responder.alarms[0]
    assert alarm.reasons[0].startswith("decoy"), alarm.reasons
    left = [p for p in share.rglob("*") if p.name in decoys.NAMES]
    assert left == [], "decoys left behind"


KINDS = [
    "zip-folder",
    "unzip",
    "office-save",
    "photo-import",
    "bulk-copy",
    "backup",
    "compress-logs",
    "to-pdf",
    "git-checkout",
]


def test_benign_workloads_raise_no_alarm(share: Path, tmp_path: Path) -> None:
    with guarding(share, tmp_path, kill=False) as running:
        for kind in KINDS:
            cmd = [*REMPART, "exercise", "workload", str(share), "--kind", kind, "--limit", "60"]
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
            assert done.returncode == 0, (kind, done.stderr)
        time.sleep(0.5)  # let the last events through
        alarms = [(a.actor.key, a.reasons) for a in running.responder.alarms]
    assert alarms == []
    assert running.summary is not None and running.summary.events > 50


def test_inotify_fallback_sees_the_attack_without_pids(share: Path, tmp_path: Path) -> None:
    with guarding(share, tmp_path, kill=False, sources=["inotify"]) as running:
        assert "source: inotify" in running.lines[0]
        proc = _attack(share, "--order", "random", "--rate", "30")
        _wait_alarm(running, proc)
        if proc.poll() is None:
            proc.kill()
    alarm = running.responder.alarms[0]
    assert alarm.actor.kind is ActorKind.PROCESS and alarm.actor.pid is None


def test_status_reports_the_run(share: Path, tmp_path: Path) -> None:
    with guarding(share, tmp_path) as running:
        proc = _attack(share, "--order", "alpha", "--rate", "20")
        _wait_alarm(running, proc)
    from rempart.cli import main

    db = tmp_path / "guard.db"
    out = subprocess.run(
        [*REMPART, "guard", "status", "--json", "--db", str(db)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    (run,) = json.loads(out.stdout)
    assert run["status"] == "stopped" and run["alarms"] == 1 and run["events"] > 0
    assert run["sources"] == "fanotify" and run["dropped_queue"] == 0
    assert main  # the CLI entry point imports cleanly
