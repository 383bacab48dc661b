"""`rempart guard PATH`: watch a share live and stop encryption in progress; `guard status`."""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperCommand

from rempart import settings
from rempart.cli._app import ExitStatus, app
from rempart.errors import UsageError

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from rempart.guard.engine import Dispatcher


#: what `--respond` means without a name (the responders `default` stands for)
RESPOND_ALONE = "default"


def respond_alone(
    args: list[str],
    takes_value: frozenset[str] = frozenset(),
    names: frozenset[str] = frozenset(),
) -> list[str]:
    """Give a bare `--respond` its value: `default`, the common case without a config file.

    Click (and Typer) options with values always take the next argument, so the command line
    is completed before it is parsed: `--respond` at the end, or followed by another option,
    or by something that can only be the PATH (it has a `/`, or names a folder) is
    `--respond default`. A responder's name (`names`) stays its value even when a folder of
    that name is in the current directory; `--respond=record`, `--respond record --respond
    alert` are left alone, and `--respond recrod` still fails as an unknown responder. The
    value of another option (`takes_value`: `--config --respond`) and everything after `--`
    are never looked at.
    """
    out: list[str] = []
    k = 0
    while k < len(args):
        arg = args[k]
        out.append(arg)
        k += 1
        if arg == "--":
            out.extend(args[k:])
            break
        if arg != "--respond":
            if arg in takes_value and k < len(args):  # its value, whatever it looks like
                out.append(args[k])
                k += 1
            continue
        nxt = args[k] if k < len(args) else None
        if nxt is not None and (nxt in names or nxt == RESPOND_ALONE):
            continue
        if nxt is None or nxt.startswith("-") or "/" in nxt or os.path.isdir(nxt):
            out.append(RESPOND_ALONE)
    return out


class _RespondCommand(TyperCommand):
    # the context's class is Typer's own copy of Click's (private): any context goes
    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        # Typer's options are its private copy of Click's: told apart by their attributes
        takes_value = frozenset(
            o
            for p in self.params
            if p.param_type_name == "option" and not getattr(p, "is_flag", True)
            for o in p.opts
            if o != "--respond"
        )
        names: frozenset[str] = frozenset()
        if "--respond" in args:  # the responders are loaded then anyway (not for --help)
            from rempart.guard.respond import RESPONDERS

            names = frozenset(name for name, _spec in RESPONDERS.items())
        return super().parse_args(ctx, respond_alone(args, takes_value, names))


@app.command("guard", cls=_RespondCommand)
def guard(
    target: str = typer.Argument(
        ..., help="Folder to watch, or `status` to show the runs (a folder named status: ./status)."
    ),
    config: Path | None = typer.Option(None, "--config", help="TOML file of responders."),
    respond: list[str] = typer.Option(
        [],
        "--respond",
        help="Responder to run on an alarm (repeatable): record, stop-process, block-client, "
        "close-session, hook, alert; `default` (also `--respond` alone): stop-process, "
        "block-client, close-session, record, alert.",
    ),
    incident: str | None = typer.Option(None, "--incident", help="Incident to record under."),
    samba_log: Path | None = typer.Option(
        None, "--samba-log", help="smbd's log file with vfs_full_audit lines (SMB clients)."
    ),
    samba_syslog: Path | None = typer.Option(
        None,
        "--samba-syslog",
        help="Unix socket to bind and receive smbd's vfs_full_audit records on, sent with "
        "syslog (full_audit:syslog = true; give it to smbd as /dev/log).",
    ),
    source: str | None = typer.Option(
        None, "--source", help="Force a file source: fanotify (default) or inotify."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Responders say what they would do."),
    no_decoys: bool = typer.Option(False, "--no-decoys", help="Place no decoy documents."),
    no_tripwire: bool = typer.Option(
        False,
        "--no-tripwire",
        help="With stop-process: do not freeze a local process at a decoy before it is judged.",
    ),
    no_reads: bool = typer.Option(
        False,
        "--no-reads",
        help="fanotify: do not watch reads (one event per file read; only the "
        "many-types-read indicator uses them).",
    ),
    as_json: bool = typer.Option(False, "--json", help="status: print JSON."),
    db: str | None = typer.Option(None, "--db", help=settings.DB.help, envvar=settings.DB.env),
) -> None:
    """Watch PATH: notice encryption in progress within a few files and respond.

    Prints `watching PATH (source: ...)` once the baseline is built and events flow, then
    one line per alarm and per response. SIGTERM or Ctrl-C stop it cleanly (decoys removed).
    Exit status: 0 no alarm, 1 at least one alarm, 2 usage or environment error.
    """
    from rempart.store import open_store

    url = settings.db_url(db)
    if target == "status":
        _status(open_store(url), as_json)
        return
    root = Path(target)
    if not root.is_dir():
        raise UsageError(f"PATH must be a folder: {target}")
    if url.startswith("sqlite:///"):
        store = Path(url.removeprefix("sqlite:///")).resolve()
        if store.is_relative_to(root.resolve()):
            raise UsageError("the store must not live inside the watched folder", hint="--db")
    from rempart.guard.engine import Guard, GuardOptions, Hooks

    engine = open_store(url)
    out = Console(highlight=False, soft_wrap=True)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    sources = [source] if source else None
    options = GuardOptions(
        root,
        samba_log,
        incident,
        sources,
        place_decoys=not no_decoys,
        tripwire=not no_tripwire,
        samba_syslog=samba_syslog,
        reads=not no_reads,
    )
    dispatcher = _dispatcher(config, respond, url, incident, dry_run, err)
    names = getattr(dispatcher, "names", None)

    def ready(line: str) -> None:
        out.print(escape(line))  # first: scripts wait for a first line starting `watching`
        sys.stdout.flush()
        if names is not None:  # said once: which responders act is never a guess
            dry = " (dry run)" if dry_run else ""
            err.print(f"responders: {', '.join(names) or 'none'}{dry}")

    hooks = Hooks(
        ready=ready,
        alarm=lambda a: out.print(
            f"ALARM {escape(a.actor.key)} score {a.score}: {escape('; '.join(a.reasons[:3]))}"
        ),
        response=lambda r: out.print(
            f"response {escape(r.responder)} {escape(r.actor_key)}: "
            f"{'ok' if r.ok else 'FAILED'}{' (dry run)' if r.dry_run else ''} {escape(r.detail)}"
        ),
        note=lambda line: err.print(escape(line)),
    )
    g = Guard(engine, options, dispatcher, hooks)

    def _stop(_sig: int, _frame: FrameType | None) -> None:
        g.stop()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    summary = g.run()
    drops = summary.dropped_kernel + summary.dropped_queue
    extra = []  # said only when it happened
    if summary.refused_audit_records:
        extra.append(f"{summary.refused_audit_records} audit records refused (sender not smbd)")
    if summary.reads_dropped:
        extra.append(f"reads queue overflowed {summary.reads_dropped} times")
    err.print(
        f"stopped: {summary.events} events, {len(summary.alarms)} alarms, {drops} dropped "
        f"(kernel {summary.dropped_kernel}, queue {summary.dropped_queue}), "
        f"{summary.damaged_audit_lines} damaged audit lines" + "".join(f", {e}" for e in extra)
    )
    raise typer.Exit(ExitStatus.FOUND if summary.alarms else ExitStatus.OK)


def _dispatcher(
    config: Path | None,
    respond: list[str],
    url: str,
    incident: str | None,
    dry_run: bool,
    err: Console,
) -> Dispatcher:
    import importlib

    from rempart.guard.engine import NoResponders

    # The responders are built beside the detection; until they are there, alarms are
    # recorded and printed only (and the user is told so).
    try:
        build = importlib.import_module("rempart.guard.respond").build_dispatcher
    except (ImportError, AttributeError):
        if respond or config:
            err.print("responders are not available in this build: alarms are only recorded")
        return NoResponders()
    found: Dispatcher = build(config, respond, store_url=url, incident=incident, dry_run=dry_run)
    return found


def _status(engine: Engine, as_json: bool) -> None:
    from rempart.guard.status import runs

    found = runs(engine)
    if as_json:
        sys.stdout.write(json.dumps([r.__dict__ for r in found], default=str) + "\n")
        return
    out = Console(highlight=False, soft_wrap=True)
    if not found:
        out.print("no guard run recorded in this store")
        return
    for r in found:
        out.print(
            f"run {r.id} {escape(r.root)} ({r.status}) sources: {escape(r.sources)}; "
            f"started {r.started_at:%Y-%m-%d %H:%M:%S}; baseline {r.baseline_files} files; "
            f"{r.events} events, {r.alarms} alarms, {r.responses} responses, "
            f"dropped {r.dropped_kernel} (kernel) + {r.dropped_queue} (queue)"
        )
        for line in r.last_alarms:
            out.print(f"  alarm {escape(line)}")
            key = line.split(": ", 1)[0]
            for said in r.alarm_responses.get(key, ()):
                out.print(f"    response {escape(said)}")
