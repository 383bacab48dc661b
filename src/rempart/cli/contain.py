"""rempart contain commands."""

from __future__ import annotations
