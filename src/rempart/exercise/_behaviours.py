"""How an attack replaces one file: the system calls real families make, in their order.

Every behaviour runs after the file's journal record is on disk, and each of its steps
leaves a state that `undo` recognises from the files alone (the record holds the original's
sha256, so "original", "attacked" and "half-way" are told apart by hashing):

- in-place: attacked bytes to a temporary name, renamed over the file (or to the new
  name, then the original deleted). At any instant the file is wholly original or attacked.
- copy-delete: the attacked copy written under the new name, then the original deleted. A
  kill leaves the original whole, with perhaps a partial copy that undo deletes.
- rename-write: the file renamed to the new name first, then its content replaced (through
  a temporary copy renamed over it). A kill leaves either the original bytes under the new
  name, which undo renames back, or the attacked file, which undo decrypts.

Only open/write/close, rename and unlink are used, so behaviours work the same through a
mounted SMB share (see `_durable`).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rempart.exercise._durable import Durability
from rempart.exercise._safety import TMP_SUFFIX
from rempart.registry import Registry


@dataclass(frozen=True)
class Step:
    """One file to replace: where it is, where it goes, and its attacked bytes."""

    path: Path
    new: Path
    attacked: bytes
    durability: Durability
    sync: bool  # fsync the attacked bytes before the rename or deletion that exposes them


@dataclass(frozen=True)
class Behaviour:
    """A named sequence of system calls that replaces a file by its attacked version."""

    name: str
    run: Callable[[Step], None]
    needs_new_name: bool  # copy-delete and rename-write make no sense with names kept
    description: str


BEHAVIOURS: Registry[Behaviour] = Registry("attack behaviour")


def tmp_path(path: Path) -> Path:
    """The temporary name an attacked (or restored) copy of `path` is written to."""
    return path.with_name(f".{path.name}{TMP_SUFFIX}")


def _in_place(step: Step) -> None:
    tmp = tmp_path(step.path)
    step.durability.write(tmp, step.attacked, exclusive=False, sync=step.sync)
    if step.new == step.path:
        os.replace(tmp, step.path)
    else:
        os.rename(tmp, step.new)
        os.unlink(step.path)


def _copy_delete(step: Step) -> None:
    step.durability.write(step.new, step.attacked, exclusive=True, sync=step.sync)
    os.unlink(step.path)


def _rename_write(step: Step) -> None:
    os.rename(step.path, step.new)
    tmp = tmp_path(step.new)
    step.durability.write(tmp, step.attacked, exclusive=False, sync=step.sync)
    os.replace(tmp, step.new)


BEHAVIOURS.add(
    "in-place",
    Behaviour("in-place", _in_place, False, "encrypted copy renamed over the file (default)"),
)
BEHAVIOURS.add(
    "copy-delete",
    Behaviour(
        "copy-delete", _copy_delete, True, "encrypted copy under the new name, original deleted"
    ),
)
BEHAVIOURS.add(
    "rename-write",
    Behaviour("rename-write", _rename_write, True, "renamed first, then encrypted in place"),
)
