"""rempart serve commands."""

from __future__ import annotations

import json
import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from rempart import settings
from rempart.cli._app import ExitStatus, app
from rempart.errors import UsageError

if TYPE_CHECKING:  # the workspace (sqlalchemy, argon2) is imported by the commands only
    from rempart.workspace.access import Actor

admin_app = typer.Typer(help="Workspace accounts: the first administrator and others.")
logbook_app = typer.Typer(help="The incident logbook: verify its hash chain, export it.")
status_app = typer.Typer(help="The public status pages: export them as a static site.")
app.add_typer(admin_app, name="admin")
app.add_typer(logbook_app, name="logbook")
app.add_typer(status_app, name="status")

DB_OPTION = typer.Option(None, "--db", help=settings.DB.help, envvar=settings.DB.env)
PASSWORD_ENV = "REMPART_ADMIN_PASSWORD"


class OrgKindChoice(StrEnum):
    service = "service"
    town = "town"


class LogFormat(StrEnum):
    jsonl = "jsonl"
    csv = "csv"


def _engine(db: str | None):  # type: ignore[no-untyped-def]  # sqlalchemy imported lazily
    from rempart.store import open_store

    return open_store(settings.db_url(db))


def _password() -> str:
    given = os.environ.get(PASSWORD_ENV)
    if given is not None:
        return given
    if not sys.stdin.isatty():
        raise UsageError(f"no terminal to ask the password: set {PASSWORD_ENV} for scripts")
    first = typer.prompt("Password", hide_input=True)
    if first != typer.prompt("Repeat the password", hide_input=True):
        raise UsageError("the two passwords differ")
    return str(first)


@admin_app.command("create")
def admin_create(
    email: str = typer.Option(..., "--email", help="The administrator's e-mail (their login)."),
    org: str = typer.Option(..., "--org", help="Organisation slug (created when new)."),
    org_name: str | None = typer.Option(None, "--org-name", help="Name of a new organisation."),
    kind: OrgKindChoice = typer.Option(
        OrgKindChoice.service, "--kind", help="Kind of a new organisation."
    ),
    parent: str | None = typer.Option(None, "--parent", help="Service a new town belongs to."),
    name: str = typer.Option("", "--name", help="The administrator's full name."),
    db: str | None = DB_OPTION,
) -> None:
    """Create an administrator (asks the password, or reads REMPART_ADMIN_PASSWORD).

    There is no default account: this is how the first one is made. Weak passwords are refused.
    """
    from rempart.workspace import Role, system_actor, transaction
    from rempart.workspace._errors import NotFound
    from rempart.workspace.orgs import OrgKind, create_org, create_user, get_org
    from rempart.workspace.passwords import check_strength

    engine = _engine(db)
    password = _password()
    check_strength(password, email)  # before anything is written
    actor = system_actor(f"cli:{os.environ.get('USER', 'operator')}")
    with transaction(engine) as s:
        try:
            get_org(s, org)
        except NotFound:
            create_org(s, actor, org, org_name or org, OrgKind(kind.value), parent)
        user = create_user(s, actor, email, password, name=name, roles={org: Role.ADMIN})
    Console().print(f"administrator {user.email} created in {org}", highlight=False)


def _cli_actor() -> Actor:
    from rempart.workspace import system_actor

    return system_actor(f"cli:{os.environ.get('USER', 'operator')}")


def _set_active(email: str, db: str | None, active: bool) -> None:
    from rempart.workspace import transaction
    from rempart.workspace.users import set_active

    with transaction(_engine(db)) as s:
        user = set_active(s, _cli_actor(), email, active)
    state = "enabled" if user.active else "disabled (signed out everywhere)"
    Console().print(f"{user.email} {state}", highlight=False)


@admin_app.command("disable")
def admin_disable(
    email: str = typer.Option(..., "--email", help="The account to disable."),
    db: str | None = DB_OPTION,
) -> None:
    """Disable an account: it can no longer sign in and its open sessions end now."""
    _set_active(email, db, False)


@admin_app.command("enable")
def admin_enable(
    email: str = typer.Option(..., "--email", help="The account to enable again."),
    db: str | None = DB_OPTION,
) -> None:
    """Enable a disabled account again."""
    _set_active(email, db, True)


@admin_app.command("password")
def admin_password(
    email: str = typer.Option(..., "--email", help="The account whose password to set."),
    db: str | None = DB_OPTION,
) -> None:
    """Set a new password (asks it, or reads REMPART_ADMIN_PASSWORD); sessions end."""
    from rempart.workspace import transaction
    from rempart.workspace.passwords import check_strength
    from rempart.workspace.users import change_password

    engine = _engine(db)
    password = _password()
    check_strength(password, email)  # before anything is written
    with transaction(engine) as s:
        user = change_password(s, _cli_actor(), email, password)
    Console().print(f"password of {user.email} changed", highlight=False)


def _incident_id(s, actor, ref: str) -> int:  # type: ignore[no-untyped-def]
    from rempart.workspace.incidents import get_incident

    return get_incident(s, actor, int(ref) if ref.isdigit() else ref).id


@logbook_app.command("verify")
def logbook_verify(
    incident: str = typer.Option(..., "--incident", help="Incident key (or id)."),
    against: Path | None = typer.Option(
        None, "--against", help="An earlier JSONL export to compare with (kept elsewhere)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    db: str | None = DB_OPTION,
) -> None:
    """Recompute the logbook's hash chain: exit 1 when an entry was changed, deleted,
    inserted or reordered behind the workspace's back."""
    from dataclasses import replace

    from rempart.workspace import system_actor, transaction
    from rempart.workspace.logbook import compare_export, verify

    anchor = None
    if against is not None:
        try:
            anchor = against.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"cannot read the export {against}: {exc}") from exc
    actor = system_actor()
    with transaction(_engine(db)) as s:
        inc = _incident_id(s, actor, incident)
        report = verify(s, actor, inc)
        if anchor is not None:
            extra = compare_export(s, actor, inc, anchor)
            report = replace(report, problems=report.problems + tuple(extra))
    if as_json:
        problems = [{"seq": p.seq, "kind": p.kind, "detail": p.detail} for p in report.problems]
        out = {"incident": report.incident, "entries": report.entries, "head": report.head,
               "ok": report.ok, "problems": problems}  # fmt: skip
        sys.stdout.write(json.dumps(out) + "\n")
    else:
        console = Console()
        for p in report.problems:
            where = f"entry {p.seq}" if p.seq is not None else "chain"
            console.print(f"[red]{p.kind}[/]: {where}: {p.detail}", highlight=False)
        verdict = "intact" if report.ok else "TAMPERED"
        console.print(
            f"logbook of {report.incident}: {report.entries} entries, {verdict}, "
            f"head {report.head}",
            highlight=False,
        )
    raise typer.Exit(ExitStatus.OK if report.ok else ExitStatus.FOUND)


@logbook_app.command("export")
def logbook_export(
    incident: str = typer.Option(..., "--incident", help="Incident key (or id)."),
    fmt: LogFormat = typer.Option(LogFormat.jsonl, "--format", help="jsonl or csv."),
    output: Path | None = typer.Option(None, "--output", "-o", help="File (default: stdout)."),
    db: str | None = DB_OPTION,
) -> None:
    """Export the logbook with its hashes (keep a copy outside: it anchors the chain)."""
    from rempart.workspace import system_actor, transaction
    from rempart.workspace.logbook import export_csv, export_jsonl

    actor = system_actor()
    with transaction(_engine(db)) as s:
        inc = _incident_id(s, actor, incident)
        text = (export_csv if fmt is LogFormat.csv else export_jsonl)(s, actor, inc)
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")


@status_app.command("export")
def status_export(
    dest: Path = typer.Argument(..., help="Folder to write the static site to."),
    town: list[str] = typer.Option([], "--town", help="Only this town (repeatable)."),
    db: str | None = DB_OPTION,
) -> None:
    """Write the public status pages (HTML fr/en and Atom feeds, no external asset) to DEST,
    to host outside the compromised network."""
    from rempart.workspace import transaction
    from rempart.workspace.site import export_static

    if dest.exists() and not dest.is_dir():
        raise UsageError(f"DEST must be a folder: {dest}")
    with transaction(_engine(db)) as s:
        files = export_static(s, dest, town or None)
    Console().print(f"{len(files)} files written to {dest.resolve()}", highlight=False)


@app.command("serve")
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="Port to listen on."),
    db: str | None = DB_OPTION,
    workers: int = typer.Option(
        1, "--workers", min=1, max=64, help="Worker processes (more serve the public page faster)."
    ),
    cert: Path | None = typer.Option(None, "--cert", help="TLS certificate (PEM): serve HTTPS."),
    key: Path | None = typer.Option(None, "--key", help="TLS private key (PEM) of --cert."),
    behind_https: bool = typer.Option(
        False, "--behind-https", help="A TLS proxy in front: mark cookies Secure, send HSTS."
    ),
    access_log: bool = typer.Option(False, "--access-log", help="Log every request."),
) -> None:
    """Start the incident workspace (web): logbook, tasks, decisions, contacts, scans, status.

    Works on a SQLite file with no set-up (the store is created and migrated); create the
    first account with `rempart admin create`. Public status pages: /status/<town-slug>.
    """
    from rempart.web._serve import serve as run

    if bool(cert) != bool(key):
        raise UsageError("--cert and --key go together")
    for given in (cert, key):
        if given and not given.is_file():
            raise UsageError(f"no such file: {given}")
    run(
        settings.db_url(db),
        host=host,
        port=port,
        workers=workers,
        https=behind_https,
        cert=str(cert) if cert else None,
        key=str(key) if key else None,
        access_log=access_log,
    )
