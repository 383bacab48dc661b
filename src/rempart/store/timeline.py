"""Tables of the timeline area (see migration 0004)."""

from __future__ import annotations
