"""build: realistic, deterministic, and every kind really is what it says."""

from __future__ import annotations

import email
import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path

import msoffcrypto
import pikepdf
import py7zr
import pytest
import pyzipper
from PIL import Image

from rempart.exercise import (
    KINDS,
    MARKER,
    OWNER_PASSWORD,
    STATE_DIR,
    ExerciseError,
    Manifest,
    build,
    load_manifest,
    verify,
)


def _first(built: Manifest, kind: str) -> bytes:
    entry = next(e for e in built.entries if e.kind == kind)
    return (built.root / entry.path).read_bytes()


def test_same_seed_same_bytes_in_another_process(built: Manifest, tmp_path: Path) -> None:
    # another interpreter (another hash seed: set and dict orders change) and two workers
    code = (
        "import sys; from pathlib import Path; from rempart.exercise import build; "
        "build(Path(sys.argv[1]), int(sys.argv[2]), 11, workers=2)"
    )
    env = {**os.environ, "PYTHONHASHSEED": "4321"}
    again = tmp_path / "again"
    subprocess.run(
        [sys.executable, "-c", code, str(again), str(len(built.entries))],
        check=True,
        env=env,
        timeout=120,
    )
    assert load_manifest(again) == built.entries
    assert (again / STATE_DIR / "manifest.jsonl").read_bytes() == (
        built.root / STATE_DIR / "manifest.jsonl"
    ).read_bytes()


def test_every_kind_is_present_and_tree_matches_manifest(built: Manifest) -> None:
    assert set(built.kinds()) == set(KINDS)
    assert verify(built.root) == []
    assert load_manifest(built.root) == built.entries
    marker = json.loads((built.root / STATE_DIR / MARKER).read_text())
    assert marker["seed"] == 11 and "practice share" in marker["what"]


def test_french_folders_with_accents_and_years_spread(built: Manifest) -> None:
    tops = {e.path.split("/")[0] for e in built.entries}
    assert {"État civil", "Écoles", "Élus"} & tops
    years = {int(e.path.split("/")[1]) for e in built.entries}
    assert len(years) >= 5
    mtimes = {os.lstat(built.root / e.path).st_mtime_ns for e in built.entries}
    assert len(mtimes) == len(built.entries)


def test_documents_open_with_their_libraries(built: Manifest) -> None:
    import docx
    import openpyxl
    import pptx
    from odf.opendocument import load

    assert "Saint-Martin" in docx.Document(io.BytesIO(_first(built, "docx"))).paragraphs[0].text
    assert openpyxl.load_workbook(io.BytesIO(_first(built, "xlsx"))).active.max_row > 5
    assert len(pptx.Presentation(io.BytesIO(_first(built, "pptx"))).slides) >= 3
    load(io.BytesIO(_first(built, "odt")))
    load(io.BytesIO(_first(built, "ods")))
    with pikepdf.open(io.BytesIO(_first(built, "pdf"))) as pdf:
        assert len(pdf.pages) >= 1
    for kind, fmt in (("jpeg", "JPEG"), ("png", "PNG"), ("gif", "GIF"), ("webp", "WEBP")):
        assert Image.open(io.BytesIO(_first(built, kind))).format == fmt
    assert zipfile.ZipFile(io.BytesIO(_first(built, "zip"))).testzip() is None
    msg = email.message_from_bytes(_first(built, "eml"))
    assert msg["Subject"] and msg["From"]


def test_sqlite_is_a_database(built: Manifest, tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    path.write_bytes(_first(built, "sqlite"))
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT count(*) FROM registre").fetchone()[0] > 0


def test_owner_encrypted_files_need_their_password(built: Manifest, tmp_path: Path) -> None:
    for kind in ("docx-enc", "xlsx-enc"):
        office = msoffcrypto.OfficeFile(io.BytesIO(_first(built, kind)))
        assert office.is_encrypted()
        office.load_key(password=OWNER_PASSWORD)
        out = io.BytesIO()
        office.decrypt(out)
        assert zipfile.ZipFile(out).testzip() is None
    with pytest.raises(pikepdf.PasswordError):
        pikepdf.open(io.BytesIO(_first(built, "pdf-enc")))
    pikepdf.open(io.BytesIO(_first(built, "pdf-enc")), password=OWNER_PASSWORD).close()
    with pyzipper.AESZipFile(io.BytesIO(_first(built, "zip-aes"))) as zf:
        name = zf.namelist()[0]
        with pytest.raises(RuntimeError):
            zf.read(name)
        zf.setpassword(OWNER_PASSWORD.encode())
        assert zf.read(name)
    with pytest.raises(py7zr.exceptions.PasswordRequired):
        py7zr.SevenZipFile(io.BytesIO(_first(built, "7z")))
    with py7zr.SevenZipFile(io.BytesIO(_first(built, "7z")), password=OWNER_PASSWORD) as zf:
        zf.extractall(tmp_path / "7z")
    assert any((tmp_path / "7z").iterdir())
    assert all(e.owner_encrypted == KINDS[e.kind].owner_encrypted for e in built.entries)


@pytest.mark.skipif(shutil.which("gpg") is None, reason="gpg is not installed")
def test_gpg_decrypts_our_openpgp_files(built: Manifest, tmp_path: Path) -> None:
    src = tmp_path / "f.gpg"
    src.write_bytes(_first(built, "gpg"))
    home = tmp_path / "gnupg"
    home.mkdir(mode=0o700)
    out = subprocess.run(
        [
            "gpg",
            "--homedir",
            str(home),
            "--batch",
            "--quiet",
            "--pinentry-mode",
            "loopback",
            "--passphrase",
            OWNER_PASSWORD,
            "--decrypt",
            str(src),
        ],
        capture_output=True,
        check=True,
        timeout=30,
    ).stdout
    assert zipfile.ZipFile(io.BytesIO(out)).testzip() is None  # an encrypted xlsx export


def test_build_refuses_a_folder_that_is_not_empty(tmp_path: Path) -> None:
    (tmp_path / "x.txt").write_text("keep me")
    with pytest.raises(ExerciseError, match="not empty"):
        build(tmp_path, 10, 1)


def test_big_files_take_the_size_asked(tmp_path) -> None:
    from rempart import exercise

    manifest = exercise.build(tmp_path / "share", 20, 3, big=True, big_mb=3)
    sizes = {e.path: e.size for e in manifest.entries}
    assert sizes["archives/sauvegarde-2019.bin"] == 3 * 2**20
    assert 2 * 2**20 < sizes["finances/exports/grand-livre-2023.csv"] < 4 * 2**20
    assert exercise.verify(tmp_path / "share") == []
