"""The catalog of ransomware families: canonical ids, aliases, extensions, file markers.

The catalog itself is hand-written data (`families.toml`); this module answers the
questions triage asks of it, and ranks families for a ransom note's text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache, lru_cache

from rempart.errors import RegistryError
from rempart.triage._catalog import Family, Marker, catalog, token_index

#: Evidence weights for ranking families in a note: a self-name says more than a phrase.
NAME_WEIGHT = 3.0
PHRASE_WEIGHT = 2.0
ONION_WEIGHT = 2.0
NOTE_NAME_WEIGHT = 1.0
EXTENSION_WEIGHT = 1.0

_SPACES = re.compile(r"\s+")
_EXTENSION_MENTION = re.compile(r"extension[s]?\s*[:\"'*]*\s*\*?\.([a-z0-9_-]{2,16})\b")
_ONION_LABEL_MIN = 4


@dataclass(frozen=True)
class Candidate:
    """A family that a note's text points to, with its score and the reasons."""

    family: str
    score: float
    evidence: tuple[str, ...] = field(default=())


def canonical(name: str) -> str | None:
    """The canonical family id for a name or alias (case-insensitive), or None."""
    key = _SPACES.sub(" ", name.strip().lower())
    try:
        return catalog().names[key]
    except RegistryError:
        return None


def family(family_id: str) -> Family | None:
    """The catalog entry of a canonical id or alias, or None."""
    resolved = canonical(family_id)
    return None if resolved is None else catalog().families[resolved]


def family_ids() -> tuple[str, ...]:
    """Every canonical id in the embedded catalog."""
    return tuple(catalog().families)


@cache
def _extension_index() -> dict[str, tuple[str, ...]]:
    index: dict[str, list[str]] = {}
    for family_id, entry in catalog().families.items():
        for extension in entry.extensions:
            index.setdefault(extension, []).append(family_id)
    return {extension: tuple(ids) for extension, ids in index.items()}


#: Extensions so many families (and tools) append that they name none of them.
GENERIC_EXTENSIONS = frozenset(
    {"locked", "lock", "encrypted", "enc", "crypt", "crypted", "crypto", "encrypt", "cry"}
)


def by_extension(filename: str) -> tuple[str, ...]:
    """Families known to append this file's extension (weak evidence only).

    Generic extensions (.locked, .encrypted...) name no family: many families use them.
    """
    parts = filename.lower().rsplit("/", 1)[-1].split(".")
    if len(parts) < 2:
        return ()
    index = _extension_index()
    # Longest suffix first: "report.key.hive" is Hive's "key.hive" before a bare "hive".
    for size in range(min(3, len(parts) - 1), 0, -1):
        suffix = ".".join(parts[-size:])
        found = index.get(suffix)
        if found and suffix not in GENERIC_EXTENSIONS:
            return found
    return ()


def is_known_extension(filename: str) -> bool:
    """Whether any catalog family appends this file's extension (weak evidence only)."""
    return bool(by_extension(filename))


@cache
def _markers() -> tuple[tuple[str, Marker], ...]:
    return tuple(
        (family_id, marker)
        for family_id, entry in catalog().families.items()
        for marker in entry.markers
    )


#: Where a tail marker may stand: in the trailer a family appends, within the last bytes
#: (STOP's id, Ryuk's HERMES and Babuk's phrase lie in the last few hundred). Searching the
#: whole 64 KiB tail sample cost more than the rest of the checks of a random file.
TAIL_SPAN = 4096


def by_marker(head: bytes, tail: bytes) -> tuple[str, str] | None:
    """(family, evidence) when a family's marker stands at the start or end of a file."""
    end = tail[-TAIL_SPAN:]
    for family_id, marker in _markers():
        if marker.at == "head" and head.startswith(marker.value):
            return family_id, marker.describe()
        if marker.at == "tail" and marker.value in end:
            return family_id, marker.describe()
    return None


@cache
def _vanity_names() -> dict[str, str]:
    """Self-names that may open a gang's vanity onion host name, mapped to their family."""
    return {
        token.lower(): entry.id
        for _, entry in catalog().families.items()
        for token in (t.lstrip("=") for t in entry.names)
        if token.isalnum() and len(token) >= _ONION_LABEL_MIN
    }


def _onion_owners(onions: Iterable[str]) -> dict[str, str]:
    """Families whose self-name opens an onion host name (vanity addresses)."""
    names = _vanity_names()
    owners: dict[str, str] = {}
    for onion in onions:
        label = onion.lower()
        for size in range(len(label), _ONION_LABEL_MIN - 1, -1):
            owner = names.get(label[:size])
            if owner is not None:
                owners.setdefault(owner, f"onion host starts with {label[:size]!r}")
                break
    return owners


def rank(text: str, name: str = "", onions: Iterable[str] = ()) -> list[Candidate]:
    """Families ranked by the evidence in a note's text, best first (empty when none)."""
    index = token_index()
    hits: dict[str, dict[str, float]] = {}

    def credit(family_id: str, reason: str, weight: float) -> None:
        hits.setdefault(family_id, {}).setdefault(reason, weight)

    lowered = text.lower()
    passes = (
        (index.names, lowered, "name", NAME_WEIGHT),
        (index.cased_names, text, "cased", NAME_WEIGHT),
        (index.phrases, lowered, "phrase", PHRASE_WEIGHT),
    )
    for pattern, source, kind, weight in passes:
        for match in pattern.finditer(source):
            for family_id in index.owners.get((kind, match.group(0)), ()):
                label = "phrase" if kind == "phrase" else "name"
                credit(family_id, f"{label} {match.group(0)!r}", weight)
    for extension in _EXTENSION_MENTION.findall(lowered):
        for family_id in _extension_index().get(extension, ()):
            credit(family_id, f"extension .{extension} named", EXTENSION_WEIGHT)
    for family_id, reason in _onion_owners(onions).items():
        credit(family_id, reason, ONION_WEIGHT)
    for family_id in note_name_families(name) if name else ():
        if family_id in hits:
            credit(family_id, f"note name {name!r}", NOTE_NAME_WEIGHT)
    ranked = [
        Candidate(family_id, sum(reasons.values()), tuple(reasons))
        for family_id, reasons in hits.items()
    ]
    ranked.sort(key=lambda c: (-c.score, c.family))
    return ranked


@lru_cache(maxsize=4096)
def note_name_families(name: str) -> tuple[str, ...]:
    """Families whose usual note file names match `name` (weak evidence only)."""
    return tuple(fid for fid, entry in catalog().families.items() if entry.note_name_matches(name))
