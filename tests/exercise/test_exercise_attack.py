"""attack then undo: a byte-identical tree, names and mtimes included, even after a crash."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rempart.exercise import (
    JOURNAL,
    LABELS,
    LAYOUTS,
    STATE_DIR,
    attack,
    load_manifest,
    read_journal,
    undo,
    verify,
)
from rempart.exercise import _attack as attack_module


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_mixed_attack_changes_every_file_then_undo_restores_exactly(share: Path) -> None:
    before = {e.path: e for e in load_manifest(share)}
    report = attack(share, seed=5, notes_family="lockbit")
    assert len(report.labels) == len(before)
    assert {label.layout for label in report.labels} == set(LAYOUTS)  # mixed uses them all
    for label in report.labels:
        assert label.path == label.original + ".lockbit"
        assert not (share / label.original).exists()
        assert _sha(share / label.path) != before[label.original].sha256
    assert report.notes and all("[" not in n and n.endswith(".README.txt") for n in report.notes)
    assert len({Path(n).name for n in report.notes}) == 1
    labels = (share / STATE_DIR / LABELS).read_text().splitlines()
    assert [json.loads(line)["path"] for line in labels] == [x.path for x in report.labels]

    result = undo(share)
    assert result.ok, result
    assert result.restored == len(before) and result.notes_removed == len(report.notes)
    assert verify(share) == []
    assert not (share / STATE_DIR / JOURNAL).exists()


@pytest.mark.parametrize("layout", ["lockfile", "akira", "xor", "runs128k"])
def test_each_layout_undoes_with_names_kept(share: Path, layout: str) -> None:
    report = attack(share, layout=layout, extension="keep", seed=1, durable=False)
    assert all(x.path == x.original and x.layout == layout for x in report.labels)
    assert verify(share)  # attacked
    assert undo(share).ok
    assert verify(share) == []


def test_random_extension_is_one_for_the_whole_attack(share: Path) -> None:
    report = attack(share, extension="random", order="largest", seed=2, durable=False)
    suffixes = {Path(x.path).suffix for x in report.labels}
    assert len(suffixes) == 1 and len(suffixes.pop()) == 10  # "." + 9 characters
    assert undo(share).ok


def test_reverse_order_and_generic_note(share: Path, tmp_path: Path) -> None:
    empty_notes = tmp_path / "notes"
    empty_notes.mkdir()
    report = attack(share, order="reverse", notes_dir=empty_notes, seed=3, durable=False)
    originals = [x.original for x in report.labels]
    assert originals == sorted(originals, key=Path, reverse=True)
    assert all(Path(n).name.startswith("LISEZ-MOI-") for n in report.notes)
    assert "EXERCICE" in (share / report.notes[0]).read_text()
    assert undo(share).ok


def test_rate_limits_the_pace(share: Path) -> None:
    started = time.monotonic()
    attack(share, layout="head4k", rate=400, seed=1, durable=False)
    assert time.monotonic() - started >= 120 / 400 * 0.9
    assert undo(share).ok


def test_a_second_attack_is_refused_until_undo(share: Path) -> None:
    attack(share, layout="full", seed=1, durable=False)
    with pytest.raises(attack_module.ExerciseError, match="already attacked"):
        attack(share, seed=1)
    assert undo(share).ok


class _Crash(BaseException):
    """Stands for a kill between two system calls."""


@pytest.mark.parametrize(
    ("call", "extension"), [("unlink", "append"), ("rename", "append"), ("replace", "keep")]
)
def test_crash_between_steps_then_undo(
    share: Path, monkeypatch: pytest.MonkeyPatch, call: str, extension: str
) -> None:
    real = getattr(os, call)
    calls = {"n": 0}

    def crashing(*args: object, **kwargs: object) -> object:
        calls["n"] += 1
        if calls["n"] == 7:
            raise _Crash
        return real(*args, **kwargs)

    monkeypatch.setattr(attack_module.os, call, crashing)
    with pytest.raises(_Crash):
        attack(share, layout="full", extension=extension, seed=4)
    monkeypatch.undo()
    records, damaged = read_journal(share / STATE_DIR / JOURNAL)
    assert not damaged and sum(r["op"] == "done" for r in records) == 6
    result = undo(share)
    assert result.ok, result
    assert verify(share) == []


def test_sigkill_mid_attack_then_undo(share: Path) -> None:
    code = "import sys; from rempart.cli import main; sys.exit(main(sys.argv[1:]))"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            code,
            "exercise",
            "attack",
            str(share),
            "--rate",
            "100",
            "--seed",
            "9",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    first = proc.stdout.readline()
    assert first.startswith("attack pid ") and int(first.split()[-1]) == proc.pid
    journal = share / STATE_DIR / JOURNAL
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if journal.exists() and journal.read_bytes().count(b'"op":"done"') >= 15:
            break
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    assert verify(share)  # some files attacked, some not
    result = undo(share)
    assert result.ok, result
    assert verify(share) == []


def test_damaged_journal_restores_what_it_can_and_says_what_not(share: Path) -> None:
    report = attack(share, layout="full", seed=6, durable=False)
    journal = share / STATE_DIR / JOURNAL
    lines = journal.read_bytes().splitlines(keepends=True)
    last_file = max(i for i, line in enumerate(lines) if b'"op":"file"' in line)
    journal.write_bytes(b"".join(lines[:last_file]) + lines[last_file][:40])  # torn record
    result = undo(share)
    assert not result.ok
    assert result.damaged_lines and result.damaged_lines[0][0] == last_file + 1
    assert result.restored == len(report.labels) - 1
    lost = report.labels[-1]
    assert any(lost.path in m for m in result.mismatches)
    assert any(lost.original in m and "missing" in m for m in result.mismatches)
    assert journal.exists()  # kept: the operator decides what to do with it


def test_undo_twice_is_harmless(share: Path) -> None:
    attack(share, layout="xor", seed=7, durable=False)
    journal = share / STATE_DIR / JOURNAL
    saved = journal.read_bytes()
    assert undo(share).ok
    journal.write_bytes(saved)  # as if the first undo was killed before it cleaned up
    result = undo(share)
    assert result.ok and result.restored == 0 and result.already_original > 0


def test_a_note_the_share_will_not_delete_is_a_failure_and_the_rest_is_undone(
    share: Path,
) -> None:
    """A note path that cannot be read or deleted (here a folder put in its place: through
    an SMB mount, EBUSY that outlasts the waits) is named in the report; every file is still
    restored, the journal is kept, and undo after the path is fixed finishes the job."""
    report = attack(share, layout="full", seed=8, durable=False)
    note = share / report.notes[0]
    note.unlink()
    note.mkdir()
    (note / "keep").write_text("x")  # not empty: neither unlink nor rmdir takes it
    result = undo(share)
    assert not result.ok
    assert result.restored == len(report.labels)
    assert [why for _where, why in result.failures if "run undo again" in why]
    assert (share / STATE_DIR / JOURNAL).exists()
    (note / "keep").unlink()
    note.rmdir()
    again = undo(share)
    assert again.ok, again
    assert verify(share) == []
