"""`evidence verify`: an incident's locker and custody logs, or an exported package."""

from __future__ import annotations

import json
import os
import tarfile
import tempfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Connection, Engine, select

from rempart.forensics.evidence._errors import EvidenceError
from rempart.forensics.evidence._findings import (
    EntryCheck,
    FileCheck,
    Finding,
    ItemCheck,
    Kind,
    check_item,
)
from rempart.forensics.evidence._hashing import Digests
from rempart.forensics.evidence._keys import (
    fingerprint,
    load_public_pem,
    public_keys,
    signature_ok,
)
from rempart.forensics.evidence._records import ItemView, items
from rempart.store.evidence import CustodyEntry, EvidenceFile


@dataclass(frozen=True)
class Report:
    items: int
    files: int
    entries: int
    findings: tuple[Finding, ...]

    @property
    def ok(self) -> bool:
        return not self.findings


def verify_store(engine: Engine, incident: str) -> Report:
    """Check every item of `incident`: content against its hashes, custody logs, signatures."""
    keys: dict[str, Ed25519PublicKey | None] = {
        fp: load_public_pem(k.pem.encode()) for fp, k in public_keys(engine).items()
    }
    with engine.connect() as conn:
        checks = [_store_item(conn, item) for item in items(conn, incident=incident)]
    return _run(checks, keys, [])


def _store_item(conn: Connection, item: ItemView) -> ItemCheck:
    by_item = EvidenceFile.item_id == item.id
    rows = conn.execute(select(EvidenceFile).where(by_item).order_by(EvidenceFile.id)).all()
    root = os.fsencode(item.content_root)
    files = [
        FileCheck(
            Path(os.fsdecode(os.path.join(root, r.path))),
            r.path_text,
            r.path,
            Digests(r.sha256, r.sha1, r.md5),
        )
        for r in rows
    ]
    # insertion order, not sequence order: a reordered log must show as reordered
    logged = conn.execute(
        select(CustodyEntry).where(CustodyEntry.item_id == item.id).order_by(CustodyEntry.id)
    ).all()
    entries = [
        EntryCheck(e.seq, e.payload.encode(), e.entry_hash, e.key_fingerprint, _unhex(e.signature))
        for e in logged
    ]
    return ItemCheck(
        item.label,
        item.uid,
        item.kind,
        Digests(item.sha256, item.sha1, item.md5),
        item.custody_count,
        item.custody_head,
        files,
        None if item.in_place else item.content_root,
        entries,
    )


def _run(
    checks: list[ItemCheck], keys: dict[str, Ed25519PublicKey | None], found: list[Finding]
) -> Report:
    for item in checks:
        found += check_item(item, keys)
    return Report(
        len(checks),
        sum(len(c.files) for c in checks),
        sum(len(c.entries) for c in checks),
        tuple(found),
    )


def _unhex(text: str) -> bytes:
    try:
        return bytes.fromhex(text)
    except ValueError:
        return b""  # verifies as a wrong signature


def verify_package(path: Path, trusted: Path | None = None) -> Report:
    """Check an exported package (a folder, or the .tar of one).

    Args:
        trusted: PEM public keys obtained another way (a folder of them, or one file); the
            package's own keys/ then only count where they are among them.
    """
    if path.is_file() and tarfile.is_tarfile(path):
        with tempfile.TemporaryDirectory(prefix="rempart-verify-") as tmp:
            try:
                with tarfile.open(path) as archive:
                    archive.extractall(tmp, filter="data")
            except (tarfile.TarError, OSError) as exc:
                raise EvidenceError(f"cannot unpack {path}: {exc}") from exc
            tops = list(Path(tmp).iterdir())
            return verify_package(tops[0] if len(tops) == 1 else Path(tmp), trusted)
    if not (path / "manifest.json").is_file():
        raise EvidenceError(f"{path} is not an evidence package (no manifest.json)")
    found: list[Finding] = []
    raw = (path / "manifest.json").read_bytes()
    try:
        manifest = json.loads(raw)
        listed = manifest["items"]
    except (ValueError, KeyError, TypeError) as exc:
        return Report(0, 0, 0, (Finding(Kind.DAMAGED_PACKAGE, "", f"manifest.json: {exc}"),))
    keys = _package_keys(path)
    if trusted is not None:
        allowed = _trusted(trusted)
        for fp in [fp for fp in keys if fp not in allowed]:
            del keys[fp]
            found.append(Finding(Kind.UNKNOWN_KEY, "", f"keys/: {fp[:16]}... is not trusted"))
    found += _manifest_signature(path, raw, manifest, keys)
    entries = _package_entries(path, found)
    checks = []
    for item in listed:
        try:
            checks.append(_package_item(path, item, entries.pop(item["label"], [])))
        except (KeyError, TypeError, ValueError) as exc:
            found.append(Finding(Kind.DAMAGED_PACKAGE, "", f"manifest.json item: {exc}"))
    for label in entries:
        found.append(Finding(Kind.DAMAGED_PACKAGE, label, "custody entries of an unlisted item"))
    known = {c.label for c in checks}
    if (path / "items").is_dir():
        for extra in sorted(p.name for p in (path / "items").iterdir() if p.name not in known):
            found.append(Finding(Kind.EXTRA_FILE, "", f"items/{extra}"))
    return _run(checks, keys, found)


def _package_keys(path: Path) -> dict[str, Ed25519PublicKey | None]:
    keys: dict[str, Ed25519PublicKey | None] = {}
    for pem in sorted((path / "keys").glob("*.pem")):
        key = load_public_pem(pem.read_bytes())
        if key is not None:
            keys[fingerprint(key)] = key
    return keys


def _trusted(where: Path) -> set[str]:
    files = sorted(where.glob("*.pem")) if where.is_dir() else [where]
    keys = set()
    for pem in files:
        try:
            key = load_public_pem(pem.read_bytes())
        except OSError as exc:
            raise EvidenceError(f"cannot read trusted key {pem}: {exc.strerror}") from exc
        if key is not None:
            keys.add(fingerprint(key))
    if not keys:
        raise EvidenceError(f"no Ed25519 public key (PEM) in {where}")
    return keys


def _manifest_signature(
    path: Path, raw: bytes, manifest: dict[str, Any], keys: dict[str, Ed25519PublicKey | None]
) -> list[Finding]:
    key = keys.get(str(manifest.get("exporter_key")))
    sig = path / "manifest.json.sig"
    if key is None:
        return [Finding(Kind.UNKNOWN_KEY, "", "the exporter's key is not in keys/")]
    if not sig.is_file() or not signature_ok(key, sig.read_bytes(), raw):
        return [Finding(Kind.BAD_SIGNATURE, "", "manifest.json.sig does not match manifest.json")]
    return []


def _package_entries(path: Path, found: list[Finding]) -> dict[str, list[EntryCheck]]:
    by_item: dict[str, list[EntryCheck]] = defaultdict(list)
    try:
        lines = (path / "custody.jsonl").read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        found.append(Finding(Kind.DAMAGED_PACKAGE, "", f"custody.jsonl: {exc}"))
        return by_item
    for number, line in enumerate(lines, 1):
        try:
            e = json.loads(line)
            entry = EntryCheck(
                int(e["seq"]), e["payload"].encode(), e["hash"], e["key"], _unhex(e["signature"])
            )
            label = str(e["item"])
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            detail = f"custody.jsonl line {number}: {exc}"
            found.append(Finding(Kind.DAMAGED_PACKAGE, "", detail))
            continue
        by_item[label].append(entry)
        for name, want in ((e.get("bin"), entry.payload), (e.get("sig"), entry.signature)):
            file = path / str(name)
            if not file.is_file() or file.read_bytes() != want:
                detail = f"{name} differs from custody.jsonl"
                found.append(Finding(Kind.DAMAGED_PACKAGE, label, detail, entry.seq))
    return by_item


def _package_item(path: Path, item: dict[str, Any], entries: list[EntryCheck]) -> ItemCheck:
    label = str(item["label"])
    prefix = f"items/{label}/".encode()
    files = []
    for f in item["files"]:
        raw = bytes.fromhex(f["path_hex"]) if "path_hex" in f else f["path"].encode()
        files.append(
            FileCheck(
                Path(os.fsdecode(os.path.join(os.fsencode(path), raw))),
                f["path"],
                raw.removeprefix(prefix),
                Digests(f["sha256"], f["sha1"], f["md5"]),
            )
        )
    d = item["digests"]
    return ItemCheck(
        label,
        str(item["uid"]),
        str(item["kind"]),
        Digests(d["sha256"], d["sha1"], d["md5"]),
        int(item["custody"]["entries"]),
        str(item["custody"]["head"]),
        files,
        path / "items" / label if item["included"] else None,
        entries,
        content=bool(item["included"]),
    )
