"""`rempart scan` as a user runs it: exit codes, --json, outputs, and errors without tracebacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from rempart.cli import main

RE = str(Path(sys.executable).parent / "rempart")


def _run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([RE, *args], capture_output=True, text=True, check=False, cwd=cwd)


def test_clean_tree_exits_0_with_a_json_summary(tmp_path: Path) -> None:
    root = tmp_path / "share"
    root.mkdir()
    (root / "compte-rendu.txt").write_text("Le conseil municipal s'est réuni le 3 mars.\n" * 30)
    proc = _run(
        "scan",
        str(root),
        "--db",
        f"sqlite:///{tmp_path}/s.db",
        "--json",
        "--jsonl",
        str(tmp_path / "out.jsonl"),
        "--html",
        str(tmp_path / "r.html"),
    )
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["files"] == 1 and summary["by_verdict"] == {"intact": 1}
    line = json.loads((tmp_path / "out.jsonl").read_text())
    assert set(line) >= {"path", "verdict", "family", "format", "size", "evidence"}
    assert line["path"] == "compte-rendu.txt"
    html = (tmp_path / "r.html").read_text()
    assert "compte-rendu.txt" in html or "1" in html


def test_encrypted_files_exit_1(tmp_path: Path) -> None:
    root = tmp_path / "share"
    root.mkdir()
    for i in range(3):
        (root / f"budget-{i}.docx.locked").write_bytes(os.urandom(40_000))
    proc = _run("scan", str(root), "--db", f"sqlite:///{tmp_path}/s.db", "--json", "--hash", "none")
    assert proc.returncode == 1, proc.stderr
    by_verdict = json.loads(proc.stdout)["by_verdict"]
    assert by_verdict.get("encrypted", 0) + by_verdict.get("partially_encrypted", 0) == 3


def test_usage_errors_exit_2_without_traceback(tmp_path: Path) -> None:
    missing = _run("scan", str(tmp_path / "nope"), "--db", f"sqlite:///{tmp_path}/s.db")
    assert missing.returncode == 2
    assert "Traceback" not in missing.stderr
    inside = _run("scan", str(tmp_path), "--db", f"sqlite:///{tmp_path}/s.db")
    assert inside.returncode == 2 and "inside the tree" in inside.stderr
    bad_db = _run("scan", str(tmp_path), "--db", "nosuch://x")
    assert bad_db.returncode == 2 and "store URL" in bad_db.stderr
    bad_opt = _run("scan", str(tmp_path), "--hash", "md5")
    assert bad_opt.returncode == 2


def test_every_command_has_help_text() -> None:
    import typer.main

    from rempart.cli import app
    from rempart.cli._app import _register_commands

    _register_commands()
    group = typer.main.get_command(app)
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        assert command.help, f"rempart {name} has no help text"
        for sub in getattr(command, "commands", {}).values():
            assert sub.help, f"rempart {name} {sub.name} has no help text"
    assert main(["--version"]) == 0
