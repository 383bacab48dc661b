"""Conclusions across the tree: campaigns of renamed random files, notes next to damaged files,
and family priority (marker, then note, then an extension only one family uses)."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest

from rempart.store import open_store
from rempart.triage import export, scanner

NOTE = """YOUR FILES ARE ENCRYPTED by LockBit.
All your important files, documents, databases have been encrypted and stolen.
To decrypt them you must buy our decryptor. Do not rename or modify encrypted files.
Download Tor Browser and visit our site, write to our support chat.
If you do not pay within 72 hours, your data will be published on our leak site.
Your personal ID: 4F2A9C0D11E34B7A
"""


def _scan(tmp_path: Path, root: Path) -> dict[str, dict]:
    engine = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    run = scanner.scan(engine, root, options=scanner.ScanOptions(workers=1, hash="none"))
    out = tmp_path / "scan.jsonl"
    export.write_jsonl(engine, run.scan_id, out)
    return {r["path"]: r for r in map(json.loads, out.read_text().splitlines())}


def _photo() -> bytes:
    from PIL import Image

    img = Image.effect_mandelbrot((640, 480), (-2.0, -1.2, 0.8, 1.2), 60).convert("RGB")
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def test_random_files_sharing_an_unfamiliar_extension_are_a_campaign(tmp_path: Path) -> None:
    root = tmp_path / "share"
    root.mkdir()
    (root / "LISEZ-MOI.txt").write_text(NOTE)  # the attack shows itself: a ransom note
    for i in range(6):
        (root / f"A{i}F3K9.x7k2p9").write_bytes(os.urandom(30_000))
    for i in range(2):
        (root / f"cle-{i}.zz9q").write_bytes(os.urandom(30_000))  # too few for a campaign
    for i in range(8):
        (root / f"coffre-{i}.hc").write_bytes(os.urandom(30_000))  # VeraCrypt volumes
    rows = _scan(tmp_path, root)
    campaign = [r for p, r in rows.items() if p.endswith(".x7k2p9")]
    assert {r["verdict"] for r in campaign} == {"encrypted"}
    assert all(any(".x7k2p9" in e for e in r["evidence"]) for r in campaign)
    assert {rows[f"cle-{i}.zz9q"]["verdict"] for i in range(2)} == {"suspicious"}
    assert {rows[f"coffre-{i}.hc"]["verdict"] for i in range(8)} == {"suspicious"}


def test_lost_signature_next_to_a_note_is_damaged_and_takes_its_family(tmp_path: Path) -> None:
    root = tmp_path / "share"
    (root / "finances").mkdir(parents=True)
    (root / "rh").mkdir()
    (root / "finances" / "README_LOCKBIT.txt").write_text(NOTE)
    # Header destroyed, compressed image data left: no signature, nothing random enough.
    photo = _photo()
    damaged = os.urandom(1024) + photo[1024:]
    (root / "finances" / "photo.jpg").write_bytes(damaged)
    (root / "rh" / "photo.jpg").write_bytes(damaged)  # same bytes, no note beside it
    (root / "finances" / "plan.pdf.locked").write_bytes(os.urandom(20_000))
    rows = _scan(tmp_path, root)
    assert rows["finances/README_LOCKBIT.txt"]["verdict"] == "ransom_note"
    assert rows["finances/README_LOCKBIT.txt"]["family"] == "lockbit"
    near = rows["finances/photo.jpg"]
    assert near["verdict"] in ("encrypted", "partially_encrypted"), near["evidence"]
    assert any("ransom note lies in the same folder" in e for e in near["evidence"])
    assert rows["rh/photo.jpg"]["verdict"] == "suspicious"
    assert any("signature lost" in e for e in rows["rh/photo.jpg"]["evidence"])
    # .locked is used by other families too: the note decides
    locked = rows["finances/plan.pdf.locked"]
    assert locked["verdict"] == "encrypted" and locked["family"] == "lockbit"
    assert any("ransom note in finances/" in e for e in locked["evidence"])


@pytest.mark.parametrize("name", ["rapport.docx.x7k2p9"])
def test_no_note_no_family_from_a_shared_extension(tmp_path: Path, name: str) -> None:
    root = tmp_path / "share"
    root.mkdir()
    (root / name).write_bytes(os.urandom(20_000))
    rows = _scan(tmp_path, root)
    assert rows[name]["verdict"] == "encrypted"
    assert rows[name]["family"] is None
