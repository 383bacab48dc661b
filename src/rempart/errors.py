"""One exception hierarchy: every error says what went wrong and what to do about it."""

from __future__ import annotations


class RempartError(Exception):
    """Base of every error rempart raises on purpose.

    The CLI turns these into a one-line message and an exit code; anything else is a bug
    and shows a traceback.
    """

    exit_code = 2

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class UsageError(RempartError):
    """The user asked for something that cannot be done as asked."""


class StoreError(RempartError):
    """The incident store cannot be opened, migrated or written."""


class ScanError(RempartError):
    """A scan cannot start or continue (the root is missing, the scan to resume is unknown...)."""


class RegistryError(RempartError):
    """A name was registered twice, or looked up and not found."""
