"""Guard rails: an attack or an undo only ever touches a practice share that `build` made.

The share's bookkeeping lives in a hidden folder at its root, `.rempart-exercise/`:
`marker.json` (written by build, required by attack and undo), `manifest.jsonl`,
`journal.jsonl` (attack) and `labels.jsonl` (ground truth for scan tests and benchmarks).
Nothing here follows a symlink: walks use lstat semantics, files open with O_NOFOLLOW.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Literal

from rempart.errors import RempartError

STATE_DIR = ".rempart-exercise"
MARKER = "marker.json"
MANIFEST = "manifest.jsonl"
JOURNAL = "journal.jsonl"
LABELS = "labels.jsonl"
MARKER_TEXT = "this is a rempart practice share: every file here is generated and disposable"
TMP_SUFFIX = ".rempart-tmp"

_SYSTEM_DIRS = (
    "/",
    "/bin",
    "/boot",
    "/dev",
    "/etc",
    "/lib",
    "/lib64",
    "/proc",
    "/root",
    "/sbin",
    "/srv",
    "/sys",
    "/usr",
    "/var",
    "/home",
    "/opt",
    "/tmp",
    "/mnt",
    "/media",
)


class ExerciseError(RempartError):
    """A practice share cannot be built, attacked or restored as asked."""


class UnsafeTargetError(ExerciseError):
    """The target is not a practice share (or is a place an attack must never touch)."""


def state_dir(root: Path) -> Path:
    return root / STATE_DIR


def _is_home(path: Path) -> bool:
    homes = {Path("/root")}
    with contextlib.suppress(RuntimeError):  # no home directory known: nothing more to refuse
        homes.add(Path.home().resolve())
    return path in homes or (path.parent == Path("/home"))


Command = Literal["attack", "undo", "workload"]

#: What to tell someone who pointed a command at a folder that `build` did not make, by command.
_NOT_A_SHARE_HINTS: dict[Command, str] = {
    "attack": "only folders made by `rempart exercise build` can be attacked",
    "undo": "undo only restores folders made by `rempart exercise build`",
    "workload": "a workload only runs in folders made by `rempart exercise build`",
}


def check_target(root: Path, *, for_build: bool = False, command: Command = "attack") -> Path:
    """The absolute path of a share that may be attacked (or built), or raise.

    Args:
        command: "attack", "undo" or "workload": what the refusal's hint talks about.
    Raises:
        UnsafeTargetError: `/`, a system folder, a home directory, a symlink, or (unless
            building) a folder without the marker that `build` writes.
    """
    absolute = Path(os.path.abspath(root))
    if absolute.is_symlink():
        raise UnsafeTargetError(f"{absolute} is a symlink", hint="give the real folder")
    real = absolute.resolve()
    if str(real) in _SYSTEM_DIRS or _is_home(real):
        raise UnsafeTargetError(
            f"refusing to touch {real}: a system or home folder",
            hint="use a dedicated folder made by `rempart exercise build`",
        )
    if for_build:
        return real
    if not real.is_dir():
        raise UnsafeTargetError(f"{real} is not a folder")
    marker = state_dir(real) / MARKER
    try:
        info = os.lstat(marker)
    except FileNotFoundError:
        raise UnsafeTargetError(
            f"{real} is not a practice share (no {STATE_DIR}/{MARKER})",
            hint=_NOT_A_SHARE_HINTS[command],
        ) from None
    if not stat.S_ISREG(info.st_mode) or os.path.islink(state_dir(real)):
        raise UnsafeTargetError(f"{marker} is not a regular file")
    try:
        data = json.loads(read_nofollow(marker))
    except (ValueError, OSError) as exc:
        raise UnsafeTargetError(f"{marker} is unreadable or damaged: {exc}") from None
    if not isinstance(data, dict) or data.get("what") != MARKER_TEXT:
        raise UnsafeTargetError(f"{marker} is not a rempart practice-share marker")
    return real


def read_nofollow(path: Path) -> bytes:
    """The bytes of a regular file, refusing to follow a symlink at its last component."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ExerciseError(f"{path} is not a regular file")
        with os.fdopen(fd, "rb", closefd=False) as f:
            return f.read()
    finally:
        os.close(fd)


def write_new(
    path: Path,
    data: bytes,
    *,
    exclusive: bool = True,
    sync: bool = True,
    fsync: Callable[[int], None] = os.fsync,
) -> None:
    """Write `data` to a new file (O_EXCL, O_NOFOLLOW), durably unless `sync` is False.

    `fsync` lets a caller decide what a refused fsync means (see `_durable`).
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
    flags |= os.O_EXCL if exclusive else os.O_TRUNC
    fd = os.open(path, flags, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        if sync:
            fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def walk_files(root: Path) -> Iterator[Path]:
    """Regular files under `root` (sorted per folder), skipping symlinks and the state folder."""
    stack = [root]
    while stack:
        folder = stack.pop()
        with os.scandir(folder) as it:
            entries = sorted(it, key=lambda e: e.name)
        subdirs = []
        for entry in entries:
            if entry.is_symlink():
                continue  # never follow, never attack a link
            if entry.is_dir(follow_symlinks=False):
                if not (folder == root and entry.name == STATE_DIR):
                    subdirs.append(Path(entry.path))
            elif entry.is_file(follow_symlinks=False) and not entry.name.endswith(TMP_SUFFIX):
                yield Path(entry.path)
        stack.extend(reversed(subdirs))
