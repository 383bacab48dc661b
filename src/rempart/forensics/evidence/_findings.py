"""What `verify` can find, as typed findings, and the checks shared by store and package."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from rempart.forensics.evidence._custody import GENESIS
from rempart.forensics.evidence._hashing import (
    Digests,
    ReadError,
    hash_fd,
    open_readonly,
    tree_digests,
)
from rempart.forensics.evidence._keys import signature_ok


class Kind(StrEnum):
    CHANGED = "changed"  # an item's file does not hash to what was recorded
    MISSING_FILE = "missing_file"
    EXTRA_FILE = "extra_file"
    RECORD_MISMATCH = "record_mismatch"  # the record disagrees with what was signed
    MISSING_ENTRY = "missing_entry"
    EXTRA_ENTRY = "extra_entry"
    REORDERED_ENTRY = "reordered_entry"
    ALTERED_ENTRY = "altered_entry"  # the entry's bytes do not hash to its recorded hash
    BROKEN_CHAIN = "broken_chain"  # `prev` is not the hash of the entry before
    BAD_SIGNATURE = "bad_signature"
    UNKNOWN_KEY = "unknown_key"
    DAMAGED_PACKAGE = "damaged_package"  # unreadable manifest or log lines, bad package files


@dataclass(frozen=True)
class Finding:
    kind: Kind
    item: str  # the item's label, or "" for the package as a whole
    detail: str
    seq: int | None = None

    def __str__(self) -> str:
        where = f"{self.item} " if self.item else ""
        entry = f"entry {self.seq}: " if self.seq is not None else ""
        return f"{self.kind.value}: {where}{entry}{self.detail}"


@dataclass(frozen=True)
class FileCheck:
    path: Path  # where the file is now
    shown: str  # as the record names it
    rel: bytes  # relative path inside the item, raw bytes (the tree digest's input)
    digests: Digests


@dataclass(frozen=True)
class EntryCheck:
    seq: int  # as stored beside the entry (the log's order)
    payload: bytes
    entry_hash: str
    key: str
    signature: bytes


@dataclass
class ItemCheck:
    label: str
    uid: str
    kind: str
    digests: Digests
    custody_count: int
    custody_head: str
    files: list[FileCheck]
    content_dir: Path | None  # holds the item's files and nothing else; None: not checked
    entries: list[EntryCheck] = field(default_factory=list)
    content: bool = True  # False: recorded in place and not in the package, hashes only


def check_item(item: ItemCheck, keys: dict[str, Ed25519PublicKey | None]) -> list[Finding]:
    """Every finding about one item: its content, then its chain of custody."""
    return _content(item) + _record(item) + _chain(item, keys)


def _content(item: ItemCheck) -> list[Finding]:
    found: list[Finding] = []
    if not item.content:
        return found
    for f in item.files:
        try:
            fd = open_readonly(os.fsencode(f.path))
        except FileNotFoundError:
            found.append(Finding(Kind.MISSING_FILE, item.label, f.shown))
            continue
        except OSError as exc:
            found.append(Finding(Kind.MISSING_FILE, item.label, f"{f.shown}: {exc.strerror}"))
            continue
        try:
            now, _ = hash_fd(fd)
        except ReadError as exc:
            found.append(Finding(Kind.MISSING_FILE, item.label, f"{f.shown}: {exc.strerror}"))
            continue
        finally:
            os.close(fd)
        if now != f.digests:
            found.append(
                Finding(
                    Kind.CHANGED,
                    item.label,
                    f"{f.shown}: sha256 {now.sha256}, recorded {f.digests.sha256}",
                )
            )
    if item.content_dir is not None:
        expected = {os.path.normpath(f.path) for f in item.files}
        for folder, _dirs, names in os.walk(item.content_dir):
            for name in names:
                path = os.path.normpath(os.path.join(folder, name))
                if path not in expected:
                    rel = os.path.relpath(path, item.content_dir)
                    found.append(Finding(Kind.EXTRA_FILE, item.label, rel))
    return found


def _record(item: ItemCheck) -> list[Finding]:
    if item.kind == "file" and len(item.files) == 1:
        listed = item.files[0].digests
    else:
        listed = tree_digests([(f.rel, f.digests.sha256) for f in item.files])
    if listed != item.digests:
        return [
            Finding(
                Kind.RECORD_MISMATCH,
                item.label,
                f"the files listed hash to {listed.sha256}, the item says {item.digests.sha256}",
            )
        ]
    return []


def _chain(item: ItemCheck, keys: dict[str, Ed25519PublicKey | None]) -> list[Finding]:
    found: list[Finding] = []
    seen: set[int] = set()
    last = -1
    kept: dict[int, EntryCheck] = {}
    for e in item.entries:
        if e.seq in seen:
            found.append(Finding(Kind.EXTRA_ENTRY, item.label, "a second entry", e.seq))
            continue
        if e.seq < last:
            found.append(Finding(Kind.REORDERED_ENTRY, item.label, f"comes after {last}", e.seq))
        seen.add(e.seq)
        last = max(last, e.seq)
        kept[e.seq] = e
    count = max(item.custody_count, last + 1)
    missing = [s for s in range(count) if s not in kept]
    found += [Finding(Kind.MISSING_ENTRY, item.label, "not in the log", s) for s in missing]
    prev: str | None = GENESIS
    for seq in sorted(kept):
        e = kept[seq]
        found += _entry(item, e, keys, prev)
        prev = e.entry_hash if seq + 1 in kept else None
    if kept and not missing and kept[max(kept)].entry_hash != item.custody_head:
        found.append(Finding(Kind.MISSING_ENTRY, item.label, "the log ends early", max(kept) + 1))
    return found


def _entry(
    item: ItemCheck, e: EntryCheck, keys: dict[str, Ed25519PublicKey | None], prev: str | None
) -> list[Finding]:
    found: list[Finding] = []
    label = item.label
    if hashlib.sha256(e.payload).hexdigest() != e.entry_hash:
        found.append(Finding(Kind.ALTERED_ENTRY, label, "its bytes do not match its hash", e.seq))
    try:
        fields = json.loads(e.payload)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return [*found, Finding(Kind.ALTERED_ENTRY, label, "not a JSON object", e.seq)]
    if not isinstance(fields, dict):
        return [*found, Finding(Kind.ALTERED_ENTRY, label, "not a JSON object", e.seq)]
    if fields.get("seq") != e.seq:
        found.append(Finding(Kind.REORDERED_ENTRY, label, f"signed as {fields.get('seq')}", e.seq))
    if prev is not None and fields.get("prev") != prev:
        found.append(Finding(Kind.BROKEN_CHAIN, label, "not chained to the entry before", e.seq))
    if fields.get("item") != item.uid or fields.get("item_sha256") != item.digests.sha256:
        found.append(
            Finding(Kind.RECORD_MISMATCH, label, "signed for another item or content", e.seq)
        )
    if fields.get("key") != e.key:
        found.append(Finding(Kind.ALTERED_ENTRY, label, "names another key", e.seq))
    key = keys.get(e.key)
    if key is None:
        found.append(Finding(Kind.UNKNOWN_KEY, label, f"key {e.key[:16]}...", e.seq))
    elif not signature_ok(key, e.signature, e.payload):
        found.append(Finding(Kind.BAD_SIGNATURE, label, f"by {fields.get('by')!r}", e.seq))
    return found
