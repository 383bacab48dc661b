"""Nearest known note: character 4-gram vectors (hashed, idf-weighted) compared by cosine.

A second opinion on the family when the user points rempart at a folder of known notes
(`<family>/<note>`). Gangs reuse their templates, so the closest known note is often the
right family even when the text never names it. The vectors are built with numpy.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import numpy.typing as npt

from rempart.errors import UsageError
from rempart.triage._text import plain_text

log = logging.getLogger(__name__)

_BITS = 15
_DIM = 1 << _BITS
_GRAM = 4
_PRIME = np.uint64(0x100000001B3)

Matrix = npt.NDArray[np.float32]


def _counts(text: str) -> Matrix:
    raw = np.frombuffer(" ".join(text.lower().split()).encode("utf-8"), dtype=np.uint8)
    if raw.size < _GRAM:
        return np.zeros(_DIM, dtype=np.float32)
    codes = raw.astype(np.uint64)
    hashed = np.zeros(raw.size - _GRAM + 1, dtype=np.uint64)
    for offset in range(_GRAM):
        hashed = hashed * _PRIME + codes[offset : offset + hashed.size]
    buckets = (hashed >> np.uint64(64 - _BITS)).astype(np.intp)
    return np.log1p(np.bincount(buckets, minlength=_DIM).astype(np.float32))


def _normalise(rows: Matrix) -> Matrix:
    norms = np.linalg.norm(rows, axis=-1, keepdims=True)
    normalised: Matrix = rows / np.maximum(norms, np.float32(1e-9))
    return normalised


@dataclass(frozen=True)
class Match:
    """The closest known note: its family, its file name, and the cosine similarity."""

    family: str
    note: str
    similarity: float


@dataclass(frozen=True)
class ReferenceNotes:
    """Known ransom notes, one vector each, labelled with their family folder's name."""

    families: tuple[str, ...]
    notes: tuple[str, ...]
    counts: Matrix

    @classmethod
    def from_texts(cls, items: list[tuple[str, str, str]]) -> ReferenceNotes:
        """Build from (family, note name, text) triples."""
        counts = np.stack([_counts(text) for _, _, text in items]) if items else None
        return cls(
            tuple(f for f, _, _ in items),
            tuple(n for _, n, _ in items),
            counts if counts is not None else np.zeros((0, _DIM), dtype=np.float32),
        )

    @classmethod
    def load(cls, directory: str | Path) -> ReferenceNotes:
        """Read every note under `directory/<family>/`; unreadable files are skipped.

        Raises:
            UsageError: the folder does not exist or holds no readable note.
        """
        root = Path(directory)
        if not root.is_dir():
            raise UsageError(f"notes folder {root} not found", hint="give a <family>/<note> folder")
        items: list[tuple[str, str, str]] = []
        for folder in sorted(p for p in root.iterdir() if p.is_dir()):
            for note in sorted(p for p in folder.iterdir() if p.is_file()):
                try:
                    with note.open("rb") as handle:
                        text = plain_text(handle.read(64 * 1024))
                except OSError as error:  # one unreadable note does not spoil the set
                    log.warning("skipping reference note %s: %s", note, error)
                    continue
                if text:
                    items.append((folder.name.lower(), note.name, text))
        if not items:
            raise UsageError(f"no readable ransom note under {root}")
        return cls.from_texts(items)

    def __len__(self) -> int:
        return len(self.families)

    def without(self, position: int) -> ReferenceNotes:
        """The same set minus one note (leave-one-out evaluation)."""
        keep = [i for i in range(len(self)) if i != position]
        return ReferenceNotes(
            tuple(self.families[i] for i in keep),
            tuple(self.notes[i] for i in keep),
            self.counts[keep],
        )

    def nearest(self, text: str) -> Match | None:
        """The most similar known note, or None when the set is empty."""
        if not len(self):
            return None
        idf, references = self._weights
        scores = references @ _normalise(_counts(text) * idf)
        best = int(np.argmax(scores))
        return Match(self.families[best], self.notes[best], float(scores[best]))

    @cached_property
    def _weights(self) -> tuple[Matrix, Matrix]:
        """Inverse document frequency of each bucket, and the weighted, normalised rows."""
        present = np.count_nonzero(self.counts, axis=0).astype(np.float32)
        idf = np.log((len(self) + 1) / (present + 1)).astype(np.float32) + np.float32(1)
        return idf, _normalise(self.counts * idf)
