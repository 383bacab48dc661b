"""Tables of the contain area (see migration 0006)."""

from __future__ import annotations
