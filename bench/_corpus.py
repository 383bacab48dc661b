"""Labelled corpora for the triage benchmark: build once, copy, attack, scan, read back.

The clean share comes from `rempart.exercise.build`; each attacked copy carries its ground
truth in `.rempart-exercise/labels.jsonl`. Scans run the real CLI in a subprocess with the
store and outputs outside the scanned tree.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from rempart.exercise import LABELS, MANIFEST, MARKER, STATE_DIR, attack, build

RE = str(Path(sys.executable).parent / "rempart")
FLAGGED = frozenset({"encrypted", "partially_encrypted"})


@dataclass(frozen=True)
class Row:
    """One line of the scan's JSONL (the fields the benchmark reads)."""

    path: str
    verdict: str
    family: str | None
    format: str | None
    evidence: tuple[str, ...]

    def why(self) -> str:
        return f"{self.verdict} [{self.format}] {'; '.join(self.evidence)}"


@dataclass(frozen=True)
class Label:
    path: str
    original: str
    layout: str
    family: str | None


@dataclass(frozen=True)
class Attacked:
    root: Path
    family: str | None
    extension: str | None
    labels: list[Label]
    notes: list[str]
    seconds: float


def _marker_matches(root: Path, files: int, seed: int) -> bool:
    state = root / STATE_DIR
    if not (state / MARKER).is_file() or (state / LABELS).exists():
        return False
    marker = json.loads((state / MARKER).read_text(encoding="utf-8"))
    return marker.get("files") == files and marker.get("seed") == seed


def clean_share(root: Path, files: int, seed: int) -> tuple[Path, bool]:
    """The clean share at `root`, built unless an identical one is already there."""
    if _marker_matches(root, files, seed):
        return root, False
    shutil.rmtree(root, ignore_errors=True)
    build(root, files=files, seed=seed, workers=min(2, os.cpu_count() or 1))
    return root, True


def manifest(root: Path) -> dict[str, dict[str, object]]:
    """path -> manifest entry (kind, owner_encrypted, size...) of a built share."""
    lines = (root / STATE_DIR / MANIFEST).read_text(encoding="utf-8").splitlines()
    return {e["path"]: e for e in map(json.loads, filter(str.strip, lines))}


def copy_tree(src: Path, dest: Path) -> Path:
    """`cp -a`: same bytes, names and mtimes."""
    shutil.rmtree(dest, ignore_errors=True)
    dest.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["cp", "-a", str(src), str(dest)], check=True)
    return dest


def attack_copy(
    clean: Path, dest: Path, layout: str, extension: str, seed: int, notes_dir: Path | None
) -> Attacked:
    """A fresh copy of `clean` at `dest`, attacked with one layout and extension mode."""
    copy_tree(clean, dest)
    report = attack(
        dest, layout=layout, extension=extension, seed=seed, notes_dir=notes_dir, durable=False
    )
    lines = (dest / STATE_DIR / LABELS).read_text(encoding="utf-8").splitlines()
    labels = [
        Label(d["path"], d["original"], d["layout"], d["family"])
        for d in map(json.loads, filter(str.strip, lines))
    ]
    return Attacked(dest, report.family, report.extension, labels, report.notes, report.seconds)


def scan_cmd(root: Path, db: Path, jsonl: Path | None = None) -> list[str]:
    cmd = [RE, "scan", str(root), "--db", f"sqlite:///{db}", "--json"]
    cmd += ["--hash", "none", "--workers", "2"]
    return cmd + (["--jsonl", str(jsonl)] if jsonl else [])


def fresh_store(db: Path) -> Path:
    for stale in db.parent.glob(db.name + "*"):  # the file and any -wal / -journal
        stale.unlink()
    return db


def scan(root: Path, db: Path, jsonl: Path) -> tuple[dict[str, Row], dict[str, object]]:
    """Scan `root` with the CLI; its rows by path (bookkeeping excluded) and its summary."""
    done = subprocess.run(
        scan_cmd(root, fresh_store(db), jsonl), capture_output=True, text=True, check=False
    )
    if done.returncode not in (0, 1):
        raise RuntimeError(f"scan of {root} failed ({done.returncode}): {done.stderr[-2000:]}")
    return read_rows(jsonl), json.loads(done.stdout)


def read_rows(jsonl: Path) -> dict[str, Row]:
    rows: dict[str, Row] = {}
    with open(jsonl, encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            if d["path"].split("/", 1)[0] == STATE_DIR:
                continue
            rows[d["path"]] = Row(
                d["path"], d["verdict"], d.get("family"), d.get("format"), tuple(d["evidence"])
            )
    return rows


def warm(root: Path) -> int:
    """Read every file under `root` once (page cache warm-up); the number of bytes read."""
    total = 0
    for folder, _dirs, names in os.walk(root):
        for name in names:
            with open(os.path.join(folder, name), "rb") as f:
                while chunk := f.read(1 << 20):
                    total += len(chunk)
    return total


def count_files(root: Path) -> int:
    return sum(len(names) for _f, _d, names in os.walk(root))
