"""The family catalog: loaded once from `families.toml`, checked, and indexed for lookups.

Ids and aliases share one namespace kept in a `Registry`, so a catalog that gives the same
name to two families is refused at load time with the offending name in the message.
"""

from __future__ import annotations

import fnmatch
import re
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from rempart.errors import RegistryError
from rempart.registry import Registry


@dataclass(frozen=True)
class Marker:
    """Bytes that stand at the start of an encrypted file ("head") or in its last bytes."""

    at: str
    value: bytes

    def describe(self) -> str:
        shown = self.value.decode("ascii", "backslashreplace")
        return f"{self.at} marker {shown!r}"


@dataclass(frozen=True)
class Family:
    """One ransomware family as the catalog describes it."""

    id: str
    name: str
    aliases: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    phrases: tuple[str, ...] = ()
    extensions: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    markers: tuple[Marker, ...] = ()

    def note_name_matches(self, name: str) -> bool:
        return bool(self.notes) and _note_pattern(self.notes).match(name.lower()) is not None


@cache
def _note_pattern(patterns: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile("|".join(fnmatch.translate(p) for p in patterns))


def _strings(entry: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = entry.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise RegistryError(f"{where}: {key!r} must be a list of non-empty strings")
    return tuple(value)


def _marker(raw: object, where: str) -> Marker:
    if not isinstance(raw, dict) or raw.get("at") not in ("head", "tail"):
        raise RegistryError(f"{where}: a marker needs at = 'head' or 'tail'")
    if isinstance(raw.get("text"), str):
        return Marker(raw["at"], raw["text"].encode("latin-1"))
    if isinstance(raw.get("hex"), str):
        return Marker(raw["at"], bytes.fromhex(raw["hex"]))
    raise RegistryError(f"{where}: a marker needs a text or hex value")


@dataclass(frozen=True)
class Catalog:
    """The families by id, and every id and alias mapped to its canonical id."""

    families: Registry[Family]
    names: Registry[str]


def build(table: dict[str, Any], source: str = "catalog") -> Catalog:
    """Families from a parsed catalog table, refusing duplicate ids and aliases.

    Raises:
        RegistryError: a family id or alias is used twice, or an entry is malformed.
    """
    lookup: Registry[str] = Registry(f"family name in {source}")
    families: Registry[Family] = Registry(f"family in {source}")
    for key, entry in table.items():
        family_id = key.lower()
        where = f"{source} [{key}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise RegistryError(f"{where}: each family needs a display name")
        family = Family(
            id=family_id,
            name=entry["name"],
            aliases=tuple(a.lower() for a in _strings(entry, "aliases", where)),
            names=_strings(entry, "names", where),
            phrases=tuple(p.lower() for p in _strings(entry, "phrases", where)),
            extensions=tuple(e.lower().lstrip(".") for e in _strings(entry, "extensions", where)),
            notes=tuple(n.lower() for n in _strings(entry, "notes", where)),
            markers=tuple(_marker(m, where) for m in entry.get("markers", [])),
        )
        families.add(family_id, family)
        lookup.add(family_id, family_id)
        for alias in dict.fromkeys(family.aliases):
            if alias != family_id:
                lookup.add(alias, family_id)
    return Catalog(families, lookup)


@cache
def catalog() -> Catalog:
    """The embedded catalog, loaded on first use."""
    text = resources.files("rempart.triage").joinpath("families.toml").read_text("utf-8")
    return build(tomllib.loads(text), "families.toml")


_Trie = dict[str, "_Trie"]
_END = ""


def _trie_pattern(node: _Trie, last: str) -> str:
    """A regex for the tokens below `node`, longest first; words end at a word boundary."""
    branches = [
        re.escape(char) + _trie_pattern(child, char) for char, child in node.items() if char
    ]
    if _END in node:
        branches.append(r"(?![A-Za-z0-9])" if last.isalnum() else "")
    if len(branches) == 1:
        return branches[0]
    return "(?:" + "|".join(branches) + ")"


def _alternation(tokens: set[str]) -> re.Pattern[str]:
    """One pattern for many tokens, shaped as a trie: Python's re tries alternatives in
    turn, so 500 flat alternatives at every position of a text would be slow."""
    tries: tuple[_Trie, _Trie] = ({}, {})
    for token in sorted(tokens):
        node = tries[0] if token[:1].isalnum() else tries[1]
        for char in token:
            node = node.setdefault(char, {})
        node[_END] = {}
    parts = []
    if tries[0]:
        parts.append(r"(?<![A-Za-z0-9])" + _trie_pattern(tries[0], ""))
    if tries[1]:
        parts.append(_trie_pattern(tries[1], ""))
    return re.compile("|".join(parts) or "(?!)")


@dataclass(frozen=True)
class TokenIndex:
    """Compiled alternations of the catalog's tokens, and who each token belongs to.

    Names and phrases are searched in separate passes: a phrase that contains a name
    ("welcome to darkside") must not hide the name from the search.
    """

    names: re.Pattern[str]
    cased_names: re.Pattern[str]
    phrases: re.Pattern[str]
    owners: dict[tuple[str, str], tuple[str, ...]]


@cache
def token_index() -> TokenIndex:
    """Index every self-name and phrase of the catalog for a few passes over a text."""
    owners: dict[tuple[str, str], list[str]] = {}
    for _, family in catalog().families.items():
        for raw in family.names:
            key = ("cased", raw[1:]) if raw.startswith("=") else ("name", raw.lower())
            owners.setdefault(key, []).append(family.id)
        for token in family.phrases:
            owners.setdefault(("phrase", token), []).append(family.id)

    def tokens(kind: str) -> set[str]:
        return {token for k, token in owners if k == kind}

    return TokenIndex(
        names=_alternation(tokens("name")),
        cased_names=_alternation(tokens("cased")),
        phrases=_alternation(tokens("phrase")),
        owners={key: tuple(ids) for key, ids in owners.items()},
    )
