"""Tables of the guard area (see migration 0002)."""

from __future__ import annotations
