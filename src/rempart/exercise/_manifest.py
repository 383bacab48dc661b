"""The manifest of a practice share (what `build` wrote) and the check of a tree against it."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from rempart.exercise._safety import MANIFEST, read_nofollow, state_dir, walk_files


@dataclass(frozen=True)
class Entry:
    """One file of a practice share as built."""

    path: str  # relative to the root, POSIX separators
    size: int
    sha256: str
    kind: str  # "docx", "jpeg", "zip-aes", ...
    owner_encrypted: bool
    mtime_ns: int


@dataclass
class Manifest:
    """Every file `build` wrote, in path order."""

    root: Path
    seed: int
    entries: list[Entry]

    def kinds(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for entry in self.entries:
            counts[entry.kind] = counts.get(entry.kind, 0) + 1
        return counts

    def write(self) -> Path:
        path = state_dir(self.root) / MANIFEST
        with open(path, "w", encoding="utf-8") as f:
            for entry in self.entries:
                f.write(json.dumps(asdict(entry), ensure_ascii=False, sort_keys=True) + "\n")
        return path


def load(root: Path) -> list[Entry]:
    """The entries of the manifest of the share at `root`."""
    lines = read_nofollow(state_dir(root) / MANIFEST).decode("utf-8").splitlines()
    return [Entry(**json.loads(line)) for line in lines if line.strip()]


def verify(root: Path) -> list[str]:
    """How the tree under `root` differs from its manifest (empty when identical)."""
    expected = {e.path: e for e in load(root)}
    problems = []
    seen = set()
    for path in walk_files(root):
        rel = path.relative_to(root).as_posix()
        seen.add(rel)
        entry = expected.get(rel)
        if entry is None:
            problems.append(f"{rel}: not in the manifest")
            continue
        if hashlib.sha256(read_nofollow(path)).hexdigest() != entry.sha256:
            problems.append(f"{rel}: content differs")
        elif os.lstat(path).st_mtime_ns != entry.mtime_ns:
            problems.append(f"{rel}: mtime differs")
    problems.extend(f"{rel}: missing" for rel in sorted(set(expected) - seen))
    return problems
