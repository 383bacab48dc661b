"""Weak repeating-key XOR: keys recovered from real files, and no key where there is none."""

from __future__ import annotations

import io
import os
import random
import sqlite3
import zipfile
from pathlib import Path

import numpy as np
import pytest

from rempart.triage.sample import from_bytes
from rempart.triage.xor import XorFinding, find_xor

WORDS = ["le", "conseil", "municipal", "a", "voté", "à", "l'unanimité", "budget", "été"]


def french(size: int, seed: int = 0) -> bytes:
    rng = random.Random(seed)
    words = [rng.choice(WORDS) for _ in range(size // 4)]
    return " ".join(words).encode()[:size]


def xor(data: bytes, key: bytes) -> bytes:
    arr = np.frombuffer(data, dtype=np.uint8)
    k = np.frombuffer(key, dtype=np.uint8)
    return (arr ^ np.tile(k, len(data) // len(k) + 1)[: len(data)]).tobytes()


def sqlite_bytes(tmp_path: Path) -> bytes:
    path = tmp_path / "registre.sqlite"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, nom TEXT)")
    con.executemany("INSERT INTO t (nom) VALUES (?)", [(f"habitant {i}",) for i in range(3000)])
    con.commit()
    con.close()
    return path.read_bytes()


def csv_bytes() -> bytes:
    rng = random.Random(3)
    rows = [f"{i};{rng.choice(WORDS)};{rng.random() * 100:.2f}" for i in range(2000)]
    return ("id;nom;montant\n" + "\n".join(rows)).encode()


def pdf_bytes() -> bytes:
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    pdf = canvas.Canvas(buf)
    pdf.drawString(100, 700, "Délibération du conseil municipal")
    pdf.showPage()
    pdf.save()
    return buf.getvalue()


def png_bytes() -> bytes:
    from PIL import Image

    rng = np.random.default_rng(1)
    img = rng.integers(0, 255, (200, 300, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "PNG")
    return buf.getvalue()


def zip_bytes() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("note.txt", french(20_000))
    return buf.getvalue()


KEY = bytes.fromhex("9c3e51a7d20f6b84")


def test_text_key_is_recovered() -> None:
    found = find_xor(from_bytes(xor(french(30_000), KEY)))
    assert found == XorFinding(KEY, "clean text")
    assert found.describe() == "repeating-key XOR, key length 8: decrypts to clean text"


def test_csv_key_is_recovered() -> None:
    found = find_xor(from_bytes(xor(csv_bytes(), KEY)))
    assert found is not None and found.key == KEY


def test_single_byte_key() -> None:
    found = find_xor(from_bytes(xor(french(10_000), b"\xa5")))
    assert found is not None and found.key == b"\xa5"


def test_sqlite_header(tmp_path: Path) -> None:
    found = find_xor(from_bytes(xor(sqlite_bytes(tmp_path), KEY)))
    assert found is not None
    assert found.key == KEY
    assert "SQLite header" in found.describe()


@pytest.mark.parametrize(
    ("build", "fmt"),
    [(pdf_bytes, "pdf"), (png_bytes, "png"), (zip_bytes, "zip")],
)
def test_compressed_formats_by_their_known_header(build: object, fmt: str) -> None:
    data = build()  # type: ignore[operator]
    found = find_xor(from_bytes(xor(data, KEY), f"f.{fmt}"))
    assert found is not None, fmt
    assert found.key == KEY
    assert fmt in found.describe().lower()


@pytest.mark.parametrize("length", [3, 13, 32, 64])
def test_other_key_lengths(length: int) -> None:
    rng = random.Random(length)
    key = bytes(rng.randrange(1, 256) for _ in range(length))
    found = find_xor(from_bytes(xor(french(60_000), key)))
    assert found is not None and found.key == key


@pytest.mark.parametrize(
    "data",
    [os.urandom(50_000), french(20_000), bytes(20_000), b"short"],
    ids=["random", "plain-text", "zeros", "short"],
)
def test_no_key_where_there_is_none(data: bytes) -> None:
    assert find_xor(from_bytes(data)) is None


def test_plain_binary_is_not_xor(tmp_path: Path) -> None:
    assert find_xor(from_bytes(sqlite_bytes(tmp_path))) is None
    assert find_xor(from_bytes(png_bytes())) is None


def test_damaged_xored_file_still_gives_the_key_without_claiming_a_valid_format() -> None:
    # A truncated XORed PNG: the header proves the key only if a validator accepts the result.
    data = xor(png_bytes()[:5000], KEY)
    found = find_xor(from_bytes(data, "f.png"))
    assert found is None or found.key == KEY
