"""`rempart exercise`: build a practice share, attack it for real, undo the attack."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from rempart import exercise
from rempart.cli._app import ExitStatus, app

exercise_app = typer.Typer(
    help="Practice shares and safe attacks: build a realistic town-hall share, attack it "
    "with real cryptography, undo every change. For drills, tests and benchmarks.",
    no_args_is_help=True,
)
app.add_typer(exercise_app, name="exercise")


class Extension(StrEnum):
    append = "append"
    random = "random"
    keep = "keep"


class Order(StrEnum):
    alpha = "alpha"
    reverse = "reverse"
    random = "random"
    largest = "largest"


Behaviour = StrEnum("Behaviour", {name: name for name in exercise.BEHAVIOURS})  # type: ignore[misc]  # functional API: members come from the registry
PaceKind = StrEnum("PaceKind", {name: name for name in exercise.PACES})  # type: ignore[misc]  # same

ATTACK_HELP = (
    "Encrypt a practice share for real (journaled first, so `undo` restores it exactly).\n\n"
    "ROOT may be a local folder or a folder on a mounted SMB/CIFS share (mount it yourself): "
    "attack and undo use only open, write, rename and unlink, never hard links, O_TMPFILE "
    "or inode numbers; where the filesystem refuses fsync they go on and say so."
)


@contextmanager
def _progress(label: str) -> Iterator[Callable[[int, int], None] | None]:
    console = Console(stderr=True)
    if not console.is_terminal:
        yield None
        return
    columns = (TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(label, total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)


@exercise_app.command()
def build(
    dest: Path = typer.Argument(..., help="New or empty folder to build the share in."),
    files: int = typer.Option(1000, "--files", min=1, help="Number of files."),
    seed: int = typer.Option(1, "--seed", help="Same seed, same bytes."),
    big: bool = typer.Option(False, "--big", help="Add a few large files (scan, export, backup)."),
    big_mb: int = typer.Option(
        30, "--big-size", min=1, max=2048, help="Size of the large export and backup, in MB."
    ),
) -> None:
    """Build a realistic municipal practice share (French documents, photos, mails...)."""
    with _progress("building") as progress:
        manifest = exercise.build(dest, files, seed, big=big, big_mb=big_mb, progress=progress)
    size = sum(e.size for e in manifest.entries) / 1e6
    owner = sum(e.owner_encrypted for e in manifest.entries)
    typer.echo(
        f"built {len(manifest.entries)} files ({size:.1f} MB, {owner} owner-encrypted, "
        f"{len(manifest.kinds())} kinds) in {manifest.root}"
    )


@exercise_app.command(help=ATTACK_HELP)
def attack(
    root: Path = typer.Argument(..., help="A practice share made by `exercise build`."),
    layout: str = typer.Option(
        "mixed",
        "--layout",
        help="Encryption layout, or mixed: " + ", ".join(exercise.LAYOUTS) + ".",
    ),
    extension: Extension = typer.Option(
        Extension.append, "--extension", help="Append an extension, a random one, or keep names."
    ),
    behaviour: Behaviour = typer.Option(
        "in-place",
        "--behaviour",
        help="How each file is replaced: "
        + "; ".join(f"{n}: {b.description}" for n, b in exercise.BEHAVIOURS.items())
        + ".",
    ),
    family: str | None = typer.Option(
        None, "--family", help="Family whose ransom note is dropped."
    ),
    notes_dir: Path | None = typer.Option(None, "--notes-dir", help="Ransom-notes collection."),
    order: Order = typer.Option(Order.alpha, "--order", help="Order files are attacked in."),
    pace: PaceKind = typer.Option(
        "steady",
        "--pace",
        help="steady (at --rate), bursts (--burst files at full speed, then about --pause "
        "seconds), slow-low (--rate defaults to "
        f"{exercise.SLOW_LOW_RATE * 60:g} files a minute).",
    ),
    rate: float | None = typer.Option(None, "--rate", min=0.01, help="Files per second at most."),
    burst: int = typer.Option(
        exercise.Pace.burst, "--burst", min=1, help="Files per burst (--pace bursts)."
    ),
    pause: float = typer.Option(
        exercise.Pace.pause,
        "--pause",
        min=0,
        help="Mean pause between bursts in seconds, each drawn from the seed in 0.5-1.5x.",
    ),
    threads: int = typer.Option(1, "--threads", min=1, help="Files encrypted at once."),
    seed: int | None = typer.Option(None, "--seed", help="Reproducible keys and choices."),
) -> None:
    with _progress("attacking") as progress:
        report = exercise.attack(
            root,
            layout=layout,
            extension=extension.value,
            behaviour=behaviour.value,
            notes_family=family,
            notes_dir=notes_dir,
            order=order.value,
            pace=exercise.Pace(pace.value, rate=rate, burst=burst, pause=pause),
            threads=threads,
            seed=seed,
            progress=progress,
            # after the refusals, so that a refused attack prints no pid to watch or kill
            on_start=lambda: typer.echo(f"attack pid {os.getpid()}"),
        )
    typer.echo(
        f"attacked {len(report.labels)} files in {report.seconds:.1f} s "
        f"(family {report.family or 'generic'}, extension {report.extension or 'kept'}, "
        f"{len(report.notes)} notes); labels in {exercise.STATE_DIR}/{exercise.LABELS}"
    )
    for warning in report.warnings:
        typer.echo(f"note: {warning}", err=True)


@exercise_app.command()
def undo(
    root: Path = typer.Argument(..., help="The attacked practice share."),
) -> None:
    """Restore every file, name and mtime an attack changed, and remove its notes.

    Safe to repeat: on a practice share with no attack recorded it says so and exits 0.
    """
    report = exercise.undo(root)
    if report.nothing_to_undo:
        typer.echo(f"nothing to undo: no attack recorded on {root} (already undone?)")
        return
    typer.echo(
        f"restored {report.restored} files ({report.already_original} already original), "
        f"removed {report.notes_removed} notes"
    )
    err = Console(stderr=True)
    for warning in report.warnings:
        err.print(f"note: {warning}", highlight=False)
    for number, reason in report.damaged_lines:
        err.print(f"journal line {number}: {reason}", highlight=False)
    for path, reason in report.failures:
        err.print(f"not restored: {path}: {reason}", highlight=False)
    for problem in report.mismatches[:20]:
        err.print(f"differs from the manifest: {problem}", highlight=False)
    if not report.ok:
        raise typer.Exit(ExitStatus.FOUND)


from rempart.cli import _workload  # noqa: E402,F401  # registers 'exercise workload'
