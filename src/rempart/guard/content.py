"""What a file's content is: triage's verdict, block randomness and a similarity digest.

The guard does not judge content itself: `rempart.triage` (the classifier of `rempart scan`)
does, from the same bounded samples (at most a few hundred KiB read per file).
The similarity digest is TLSH (py-tlsh, a compiled library made for it): it survives
an edit of a document and is lost when the content is encrypted.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import tlsh  # type: ignore[import-not-found]

from rempart.triage import classify, sample, stats
from rempart.triage.verdicts import Verdict

#: TLSH distance beyond which two versions of a file share nothing (an edit stays < 100)
SIMILARITY_LOST = 200


@dataclass(frozen=True)
class Content:
    """One file's content as the guard remembers it (a few dozen bytes)."""

    format: str
    verdict: Verdict
    random: float  # fraction of sampled windows that look random
    size: int
    digest: str | None  # TLSH, None when the content is too small or too uniform
    evidence: tuple[str, ...] = ()


def read_fd(fd: int, name: str) -> Content:
    """Analyse the open file `fd` (its name gives the extension hint)."""
    size = os.fstat(fd).st_size
    smp = sample.take(fd, size, name)
    found = classify.classify(smp)
    prof = stats.profile(smp) if size else None
    digest = tlsh.hash(smp.head) if len(smp.head) >= 64 else ""
    return Content(
        format=found.format,
        verdict=found.verdict,
        random=prof.fraction_random if prof is not None else 0.0,
        size=size,
        digest=digest if digest and digest != "TNULL" else None,
        evidence=found.evidence,
    )


def read_path(path: str) -> Content | None:
    """Analyse the file at `path`; None when it is gone or unreadable (not ours to judge)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NOATIME)
    except OSError:
        return None
    try:
        return read_fd(fd, os.path.basename(path))
    except OSError:
        return None
    finally:
        os.close(fd)


def distance(a: str | None, b: str | None) -> int | None:
    """TLSH distance between two digests, None when either is missing."""
    if not a or not b:
        return None
    return int(tlsh.diff(a, b))
