"""Tables of the evidence area (see migration 0005)."""

from __future__ import annotations
