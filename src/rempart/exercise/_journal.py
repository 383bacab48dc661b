"""The attack journal and `undo`: every change is written down durably before it is made.

An attack changes a file in steps, each leaving a state `undo` can recognise:

1. append a `file` record (paths, behaviour, sha256 and times of the original, key
   material), fsync;
2. run the behaviour (see `_behaviours`): in-place, copy-delete or rename-write;
3. append a `done` record.

Whatever the behaviour and wherever it was stopped, the original bytes are whole somewhere:
under the original name, under the new name (rename-write, renamed but not yet written), or
as a whole attacked file that decrypts to them; partial copies and temporary files are
extra. The original's sha256 tells which, so `undo` checks hashes rather than trusting the
`done` record: correct after a SIGKILL and safe to run twice.

Format: JSON lines. Records written before behaviours existed have no `behaviour` field,
which means `in-place`; `undo` does not need it (it reads the files' state) but keeps it
in its messages.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rempart.exercise import _layouts
from rempart.exercise._durable import Durability
from rempart.exercise._manifest import verify as verify_tree
from rempart.exercise._safety import (
    JOURNAL,
    LABELS,
    TMP_SUFFIX,
    ExerciseError,
    check_target,
    read_nofollow,
    state_dir,
)


def open_at_end(path: Path) -> tuple[int, int]:
    """Open (creating) a file for writing at its end, without O_APPEND: (fd, end offset)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    return fd, os.lseek(fd, 0, os.SEEK_END)


class Journal:
    """An append-only JSON-lines file where each record is on disk before `append` returns.

    Thread-safe: one writer at a time. It writes at its own end-of-file offset rather than
    with O_APPEND, which some SMB clients refuse (libsmbclient over SMB2+: EIO) and others
    only emulate.
    """

    def __init__(self, path: Path, durability: Durability | None = None) -> None:
        self.path = path
        self.durability = durability or Durability()
        self._fd, self._end = open_at_end(path)
        self._lock = threading.Lock()

    def append(self, record: dict[str, Any], *, sync: bool = True) -> None:
        """Append one record; with `sync` it is on disk (with all before it) on return."""
        line = (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
        with self._lock:
            view = memoryview(line)
            while view:  # one write per record in practice; a short write is finished here
                written = os.pwrite(self._fd, view, self._end)
                self._end += written
                view = view[written:]
            if sync:
                self.durability.fsync(self._fd, "the journal")

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
    warnings: list[str] = field(default_factory=list)  # e.g. no fsync on this filesystem
    # No journal: never attacked, or undone already. Not an error: undo may be repeated.
    nothing_to_undo: bool = False

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


#: waits before giving up on a file an SMB client still holds open (about 6 s in all)
_BUSY_WAITS = (0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2)


def _unlink(path: Path) -> None:
    """`os.unlink`, waiting out EBUSY: through an SMB mount a file just written may still be
    open on the server (smbnetfs over SMB3 closes its handles lazily: a sharing violation)."""
    for wait in _BUSY_WAITS:
        try:
            os.unlink(path)
            return
        except OSError as exc:
            if exc.errno != errno.EBUSY:
                raise
        time.sleep(wait)
    os.unlink(path)


def _restore_file(
    root: Path, rec: dict[str, Any], report: UndoReport, durability: Durability
) -> None:
    orig, new, tmp = root / rec["path"], root / rec["new"], root / tmp_name(rec["path"])
    for leftover in {tmp, root / tmp_name(rec["new"])}:
        if _exists(leftover):  # the rename never happened: the file it shadows is untouched
            _unlink(leftover)
    times = (rec["atime_ns"], rec["mtime_ns"])
    if _exists(orig) and _sha256(read_nofollow(orig)) == rec["sha256"]:
        if new != orig and _exists(new):
            # in-place killed between the rename and the deletion of the original, or a
            # copy-delete copy (perhaps partial) written before the original was deleted
            _unlink(new)
        os.utime(orig, ns=times, follow_symlinks=False)
        report.already_original += 1
        return
    if not _exists(new):
        report.failures.append((rec["path"], "neither the original nor the attacked file exists"))
        return
    found = read_nofollow(new)
    if new != orig and _sha256(found) == rec["sha256"]:
        os.rename(new, orig)  # rename-write killed after the rename, before the write
    else:
        original = _layouts.revert(found, _layouts.KeyMaterial.from_json(rec["km"]))
        if _sha256(original) != rec["sha256"]:
            behaviour = rec.get("behaviour", "in-place")
            report.failures.append(
                (
                    rec["path"],
                    f"decrypting {rec['new']} ({behaviour}) does not give the original "
                    "(changed since?)",
                )
            )
            return
        durability.write(tmp, original)
        os.replace(tmp, orig)
        if new != orig:
            _unlink(new)
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
            _unlink(path)
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
    Returns:
        what was restored; `nothing_to_undo` (and nothing else done) when no attack is
        journaled, e.g. on a share undone already.
    Raises:
        ExerciseError: `root` is not a practice share.
    """
    root = check_target(root, command="undo")
    journal_path = state_dir(root) / JOURNAL
    if not _exists(journal_path):
        return UndoReport(nothing_to_undo=True)
    records, damaged = read_journal(journal_path)
    report = UndoReport(damaged_lines=damaged)
    durability = Durability()
    for rec in reversed(records):
        try:
            if rec["op"] == "file":
                _restore_file(root, rec, report, durability)
            elif rec["op"] == "notes":
                _remove_notes(root, rec, report)
        except (OSError, ExerciseError) as exc:  # one path the share refuses: undo the others
            where = rec.get("path") or ", ".join(rec.get("folders", ())[:3])
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            report.failures.append((str(where), f"{why}; run undo again"))
    for rec in records:
        for folder in rec.get("dirs", ()) if rec["op"] == "dirs" else ():
            if os.path.isdir(root / folder["path"]):
                os.utime(
                    root / folder["path"],
                    ns=(folder["atime_ns"], folder["mtime_ns"]),
                    follow_symlinks=False,
                )
    durability.fsync_dir(root)
    report.warnings = durability.warnings
    if not report.failures and not damaged:
        for name in (JOURNAL, LABELS):
            if _exists(state_dir(root) / name):
                _unlink(state_dir(root) / name)
    if verify:
        report.mismatches = verify_tree(root)
    return report
