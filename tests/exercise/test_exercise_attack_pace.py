"""Attack pace (steady, bursts, slow-low), threads and traversal orders."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from rempart.exercise import (
    JOURNAL,
    PACES,
    SLOW_LOW_RATE,
    STATE_DIR,
    ExerciseError,
    Pace,
    attack,
    load_manifest,
    read_journal,
    undo,
    verify,
)
from rempart.exercise._pace import Pacer

CLI = "import sys; from rempart.cli import main; sys.exit(main(sys.argv[1:]))"


def _timed_attack(share: Path, **kw: object) -> list[float]:
    """When each file finished, in seconds from the start of the attack."""
    stamps: list[float] = []
    started = time.monotonic()
    attack(
        share,
        layout="head4k",
        durable=False,
        progress=lambda done, total: stamps.append(time.monotonic() - started),
        **kw,  # type: ignore[arg-type]
    )
    return stamps


def test_paces_are_the_three_documented() -> None:
    assert PACES == ("steady", "bursts", "slow-low")
    assert Pace("slow-low").files_per_second == SLOW_LOW_RATE <= 5 / 60
    assert Pace("slow-low", rate=2.0).files_per_second == 2.0
    assert Pace("steady").files_per_second is None
    with pytest.raises(ExerciseError, match="unknown pace"):
        Pace("fast")
    with pytest.raises(ExerciseError, match="as fast as possible"):
        Pace("bursts", rate=3)


def test_burst_pauses_are_drawn_from_the_seed() -> None:
    def offsets(seed: int) -> list[float]:
        pacer = Pacer(Pace("bursts", burst=5, pause=1.0), seed)
        return [pacer.offset(i) for i in range(30)]

    first = offsets(1)
    assert first == offsets(1) and first != offsets(2)
    assert first[:5] == [0.0] * 5  # the first burst starts at once, all together
    assert len(set(first)) == 6  # then one step per burst of 5
    steps = [b - a for a, b in zip(first[::5], first[5::5], strict=False)]
    assert all(0.5 <= s <= 1.5 for s in steps)


def test_bursts_go_fast_then_pause(share: Path) -> None:
    pace = Pace("bursts", burst=30, pause=0.2)
    due = [Pacer(pace, 1).offset(i) for i in range(120)]  # the schedule the seed gives
    stamps = _timed_attack(share, pace=pace, seed=1)
    assert len(stamps) == 120
    assert all(done >= start for done, start in zip(stamps, due, strict=True))
    # three pauses of 0.1-0.3 s; the upper bounds leave room for a loaded machine
    assert 0.3 <= due[-1] <= 0.9 and stamps[-1] < due[-1] + 10
    assert stamps[29] - stamps[0] < 5  # a burst does not wait between its files
    assert undo(share).ok


def test_slow_low_uses_the_rate_given(share: Path) -> None:
    stamps = _timed_attack(share, pace="slow-low", rate=150.0, seed=1)
    assert stamps[-1] >= 119 / 150 * 0.9
    assert undo(share).ok


def test_slow_low_by_default_is_a_few_files_a_minute(share: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", CLI, "exercise", "attack", str(share), "--pace", "slow-low"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline().startswith("attack pid ")
    journal = share / STATE_DIR / JOURNAL
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and b'"op":"done"' not in (
        journal.read_bytes() if journal.exists() else b""
    ):
        time.sleep(0.01)
    time.sleep(1.0)  # the second file is due 20 s after the first
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    records, _ = read_journal(journal)
    assert sum(r["op"] == "file" for r in records) == 1
    assert undo(share).ok and verify(share) == []


def test_threads_attack_every_file_and_undo_is_exact(share: Path, tmp_path: Path) -> None:
    seen: set[str] = set()
    real_run = threading.Thread.run

    def spy(self: threading.Thread) -> None:
        seen.add(self.name)
        real_run(self)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(threading.Thread, "run", spy)
        report = attack(share, behaviour="copy-delete", threads=3, seed=7, durable=False)
    assert sum(name.startswith("rempart-attack") for name in seen) == 3
    manifest = load_manifest(share)
    assert sorted(x.original for x in report.labels) == sorted(e.path for e in manifest)
    labels = (share / STATE_DIR / "labels.jsonl").read_text().splitlines()
    assert len(labels) == len(manifest)
    records, damaged = read_journal(share / STATE_DIR / JOURNAL)
    assert not damaged and records[-1]["op"] == "end"
    threaded = {r["path"]: r["km"] for r in records if r["op"] == "file"}
    result = undo(share)
    assert result.ok and result.restored == len(manifest)
    assert verify(share) == []

    # the same seed gives the same keys whatever the number of threads
    attack(share, behaviour="copy-delete", threads=1, seed=7, durable=False)
    records, _ = read_journal(share / STATE_DIR / JOURNAL)
    assert {r["path"]: r["km"] for r in records if r["op"] == "file"} == threaded
    assert undo(share).ok


def test_threads_keep_the_pace(share: Path) -> None:
    stamps = _timed_attack(share, rate=200.0, threads=3, seed=2)
    assert stamps[-1] >= 119 / 200 * 0.9
    assert undo(share).ok


@pytest.mark.parametrize("order", ["alpha", "reverse", "random", "largest"])
def test_orders(share: Path, order: str) -> None:
    sizes = {e.path: e.size for e in load_manifest(share)}
    report = attack(share, layout="head4k", order=order, seed=4, durable=False)
    done = [x.original for x in report.labels]
    assert sorted(done) == sorted(sizes)
    paths = [share / p for p in done]
    if order == "alpha":
        assert paths == sorted(paths)
    elif order == "reverse":
        assert paths == sorted(paths, reverse=True)
    elif order == "largest":
        assert [sizes[p] for p in done] == sorted(sizes.values(), reverse=True)
    else:
        assert paths not in (sorted(paths), sorted(paths, reverse=True))
    assert undo(share).ok
    if order == "random":  # the same seed walks the same way
        again = attack(share, layout="head4k", order=order, seed=4, durable=False)
        assert [x.original for x in again.labels] == done
        assert undo(share).ok


def test_bad_threads_are_refused(share: Path) -> None:
    with pytest.raises(ExerciseError, match="threads"):
        attack(share, threads=0)
    assert verify(share) == []


def test_cli_options(share: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from rempart.cli import main

    args = ["exercise", "attack", str(share), "--behaviour", "rename-write", "--threads", "2"]
    args += ["--pace", "bursts", "--burst", "40", "--pause", "0.05", "--seed", "3"]
    assert main(args) == 0
    assert f"attacked {len(load_manifest(share))} files" in capsys.readouterr().out
    assert main(["exercise", "undo", str(share)]) == 0
    assert verify(share) == []
    bad = ["exercise", "attack", str(share), "--pace", "bursts", "--rate", "3"]
    assert main(bad) == 2 and "as fast as possible" in capsys.readouterr().err
    keep = ["exercise", "attack", str(share), "--behaviour", "copy-delete", "--extension", "keep"]
    assert main(keep) == 2 and "needs a new name" in capsys.readouterr().err
    assert main(["exercise", "attack", "--help"]) == 0
    assert "SMB" in capsys.readouterr().out
