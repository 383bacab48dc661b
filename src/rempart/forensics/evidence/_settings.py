"""Reading the evidence settings (declared in rempart.settings) and sizes given by people."""

from __future__ import annotations

import getpass
import re
from pathlib import Path

from rempart.forensics.evidence._errors import EvidenceError
from rempart.settings import EVIDENCE_KEYS, EVIDENCE_LOCKER, RESPONDER, resolve

_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?", re.IGNORECASE)
_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def parse_size(text: str) -> int:
    """Bytes in `text`: 500, 4K, 1.5G, 2TiB (binary units)."""
    match = _SIZE.fullmatch(text.strip())
    if not match:
        raise EvidenceError(f"not a size: {text!r}", hint="for example 500M, 4G or 2T")
    return int(float(match[1]) * _UNITS[match[2].upper()])


def locker(given: str | None = None) -> Path:
    return Path(resolve(EVIDENCE_LOCKER, given)).expanduser()


def keys_dir(given: str | None = None) -> Path:
    return Path(resolve(EVIDENCE_KEYS, given)).expanduser()


def responder(given: str | None = None) -> str:
    return resolve(RESPONDER, given) or getpass.getuser()
