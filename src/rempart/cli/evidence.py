"""`rempart evidence`: acquire, hash, seal, export and verify evidence with chain of custody."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from rempart import settings
from rempart.cli._app import ExitStatus, app
from rempart.errors import UsageError
from rempart.store import open_store

evidence_app = typer.Typer(
    help="Evidence locker: acquire items with their hashes, keep a signed chain of custody, "
    "export a package the police can check with sha256sum and openssl, verify it.",
    no_args_is_help=True,
)
key_app = typer.Typer(help="Responders' Ed25519 signing keys.", no_args_is_help=True)
app.add_typer(evidence_app, name="evidence")
evidence_app.add_typer(key_app, name="key")


class Action(StrEnum):
    transferred = "transferred"
    examined = "examined"


DB = typer.Option(None, "--db", help=settings.DB.help, envvar=settings.DB.env)
# The defaults are the settings' own (rempart.settings): --help shows them, and the command
# line, then the environment variable, then the default win, as with settings.resolve.
KEYS = typer.Option(
    Path(settings.EVIDENCE_KEYS.default),
    "--keys",
    help=settings.EVIDENCE_KEYS.help,
    envvar=settings.EVIDENCE_KEYS.env,
)
BY = typer.Option(None, "--by", help=settings.RESPONDER.help, envvar=settings.RESPONDER.env)
JSON = typer.Option(False, "--json", help="Print a machine summary on stdout.")


@contextmanager
def _bytes_progress(label: str, quiet: bool) -> Iterator[Callable[[int, int], None] | None]:
    console = Console(stderr=True)
    if quiet or not console.is_terminal:
        yield None
        return
    columns = (TextColumn(label), BarColumn(), DownloadColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(label, total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total or None)


def _signer(engine: Any, by: str | None, keys: Path | None) -> Any:
    from rempart.forensics import evidence
    from rempart.forensics.evidence import _settings as ev_settings

    name = ev_settings.responder(by)
    folder = ev_settings.keys_dir(str(keys) if keys else None)
    return evidence.load_signer(engine, name, folder, lambda: ev_settings.passphrase(name))


def _print_json(obj: object) -> None:
    sys.stdout.write(json.dumps(obj, default=str, ensure_ascii=False) + "\n")


@evidence_app.command("add")
def add(
    path: Path = typer.Argument(..., help="File or folder to acquire (only read, never written)."),
    incident: str = typer.Option(..., "--incident", help="Incident the item belongs to."),
    description: str = typer.Option(..., "--description", help="What the item is, for people."),
    by: str | None = BY,
    in_place: bool = typer.Option(False, "--in-place", help="Hash and record it, do not copy."),
    max_copy: str = typer.Option(
        settings.EVIDENCE_MAX_COPY.default,
        "--max-copy",
        help=settings.EVIDENCE_MAX_COPY.help,
        envvar=settings.EVIDENCE_MAX_COPY.env,
    ),
    locker: Path = typer.Option(
        Path(settings.EVIDENCE_LOCKER.default),
        "--locker",
        help=settings.EVIDENCE_LOCKER.help + " A relative path is from the current folder.",
        envvar=settings.EVIDENCE_LOCKER.env,
    ),
    keys: Path = KEYS,
    create_incident: bool = typer.Option(
        False, "--create-incident", help="Create the incident if the store does not know it."
    ),
    again: bool = typer.Option(
        False, "--again", help="Acquire a source again even if it already is in the locker."
    ),
    as_json: bool = JSON,
    db: str | None = DB,
) -> None:
    """Acquire PATH: copy it into the locker (or record it in place), hash it, sign for it.

    SHA-256, SHA-1 and MD5 are computed in one read; the copy is hashed again before the
    item is recorded as acquired. An interrupted add is simply run again.
    """
    from rempart.forensics import evidence
    from rempart.forensics.evidence import _settings as ev_settings

    if not description.strip():
        raise UsageError("--description must say what the item is")
    limit = ev_settings.parse_size(settings.resolve(settings.EVIDENCE_MAX_COPY, max_copy))
    engine = open_store(settings.db_url(db))
    signer = _signer(engine, by, keys)
    with _bytes_progress("acquiring", as_json) as tick:
        done = evidence.acquire(
            engine,
            path,
            incident=incident,
            description=description,
            signer=signer,
            locker=ev_settings.locker(str(locker) if locker else None),
            in_place=in_place,
            max_copy=limit,
            create_incident=create_incident,
            again=again,
            progress=tick,
        )
    if as_json:
        _print_json({"item": done.label, "uid": done.uid, "already": done.already,
                     "in_place": done.in_place, "size": done.size, "files": done.files,
                     "locker_path": done.locker_path, "skipped": list(done.skipped),
                     **done.digests.as_dict()})  # fmt: skip
        return
    out = Console()
    if done.already:
        out.print(f"{done.label} already holds this source (--again acquires it a second time)")
    else:
        where = "recorded in place" if done.in_place else f"copied to {done.locker_path}"
        out.print(f"{done.label} acquired: {done.files:,} files, {done.size:,} bytes, {where}")
    for name, value in done.digests.as_dict().items():
        out.print(f"  {name:<6} {value}", highlight=False)
    for skipped in done.skipped:
        out.print(f"  not copied (not a regular file): {escape(skipped)}", highlight=False)


@evidence_app.command("log")
def log(
    item: str = typer.Argument(..., help="The item: E-0007 (or 7, or its uid)."),
    action: Action = typer.Option(..., "--action", help="What happened to the item."),
    note: str = typer.Option("", "--note", help="Details: to whom, why, what was found."),
    where: str | None = typer.Option(None, "--where", help="Place (default: this host's name)."),
    by: str | None = BY,
    keys: Path = KEYS,
    db: str | None = DB,
) -> None:
    """Add a signed entry to an item's chain of custody (it can never be edited later)."""
    from rempart.forensics import evidence

    engine = open_store(settings.db_url(db))
    ident = evidence.item_id(engine, item)
    signer = _signer(engine, by, keys)
    with engine.begin() as conn:
        entry = evidence.append(conn, ident, action.value, signer, note=note, where=where)
    Console().print(f"{evidence.label(ident)} entry {entry.seq}: {action.value} by {signer.name}")


@evidence_app.command("show")
def show(
    item: str | None = typer.Argument(None, help="One item (E-0007): its record and its log."),
    incident: str | None = typer.Option(None, "--incident", help="List this incident's items."),
    as_json: bool = JSON,
    db: str | None = DB,
) -> None:
    """List an incident's items, or show one item with its chain of custody."""
    from rempart.forensics import evidence

    if (item is None) == (incident is None):
        raise UsageError("give either an ITEM or --incident ID")
    engine = open_store(settings.db_url(db))
    with engine.connect() as conn:
        if item is not None:
            ident = evidence.item_id(engine, item)
            found = evidence.items(conn, ids=[ident])
            log = [e.fields for e in evidence.entries(conn, ident)]
        else:
            found, log = evidence.items(conn, incident=incident), []
    if as_json:
        _print_json({"items": [vars(i) for i in found], "custody": log})
        return
    _render(found, log)


def _render(found: list[Any], log: list[dict[str, Any]]) -> None:
    out = Console()
    table = Table("item", "description", "source", "size", "sha256", "by", "entries")
    for i in found:
        where = "in place" if i.in_place else "locker"
        table.add_row(i.label, escape(i.description), f"{escape(i.source_host)}:"
                      f"{escape(i.source_path)} ({where})", f"{i.size:,}", i.sha256[:16],
                      escape(i.acquired_by), str(i.custody_count))  # fmt: skip
    out.print(table)
    if log:
        custody = Table("#", "action", "by", "at", "where", "note")
        for e in log:
            custody.add_row(str(e["seq"]), e["action"], escape(e["by"]), e["at"],
                            escape(e["where"]), escape(e["note"]))  # fmt: skip
        out.print(custody)


@evidence_app.command("export")
def export(
    out: Path = typer.Argument(..., help="New folder to write the package to."),
    incident: str = typer.Option(..., "--incident", help="Incident whose items to export."),
    tar: bool = typer.Option(False, "--tar", help="Also write OUT.tar, one file to hand over."),
    by: str | None = BY,
    keys: Path = KEYS,
    as_json: bool = JSON,
    db: str | None = DB,
) -> None:
    """Write a package for the police or the agency: items, manifest, custody log, keys.

    VERIFY.txt in the package explains, in French and English, how to check it with
    sha256sum and openssl alone. Each item gets a signed "exported" entry.
    """
    from rempart.forensics import evidence

    engine = open_store(settings.db_url(db))
    signer = _signer(engine, by, keys)
    with _bytes_progress("exporting", as_json) as tick:
        progress = None
        if tick is not None:
            copied = [0]

            def progress(n: int) -> None:
                copied[0] += n
                tick(copied[0], 0)

        done = evidence.export(engine, incident, out, signer=signer, make_tar=tar,
                               progress=progress)  # fmt: skip
    if as_json:
        tar_path = str(done.tar.resolve()) if done.tar else None
        folder = str(done.folder.resolve())
        counts = {"items": done.items, "files": done.files, "entries": done.entries}
        _print_json({"folder": folder, "tar": tar_path, **counts})
        return
    also = f" and {done.tar.resolve()}" if done.tar else ""
    Console().print(
        f"{done.items} items, {done.files} files, {done.entries} custody entries -> "
        f"{escape(str(done.folder.resolve()) + also)}"
    )


@evidence_app.command("verify")
def verify(
    package: Path | None = typer.Argument(None, help="An exported package (folder or .tar)."),
    incident: str | None = typer.Option(None, "--incident", help="Check the locker instead."),
    trusted: Path | None = typer.Option(
        None, "--trusted-keys", help="PEM public keys received another way (folder or file)."
    ),
    as_json: bool = JSON,
    db: str | None = DB,
) -> None:
    """Check every byte of every item and every custody entry and signature.

    Exit status: 0 all is well, 1 something was found (listed), 2 usage or environment error.
    """
    from rempart.forensics import evidence

    if (package is None) == (incident is None):
        raise UsageError("give either a PACKAGE folder or --incident ID")
    if package is not None:
        report = evidence.verify_package(package, trusted)
    else:
        assert incident is not None
        report = evidence.verify_store(open_store(settings.db_url(db)), incident)
    if as_json:
        _print_json({"ok": report.ok, "items": report.items, "files": report.files,
                     "entries": report.entries,
                     "findings": [{"kind": f.kind.value, "item": f.item, "seq": f.seq,
                                   "detail": f.detail} for f in report.findings]})  # fmt: skip
    else:
        out = Console()
        for finding in report.findings:
            out.print(f"[red]{escape(str(finding))}[/]", highlight=False)
        state = "OK" if report.ok else f"{len(report.findings)} findings"
        out.print(f"{report.items} items, {report.files} files, {report.entries} entries: {state}")
    raise typer.Exit(ExitStatus.OK if report.ok else ExitStatus.FOUND)


@key_app.command("create")
def key_create(
    name: str = typer.Argument(..., help="The responder's name, as used with --by."),
    keys: Path = KEYS,
    protect: bool = typer.Option(
        False,
        "--passphrase",
        help="Encrypt the private key with a passphrase (asked twice, or "
        "REMPART_KEY_PASSPHRASE); it is then asked each time the key signs.",
    ),
    db: str | None = DB,
) -> None:
    """Create a responder's key pair: private key 0600 in --keys, public key in the store."""
    from rempart.forensics import evidence
    from rempart.forensics.evidence import _settings as ev_settings

    secret = None
    if protect:
        secret = (
            os.environ.get(settings.KEY_PASSPHRASE.env, "").encode()
            or typer.prompt(
                f"passphrase of {name}'s key", hide_input=True, confirmation_prompt=True
            ).encode()
        )
    engine = open_store(settings.db_url(db))
    folder = ev_settings.keys_dir(str(keys) if keys else None)
    key = evidence.create_key(engine, name, folder, passphrase=secret)
    Console().print(f"key of {name}: {key.fingerprint}\nprivate key: {folder / (name + '.key')}")


@key_app.command("list")
def key_list(db: str | None = DB) -> None:
    """The responders' public keys recorded in the store, with their fingerprints."""
    from rempart.forensics import evidence

    for fp, key in sorted(evidence.public_keys(open_store(settings.db_url(db))).items()):
        Console().print(f"{key.name}: {fp}", highlight=False)
