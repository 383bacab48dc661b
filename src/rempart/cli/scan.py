"""`rempart scan ROOT`: triage every file of a share, folder or mounted image."""

from __future__ import annotations

import json
import sys
from contextlib import AbstractContextManager, nullcontext
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from rempart import settings
from rempart.cli._app import ExitStatus, app
from rempart.errors import UsageError
from rempart.triage import scanner
from rempart.triage._outputs import check_output, refuse_inside
from rempart.triage.verdicts import Verdict

if TYPE_CHECKING:
    from rempart.triage.export import ScanSummary


class HashMode(StrEnum):
    sha256 = "sha256"
    none = "none"


class Lang(StrEnum):
    fr = "fr"
    en = "en"


ATTENTION = {
    Verdict.ENCRYPTED,
    Verdict.PARTIALLY_ENCRYPTED,
    Verdict.RANSOM_NOTE,
    Verdict.SUSPICIOUS,
}


@app.command()
def scan(
    root: Path = typer.Argument(..., help="Folder, share or mounted image to triage (read only)."),
    incident: str = typer.Option("default", "--incident", help="Incident the scan belongs to."),
    jsonl: Path | None = typer.Option(None, "--jsonl", help="Write one JSON object per file."),
    html: Path | None = typer.Option(None, "--html", help="Write a self-contained HTML report."),
    workers: int = typer.Option(0, "--workers", min=0, help="Worker processes (0: one per core)."),
    hash_mode: HashMode = typer.Option(
        HashMode.sha256,
        "--hash",
        help="sha256: hash files up to 1 GiB (larger: sampled, not hashed); none: faster.",
    ),
    resume: bool = typer.Option(
        False, "--resume", help="Carry on the last unfinished scan of ROOT."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print a machine summary on stdout."),
    notes_dir: Path | None = typer.Option(
        None, "--notes", help=settings.NOTES_DIR.help, envvar=settings.NOTES_DIR.env
    ),
    lang: Lang = typer.Option(Lang.fr, "--lang", help="Language of the HTML report."),
    db: str | None = typer.Option(None, "--db", help=settings.DB.help, envvar=settings.DB.env),
) -> None:
    """Triage every file under ROOT: intact, encrypted (fully or partly), ransom note...

    ROOT is only read: nothing in it is written, renamed or touched (not even access times).
    Exit status: 0 nothing found, 1 something needs attention, 2 usage or environment error.
    """
    if not root.is_dir():
        raise UsageError(f"ROOT must be a directory: {root}")
    url = settings.db_url(db)
    outputs = [p for p in (jsonl, html) if p]
    if url.startswith("sqlite:///"):
        outputs.append(Path(url.removeprefix("sqlite:///")))
    refuse_inside(root, outputs)
    for out in (jsonl, html):
        if out:
            check_output(out)
    if not 0 < len(incident) <= 120:
        raise UsageError("--incident takes a name of 1 to 120 characters")
    # Opened by the scan once its workers run: the database libraries load meanwhile.
    store = scanner.StoreOpener(url)
    options = scanner.ScanOptions(
        workers=workers, hash=hash_mode.value, notes_dir=str(notes_dir) if notes_dir else None
    )
    err = Console(stderr=True)
    show = not as_json and err.is_terminal
    with _progress(err, show) as (bar, task):

        def tick(files: int, size: int) -> None:
            if not bar.live.is_started:
                bar.start()
            bar.update(task, completed=files, description=f"scanning: {files:,} files")

        run = scanner.scan(
            store,
            root,
            incident=incident,
            options=options,
            resume=resume,
            progress=tick if show else None,
        )
    from rempart.triage import export  # loaded with the store, after the fork

    engine = store()
    with _status(err, show, "summarising the scan"):
        summary = export.summarise(engine, run.scan_id)
    if jsonl:
        with _status(err, show, f"writing {jsonl}"):
            export.write_jsonl(engine, run.scan_id, jsonl)
    if html:
        from rempart.report import render_html

        with _status(err, show, f"writing {html}"):
            html.write_text(render_html(summary, lang=lang.value), encoding="utf-8")
    if as_json:
        sys.stdout.write(json.dumps(_machine(summary, run, jsonl, html), default=str) + "\n")
    else:
        from rempart.report import render_terminal

        render_terminal(summary, Console())
        for label, path in (("JSONL", jsonl), ("HTML report", html)):
            if path:
                Console().print(f"{label}: {path.resolve()}", highlight=False)
    if run.status == "interrupted":
        err.print("interrupted: run the same command with --resume to carry on")
        raise typer.Exit(130)
    found = any(summary.by_verdict.get(v.value) for v in ATTENTION)
    raise typer.Exit(ExitStatus.FOUND if found else ExitStatus.OK)


def _machine(
    summary: ScanSummary, run: scanner.ScanRun, jsonl: Path | None, html: Path | None
) -> dict[str, object]:
    window = summary.window
    return {
        "scan_id": summary.scan_id,
        "incident": summary.incident,
        "root": summary.root,
        "status": summary.status,
        "files": summary.total_files,
        "bytes": summary.total_bytes,
        "new_files": run.files,
        "by_verdict": summary.by_verdict,
        "by_family": summary.by_family,
        "by_folder": summary.by_folder,
        "window": [window[0].isoformat(), window[1].isoformat()] if window else None,
        "notes": [
            {"path": n.path, "family": n.family, "indicators": n.indicators} for n in summary.notes
        ],
        "jsonl": str(jsonl.resolve()) if jsonl else None,
        "html": str(html.resolve()) if html else None,
    }


def _status(console: Console, show: bool, what: str) -> AbstractContextManager[object]:
    """A spinner while a step after the walk runs (a million-row JSONL takes a while)."""
    return console.status(escape(what)) if show else nullcontext()


class _progress:
    """A Rich progress bar on a terminal, nothing otherwise."""

    def __init__(self, console: Console, show: bool) -> None:
        self.bar = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            TimeElapsedColumn(),
            console=console,
            disable=not show,
            transient=True,
        )

    def __enter__(self) -> tuple[Progress, TaskID]:
        # Started on the first update: the scan forks its workers before any thread exists.
        return self.bar, self.bar.add_task("walking", total=None)

    def __exit__(self, *exc: object) -> None:
        self.bar.stop()
