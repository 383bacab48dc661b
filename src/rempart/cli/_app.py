"""The Typer application and the one place where exceptions become exit codes and messages."""

from __future__ import annotations

import importlib
import sys
from enum import IntEnum

import typer
from rich.console import Console
from rich.markup import escape
from typer.exceptions import TyperException

from rempart import __version__
from rempart.errors import RempartError

app = typer.Typer(
    name="rempart",
    help="Ransomware response kit: triage (scan), guard, contain, investigate (timeline, "
    "evidence), coordinate (serve) and practise (exercise); recover to come.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class ExitStatus(IntEnum):
    OK = 0
    FOUND = 1  # done, and something needs attention
    ERROR = 2  # usage or environment error


_state = {"traceback": False, "exercise_missing": False}


def _version(value: bool) -> None:
    if value:
        typer.echo(f"rempart {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    traceback: bool = typer.Option(False, "--traceback", help="Show the full traceback on errors."),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """rempart: stop, contain, assess, investigate, decide, recover, communicate."""
    _state["traceback"] = traceback


#: The module defining each command: a command loads its own module only (the exercise group
#: pulls in document libraries, the others their own: a scan or an ingest should not pay for
#: them); help and unknown commands load them all.
_GROUPS = ("scan", "guard", "contain", "timeline", "evidence", "serve", "exercise")


def _register_commands(argv: list[str] | None = None) -> None:
    # Imported for their side effect of adding commands to `app`; importing again is a no-op.
    wanted = next((a for a in argv or [] if not a.startswith("-")), None)
    for group in (wanted,) if wanted in _GROUPS else _GROUPS:
        _load(group)


def _load(group: str | None) -> None:
    if group == "exercise":
        _load_exercise()
    else:
        importlib.import_module(f"rempart.cli.{group}")


def _load_exercise() -> None:
    try:
        from rempart.cli import exercise  # noqa: F401
    except ImportError as exc:  # the exercise extra (document libraries) is not installed
        if _state.get("exercise_missing"):
            return
        _state["exercise_missing"] = True
        missing = str(exc)

        @app.command("exercise", help="Practice shares and safe attacks (needs rempart[exercise]).")
        def _exercise_missing() -> None:
            raise RempartError(
                f"the exercise commands need extra libraries ({missing})",
                hint="pip install 'rempart[exercise]'",
            )


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI and map errors to exit codes."""
    _register_commands(sys.argv[1:] if argv is None else argv)
    err = Console(stderr=True)
    try:
        rc = app(args=argv, standalone_mode=False)
    except RempartError as exc:
        if _state["traceback"]:
            err.print_exception()
        err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        err.print(
            "interrupted: a scan carries on with --resume; "
            "an exercise attack is reversed with 'rempart exercise undo DIR'"
        )
        return 130
    except typer.Exit as exc:
        return int(exc.exit_code)
    except typer.Abort:
        err.print("aborted")
        return 130
    except TyperException as exc:  # usage errors (bad option values...) carry their message
        show = getattr(exc, "show", None)
        if show is None:
            raise
        show(file=sys.stderr)
        return int(getattr(exc, "exit_code", ExitStatus.ERROR))
    except Exception as exc:
        # A bug, or an environment we did not foresee. Never exit 1: scripts read 1 as
        # "found something". The traceback is one option away.
        if _state["traceback"]:
            raise
        err.print(
            f"[bold red]internal error:[/] {escape(type(exc).__name__)}: {escape(str(exc))}",
            highlight=False,
            soft_wrap=True,
        )
        err.print("run again with --traceback for details, and please report it")
        return ExitStatus.ERROR
    # click returns the code of a `typer.Exit` instead of raising it when not standalone
    return rc if isinstance(rc, int) else ExitStatus.OK
