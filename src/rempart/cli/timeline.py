"""rempart timeline commands."""

from __future__ import annotations
