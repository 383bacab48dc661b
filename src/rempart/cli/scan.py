"""`rempart scan`: triage a share (placeholder until the scanner lands)."""

from __future__ import annotations

from rempart.cli._app import app


@app.command()
def scan() -> None:
    """Triage every file under ROOT."""
