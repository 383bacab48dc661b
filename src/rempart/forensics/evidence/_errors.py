"""Errors of the evidence locker: each says what went wrong and what to do about it."""

from __future__ import annotations

from rempart.errors import RempartError


class EvidenceError(RempartError):
    """Evidence cannot be acquired, logged, exported or verified as asked."""


class UnknownError(EvidenceError):
    """An incident, item or responder key that the store does not know."""


class AcquisitionError(EvidenceError):
    """The copy or the hashing of an item failed; nothing was recorded as acquired."""
