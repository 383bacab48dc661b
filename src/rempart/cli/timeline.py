"""`rempart timeline`: event logs + file times + Sigma rules -> one timeline and its story."""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from rempart import settings
from rempart.cli._app import ExitStatus, app
from rempart.errors import UsageError

timeline_app = typer.Typer(
    help="Investigate: ingest event logs, audit logs and scan results into one timeline, run "
    "Sigma rules over it, show or export it, and tell its story (patient zero, accounts, "
    "lateral movement, encryption window).",
    no_args_is_help=True,
)
app.add_typer(timeline_app, name="timeline")

INCIDENT = typer.Option(..., "--incident", help="Incident the events belong to.")
DB = typer.Option(None, "--db", help=settings.DB.help, envvar=settings.DB.env)
JSON = typer.Option(False, "--json", help="Print a machine summary on stdout (no progress).")


class Level(StrEnum):
    informational = "informational"
    low = "low"
    medium = "medium"
    high = "high"
    critical = "critical"


class Format(StrEnum):
    csv = "csv"
    jsonl = "jsonl"


def _store(db: str | None) -> Any:
    from rempart.store import open_store

    return open_store(settings.db_url(db))


@contextmanager
def _bar(label: str, show: bool) -> Iterator[Callable[[int, int | None, str], None] | None]:
    console = Console(stderr=True)
    if not show or not console.is_terminal:
        yield None
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(label, total=None)
        yield lambda done, total, what: bar.update(
            task, completed=done, total=total, description=f"{label} {what}"[:80]
        )


@timeline_app.command()
def ingest(
    paths: list[Path] = typer.Argument(
        None, help="Log files or folders (.evtx, Samba audit, auth.log/syslog); read only."
    ),
    incident: str = INCIDENT,
    scans: bool = typer.Option(
        True, "--scans/--no-scans", help="Also take the file times of the incident's scans."
    ),
    tz: str | None = typer.Option(
        None,
        "--tz",
        help="IANA zone (e.g. Europe/Paris) of the times logs write without one (classic "
        "syslog, Samba audit); UTC when not given. A log already ingested keeps its reading.",
    ),
    db: str | None = DB,
    as_json: bool = JSON,
) -> None:
    """Ingest logs into the incident's timeline (streamed, resumable, re-runs are no-ops).

    A damaged log is a warning with its path; the run goes on. Exit 1 when warnings.
    """
    from rempart.forensics.ingest import ingest as run

    if not paths and not scans:
        raise UsageError("nothing to ingest: give PATHs, or leave --scans on")
    engine = _store(db)
    with _bar("ingesting", not as_json) as bar:
        summary = run(
            engine,
            paths or [],
            incident,
            scans=scans,
            progress=(lambda f, n, p: bar(n, None, Path(p).name)) if bar else None,
            tz=tz,
        )
    if as_json:
        # not dataclasses.asdict: it rebuilds a Counter from (key, value) pairs, as keys
        data = {
            **vars(summary),
            "by_kind": dict(summary.by_kind),
            "warnings": [dataclasses.asdict(w) for w in summary.warnings],
        }
        sys.stdout.write(json.dumps(data, default=str) + "\n")
    else:
        err = Console(stderr=True, highlight=False)
        for warning in summary.warnings:
            err.print(f"[yellow]warning:[/] {escape(warning.path)}: {escape(warning.message)}")
        kinds = ", ".join(f"{k}: {v}" for k, v in sorted(summary.by_kind.items())) or "none"
        Console(highlight=False).print(
            f"{summary.events:,} events read from {summary.files} files ({kinds}) "
            f"in {summary.seconds:.1f} s; "
            f"{summary.unchanged} unchanged since last time; "
            f"{len(summary.skipped)} not a log format we read"
        )
    raise typer.Exit(ExitStatus.FOUND if summary.warnings else ExitStatus.OK)


@timeline_app.command()
def detect(
    incident: str = INCIDENT,
    rules: list[Path] = typer.Option([], "--rules", help="Sigma rule file or folder (repeat)."),
    builtin: bool = typer.Option(
        True, "--builtin/--no-builtin", help="Also run rempart's own rules (pre-encryption steps)."
    ),
    jsonl: Path | None = typer.Option(None, "--jsonl", help="Write one JSON object per match."),
    db: str | None = DB,
    as_json: bool = JSON,
) -> None:
    """Run Sigma rules over the incident's events; store and report the matches.

    Rules whose log source or constructs are not supported are counted, never fatal.
    Exit 1 when a rule of medium level or above matched.
    """
    from rempart.forensics import detect as det

    if not rules and not builtin:
        raise UsageError("no rules: give --rules DIR or leave --builtin on")
    engine = _store(db)
    ruleset = det.load_rules(det.rule_dirs(rules, builtin))
    if jsonl:
        try:
            out = jsonl.open("w", encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot write {jsonl}: {exc.strerror}") from exc
    with out if jsonl else _null() as handle, _bar("detecting", not as_json) as bar:
        summary = det.detect(
            engine,
            incident,
            ruleset,
            out=handle,
            progress=(lambda d, t: bar(d, t, "")) if bar else None,
        )
    report = {
        "incident": incident,
        "rule_files": ruleset.files,
        "rules": len(ruleset.rules),
        "unsupported": dict(ruleset.unsupported),
        "unsupported_logsources": dict(ruleset.unsupported_logsources),
        "rule_errors": len(ruleset.errors) + len(summary.rule_errors),
        "events": summary.events,
        "matches": summary.matches,
        "by_level": dict(summary.by_level),
        "top_rules": summary.by_rule.most_common(15),
        "jsonl": str(jsonl.resolve()) if jsonl else None,
    }
    if as_json:
        sys.stdout.write(json.dumps(report) + "\n")
    else:
        con = Console(highlight=False)
        con.print(
            f"{report['rules']} rules run over {summary.events:,} events: "
            f"{summary.matches:,} matches {report['by_level']}"
        )
        skipped = sum(ruleset.unsupported.values()) + sum(ruleset.unsupported_logsources.values())
        con.print(
            f"{skipped} rules not run (unsupported log source or construct), "
            f"{report['rule_errors']} rule errors"
        )
        for name, count in summary.by_rule.most_common(15):
            con.print(f"  {count:6d}  {escape(name)}")
    raise typer.Exit(ExitStatus.FOUND if summary.attention else ExitStatus.OK)


class _null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def _filters(
    host: str | None,
    account: str | None,
    since: str | None,
    until: str | None,
    level: Level | None,
    limit: int | None,
) -> Any:
    from rempart.forensics._time import parse_user_time
    from rempart.forensics.query import Filters

    try:
        since_us = parse_user_time(since) if since else None
        until_us = parse_user_time(until) if until else None
    except ValueError as exc:
        raise UsageError(f"--since/--until take an ISO date or time: {exc}") from exc
    return Filters(host, account, since_us, until_us, level.value if level else None, limit)


HOST = typer.Option(None, "--host", help="Only this host.")
ACCOUNT = typer.Option(None, "--account", help="Only accounts containing this text.")
SINCE = typer.Option(None, "--since", help="From this time (ISO; UTC when no zone).")
UNTIL = typer.Option(None, "--until", help="Up to this time (ISO; UTC when no zone).")
LEVEL = typer.Option(None, "--level", help="Only events a rule of this level or above matched.")


@timeline_app.command()
def show(
    incident: str = INCIDENT,
    host: str | None = HOST,
    account: str | None = ACCOUNT,
    since: str | None = SINCE,
    until: str | None = UNTIL,
    level: Level | None = LEVEL,
    limit: int = typer.Option(200, "--limit", min=1, help="Show at most this many events."),
    html: Path | None = typer.Option(
        None,
        "--html",
        help="Write a chart instead: events per hour and host, detections marked (one "
        "self-contained HTML file).",
    ),
    db: str | None = DB,
) -> None:
    """Show the merged timeline on the terminal (oldest first), or as a chart (--html)."""
    from rempart.forensics.query import timeline

    con = Console(highlight=False)
    if html is not None:
        from rempart.forensics.chart import hourly, render_html

        chart = hourly(_store(db), incident, _filters(host, account, since, until, None, None))
        try:
            html.write_text(render_html(chart), encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot write {html}: {exc.strerror}") from exc
        con.print(f"chart of {len(chart.counts)} hosts written to {html}")
        return
    filters = _filters(host, account, since, until, level, limit)
    for row in timeline(_store(db), incident, filters):
        rules = f" [bold red]<{escape('; '.join(row['rules']))}>[/]" if row["rules"] else ""
        con.print(
            f"{row['datetime'] or '?':27} {escape(row['host'] or '-'):15} "
            f"#{row['event']} {escape(row['message'])}{rules}",
            soft_wrap=True,
        )


@timeline_app.command()
def export(
    out: Path | None = typer.Argument(None, help="Output file (default: stdout)."),
    incident: str = INCIDENT,
    fmt: Format = typer.Option(
        Format.csv, "--format", help="csv (Timesketch import format) or jsonl."
    ),
    host: str | None = HOST,
    account: str | None = ACCOUNT,
    since: str | None = SINCE,
    until: str | None = UNTIL,
    level: Level | None = LEVEL,
    db: str | None = DB,
) -> None:
    """Export the merged timeline: CSV in Timesketch's import format, or JSONL.

    CSV columns: message, datetime, timestamp_desc (what Timesketch needs), then the event's
    host, account, process, command line, matched rules and level...
    """
    from rempart.forensics.query import timeline, write_csv, write_jsonl

    rows = timeline(_store(db), incident, _filters(host, account, since, until, level, None))
    writer = write_csv if fmt is Format.csv else write_jsonl
    if out is None:
        writer(rows, sys.stdout)
        return
    try:
        with out.open("w", encoding="utf-8", newline="") as handle:
            count = writer(rows, handle)
    except OSError as exc:
        raise UsageError(f"cannot write {out}: {exc.strerror}") from exc
    Console(stderr=True, highlight=False).print(f"{count:,} events written to {out}")


@timeline_app.command()
def story(incident: str = INCIDENT, db: str | None = DB, as_json: bool = JSON) -> None:
    """Tell the incident's story, each claim citing the events behind it.

    Probable patient zero, first malicious event, accounts used, lateral movement (host to
    host, with times), shadow copies deleted, first and last encrypted file. Event ids are
    those of `show` and `export`.
    """
    from rempart.forensics.story import build_story, render_text

    told = build_story(_store(db), incident)
    if as_json:
        sys.stdout.write(json.dumps(dataclasses.asdict(told)) + "\n")
    else:
        sys.stdout.write(render_text(told))
