"""False positives a review found: random content where nothing says it should not be.

Each repro below was called `encrypted` or `partially_encrypted` by the per-file verdict.
Random content alone proves nothing (classify's principle); these files are intact formats
with random fields (hashes, compressed data) or texts that carry control bytes.
"""

from __future__ import annotations

import io
import random
import re
import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from rempart.triage._noise import find_noise
from rempart.triage.classify import classify_bytes
from rempart.triage.formats import identify
from rempart.triage.sample import from_bytes
from rempart.triage.verdicts import DAMAGED, Verdict

GIT = shutil.which("git")
needs_git = pytest.mark.skipif(GIT is None, reason="git is not installed")


def _log_text(size: int, seed: int = 3) -> bytes:
    rng = random.Random(seed)
    lines, total = [], 0
    while total < size:
        line = f"2026-01-05 10:{rng.randrange(60):02d}:{rng.randrange(60):02d} INFO worker "
        line += f"{rng.randrange(64)} did batch {rng.randrange(10**6)} in {rng.random():.3f}s\n"
        lines.append(line)
        total += len(line)
    return "".join(lines).encode()[:size]


def _git(repo: Path, *args: str) -> None:
    assert GIT is not None
    env = {"GIT_CONFIG_NOSYSTEM": "1", "HOME": str(repo), "PATH": "/usr/bin:/bin"}
    ident = ["-c", "user.name=t", "-c", "user.email=t@example.org", "-c", "gc.auto=0"]
    subprocess.run([GIT, "-C", str(repo), *ident, *args], check=True, env=env, capture_output=True)


def _git_repo(root: Path, files: int, seed: int) -> Path:
    """A small repository of source-like files, committed and packed (`git gc`)."""
    rng = random.Random(seed)
    root.mkdir()
    _git(root, "init", "-q")
    for i in range(files):
        body = "".join(rng.choice("abcdefghij ()=\n") for _ in range(rng.randint(2000, 20000)))
        (root / f"f{i}.py").write_text(body)
    _git(root, "add", ".")
    _git(root, "commit", "-qm", "import")
    _git(root, "gc", "-q")
    return root


# --- 1. an intermittent pattern without a reason: records with a random field ---------------


def _records() -> bytes:
    """Fixed 64-byte records: a 16-byte random id, then 48 bytes of structure."""
    rng = random.Random(7)
    return b"".join(
        rng.randbytes(16) + (b"ENTRY %06d " % i).ljust(40, b"\0") + i.to_bytes(8, "little")
        for i in range(8000)
    )


def test_records_with_a_random_field_are_at_most_suspicious() -> None:
    result = classify_bytes(_records(), "cache.idx")
    assert result.verdict is Verdict.SUSPICIOUS, result.evidence
    assert any("intermittent pattern" in e for e in result.evidence)
    assert any("nothing says it should not be random" in e for e in result.evidence)


@pytest.mark.parametrize("name", ["cache.txt", "rapport.docx.locked"])
def test_records_under_a_name_that_says_structured_stay_encrypted(name: str) -> None:
    result = classify_bytes(_records(), name)
    assert result.verdict is Verdict.ENCRYPTED, result.evidence


@needs_git
def test_a_git_index_is_not_encrypted(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    for i in range(200):
        (repo / f"f{i}.py").write_text(f"print({i})\n")
    _git(repo, "add", ".")
    result = classify_bytes((repo / ".git" / "index").read_bytes(), "index")
    assert result.verdict not in DAMAGED, result.evidence


# --- 2. a random first block without a reason: a git pack --------------------------------


@needs_git
def test_a_git_pack_is_not_partially_encrypted(tmp_path: Path) -> None:
    repo = _git_repo(tmp_path / "repo", files=40, seed=1)
    packs = sorted((repo / ".git" / "objects" / "pack").glob("*.pack"))
    assert packs
    for pack in packs:
        result = classify_bytes(pack.read_bytes(), pack.name)
        assert result.verdict not in DAMAGED, result.evidence


def test_random_blocks_with_a_reason_stay_partial() -> None:
    data = bytearray(_log_text(300_000))
    data[:8192] = random.Random(2).randbytes(8192)
    result = classify_bytes(bytes(data), "journal.log")
    assert result.verdict is Verdict.PARTIALLY_ENCRYPTED, result.evidence


# --- 3. control bytes that texts do carry are not noise ---------------------------------


def _ansi_log(lines: int) -> bytes:
    """A terminal capture: titles ended by BEL, colours, progress redrawn with backspaces."""
    rng = random.Random(4)
    out = []
    for i in range(lines):
        out.append(f"\x1b]0;build {i}\x07\x07\x1b[1;32m[ OK ]\x1b[0m step {i}\x07\x07 ")
        out.append("progress " + "\b" * 4 + f"{rng.randrange(100):3d}%\x07\x07\r\n")
    return "".join(out).encode()


def _man_page(lines: int) -> bytes:
    """`man ls > ls.txt`: bold as x<BS>x, underline as _<BS>x."""
    out = []
    for i in range(lines):
        out.append(re.sub(r"(\w)", "\\1\b\\1", f"NAME ls - list directory contents {i}") + "\n")
        out.append("       " + re.sub(r"(\w)", "_\b\\1", "file") + " is listed in order\n")
        out.append("       some plain text describing the options of the command\n")
    return "".join(out).encode()


TEXTS_WITH_CONTROLS = {
    "padded.log": _log_text(200_000) + b"\0" * 65536,
    "short-padded.log": _log_text(3000) + b"\0" * 300,
    "terminal.log": _ansi_log(3000),
    "ls.txt": _man_page(800),
}


@pytest.mark.parametrize("name", TEXTS_WITH_CONTROLS)
def test_control_bytes_of_texts_are_not_noise(name: str) -> None:
    data = TEXTS_WITH_CONTROLS[name]
    assert find_noise(from_bytes(data, name)) is None
    result = classify_bytes(data, name)
    assert result.verdict not in DAMAGED, result.evidence


def test_noise_throughout_is_a_share_of_chunks_not_of_regions() -> None:
    # A small file is sampled whole: one region. Noise in its head only is not throughout.
    data = bytearray(_log_text(24_000))
    data[:4096] = random.Random(5).randbytes(4096)
    noise = find_noise(from_bytes(bytes(data), "journal.log"))
    assert noise is not None and not noise.throughout
    assert noise.regions == 1
    result = classify_bytes(bytes(data), "journal.log")
    assert result.verdict is Verdict.PARTIALLY_ENCRYPTED, result.evidence


@pytest.mark.parametrize("size", [100, 2000, 20_000])
def test_small_random_text_is_noise_throughout(size: int) -> None:
    noise = find_noise(from_bytes(random.Random(size).randbytes(size), "note.txt"))
    assert noise is not None and noise.throughout


# --- 4. compressed TIFF (and camera RAW built on TIFF) -----------------------------------


def _photo_tiff(compression: str | None) -> bytes:
    rng = np.random.default_rng(1)
    x = np.linspace(0, 255, 1024)
    grey = (np.add.outer(x, x) / 2 + rng.normal(0, 12, (1024, 1024))).clip(0, 255)
    img = Image.fromarray(np.stack([grey, grey[::-1], grey.T], -1).astype(np.uint8))
    buf = io.BytesIO()
    if compression is None:
        img.save(buf, "TIFF")
    else:
        img.save(buf, "TIFF", compression=compression)
    return buf.getvalue()


@pytest.mark.parametrize("name", ["photo.tif", "IMG_0001.nef", "IMG_0001.dng"])
def test_deflate_tiff_is_intact(name: str) -> None:
    data = _photo_tiff("tiff_deflate")
    check = identify(from_bytes(data, name))
    assert check is not None and check.valid and check.dense
    result = classify_bytes(data, name)
    assert (result.verdict, result.format) == (Verdict.INTACT, "tiff"), result.evidence


def _raw_with_sub_ifd(compression: int) -> bytes:
    """A camera RAW's layout: a plain 16x16 thumbnail in IFD0, the sensor data (random here,
    as compressed data looks) in a SubIFD (tag 330) with its own compression."""

    def ifd(entries: list[tuple[int, int, int]]) -> bytes:  # (tag, type, value), count 1
        body = b"".join(struct.pack("<HHII", t, ft, 1, v) for t, ft, v in entries)
        return struct.pack("<H", len(entries)) + body + b"\0\0\0\0"

    thumb_at, sub_at, data_at, size = 8 + 78, 8 + 78 + 256, 8 + 78 + 256 + 66, 1 << 20
    ifd0 = ifd(
        [
            (256, 3, 16),
            (257, 3, 16),
            (259, 3, 1),
            (273, 4, thumb_at),
            (279, 4, 256),
            (330, 4, sub_at),
        ]
    )
    sub = ifd(
        [(256, 3, 1024), (257, 3, 1024), (259, 3, compression), (273, 4, data_at), (279, 4, size)]
    )
    head = b"II*\0" + struct.pack("<I", 8) + ifd0 + bytes(range(256)) + sub
    assert len(head) == data_at
    return head + random.Random(8).randbytes(size)


def test_raw_with_compressed_sub_ifd_is_intact() -> None:
    data = _raw_with_sub_ifd(compression=34713)  # Nikon's compressed NEF
    check = identify(from_bytes(data, "DSC_0001.nef"))
    assert check is not None and check.valid and check.dense, check
    result = classify_bytes(data, "DSC_0001.nef")
    assert result.verdict is Verdict.INTACT, result.evidence


def test_uncompressed_tiff_with_random_blocks_stays_partial() -> None:
    data = bytearray(_photo_tiff(None))
    check = identify(from_bytes(bytes(data), "plan.tif"))
    assert check is not None and check.valid and not check.dense
    data[380_000:760_000] = random.Random(6).randbytes(380_000)  # pixel data only
    result = classify_bytes(bytes(data), "plan.tif")
    assert result.verdict is Verdict.PARTIALLY_ENCRYPTED, result.evidence


# --- 5. an intact verdict always says why -----------------------------------------------


@pytest.mark.parametrize(
    ("data", "said"),
    [
        (bytes(range(20)), "too small to sample"),
        (b"".join(i.to_bytes(4, "little") + b"\0" * 12 + b"REC" for i in range(5000)), "random"),
    ],
)
def test_intact_unknown_data_has_evidence(data: bytes, said: str) -> None:
    result = classify_bytes(data, "a.dat")
    assert (result.verdict, result.format) == (Verdict.INTACT, "data")
    assert result.evidence and any(said in e for e in result.evidence), result.evidence
