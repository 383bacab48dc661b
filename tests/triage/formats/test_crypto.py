"""OpenPGP (gpg output, binary and armored) and KeePass KDBX validators, damage caught.

No library in the kit writes KDBX, so KDBX 3.1 and 4 files are built here from the format
description: the header fields, and for KDBX 4 the header SHA-256 and the HMAC block stream.
"""

from __future__ import annotations

import hashlib
import shutil
import struct
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from _container_samples import (
    DAMAGE,
    appended,
    assert_damaged,
    assert_trailer,
    assert_valid,
    check,
    noise,
)

from rempart.triage.formats import identify
from rempart.triage.formats.crypto import crc24
from rempart.triage.sample import from_bytes

needs_gpg = pytest.mark.skipif(shutil.which("gpg") is None, reason="no gpg command")
_PLAIN = noise(300_000, seed=11)  # incompressible: gpg writes partial body lengths


@pytest.fixture(scope="module")
def gpg() -> Iterator[dict[str, bytes]]:
    """Messages made by gpg in a throw-away home: symmetric, armored, and to a public key."""
    home = Path(tempfile.mkdtemp(prefix="gpg"))
    base = ["gpg", "--homedir", str(home), "--batch", "--quiet", "--pinentry-mode", "loopback"]

    def run(*args: str, data: bytes = _PLAIN) -> bytes:
        done = subprocess.run([*base, *args], input=data, capture_output=True, check=True)
        return done.stdout

    try:
        symmetric = [
            "--symmetric",
            "--passphrase",
            "x",
            "--compress-algo",
            "none",
            "-o",
            "-",
        ]
        run(
            "--passphrase",
            "",
            "--quick-gen-key",
            "DSI <dsi@mairie.test>",
            "default",
            "default",
            "never",
        )
        yield {
            "binary": run(*symmetric),
            "armored": run("--armor", *symmetric, data=_PLAIN[:20_000]),
            "public-key": run(
                "--trust-model",
                "always",
                "-r",
                "dsi@mairie.test",
                "--encrypt",
                "-o",
                "-",
                data=_PLAIN[:20_000],
            ),
        }
    finally:
        subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "gpg-agent"], check=False)
        shutil.rmtree(home, ignore_errors=True)


def _crc24_reference(data: bytes) -> int:
    crc = 0xB704CE
    for byte in data:
        crc ^= byte << 16
        for _ in range(8):
            crc <<= 1
            if crc & 0x1000000:
                crc ^= 0x1864CFB
    return crc & 0xFFFFFF


@pytest.mark.parametrize("size", [0, 1, 255, 256, 257, 5000])
def test_crc24_matches_the_rfc_algorithm(size: int) -> None:
    data = noise(size)
    assert crc24(data) == _crc24_reference(data)


@needs_gpg
@pytest.mark.parametrize("kind", ["binary", "armored", "public-key"])
def test_gpg_messages_are_valid_and_owner_encrypted(gpg: dict[str, bytes], kind: str) -> None:
    data = gpg[kind]
    result = check("pgp", data)
    assert_valid(result, "pgp", locked=True)
    assert result.dense and result.end == len(data)
    assert identify(from_bytes(data, "pieces.gpg")) == result


@needs_gpg
@pytest.mark.parametrize("kind", ["binary", "armored"])
@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_damaged_gpg_messages_are_invalid(gpg: dict[str, bytes], kind: str, damage: str) -> None:
    assert_damaged(check("pgp", DAMAGE[damage](gpg[kind])))


@needs_gpg
@pytest.mark.parametrize("kind", ["binary", "armored"])
def test_gpg_trailer_is_reported(gpg: dict[str, bytes], kind: str) -> None:
    data = gpg[kind]
    assert_trailer(check("pgp", appended(data)), len(data))


@needs_gpg
def test_armor_crc_and_base64_are_checked(gpg: dict[str, bytes]) -> None:
    data = gpg["armored"]
    lines = data.split(b"\n")
    crc_line = next(i for i, line in enumerate(lines) if line.startswith(b"=") and len(line) == 5)
    body_line = crc_line - 3
    flipped = (
        lines[body_line][:10]
        + (b"A" if lines[body_line][10:11] != b"A" else b"B")
        + lines[body_line][11:]
    )
    broken = b"\n".join([*lines[:body_line], flipped, *lines[body_line + 1 :]])
    result = check("pgp", broken)
    assert_damaged(result)
    assert "CRC24" in result.evidence[0]
    garbled = b"\n".join([*lines[:body_line], b"!!not base64!!", *lines[body_line + 1 :]])
    assert_damaged(check("pgp", garbled))


def _kdbx(major: int, blocks: int = 3) -> bytes:
    width = "<BI" if major == 4 else "<BH"
    fields = [
        (2, bytes.fromhex("31C1F2E6BF714350BE5805216AFC5AFF")),  # AES-256
        (3, struct.pack("<I", 1)),
        (4, noise(32, seed=1)),
        (7, noise(16, seed=2)),
        (11 if major == 4 else 6, noise(60, seed=3)),
        (0, b"\r\n\r\n"),
    ]
    header = struct.pack("<IIHH", 0x9AA2D903, 0xB54BFB67, 0 if major == 4 else 1, major)
    header += b"".join(struct.pack(width, kind, len(value)) + value for kind, value in fields)
    if major < 4:
        return header + noise(16 * 1024, seed=4)
    body = hashlib.sha256(header).digest() + noise(32, seed=5)
    for i in range(blocks):
        block = noise(8192, seed=10 + i)
        body += noise(32, seed=20 + i) + struct.pack("<I", len(block)) + block
    return header + body + noise(32, seed=30) + struct.pack("<I", 0)


@pytest.mark.parametrize("major", [3, 4])
def test_kdbx_is_valid_and_owner_encrypted(major: int) -> None:
    data = _kdbx(major)
    result = check("kdbx", data)
    assert_valid(result, "kdbx", locked=True)
    assert result.dense
    assert identify(from_bytes(data, "coffre.kdbx")) == result


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_damaged_kdbx_is_invalid(damage: str) -> None:
    # KDBX 3.1 has no sizes after its header: only KDBX 4 shows truncation.
    assert_damaged(check("kdbx", DAMAGE[damage](_kdbx(4))))


def test_kdbx_header_hash_is_checked() -> None:
    data = bytearray(_kdbx(4))
    data[60] ^= 0x01  # inside the master seed
    result = check("kdbx", bytes(data))
    assert_damaged(result)
    assert "SHA-256" in result.evidence[0]


def test_kdbx_trailer_is_reported() -> None:
    data = _kdbx(4)
    assert_trailer(check("kdbx", appended(data)), len(data))
