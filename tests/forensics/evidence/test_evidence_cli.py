"""`rempart evidence` as a responder runs it: exit codes, one-line errors, --json."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rempart.cli import main

RE = str(Path(sys.executable).parent / "rempart")


class Result:
    def __init__(self, returncode: int, stdout: str, stderr: str) -> None:
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    """The CLI in this process (a new interpreter per command costs seconds on a busy machine)."""
    monkeypatch.setenv("REMPART_DB", f"sqlite:///{tmp_path / 's.db'}")
    monkeypatch.setenv("REMPART_EVIDENCE_KEYS", str(tmp_path / "keys"))
    monkeypatch.setenv("REMPART_EVIDENCE_LOCKER", str(tmp_path / "locker"))
    monkeypatch.setenv("REMPART_RESPONDER", "alice")
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.chdir(tmp_path)

    def _run(*args: str) -> Result:
        capsys.readouterr()
        code = main(["evidence", *args])
        out, err = capsys.readouterr()
        return Result(code, out, " ".join(err.split()))

    return _run


def _one_line_error(proc: Result, text: str) -> None:
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert text in proc.stderr and "Traceback" not in proc.stderr
    assert proc.stderr.strip().startswith("error:")


def test_add_log_show_export_verify(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    src = tmp_path / "journal.evtx"
    src.write_bytes(b"ElfFile\0" + os.urandom(5000))
    assert run("key", "create", "alice").returncode == 0
    listed = run("key", "list")
    assert listed.returncode == 0 and listed.stdout.startswith("alice: ")
    proc = run("add", str(src), "--incident", "mairie", "--description", "Security log",
               "--create-incident", "--json")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    added = json.loads(proc.stdout)
    assert added["item"] == "E-0001" and len(added["sha256"]) == 64 and not added["already"]
    again = run("add", str(src), "--incident", "mairie", "--description", "Security log")
    assert again.returncode == 0 and "already" in again.stdout
    proc = run("log", "E-0001", "--action", "transferred", "--note", "to the police")
    assert proc.returncode == 0, proc.stderr
    shown = json.loads(run("show", "E-1", "--json").stdout)
    assert [e["action"] for e in shown["custody"]] == ["acquired", "transferred"]
    assert run("show", "--incident", "mairie").returncode == 0
    assert run("export", "pkg", "--incident", "mairie", "--tar").returncode == 0
    assert run("verify", "pkg").returncode == 0
    assert run("verify", "pkg.tar").returncode == 0
    assert run("verify", "--incident", "mairie").returncode == 0
    copy = next((tmp_path / "pkg" / "items" / "E-0001").iterdir())
    copy.write_bytes(b"changed")
    proc = run("verify", "pkg", "--json")
    assert proc.returncode == 1
    assert [f["kind"] for f in json.loads(proc.stdout)["findings"]] == ["changed"]
    proc = run("verify", "pkg")
    assert proc.returncode == 1 and "changed: E-0001" in proc.stdout


def test_mistakes_are_one_line_errors(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    src = tmp_path / "f.txt"
    src.write_text("x")
    add = ("add", str(src), "--description", "d")
    _one_line_error(run(*add, "--incident", "i"), "no key for responder 'alice'")
    assert run("key", "create", "alice").returncode == 0
    _one_line_error(run("key", "create", "alice"), "already has a key")
    _one_line_error(run(*add, "--incident", "i"), "unknown incident 'i'")
    _one_line_error(run(*add, "--incident", "i", "--by", "bob"), "no key for responder 'bob'")
    _one_line_error(run(*add, "--incident", "i", "--max-copy", "lots"), "not a size")
    _one_line_error(
        run("add", str(tmp_path / "nope"), "--description", "d", "--incident", "i",
            "--create-incident"), "cannot read"
    )  # fmt: skip
    _one_line_error(
        run("add", str(tmp_path), "--description", "d", "--incident", "i", "--create-incident"),
        "is inside the source",
    )
    _one_line_error(run("log", "E-0009", "--action", "examined"), "unknown evidence item")
    _one_line_error(run("verify"), "either a PACKAGE")
    _one_line_error(run("verify", str(tmp_path)), "not an evidence package")
    _one_line_error(run("export", "out", "--incident", "zzz"), "unknown incident")
    _one_line_error(run("show"), "either an ITEM")


def test_a_real_process_exits_2_without_a_traceback(tmp_path: Path) -> None:
    proc = subprocess.run(
        [RE, "evidence", "verify", str(tmp_path)], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 2 and "not an evidence package" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_sizes_people_write() -> None:
    from rempart.forensics.evidence._settings import parse_size

    assert [parse_size(s) for s in ("500", "4K", "1.5G", "2TiB", " 64g ")] == [
        500, 4096, 3 << 29, 2 << 40, 64 << 30
    ]  # fmt: skip


def test_a_key_protected_by_a_passphrase_signs_only_with_it(  # type: ignore[no-untyped-def]
    run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REMPART_KEY_PASSPHRASE", "correct horse")
    assert run("key", "create", "alice", "--passphrase").returncode == 0
    key = tmp_path / "keys" / "alice.key"
    assert b"ENCRYPTED PRIVATE KEY" in key.read_bytes()

    # openssl agrees: the right passphrase opens it, a wrong one does not
    def opens(secret: str) -> bool:
        cmd = ["openssl", "pkey", "-in", str(key), "-passin", f"pass:{secret}", "-noout"]
        return subprocess.run(cmd, check=False, capture_output=True).returncode == 0

    ok, bad = opens("correct horse"), opens("wrong")
    assert ok and not bad
    src = tmp_path / "note.txt"
    src.write_text("YOUR FILES ARE ENCRYPTED")
    add = ("add", str(src), "--incident", "mairie", "--description", "note", "--create-incident")
    assert run(*add).returncode == 0
    monkeypatch.setenv("REMPART_KEY_PASSPHRASE", "wrong")
    _one_line_error(run("log", "E-0001", "--action", "examined"), "wrong passphrase")
    monkeypatch.delenv("REMPART_KEY_PASSPHRASE")
    # no passphrase and no terminal to ask it on (pytest's stdin is not one)
    _one_line_error(run("log", "E-0001", "--action", "examined"), "REMPART_KEY_PASSPHRASE")
    monkeypatch.setenv("REMPART_KEY_PASSPHRASE", "correct horse")
    assert run("log", "E-0001", "--action", "examined").returncode == 0
