"""rempart evidence commands."""

from __future__ import annotations
