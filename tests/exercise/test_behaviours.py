"""Attack behaviours (in-place, copy-delete, rename-write): undo is exact after any stop."""

from __future__ import annotations

import ast
import errno
import itertools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from rempart.exercise import (
    BEHAVIOURS,
    JOURNAL,
    STATE_DIR,
    ExerciseError,
    _behaviours,
    _durable,
    attack,
    load_manifest,
    read_journal,
    undo,
    verify,
)

SRC = Path(__file__).resolve().parents[2] / "src" / "rempart" / "exercise"
CLI = "import sys; from rempart.cli import main; sys.exit(main(sys.argv[1:]))"


def leftovers(share: Path) -> list[str]:
    """Temporary or partial files an attack or undo left behind (verify skips tmp names)."""
    found = []
    for folder, dirs, names in os.walk(share):
        dirs[:] = [d for d in dirs if d != STATE_DIR]
        found += [os.path.join(folder, n) for n in names if n.endswith(".rempart-tmp")]
    return found


def assert_restored(share: Path) -> None:
    result = undo(share)
    assert result.ok, result
    assert verify(share) == []
    assert leftovers(share) == []
    assert not (share / STATE_DIR / JOURNAL).exists()


@pytest.mark.parametrize("behaviour", list(BEHAVIOURS))
@pytest.mark.parametrize("layout", ["full-trailer", "akira", "mixed"])
def test_attack_then_undo_is_exact(share: Path, behaviour: str, layout: str) -> None:
    manifest = {e.path: e for e in load_manifest(share)}
    report = attack(share, layout=layout, behaviour=behaviour, seed=3, durable=False)
    assert {x.original for x in report.labels} == set(manifest)
    assert all(x.behaviour == behaviour for x in report.labels)
    for label in report.labels:
        assert not (share / label.original).exists()
        assert (share / label.path).stat().st_size >= manifest[label.original].size
    records, _ = read_journal(share / STATE_DIR / JOURNAL)
    assert {r.get("behaviour") for r in records if r["op"] == "file"} == {behaviour}
    assert leftovers(share) == []
    assert_restored(share)


def test_rename_write_renames_before_it_writes(share: Path) -> None:
    """The name changes first, so a guard sees a rename of an unchanged file, then a write."""
    steps: list[tuple[str, bool]] = []
    real_write = _durable.Durability.write

    def spy(self: _durable.Durability, path: Path, data: bytes, **kw: Any) -> None:
        if path.name.endswith(".rempart-tmp"):  # not a ransom note
            new = path.with_name(path.name[1 : -len(".rempart-tmp")])
            steps.append((new.name, new.exists()))  # renamed before the write
        real_write(self, path, data, **kw)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_durable.Durability, "write", spy)
        report = attack(share, layout="full", behaviour="rename-write", seed=1, durable=False)
    assert steps and all(exists for _, exists in steps)
    assert {name for name, _ in steps} >= {Path(x.path).name for x in report.labels}
    assert_restored(share)


@pytest.mark.parametrize("behaviour", ["copy-delete", "rename-write"])
def test_new_name_behaviours_refuse_kept_names(share: Path, behaviour: str) -> None:
    with pytest.raises(ExerciseError, match="needs a new name"):
        attack(share, behaviour=behaviour, extension="keep", seed=1)
    assert verify(share) == []


class _Crash(BaseException):
    """Stands for a kill between (or in the middle of) two system calls."""


def _crash_at(mp: pytest.MonkeyPatch, step: int) -> None:
    """Make the `step`-th filesystem change of the attack crash (a write: half done)."""
    count = itertools.count(1)  # next() is atomic: worker threads may call it together

    def tick() -> bool:
        return next(count) == step

    for name in ("rename", "replace", "unlink"):
        real = getattr(os, name)

        def crashing(*args: Any, _real: Any = real, **kw: Any) -> Any:
            if tick():
                raise _Crash
            return _real(*args, **kw)

        mp.setattr(os, name, crashing)
    real_write = _durable.Durability.write

    def half_write(self: _durable.Durability, path: Path, data: bytes, **kw: Any) -> None:
        if tick():
            real_write(self, path, data[: len(data) // 2], **kw)  # a copy cut short
            raise _Crash
        real_write(self, path, data, **kw)

    mp.setattr(_durable.Durability, "write", half_write)


@pytest.mark.parametrize("behaviour", list(BEHAVIOURS))
@pytest.mark.parametrize("step", range(1, 10))
def test_stop_at_any_step_then_undo_is_exact(share: Path, behaviour: str, step: int) -> None:
    # notes are written first (one per folder on the way), then 2 or 3 steps per file:
    # steps 1-9 stop inside the notes or each step of the first files
    with pytest.MonkeyPatch.context() as mp, pytest.raises(_Crash):
        _crash_at(mp, step)
        attack(share, layout="mixed", behaviour=behaviour, seed=step, durable=False)
    assert_restored(share)


def test_a_crash_in_one_thread_stops_the_others_and_undo_is_exact(share: Path) -> None:
    with pytest.MonkeyPatch.context() as mp, pytest.raises(_Crash):
        _crash_at(mp, 40)
        attack(share, layout="head4k", behaviour="copy-delete", threads=3, seed=2, durable=False)
    records, damaged = read_journal(share / STATE_DIR / JOURNAL)
    assert not damaged and not any(r["op"] == "end" for r in records)
    assert sum(r["op"] == "file" for r in records) < len(load_manifest(share))
    assert_restored(share)


def _start_slow_attack(share: Path, behaviour: str, threads: str) -> subprocess.Popen[str]:
    """An attack through the CLI, slow enough to be stopped after a few files."""
    args = ["exercise", "attack", str(share), "--behaviour", behaviour, "--threads", threads]
    args += ["--layout", "full", "--rate", "40", "--seed", "8"]
    proc = subprocess.Popen([sys.executable, "-c", CLI, *args], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().startswith("attack pid ")
    journal = share / STATE_DIR / JOURNAL
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if journal.exists() and journal.read_bytes().count(b'"op":"file"') >= 6:
            break
        time.sleep(0.005)
    return proc


@pytest.mark.parametrize(
    ("behaviour", "threads"), [("copy-delete", "1"), ("rename-write", "1"), ("rename-write", "3")]
)
def test_sigkill_mid_attack_then_undo_is_exact(share: Path, behaviour: str, threads: str) -> None:
    proc = _start_slow_attack(share, behaviour, threads)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    assert verify(share)  # some files attacked, most not
    assert_restored(share)


def test_ctrl_c_stops_every_thread_then_undo_is_exact(share: Path) -> None:
    proc = _start_slow_attack(share, "copy-delete", "3")
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=10) == 130  # the threads stopped after the file they held
    records, damaged = read_journal(share / STATE_DIR / JOURNAL)
    assert not damaged and records[-1]["op"] != "end"
    assert sum(r["op"] == "file" for r in records) < len(load_manifest(share))
    assert_restored(share)


def test_journals_written_before_behaviours_still_undo(share: Path) -> None:
    """A `file` record without `behaviour` is an in-place one: undo needs no new field."""
    attack(share, layout="xor", seed=4, durable=False)
    journal = share / STATE_DIR / JOURNAL
    old = []
    for line in journal.read_text().splitlines():
        record = json.loads(line)
        record.pop("behaviour", None)
        record.pop("threads", None)
        record.pop("pace", None)
        old.append(json.dumps(record, separators=(",", ":")))
    journal.write_text("\n".join(old) + "\n")
    assert_restored(share)


def test_filesystems_without_fsync_are_tolerated_with_a_note(share: Path) -> None:
    def no_fsync(fd: int) -> None:
        raise OSError(errno.EINVAL, "Invalid argument")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(os, "fsync", no_fsync)
        report = attack(share, layout="full", behaviour="copy-delete", seed=5)
        assert len(report.labels) == len(load_manifest(share))
        assert report.warnings and all("fsync" in w for w in report.warnings)
        assert len(report.warnings) <= 3  # one per kind (journal, files, folders), not per file
        result = undo(share)
    assert result.ok and result.warnings
    assert verify(share) == [] and leftovers(share) == []


def test_a_real_fsync_error_is_not_swallowed(share: Path) -> None:
    def broken(fd: int) -> None:
        raise OSError(errno.EIO, "Input/output error")

    with pytest.MonkeyPatch.context() as mp, pytest.raises(OSError, match="Input/output"):
        mp.setattr(os, "fsync", broken)
        attack(share, layout="full", seed=5)
    assert_restored(share)


def test_nothing_relies_on_a_local_filesystem() -> None:
    """What an SMB mount does not give: stable inode numbers, hard links, O_TMPFILE."""
    local_only = {"st_ino", "st_dev", "link", "O_TMPFILE"}
    for module in ("_attack", "_behaviours", "_durable", "_journal", "_run", "_pace"):
        tree = ast.parse((SRC / f"{module}.py").read_text())
        used = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
        used |= {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
        assert not used & local_only, module
    assert _behaviours.tmp_path(Path("a/b.txt")) == Path("a/.b.txt.rempart-tmp")
