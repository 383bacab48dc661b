"""What triage says about one file: a verdict, with the evidence that led to it."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Verdict(StrEnum):
    INTACT = "intact"
    ENCRYPTED = "encrypted"
    PARTIALLY_ENCRYPTED = "partially_encrypted"
    RANSOM_NOTE = "ransom_note"
    SUSPICIOUS = "suspicious"
    UNREADABLE = "unreadable"

    @property
    def needs_attention(self) -> bool:
        return self not in (Verdict.INTACT,)


#: Verdicts that count as "hit by the attack" in reports and recall figures.
DAMAGED = frozenset({Verdict.ENCRYPTED, Verdict.PARTIALLY_ENCRYPTED})


@dataclass(frozen=True)
class Indicator:
    """An indicator of compromise found in a ransom note (wallet, onion address, e-mail...)."""

    kind: str
    value: str


@dataclass(frozen=True)
class NoteFinding:
    """A ransom note recognised by its content."""

    family: str | None
    confidence: float
    indicators: tuple[Indicator, ...] = ()
    evidence: tuple[str, ...] = ()


@dataclass(frozen=True)
class Classification:
    """The verdict on one file's content, with its evidence (short, human-readable strings)."""

    verdict: Verdict
    format: str
    family: str | None = None
    evidence: tuple[str, ...] = ()
    note: NoteFinding | None = None
    extra: dict[str, str] = field(default_factory=dict, compare=False)
