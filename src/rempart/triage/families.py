"""The catalog of ransomware families: canonical ids, aliases, extensions, file markers.

(Interface stub: the implementation lands with the notes catalog.)
"""

from __future__ import annotations


def canonical(name: str) -> str | None:
    """The canonical family id for a name or alias (case-insensitive), or None."""
    return None


def by_extension(filename: str) -> tuple[str, ...]:
    """Families known to append this file's extension (weak evidence only)."""
    return ()


def by_marker(head: bytes, tail: bytes) -> tuple[str, str] | None:
    """(family, evidence) when a family's marker stands at the start or end of a file."""
    return None
