"""The contract of a format validator, and the registry they live in.

A validator answers two questions cheaply: is this file mine (by its bytes, never its
name), and is its structure sound? Two outcomes only, as in plaso: "not my format"
(`sniff` is False, skip quietly) and "my format but damaged" (a `FormatCheck` with
`valid=False` and evidence saying where).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from rempart.registry import Registry
from rempart.triage.sample import Sample


@dataclass(frozen=True)
class FormatCheck:
    """What a validator found."""

    format: str  # short id shown to users: "docx", "pdf", "png", "zip", "sqlite"...
    valid: bool
    evidence: tuple[str, ...] = ()
    #: Encrypted on purpose by its owner (password-protected Office/PDF/ZIP, GPG, KeePass...).
    owner_encrypted: bool = False
    #: Content is normally compressed or encrypted: high randomness inside says nothing.
    dense: bool = False
    #: Offset where the format's own data ends, when known (bytes after it are a trailer).
    end: int | None = None


class Validator(Protocol):
    """A format validator; registered by name in `VALIDATORS`."""

    name: str

    def sniff(self, sample: Sample) -> bool:
        """True when the bytes say this file is of my format (magic, signature)."""

    def validate(self, sample: Sample) -> FormatCheck:
        """Check the structure cheaply; never inflate or read more than the sample allows."""


VALIDATORS: Registry[Validator] = Registry("format validator")
