"""`rempart exercise workload`: legitimate bulk activity, for false-positive tests of the guard."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from rempart import exercise
from rempart.cli.exercise import _progress, exercise_app


@exercise_app.command()
def workload(
    root: Path = typer.Argument(..., help="A practice share made by `exercise build`."),
    kind: str = typer.Option(
        ..., "--kind", help="What to do: " + ", ".join(exercise.WORKLOADS) + "."
    ),
    seed: int = typer.Option(0, "--seed", help="Same seed, same resulting files."),
    rate: float | None = typer.Option(None, "--rate", min=0.01, help="Files per second at most."),
    limit: int = typer.Option(200, "--limit", min=1, help="Files touched at most."),
) -> None:
    """Run legitimate activity that touches many files fast (zip, backup, Office saves...)."""
    with _progress(kind) as progress:
        report = exercise.workload(
            root,
            kind,
            seed=seed,
            limit=limit,
            rate=rate,
            progress=progress,
            # after the refusals, so that a refused workload prints no pid to watch or kill
            on_start=lambda: typer.echo(f"workload pid {os.getpid()}"),
        )
    if report.note:
        typer.echo(f"{kind}: {report.note}")
    typer.echo(
        f"{kind}: read {report.files_read}, wrote {report.files_written}, created "
        f"{report.files_created}, deleted {report.files_deleted} files in {report.seconds:.1f} s"
        + (f"; outputs: {', '.join(report.outputs)}" if report.outputs else "")
    )
    if report.skipped:
        typer.echo(f"{len(report.skipped)} inputs skipped (first: {report.skipped[0]})", err=True)
