"""Errors of the guard: each says what to do about it."""

from __future__ import annotations

from rempart.errors import RempartError


class GuardError(RempartError):
    """The guard cannot start or go on watching (missing path, no usable event source...)."""


class SourceUnavailable(GuardError):
    """An event source cannot run here (kernel refuses, not root...); another may."""
