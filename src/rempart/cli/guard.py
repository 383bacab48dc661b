"""rempart guard commands."""

from __future__ import annotations
