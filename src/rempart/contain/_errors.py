"""Errors of the contain area: each says what is wrong and what to do."""

from __future__ import annotations

from rempart.errors import RempartError


class ContainError(RempartError):
    """A containment cannot be planned, applied or undone as asked."""


class InventoryError(ContainError):
    """The inventory file is damaged or says something impossible (names its line)."""

    def __init__(self, message: str, *, source: str = "", line: int | None = None) -> None:
        where = f"{source}:{line}: " if line is not None else (f"{source}: " if source else "")
        super().__init__(f"{where}{message}")
        self.source = source
        self.line = line


class HostError(ContainError):
    """A host cannot be reached, authenticated or commanded."""


class ChangedSincePlan(ContainError):
    """A target changed (by someone else) between the plan and the apply."""


class NotApplied(HostError):
    """The host refused the change as a whole: nothing on it was modified."""
