"""A real, journaled, undoable ransomware attack on a practice share.

Real cryptography (AES-256-CTR, ChaCha20), a fresh key per file, the file layouts of real
families (see `_layouts`), ransom notes copied from the notes collection, renamed files.
Every change is journaled first (see `_journal`), so `undo` always brings the share back.
"""

from __future__ import annotations

import hashlib
import os
import random
import re
import string
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from rempart.exercise import _layouts
from rempart.exercise._behaviours import BEHAVIOURS, Behaviour
from rempart.exercise._journal import Journal, open_at_end
from rempart.exercise._pace import Pace, Pacer
from rempart.exercise._run import AttackLabel, Plan, Run
from rempart.exercise._safety import (
    JOURNAL,
    LABELS,
    ExerciseError,
    check_target,
    state_dir,
    walk_files,
)

__all__ = ["FAMILY_EXTENSIONS", "AttackLabel", "AttackReport", "attack", "default_notes_dir"]

Progress = Callable[[int, int], None]
EXTENSIONS = ("append", "random", "keep")
ORDERS = ("alpha", "reverse", "random", "largest")

# Extensions families append (used with --extension append); others get ".locked".
FAMILY_EXTENSIONS = {
    "lockbit": ".lockbit",
    "blackbasta": ".basta",
    "akira": ".akira",
    "conti": ".CONTI",
    "royal": ".royal",
    "play": ".PLAY",
    "ryuk": ".RYK",
    "hive": ".hive",
    "clop": ".Clop",
    "blacksuit": ".blacksuit",
    "medusalocker": ".encrypted",
    "phobos": ".phobos",
    "cactus": ".cts1",
    "rhysida": ".rhysida",
    "lorenz": ".Lorenz.sz40",
    "makop": ".makop",
}
GENERIC_NOTE_NAME = "LISEZ-MOI-[id].txt"
GENERIC_NOTE = """EXERCICE REMPART / REMPART DRILL - NOT A REAL ATTACK

Vos fichiers ont été chiffrés dans le cadre d'un exercice de gestion de crise.
Your files were encrypted as part of a ransomware response drill.

Identifiant de la victime / victim id: {id}

Rien n'est perdu : `rempart exercise undo` restaure chaque fichier à l'identique.
Nothing is lost: `rempart exercise undo` restores every file exactly.
"""
_PLACEHOLDER = re.compile(r"\[[^\]/]*\]")


@dataclass
class AttackReport:
    """What an attack did: labels per file, notes dropped, and where it stopped."""

    root: Path
    family: str | None
    extension: str | None
    labels: list[AttackLabel] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)  # e.g. no fsync on this filesystem


def default_notes_dir() -> Path | None:
    """`../shared/data/ransom-notes` next to the repository, when it is there."""
    candidate = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "ransom-notes"
    return candidate if candidate.is_dir() else None


def _pick_family(
    notes_dir: Path | None, wanted: str | None, layout: str, rng: random.Random
) -> str | None:
    available = sorted(p.name for p in notes_dir.iterdir() if p.is_dir()) if notes_dir else []
    if wanted:
        if notes_dir and wanted not in available:
            raise ExerciseError(
                f"no ransom notes for family {wanted!r} in {notes_dir}",
                hint=f"known: {', '.join(available[:20])}...",
            )
        return wanted
    hint = _layouts.LAYOUTS[layout].family_hint if layout != "mixed" else None
    if hint and hint in available:
        return hint
    return rng.choice(available) if available else None


def _note_template(
    notes_dir: Path | None, family: str | None, rng: random.Random
) -> tuple[str, bytes]:
    """(file name, content) of a note of `family`, preferring the collection's real names.

    The collection names most notes after the family ("conti1.txt"); a few keep the name the
    ransomware gives them ("[id].README.txt", "instructions_read_me.txt"). Those come first;
    a catalogue name is replaced by a plausible note name of the same extension.
    """
    if notes_dir and family and (notes_dir / family).is_dir():
        files = sorted(p for p in (notes_dir / family).iterdir() if p.is_file())
        catalogue = re.compile(rf"^{re.escape(family)}[-_ ]?\d*$", re.IGNORECASE)
        real = [p for p in files if not catalogue.match(p.stem)]
        if real or files:
            chosen = rng.choice(real or files)
            name = chosen.name if chosen in real else f"README-[id]{chosen.suffix}"
            return name, chosen.read_bytes()
    return GENERIC_NOTE_NAME, b""


def _rand_token(rng: random.Random, n: int = 9) -> str:
    return "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(n))


def _order(root: Path, files: list[Path], order: str, rng: random.Random) -> list[Path]:
    if order == "alpha":
        return sorted(files)
    if order == "reverse":
        return sorted(files, reverse=True)
    if order == "random":
        shuffled = sorted(files)
        rng.shuffle(shuffled)
        return shuffled
    if order == "largest":
        return sorted(files, key=lambda p: (-os.lstat(p).st_size, p))
    raise ExerciseError(f"unknown order {order!r}", hint=f"one of {', '.join(ORDERS)}")


def _plan_folders(
    journal: Journal, root: Path, folders: list[Path], note: str, content: bytes
) -> set[Path]:
    """Journal, in two records, every folder's times and where notes will be dropped.

    One fsync for all folders rather than one per folder: the notes' folders and the
    folder times are known before the first change.
    """
    times = []
    for folder in folders:
        st = os.lstat(folder)
        rel = folder.relative_to(root).as_posix() if folder != root else "."
        times.append({"path": rel, "mtime_ns": st.st_mtime_ns, "atime_ns": st.st_atime_ns})
    noted = [f for f in folders if not os.path.lexists(f / note)]  # never overwrite
    journal.append({"op": "dirs", "dirs": times}, sync=False)
    journal.append(
        {
            "op": "notes",
            "name": note,
            "size": len(content),
            "sha256": hashlib.sha256(content).hexdigest(),
            "folders": [f.relative_to(root).as_posix() if f != root else "." for f in noted],
        }
    )
    return set(noted)


def _check_options(layout: str, extension: str, behaviour: str, threads: int) -> Behaviour:
    if layout != "mixed" and layout not in _layouts.LAYOUTS:
        _layouts.LAYOUTS[layout]  # raises RegistryError listing the known layouts
    if extension not in EXTENSIONS:
        raise ExerciseError(
            f"unknown extension mode {extension!r}", hint=f"one of {', '.join(EXTENSIONS)}"
        )
    chosen = BEHAVIOURS[behaviour]  # raises RegistryError listing the known behaviours
    if chosen.needs_new_name and extension == "keep":
        raise ExerciseError(
            f"behaviour {behaviour} needs a new name for each file",
            hint="use --extension append or random, or --behaviour in-place",
        )
    if threads < 1:
        raise ExerciseError(f"threads must be 1 or more, not {threads}")
    return chosen


def attack(
    root: Path,
    *,
    layout: str = "mixed",
    extension: str = "append",
    behaviour: str = "in-place",
    notes_family: str | None = None,
    notes_dir: Path | None = None,
    order: str = "alpha",
    pace: str | Pace = "steady",
    rate: float | None = None,
    threads: int = 1,
    seed: int | None = None,
    progress: Progress | None = None,
    durable: bool = True,
    on_start: Callable[[], None] | None = None,
) -> AttackReport:
    """Encrypt every regular file of a practice share, journaling each change first.

    Works on a local folder or through a mounted SMB/CIFS share (see `_durable`).

    Args:
        layout: a name from `LAYOUTS`, or "mixed" (one per file, drawn from the seed).
        extension: "append" (family-like or ".locked"), "random" (one for the whole
            attack, like LockBit 3.0) or "keep".
        behaviour: a name from `BEHAVIOURS`: "in-place", "copy-delete" (encrypted copy
            under the new name, original deleted) or "rename-write" (renamed, then
            encrypted); the last two need a new name (not extension "keep").
        notes_family: the family whose note is dropped (a folder of `notes_dir`).
        notes_dir: the ransom-notes collection (default: ../shared/data/ransom-notes).
        order: "alpha", "reverse", "random" or "largest" first.
        pace: "steady", "bursts" (`Pace.burst` files, then about `Pace.pause` seconds),
            "slow-low", or a `Pace` for other burst sizes and pauses.
        rate: files per second at most for "steady" (None: as fast as possible) and
            "slow-low" (None: a few files a minute).
        threads: worker threads encrypting different files at once.
        seed: makes keys, layouts, names and pauses reproducible (None: fresh randomness),
            whatever the number of threads.
        durable: fsync each attacked file before its rename, so that even a power cut
            leaves every file wholly original or wholly attacked (the journal is always
            fsynced; tests turn this off for speed).
        on_start: called once every check passed, before the first change to the share.
    Raises:
        ExerciseError: not a practice share, an earlier attack not undone, a bad option.
    """
    root = check_target(root)
    chosen = _check_options(layout, extension, behaviour, threads)
    if isinstance(pace, str):
        pace = Pace(pace, rate=rate)
    elif rate is not None:
        raise ExerciseError("give the rate inside the Pace, not beside it")
    journal_path = state_dir(root) / JOURNAL
    if os.path.lexists(journal_path):
        raise ExerciseError(f"{root} was already attacked", hint="run `rempart exercise undo`")
    rng = random.Random(seed if seed is not None else os.urandom(16))
    notes_dir = notes_dir if notes_dir is not None else default_notes_dir()
    family = _pick_family(notes_dir, notes_family, layout, rng)
    note_name, note_body = _note_template(notes_dir, family, rng)
    victim = _rand_token(rng)
    note_name = _PLACEHOLDER.sub(lambda _m: victim, note_name)
    note_body = note_body or GENERIC_NOTE.format(id=victim).encode()
    suffix = {
        "append": FAMILY_EXTENSIONS.get(family or "", ".locked"),
        "random": "." + _rand_token(rng),
        "keep": "",
    }[extension]
    if on_start is not None:
        on_start()

    files = _order(root, list(walk_files(root)), order, rng)
    folders = sorted({f for path in files for f in _folders_up_to(root, path.parent)})
    report = AttackReport(root=root, family=family, extension=suffix or None)
    labels_fd, _end = open_at_end(state_dir(root) / LABELS)  # appended to, without O_APPEND
    with Journal(journal_path) as journal, os.fdopen(labels_fd, "w") as labels:
        journal.append(
            {
                "op": "start",
                "seed": seed,
                "layout": layout,
                "behaviour": chosen.name,
                "pace": asdict(pace),
                "threads": threads,
                "family": family,
                "extension": suffix,
                "pid": os.getpid(),
                "time": time.time(),
            },
            sync=False,
        )
        noted = _plan_folders(journal, root, folders, note_name, note_body)
        plan = Plan(
            root, files, layout, suffix, chosen, family, noted, note_name, note_body, durable
        )
        pacer = Pacer(pace, seed)
        run = Run(plan, journal, rng, pacer, labels, progress)
        run.run(threads)  # an error or Ctrl-C leaves the journal complete up to that file
        report.labels = run.finished
        report.notes = [run.rel(n) for n in run.dropped]
        report.skipped = [(run.rel(p), why) for p, why in run.skipped]
        report.seconds = time.monotonic() - pacer.started
        journal.append({"op": "end", "files": len(report.labels)})  # fsynced: all done
        journal.durability.fsync_dir(root)
        report.warnings = journal.durability.warnings
    return report


def _folders_up_to(root: Path, folder: Path) -> list[Path]:
    chain = [folder]
    while chain[-1] != root:
        chain.append(chain[-1].parent)
    return chain[::-1]
