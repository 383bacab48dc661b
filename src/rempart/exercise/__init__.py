"""Practice shares and safe, undoable attacks: for drills, tests and benchmarks.

    from rempart.exercise import build, attack, undo
    manifest = build(Path("/srv/exercice"), files=300, seed=1)
    report = attack(manifest.root, layout="mixed", seed=2)
    undo(manifest.root)          # every byte, name and mtime back
    workload(manifest.root, "backup", seed=3)   # legitimate bulk activity (guard tests)

Bookkeeping lives in `<root>/.rempart-exercise/`: marker.json, manifest.jsonl,
journal.jsonl and labels.jsonl (the ground truth of the attack).
"""

from rempart.exercise._attack import AttackLabel, AttackReport, attack, default_notes_dir
from rempart.exercise._behaviours import BEHAVIOURS, Behaviour
from rempart.exercise._build import build, plan
from rempart.exercise._journal import UndoReport, read_journal, undo
from rempart.exercise._kinds import KINDS, Kind
from rempart.exercise._layouts import LAYOUTS, KeyMaterial, Layout
from rempart.exercise._manifest import Entry, Manifest, load, verify
from rempart.exercise._owner import OWNER_PASSWORD
from rempart.exercise._pace import PACES, SLOW_LOW_RATE, Pace
from rempart.exercise._safety import (
    JOURNAL,
    LABELS,
    MANIFEST,
    MARKER,
    STATE_DIR,
    ExerciseError,
    UnsafeTargetError,
)
from rempart.exercise._workload import WORKLOADS, WorkloadReport, workload

load_manifest = load
__all__ = [
    "BEHAVIOURS",
    "JOURNAL",
    "KINDS",
    "LABELS",
    "LAYOUTS",
    "MANIFEST",
    "MARKER",
    "OWNER_PASSWORD",
    "PACES",
    "SLOW_LOW_RATE",
    "STATE_DIR",
    "WORKLOADS",
    "AttackLabel",
    "AttackReport",
    "Behaviour",
    "Entry",
    "ExerciseError",
    "KeyMaterial",
    "Kind",
    "Layout",
    "Manifest",
    "Pace",
    "UndoReport",
    "UnsafeTargetError",
    "WorkloadReport",
    "attack",
    "build",
    "default_notes_dir",
    "load_manifest",
    "plan",
    "read_journal",
    "undo",
    "verify",
    "workload",
]
