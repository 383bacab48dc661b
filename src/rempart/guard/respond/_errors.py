"""Errors of the responders' configuration: each names the file, the key and the line."""

from __future__ import annotations

from pathlib import Path

from rempart.guard._errors import GuardError


class ResponseConfigError(GuardError):
    """The responders' configuration (TOML file or --respond names) cannot be used as written."""

    def __init__(
        self,
        message: str,
        *,
        path: Path | None = None,
        key: str | None = None,
        line: int | None = None,
        hint: str | None = None,
    ) -> None:
        where = ""
        if path is not None:
            where = str(path) + (f":{line}" if line else "")
        if key:
            where = f"{where} [{key}]" if where else f"[{key}]"
        super().__init__(f"{where}: {message}" if where else message, hint=hint)
        self.path = path
        self.key = key
        self.line = line
