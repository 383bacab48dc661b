"""`--respond` alone, repeated, `default`, and a bad name, through the real command line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from rempart.cli.guard import respond_alone

REMPART = str(Path(sys.executable).parent / "rempart")
DEFAULT = "responders: stop-process, block-client, close-session, record, alert"


def test_a_bare_respond_becomes_default_and_named_ones_stay(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = str(tmp_path)
    assert respond_alone(["/srv/share", "--respond"]) == ["/srv/share", "--respond", "default"]
    assert respond_alone(["/srv", "--respond", "--dry-run"])[:3] == ["/srv", "--respond", "default"]
    # before the PATH: a value with a `/`, or an existing folder, is the PATH
    assert respond_alone(["--respond", "/srv/share"]) == ["--respond", "default", "/srv/share"]
    monkeypatch.chdir(tmp_path.parent)
    assert respond_alone(["--respond", tmp_path.name])[1] == "default"
    named = ["/s", "--respond", "record", "--respond", "alert", "--respond=hook"]
    assert respond_alone(named) == named
    assert respond_alone(["/s", "--respond", "recrod"]) == ["/s", "--respond", "recrod"]
    assert respond_alone([folder, "--", "--respond"]) == [folder, "--", "--respond"]


def _first_lines(args: list[str], tmp: Path) -> tuple[str, int | None]:
    """Start the guard, read until `watching` (or its exit), stop it; its output and status."""
    (tmp / "share").mkdir(exist_ok=True)
    (tmp / "share" / "a.txt").write_text("hello\n")
    cmd = [REMPART, "guard", *args, "--db", str(tmp / "g.db"), "--no-decoys"]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp
    )
    assert proc.stdout is not None
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if line.startswith("watching"):
            break
    proc.terminate()
    # read through the same buffered file: communicate() would skip what it read ahead
    rest = proc.stdout.read()
    proc.wait(timeout=30)
    return "".join(lines) + rest, proc.returncode


@pytest.mark.skipif(os.geteuid() != 0, reason="fanotify needs root")
@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["share", "--respond"], DEFAULT),
        (["--respond", "./share"], DEFAULT),
        (["share", "--respond", "default", "--dry-run"], DEFAULT + " (dry run)"),
        (["share", "--respond", "record", "--respond", "alert"], "responders: record, alert\n"),
        (["share"], "responders: record\n"),
    ],
    ids=["alone-last", "alone-before-path", "default", "repeated", "none"],
)
def test_respond_forms_on_the_command_line(tmp_path: Path, args: list[str], said: str) -> None:
    out, code = _first_lines(args, tmp_path)
    assert said in out, out
    assert "watching" in out and code == 0, out


def test_an_unknown_responder_is_one_line_and_status_2(tmp_path: Path) -> None:
    out, code = _first_lines(["share", "--respond", "recrod"], tmp_path)
    assert code == 2, out
    assert "unknown responder 'recrod'" in out and "Traceback" not in out, out


def test_responder_names_option_values_and_double_dash_are_not_misread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = frozenset({"record", "alert"})
    values = frozenset({"--config", "--incident"})
    monkeypatch.chdir(tmp_path)
    (tmp_path / "record").mkdir()  # a folder named like a responder: the name wins
    args = ["--respond", "record", "/srv/share"]
    assert respond_alone(args, values, names) == args
    # `--config FILE` then a bare `--respond` before the PATH
    args = ["--config", "r.toml", "--respond", "/srv/share"]
    assert respond_alone(args, values, names) == [*args[:3], "default", "/srv/share"]
    # the value of another option is never completed, whatever it looks like
    args = ["--incident", "--respond", "/srv/share"]
    assert respond_alone(args, values, names) == args
    # `--respond --` : default, and what follows `--` is left alone
    args = ["--respond", "--", "--respond"]
    assert respond_alone(args, values, names) == ["--respond", "default", "--", "--respond"]
    assert respond_alone(["/s", "--respond=record"], values, names) == ["/s", "--respond=record"]
