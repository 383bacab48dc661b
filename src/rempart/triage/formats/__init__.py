"""Format validators, one module per family of formats, all registered in `VALIDATORS`."""

from __future__ import annotations

# --- images, media, databases and executables (images.py, media.py, binaries.py) ----------
# They look only at the head, so they register first, before the families that may claim a
# file by its tail alone.
import rempart.triage.formats.binaries
import rempart.triage.formats.images
import rempart.triage.formats.media  # noqa: F401  (imported to register its validators)

# --- end of images, media, databases and executables --------------------------------------
# --- archives, documents and owner-encrypted containers -----------------------------------
# Registration order is sniffing order: these come after the block above because zip, pdf,
# xz and bz2 may also claim a file by its tail alone (head destroyed by partial encryption),
# and must not take a file that another family recognises by its head.
from rempart.triage.formats import (  # noqa: F401  (imported to register their validators)
    archives,
    compressed,
    crypto,
    office,
    pdf,
    zipfmt,
)

# --- end of archives, documents and owner-encrypted containers ----------------------------
from rempart.triage.formats._base import VALIDATORS, FormatCheck, Validator
from rempart.triage.sample import Sample

__all__ = ["VALIDATORS", "FormatCheck", "Validator", "identify"]


def identify(sample: Sample) -> FormatCheck | None:
    """Validate the sample with the first validator that claims it, or None when none does."""
    for _name, validator in VALIDATORS.items():
        if validator.sniff(sample):
            return validator.validate(sample)
    return None
