"""Format validators, one module per family of formats, all registered in `VALIDATORS`."""

from __future__ import annotations

from rempart.triage.formats._base import VALIDATORS, FormatCheck, Validator
from rempart.triage.sample import Sample

__all__ = ["VALIDATORS", "FormatCheck", "Validator", "identify"]


def identify(sample: Sample) -> FormatCheck | None:
    """Validate the sample with the first validator that claims it, or None when none does."""
    for _name, validator in VALIDATORS.items():
        if validator.sniff(sample):
            return validator.validate(sample)
    return None
