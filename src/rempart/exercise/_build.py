"""`build`: a municipal practice share, the same bytes for the same seed.

The main process plans every file (path, kind, date) from the seed; worker processes make
and write the files, each from a generator seeded by (seed, file index), and return their
size and hash. The bookkeeping goes to `.rempart-exercise/` at the root (see `_safety`).
"""

# Document libraries are imported where used: `rempart` starts for every command, and only
# `exercise build` needs them.
# ruff: noqa: PLC0415

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import multiprocessing
import os
import random
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rempart.exercise._content import DEPARTMENTS
from rempart.exercise._kinds import KINDS, FileContext
from rempart.exercise._manifest import Entry, Manifest
from rempart.exercise._safety import MARKER, MARKER_TEXT, ExerciseError, check_target, state_dir

Progress = Callable[[int, int], None]
YEARS = tuple(range(2014, 2026))
# Some folders under their display name (accents, spaces), others as a plain slug.
_DISPLAY = {"etat-civil", "ecoles", "elus", "rh", "services-techniques"}
_DEPT_WEIGHTS = {
    "etat-civil": 10,
    "urbanisme": 12,
    "finances": 16,
    "rh": 9,
    "ecoles": 10,
    "services-techniques": 12,
    "communication": 14,
    "elus": 9,
    "archives": 8,
}


@dataclass(frozen=True)
class FileSpec:
    index: int
    path: str  # relative, POSIX
    kind: str
    dept: str
    title: str
    mtime_ns: int


def _folder(dept: str, year: int, rng: random.Random) -> str:
    display, subjects = DEPARTMENTS[dept]
    top = display if dept in _DISPLAY else dept
    if rng.random() < 0.35:
        return f"{top}/{year}/{rng.choice(subjects)}"
    return f"{top}/{year}"


def _name(title: str, kind_ext: str, year: int, n: int, rng: random.Random) -> str:
    style = rng.random()
    if style < 0.5:
        stem = f"{title} {year} n°{n}"
    elif style < 0.8:
        stem = f"{title.lower().replace(' ', '_').replace(chr(39), '')}_{year}_{n:04d}"
    else:
        stem = f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d} {title}"
    return f"{stem}.{kind_ext}"


def plan(files: int, seed: int) -> list[FileSpec]:
    """Where each file goes, its kind and its date: all from the seed, nothing written."""
    rng = random.Random(f"plan/{seed}")
    kinds = list(KINDS)
    weights = [KINDS[k].weight for k in kinds]
    depts = list(_DEPT_WEIGHTS)
    specs, used = [], set()
    for index in range(files):
        dept = rng.choices(depts, weights=[_DEPT_WEIGHTS[d] for d in depts])[0]
        year = rng.choice(YEARS)
        kind = rng.choices(kinds, weights=weights)[0]
        if dept == "communication" and rng.random() < 0.4:
            kind = "jpeg"  # the communication folder is mostly photos
        if files >= 3 * len(kinds) and index < len(kinds):
            kind = kinds[index]  # every kind at least once, so tests and benchmarks see all
        subject = rng.choice(DEPARTMENTS[dept][1])
        path = f"{_folder(dept, year, rng)}/{_name(subject, KINDS[kind].ext, year, index, rng)}"
        while path.casefold() in used:  # unique even on a case-insensitive SMB share
            path = path.replace(".", f" ({index}).", 1)
        used.add(path.casefold())
        start = dt.datetime(year, 1, 1, tzinfo=dt.UTC).timestamp()
        seconds = int(start + rng.uniform(0, 364 * 86400))
        specs.append(
            FileSpec(index, path, kind, dept, subject, seconds * 10**9 + rng.randrange(10**9))
        )
    return specs


def _make(spec: FileSpec, seed: int) -> bytes:
    when = dt.datetime.fromtimestamp(spec.mtime_ns // 10**9, dt.UTC)
    ctx = FileContext(
        seed, spec.index, random.Random(f"file/{seed}/{spec.index}"), when, spec.dept, spec.title
    )
    return KINDS[spec.kind].make(ctx)


def _write(root: Path, spec: FileSpec, data: bytes) -> Entry:
    path = root / spec.path
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    atime_ns = spec.mtime_ns + 3600 * 10**9
    os.utime(path, ns=(atime_ns, spec.mtime_ns), follow_symlinks=False)
    owner = spec.kind in KINDS and KINDS[spec.kind].owner_encrypted
    return Entry(
        spec.path, len(data), hashlib.sha256(data).hexdigest(), spec.kind, owner, spec.mtime_ns
    )


def _work(root: Path, seed: int, chunk: list[FileSpec]) -> list[Entry]:
    return [_write(root, spec, _make(spec, seed)) for spec in chunk]


BIG_MB = 30  # the backup archive's size when no other is asked


def _big_files(seed: int, mb: int = BIG_MB) -> Iterator[tuple[FileSpec, bytes]]:
    """A few large files: a raw scan (~37 MB), a ledger export and a backup of `mb` MB each."""
    from PIL import Image

    gen = np.random.default_rng([seed, 99])
    when = int(dt.datetime(2019, 3, 4, tzinfo=dt.UTC).timestamp()) * 10**9
    side = 3500
    gradient = np.linspace(40, 220, side, dtype=np.float32)[:, None, None]
    pixels = np.clip(gradient + gen.normal(0, 12, (side, side, 3)), 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(buf, "TIFF")
    yield (
        FileSpec(
            -1, "archives/Numérisation/scan-cadastre-1962.tif", "tiff", "archives", "Cadastre", when
        ),
        buf.getvalue(),
    )
    rows = gen.integers(0, 10**7, size=(max(1, mb * 2**20 // 25), 3))  # ~25 bytes a row
    text = "\n".join(f"{a};{b / 100:.2f};{c}" for a, b, c in rows.tolist())
    yield (
        FileSpec(
            -2,
            "finances/exports/grand-livre-2023.csv",
            "csv",
            "finances",
            "Grand livre",
            when + 10**9,
        ),
        ("compte;montant;piece\n" + text).encode(),
    )
    yield (
        FileSpec(
            -3, "archives/sauvegarde-2019.bin", "random", "archives", "Sauvegarde", when + 2 * 10**9
        ),
        gen.bytes(mb * 2**20),
    )


def build(
    dest: Path,
    files: int,
    seed: int,
    *,
    big: bool = False,
    big_mb: int = BIG_MB,
    progress: Progress | None = None,
    workers: int | None = None,
) -> Manifest:
    """Build a practice share of `files` files under `dest` (new or empty).

    Args:
        big: add a few large files: a raw scan, a ledger export and a backup.
        big_mb: size of the export and of the backup in MB (up to hundreds).
        workers: processes making files (default: the CPU count; 1 for small shares).
    Raises:
        ExerciseError: `dest` is not empty, or is a place a practice share must not go.
    """
    root = check_target(dest, for_build=True)
    if root.exists() and any(root.iterdir()):
        raise ExerciseError(f"{root} is not empty", hint="build into a new or empty folder")
    specs = plan(files, seed)
    state_dir(root).mkdir(parents=True, exist_ok=True)
    for folder in sorted({str(Path(s.path).parent) for s in specs}):
        (root / folder).mkdir(parents=True, exist_ok=True)
    workers = workers or (1 if files < 400 else min(4, os.cpu_count() or 1))
    size = max(10, min(200, files // (workers * 8) or 1))
    chunks = [specs[i : i + size] for i in range(0, len(specs), size)]
    entries: list[Entry] = []
    if workers == 1:
        for chunk in chunks:
            entries.extend(_work(root, seed, chunk))
            if progress:
                progress(len(entries), files)
    else:
        ctx = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(workers, mp_context=ctx) as pool:
            for done in pool.map(_work, [root] * len(chunks), [seed] * len(chunks), chunks):
                entries.extend(done)
                if progress:
                    progress(len(entries), files)
    if big:
        for spec, data in _big_files(seed, big_mb):
            (root / spec.path).parent.mkdir(parents=True, exist_ok=True)
            entries.append(_write(root, spec, data))
    manifest = Manifest(root, seed, sorted(entries, key=lambda e: e.path))
    manifest.write()
    marker = {
        "what": MARKER_TEXT,
        "seed": seed,
        "files": len(entries),
        "big": big,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    (state_dir(root) / MARKER).write_text(json.dumps(marker, indent=1) + "\n")
    return manifest
