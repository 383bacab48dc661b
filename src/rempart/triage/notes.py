"""Ransom note detection by content, family identification and indicator extraction.

(Interface stub: the implementation lands with the notes catalog.)
"""

from __future__ import annotations

from rempart.triage.verdicts import NoteFinding


def analyse_note(data: bytes, name: str) -> NoteFinding | None:
    """Return a finding when `data` (a text-like file's content) reads as a ransom note."""
    return None
