"""The attack journal and `undo`: every change is written down durably before it is made.

An attack changes a file in three steps, each leaving a state `undo` can recognise:

1. append a `file` record (paths, sha256 and times of the original, key material), fsync;
2. write the attacked bytes to a temporary name next to the file, fsync;
3. rename the temporary file over the original (name kept) or to the new name, then delete
   the original; then append a `done` record.

So at any instant a file is either wholly original or wholly attacked, never half of each,
and the original's sha256 tells which. `undo` checks that hash rather than trusting the
`done` record, which makes it correct after a SIGKILL and safe to run twice.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rempart.exercise import _layouts
from rempart.exercise._manifest import verify as verify_tree
from rempart.exercise._safety import (
    JOURNAL,
    LABELS,
    TMP_SUFFIX,
    ExerciseError,
    check_target,
    fsync_dir,
    read_nofollow,
    state_dir,
    write_new,
)


class Journal:
    """An append-only JSON-lines file where each record is on disk before `append` returns."""

    def __init__(self, path: Path) -> None:
        self.path = path
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC
        self._fd = os.open(path, flags, 0o600)

    def append(self, record: dict[str, Any], *, sync: bool = True) -> None:
        """Append one record; with `sync` it is on disk (with all before it) on return."""
        line = (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
        os.write(self._fd, line)  # one write per record: O_APPEND keeps it whole
        if sync:
            os.fsync(self._fd)

    def close(self) -> None:
        os.close(self._fd)

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def tmp_name(rel: str) -> str:
    """The temporary name an attacked (or restored) copy is written to before the rename."""
    head, _, name = rel.rpartition("/")
    return f"{head}/.{name}{TMP_SUFFIX}" if head else f".{name}{TMP_SUFFIX}"


@dataclass
class UndoReport:
    """What `undo` did, and what it could not do (with the reason)."""

    restored: int = 0
    already_original: int = 0
    notes_removed: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)
    damaged_lines: list[tuple[int, str]] = field(default_factory=list)
    mismatches: list[str] = field(default_factory=list)  # tree vs manifest after undo

    @property
    def ok(self) -> bool:
        return not self.failures and not self.damaged_lines and not self.mismatches


def read_journal(path: Path) -> tuple[list[dict[str, Any]], list[tuple[int, str]]]:
    """The readable records of a journal, and (line number, reason) for each damaged line."""
    records: list[dict[str, Any]] = []
    damaged: list[tuple[int, str]] = []
    for number, raw in enumerate(read_nofollow(path).split(b"\n"), start=1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except ValueError as exc:  # a torn or edited line: keep going with the others
            damaged.append((number, f"unreadable record ({exc})"))
            continue
        if not isinstance(record, dict) or "op" not in record:
            damaged.append((number, "not a journal record"))
            continue
        records.append(record)
    return records, damaged


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _exists(path: Path) -> bool:
    return os.path.lexists(path)


def _restore_file(root: Path, rec: dict[str, Any], report: UndoReport) -> None:
    orig, new, tmp = root / rec["path"], root / rec["new"], root / tmp_name(rec["path"])
    for leftover in {tmp, root / tmp_name(rec["new"])}:
        if _exists(leftover):  # the rename never happened: the file it shadows is untouched
            os.unlink(leftover)
    times = (rec["atime_ns"], rec["mtime_ns"])
    if _exists(orig) and _sha256(read_nofollow(orig)) == rec["sha256"]:
        if new != orig and _exists(new):
            os.unlink(new)  # killed between the rename and the deletion of the original
        os.utime(orig, ns=times, follow_symlinks=False)
        report.already_original += 1
        return
    source = new if _exists(new) else None
    if source is None:
        report.failures.append((rec["path"], "neither the original nor the attacked file exists"))
        return
    original = _layouts.revert(read_nofollow(source), _layouts.KeyMaterial.from_json(rec["km"]))
    if _sha256(original) != rec["sha256"]:
        report.failures.append(
            (rec["path"], f"decrypting {rec['new']} does not give the original (changed since?)")
        )
        return
    write_new(tmp, original)
    os.replace(tmp, orig)
    if new != orig:
        os.unlink(new)
    os.utime(orig, ns=times, follow_symlinks=False)
    report.restored += 1


def _remove_notes(root: Path, rec: dict[str, Any], report: UndoReport) -> None:
    for folder in rec["folders"]:
        path = root / folder / rec["name"]
        if not _exists(path):
            continue  # the attack stopped before it reached this folder
        data = read_nofollow(path)
        # a note cut short by a kill is shorter than the note; the attack only planned notes
        # where no file had the name, so anything else there was put after the attack
        if _sha256(data) == rec["sha256"] or len(data) < rec["size"]:
            os.unlink(path)
            report.notes_removed += 1
        else:
            report.failures.append(
                (path.relative_to(root).as_posix(), "a file with the note's name is not the note")
            )


def undo(root: Path, *, verify: bool = True) -> UndoReport:
    """Reverse every change journaled by `attack` under `root`, even a half-done one.

    Args:
        root: the practice share.
        verify: compare the tree with the manifest afterwards (hashes and mtimes).
    Raises:
        ExerciseError: `root` is not a practice share, or has no journal.
    """
    root = check_target(root)
    journal_path = state_dir(root) / JOURNAL
    if not _exists(journal_path):
        raise ExerciseError(f"{root} has no attack journal: nothing to undo")
    records, damaged = read_journal(journal_path)
    report = UndoReport(damaged_lines=damaged)
    for rec in reversed(records):
        if rec["op"] == "file":
            _restore_file(root, rec, report)
        elif rec["op"] == "notes":
            _remove_notes(root, rec, report)
    for rec in records:
        for folder in rec.get("dirs", ()) if rec["op"] == "dirs" else ():
            if os.path.isdir(root / folder["path"]):
                os.utime(
                    root / folder["path"],
                    ns=(folder["atime_ns"], folder["mtime_ns"]),
                    follow_symlinks=False,
                )
    fsync_dir(root)
    if not report.failures and not damaged:
        for name in (JOURNAL, LABELS):
            if _exists(state_dir(root) / name):
                os.unlink(state_dir(root) / name)
    if verify:
        report.mismatches = verify_tree(root)
    return report
