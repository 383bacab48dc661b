"""The `rempart` command: thin Typer commands over the library, one module per command group."""

from __future__ import annotations

from rempart.cli._app import app, main

__all__ = ["app", "main"]
