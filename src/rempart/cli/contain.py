"""`rempart contain`: plan, apply, verify and undo containment (hosts, egress, accounts)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape

from rempart import settings
from rempart.cli._app import ExitStatus, app
from rempart.cli._contain_options import (
    DB,
    INCIDENT,
    JOURNAL,
    JSON,
    REMOTE_PY,
    AccessOptions,
    ChangeOptions,
    make_context,
    make_request,
    offline_context,
    with_groups,
)

contain_app = typer.Typer(
    help="Contain an incident: isolate hosts, cut internet egress, block SMB clients, disable "
    "accounts; plan first, apply with automatic rollback, undo exactly. Hosts with an empty "
    "ssh column are this machine (--netns: inside that network namespace, for labs and tests).",
    no_args_is_help=True,
)
inventory_app = typer.Typer(help="The hosts of an incident and how to reach them.")
contain_app.add_typer(inventory_app, name="inventory")
app.add_typer(contain_app, name="contain")


def _print_plan(out: Console, plan: Any) -> None:
    for change in plan.changes:
        state = " [green](already applied: nothing to change)[/]" if change.noop else ""
        out.print(f"[bold]{escape(change.summary)}[/]{state}")
        # soft_wrap: the rules are printed as they are loaded, copyable, never folded
        out.print(escape(change.detail.rstrip()), highlight=False, soft_wrap=True)
        out.print(f"  stays reachable: {escape(', '.join(change.keeps))}")
        out.print(f"  state fingerprint: {change.fingerprint[:16]}")


@inventory_app.command("import")
def inventory_import(
    file: Path = typer.Argument(..., help="Inventory: .csv or .toml."),
    incident: str = INCIDENT,
    db: str | None = DB,
) -> None:
    """Replace the incident's inventory with FILE (validated first)."""
    from rempart.contain import _records, inventory
    from rempart.store import open_store

    hosts = inventory.load_file(file)
    store = open_store(settings.db_url(db))
    inventory.save(store, _records.incident_id(store, incident, create=True), hosts)
    typer.echo(f"{len(hosts)} hosts imported for incident {incident}")


@inventory_app.command("show")
def inventory_show(incident: str = INCIDENT, db: str | None = DB, as_json: bool = JSON) -> None:
    """List the incident's hosts: name, address, role, groups, how rempart reaches it (local:
    this machine; ssh USER@HOST:PORT; winrm: role windows) and management addresses."""
    from rempart.contain import _records, inventory
    from rempart.store import open_store

    store = open_store(settings.db_url(db))
    hosts = inventory.load(store, _records.incident_id(store, incident, create=False))
    if as_json:
        rows = [
            {**h.__dict__, "ssh": str(h.ssh) if h.ssh else "", "reached_by": h.reached_by}
            for h in hosts
        ]
        typer.echo(json.dumps(rows, indent=2))
        return
    for h in hosts:
        typer.echo(
            f"{h.name}\t{h.address}\t{h.role}\t{';'.join(h.groups)}\t"
            f"{h.reached_by}\t{';'.join(h.management)}"
        )


@contain_app.command("plan")
@with_groups
def plan_cmd(
    change: ChangeOptions, access: AccessOptions, db: str | None = DB, as_json: bool = JSON
) -> None:
    """Print exactly what would change on which host, and what stays reachable."""
    from rempart.contain import _records, engine

    request = make_request(change)
    store, ctx = make_context(change.incident, access, db, remote_python=change.remote_python)
    try:
        plan = engine.make_plan(ctx, request)
    finally:
        ctx.close()
    pid = _records.save_plan(store, ctx.incident, request.canonical(), plan.fingerprints())
    if as_json:
        keys = ("key", "action", "target", "summary", "detail", "keeps", "fingerprint", "noop")
        rows = [{k: getattr(c, k) for k in keys} for c in plan.changes]
        typer.echo(json.dumps({"plan": pid, "changes": rows}, indent=2))
        return
    _print_plan(Console(), plan)
    typer.echo(f"plan {pid} saved; apply it with the same arguments: rempart contain apply ...")


@contain_app.command("apply")
@with_groups
def apply_cmd(
    change: ChangeOptions,
    access: AccessOptions,
    confirm_within: int = typer.Option(
        60,
        "--confirm-within",
        min=5,
        help="Seconds before a host restores its rules by itself (unless verified).",
    ),
    journal: Path = JOURNAL,
    yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation."),
    db: str | None = DB,
    as_json: bool = JSON,
) -> None:
    """Apply the plan host by host, verify each change, record it; roll back what fails.

    Before changing a host, a timer is started on it that restores its previous state after
    --confirm-within seconds; only a successful verification cancels it. Exit 0: all
    contained (or already); 1: some change failed or is rolling back (one line per change
    says the state it is left in); 2: refused, nothing applied.
    """
    from rempart.contain import _records, engine

    request = make_request(change)
    store, ctx = make_context(
        change.incident,
        access,
        db,
        remote_python=change.remote_python,
        confirm_within=confirm_within,
    )
    out = Console(quiet=as_json)
    try:
        plan = engine.make_plan(ctx, request)
        engine.check_unchanged(
            ctx, plan, _records.last_plan(store, ctx.incident, request.canonical())
        )
        _print_plan(out, plan)
        if not yes and not typer.confirm("apply these changes?"):
            raise typer.Abort()
        with _progress(len(plan.changes), quiet=as_json) as step:
            outcomes = engine.apply(store, ctx, plan, _records.Journal(journal), progress=step)
    finally:
        ctx.close()
    _report(out, outcomes, as_json)


@contextmanager
def _progress(total: int, *, quiet: bool) -> Iterator[Callable[[Any], None] | None]:
    """Host by host: a Rich progress display on a terminal (stderr), one line each elsewhere."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    console = Console(stderr=True, quiet=quiet)
    if quiet or not console.is_terminal:
        yield None if quiet else (lambda c: typer.echo(f"applying {c.key} ..."))
        return
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as bar:
        task = bar.add_task("applying", total=total)
        done = [0]

        def step(change: Any) -> None:
            # called as each change starts: the ones before it are done
            bar.update(task, completed=done[0], description=f"applying {escape(change.key)}")
            bar.console.print(f"applying {escape(change.key)} ...", highlight=False)
            done[0] += 1

        yield step
        bar.update(task, completed=total, description="applied")


@contain_app.command("undo")
@with_groups
def undo_cmd(
    targets: list[str] = typer.Argument(None, help="Hosts or accounts (default: all)."),
    incident: str = INCIDENT,
    *,  # a group has no default of its own: keyword-only, it may follow options that do
    access: AccessOptions,
    remote_python: str = REMOTE_PY,
    journal: Path = JOURNAL,
    from_journal: bool = typer.Option(
        False, "--from-journal", help="Undo from the journal alone (store unreachable)."
    ),
    db: str | None = DB,
    as_json: bool = JSON,
) -> None:
    """Restore the exact previous ruleset or account state of every applied change.

    With --from-journal the store is not used: hosts and snapshots come from the journal
    (an apply interrupted, or the store out of reach).
    """
    from rempart.contain import _records, engine

    book = _records.Journal(journal)
    if from_journal:
        ctx = offline_context(incident, access, remote_python=remote_python)
        try:
            outcomes = engine.undo_from_journal(ctx, book, list(targets or []))
        finally:
            ctx.close()
    else:
        store, ctx = make_context(incident, access, db, remote_python=remote_python)
        try:
            outcomes = engine.undo(store, ctx, list(targets or []), book)
        finally:
            ctx.close()
    _report(Console(quiet=as_json), outcomes, as_json)


def _report(out: Console, outcomes: list[Any], as_json: bool) -> None:
    colour = {"contained": "green", "unchanged": "green", "undone": "green"}
    for o in outcomes:
        out.print(
            f"[{colour.get(o.state, 'red')}]{o.state:>12}[/] {escape(o.key)}: {escape(o.message)}"
        )
    if as_json:
        typer.echo(
            json.dumps(
                [{"key": o.key, "state": o.state, "message": o.message} for o in outcomes], indent=2
            )
        )
    if any(o.state not in colour for o in outcomes):
        raise typer.Exit(ExitStatus.FOUND)


@contain_app.command("log")
def log_cmd(incident: str = INCIDENT, db: str | None = DB, as_json: bool = JSON) -> None:
    """Who applied or undid what, when, and the state each target was left in."""
    from rempart.contain import _records
    from rempart.store import open_store

    store = open_store(settings.db_url(db))
    rows = _records.records(store, _records.incident_id(store, incident, create=False))
    if as_json:
        keys = ("id", "action", "target", "state", "actor", "note", "created_at")
        typer.echo(json.dumps([{k: str(getattr(r, k)) for k in keys} for r in rows], indent=2))
        return
    for r in rows:
        typer.echo(
            f"{r.created_at:%Y-%m-%d %H:%M:%S}\t{r.actor}\t{r.action}\t{r.target}\t"
            f"{r.state}\t{r.note}"
        )
