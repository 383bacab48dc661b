"""`evidence export`: a package for the police or the agency, checkable with standard tools.

Layout (every path relative to the package folder):
  items/E-0001/...              the items' files, as acquired
  manifest.json                 items, digests, sources, custody heads, keys
  manifest.json.sig             Ed25519 signature of manifest.json by the exporter
  custody.jsonl                 every custody entry: the signed bytes, hash, key, signature
  custody/E-0001/0000.bin .sig  each entry's signed bytes and raw signature (for openssl)
  keys/NAME.pem                 the responders' public keys
  SHA256SUMS                    `sha256sum -c SHA256SUMS` checks every other file
  VERIFY.txt                    how to check all this, in French and in English
"""

from __future__ import annotations

import json
import os
import shutil
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from rempart.forensics.evidence import _custody
from rempart.forensics.evidence._errors import EvidenceError
from rempart.forensics.evidence._hashing import Digests, ReadError, hash_fd, sha256_fd
from rempart.forensics.evidence._keys import Signer, public_keys
from rempart.forensics.evidence._records import ItemView, items
from rempart.forensics.evidence._verify_text import verify_text
from rempart.forensics.evidence._walk import opened
from rempart.store.evidence import EvidenceFile

FORMAT = "rempart-evidence-package"


@dataclass(frozen=True)
class Exported:
    folder: Path
    tar: Path | None
    items: int
    files: int
    entries: int


def export(
    engine: Engine,
    incident: str,
    out: Path,
    *,
    signer: Signer,
    make_tar: bool = False,
    progress: Callable[[int], None] | None = None,
) -> Exported:
    """Write the package of `incident` to the new folder `out` (and `out`.tar if asked).

    Each item gets an "exported" custody entry, committed only once the package is written.
    """
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise EvidenceError(f"{out} already exists and is not an empty folder")
    tar = out.with_name(out.name + ".tar") if make_tar else None
    if tar is not None and tar.exists():
        raise EvidenceError(f"{tar} already exists")
    partial = out.with_name(f".{out.name}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    try:
        # Copy first, with no write transaction open: a long export must not hold the
        # store's write lock while other responders add evidence.
        with engine.connect() as conn:
            found = items(conn, incident=incident)
            if not found:
                raise EvidenceError(f"incident {incident!r} has no evidence items to export")
            partial.mkdir(parents=True)
            listed = [_copy_item(conn, item, partial, progress) for item in found]
        with engine.begin() as conn:
            note = f"exported to {out.resolve()}"
            for item in found:
                _custody.append(conn, item.id, "exported", signer, note=note)
            entries = _write_custody(conn, found, partial)
            keys = _write_keys(engine, partial)
            pairs = list(zip(found, listed, strict=True))
            _write_manifest(partial, incident, signer, [_manifest_item(*p) for p in pairs], keys)
            (partial / "VERIFY.txt").write_text(verify_text(entries, signer), encoding="utf-8")
            known = {
                _package_path(row): row["sha256"]
                for item, rows in pairs
                if not item.in_place
                for row in rows
            }
            _write_sums(partial, known)
            if out.exists():
                out.rmdir()
            os.rename(partial, out)
    except OSError as exc:
        raise EvidenceError(f"cannot write the package {out}: {exc.strerror}") from exc
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    if tar is not None:
        with tarfile.open(tar, "w") as archive:
            archive.add(out, arcname=out.name)
    return Exported(out, tar, len(found), sum(len(rows) for rows in listed), len(entries))


def _copy_item(
    conn: Any, item: ItemView, package: Path, progress: Callable[[int], None] | None
) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(EvidenceFile).where(EvidenceFile.item_id == item.id).order_by(EvidenceFile.path)
    ).all()
    listed: list[dict[str, Any]] = []
    for row in rows:
        rel: bytes = row.path
        entry: dict[str, Any] = {
            "path": f"items/{item.label}/" + rel.decode(errors="backslashreplace"),
            "size": row.size,
            "mtime_ns": row.mtime_ns,
            "ctime_ns": row.ctime_ns,
            "sha256": row.sha256,
            "sha1": row.sha1,
            "md5": row.md5,
        }
        if not _is_utf8(rel):
            entry["path_hex"] = (f"items/{item.label}/".encode() + rel).hex()
        listed.append(entry)
        if item.in_place:
            continue  # too large to copy: recorded with its hashes, checked where it lies
        target = os.path.join(os.fsencode(package / "items" / item.label), rel)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with opened(os.path.join(os.fsencode(item.content_root), rel)) as src:
            out = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
            try:
                digests, _ = hash_fd(src, copy_to=out, progress=progress)
                os.fsync(out)
            except ReadError as exc:
                shown = rel.decode(errors="backslashreplace")
                raise EvidenceError(f"{item.label}: cannot read {shown}: {exc.strerror}") from exc
            finally:
                os.close(out)
        if digests != Digests(row.sha256, row.sha1, row.md5):
            raise EvidenceError(
                f"{item.label}: {rel.decode(errors='backslashreplace')} changed in the locker",
                hint=f"run: rempart evidence verify --incident {item.incident}",
            )
        os.utime(target, ns=(row.mtime_ns, row.mtime_ns))
    return listed


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode()
    except UnicodeDecodeError:
        return False
    return True


def _manifest_item(item: ItemView, files: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "label": item.label,
        "uid": item.uid,
        "description": item.description,
        "kind": item.kind,
        "included": not item.in_place,
        "source": {"host": item.source_host, "path": item.source_path},
        "size": item.size,
        "digests": {"sha256": item.sha256, "sha1": item.sha1, "md5": item.md5},
        "acquired_by": item.acquired_by,
        "acquired_at": item.acquired_at,
        "custody": {"entries": 0, "head": None},  # filled once the export entry is in
        "files": files,
    }


def _write_custody(conn: Any, found: list[ItemView], package: Path) -> list[dict[str, Any]]:
    lines: list[dict[str, Any]] = []
    for item in found:
        folder = package / "custody" / item.label
        folder.mkdir(parents=True)
        for e in _custody.entries(conn, item.id):
            stem = f"custody/{item.label}/{e.seq:04d}"
            (package / f"{stem}.bin").write_bytes(e.payload)
            (package / f"{stem}.sig").write_bytes(e.signature)
            fields = e.fields
            lines.append(
                {
                    "item": item.label,
                    "seq": e.seq,
                    "payload": e.payload.decode(),
                    "hash": e.entry_hash,
                    "key": e.key_fingerprint,
                    "by": fields["by"],
                    "signature": e.signature.hex(),
                    "bin": f"{stem}.bin",
                    "sig": f"{stem}.sig",
                }
            )
    with open(package / "custody.jsonl", "w", encoding="utf-8") as out:
        for line in lines:
            out.write(json.dumps(line, ensure_ascii=False, sort_keys=True) + "\n")
    return lines


def _write_keys(engine: Engine, package: Path) -> list[dict[str, str]]:
    (package / "keys").mkdir()
    keys = []
    for fp, key in sorted(public_keys(engine).items(), key=lambda kv: kv[1].name):
        (package / "keys" / f"{key.name}.pem").write_text(key.pem, encoding="ascii")
        keys.append({"name": key.name, "fingerprint": fp, "file": f"keys/{key.name}.pem"})
    return keys


def _write_manifest(
    package: Path,
    incident: str,
    signer: Signer,
    manifest_items: list[dict[str, Any]],
    keys: list[dict[str, str]],
) -> None:
    heads: dict[str, tuple[int, str]] = {}
    with open(package / "custody.jsonl", encoding="utf-8") as log:
        for line in log:
            entry = json.loads(line)
            heads[entry["item"]] = (entry["seq"] + 1, entry["hash"])
    for item in manifest_items:
        item["custody"]["entries"], item["custody"]["head"] = heads[item["label"]]
    manifest = {
        "format": FORMAT,
        "version": 1,
        "incident": incident,
        "exported_at": _custody.now(),
        "exported_by": signer.name,
        "exporter_key": signer.fingerprint,
        "items": manifest_items,
        "keys": keys,
    }
    data = json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True).encode() + b"\n"
    (package / "manifest.json").write_bytes(data)
    (package / "manifest.json.sig").write_bytes(signer.sign(data))


def _package_path(row: dict[str, Any]) -> bytes:
    return bytes.fromhex(row["path_hex"]) if "path_hex" in row else str(row["path"]).encode()


def _write_sums(package: Path, known: dict[bytes, str]) -> None:
    """SHA256SUMS in GNU format, names as raw bytes (escaped the GNU way where needed).

    Args:
        known: the SHA-256 of the items' files, checked while they were copied.
    """
    lines = []
    root = os.fsencode(package)
    for folder, dirs, names in os.walk(root):
        dirs.sort()
        for name in sorted(names):
            path = os.path.join(folder, name)
            rel = os.path.relpath(path, root)
            if rel == b"SHA256SUMS":
                continue
            sha256 = known.get(rel)
            if sha256 is None:
                with opened(path) as fd:
                    sha256 = sha256_fd(fd)
            if b"\\" in rel or b"\n" in rel:
                escaped = rel.replace(b"\\", b"\\\\").replace(b"\n", b"\\n")
                lines.append(b"\\" + sha256.encode() + b"  " + escaped + b"\n")
            else:
                lines.append(sha256.encode() + b"  " + rel + b"\n")
    (package / "SHA256SUMS").write_bytes(b"".join(lines))
