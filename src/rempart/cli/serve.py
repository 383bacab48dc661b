"""rempart serve commands."""

from __future__ import annotations
