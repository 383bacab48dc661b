"""Reading the evidence settings (declared in rempart.settings) and sizes given by people."""

from __future__ import annotations

import getpass
import os
import re
import sys
from pathlib import Path

from rempart.forensics.evidence._errors import EvidenceError
from rempart.settings import EVIDENCE_KEYS, EVIDENCE_LOCKER, KEY_PASSPHRASE, RESPONDER, resolve

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


def passphrase(name: str) -> bytes:
    """The passphrase of `name`'s key: from REMPART_KEY_PASSPHRASE, else asked on a terminal."""
    given = os.environ.get(KEY_PASSPHRASE.env)
    if given:
        return given.encode()
    if not sys.stdin.isatty():
        raise EvidenceError(
            f"the private key of {name!r} is protected by a passphrase and there is no terminal "
            "to ask it on",
            hint=f"set {KEY_PASSPHRASE.env}",
        )
    return getpass.getpass(f"passphrase of {name}'s key: ").encode()
