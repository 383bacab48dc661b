"""Errors of the timeline commands."""

from __future__ import annotations

from rempart.errors import RempartError


class TimelineError(RempartError):
    """A timeline command cannot run as asked (no such path, unreadable rule folder...)."""
