"""`rempart serve`: mistakes are one-line errors with exit code 2 (a real start: tests/e2e)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

import rempart.cli.serve  # noqa: F401  # registers the command even if an earlier test ran
from rempart.cli import main  # `main(["scan", ...])`, which loads the scan command alone


def test_a_busy_port_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        db = f"sqlite:///{tmp_path / 'store.db'}"
        rc = main(["serve", "--port", str(port), "--db", db])
    assert rc == 2
    err = capsys.readouterr().err
    assert f"cannot listen on 127.0.0.1:{port}" in err and "Traceback" not in err


def test_tls_options_go_together(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cert = tmp_path / "cert.pem"
    cert.write_text("not really a certificate")
    rc = main(["serve", "--cert", str(cert), "--db", f"sqlite:///{tmp_path / 's.db'}"])
    assert rc == 2 and "--cert and --key go together" in capsys.readouterr().err


def test_serve_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--help"]) == 0
    assert "Start the incident workspace" in capsys.readouterr().out
