"""Tables of the workspace area (see migration 0003)."""

from __future__ import annotations
