"""`workload`: legitimate activity that touches many files fast, for guard false-positive tests.

Each kind is a function registered in `WORKLOADS` (zip-folder, unzip, office-save,
photo-import, bulk-copy, backup, compress-logs, to-pdf, git-checkout); it works on a
practice share through a guarded `Session` (see `_workload_core`), so it has the same
safety as `attack`: only a share `build` made, no symlink followed, nothing written outside
the share or into `.rempart-exercise/`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

# Imported for their registrations in WORKLOADS.
from rempart.exercise import (  # noqa: F401
    _workload_docs,
    _workload_files,
    _workload_git,
)
from rempart.exercise._safety import ExerciseError, check_target
from rempart.exercise._workload_core import WORKLOADS, Progress, Session, WorkloadReport

__all__ = ["WORKLOADS", "WorkloadReport", "workload"]


def workload(
    root: Path,
    kind: str,
    *,
    seed: int = 0,
    limit: int = 200,
    rate: float | None = None,
    progress: Progress | None = None,
    on_start: Callable[[], None] | None = None,
) -> WorkloadReport:
    """Run the legitimate workload `kind` on the practice share at `root`.

    Args:
        seed: same seed and same share, same resulting files.
        limit: at most this many distinct files read, written, created or deleted.
        rate: at most this many files touched per second.
        progress: called with (files touched so far, limit).
        on_start: called once every check passed, before the first file is touched.
    Raises:
        UnsafeTargetError: `root` is not a practice share (see `check_target`).
        RegistryError: no workload is called `kind`.
        ExerciseError: the workload cannot run (a bad limit or rate, git failing...).
    """
    run = WORKLOADS[kind]
    real = check_target(root, command="workload")
    if limit < 1:
        raise ExerciseError(f"limit must be at least 1, not {limit}")
    if rate is not None and rate <= 0:
        raise ExerciseError(f"rate must be positive, not {rate}")
    session = Session(real, kind, seed, limit=limit, rate=rate, progress=progress)
    if on_start is not None:
        on_start()
    run(session)
    return session.report()
