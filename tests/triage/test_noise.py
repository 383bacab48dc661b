"""Noise chunks inside text: found where encryption left them, absent from clean text."""

from __future__ import annotations

import random

from rempart.triage._noise import CHUNK, find_noise
from rempart.triage.sample import from_bytes

RNG = random.Random(11)
TEXT = ("Le conseil municipal, réuni le 3 mars, approuve le budget primitif. " * 400).encode()


def _chunked(data: bytes, every: int, size: int) -> bytes:
    out = bytearray(data)
    for start in range(0, len(out) - size, every):
        out[start : start + size] = RNG.randbytes(size)
    return bytes(out)


def test_clean_text_has_no_noise() -> None:
    assert find_noise(from_bytes(TEXT, "cr.txt")) is None
    latin1 = "Délibération n°12 : « adoptée » – €".encode("cp1252") * 500  # noqa: RUF001  # cp1252 letters
    assert find_noise(from_bytes(latin1, "cr.txt")) is None


def test_akira_like_chunks_are_found() -> None:
    damaged = _chunked(TEXT, every=4096, size=512)  # 12.5% in small chunks
    noise = find_noise(from_bytes(damaged, "cr.txt"))
    assert noise is not None and noise.noisy >= len(TEXT) // 4096
    assert "binary noise inside a text file" in noise.describe()


def test_a_stray_control_byte_is_not_noise() -> None:
    stray = bytearray(TEXT)
    stray[100] = 0  # one NUL: an editor's accident, not encryption
    stray[5000] = 0x07
    assert find_noise(from_bytes(bytes(stray), "cr.txt")) is None


def test_damaged_and_degenerate_inputs() -> None:
    assert find_noise(from_bytes(b"", "empty.txt")) is None
    assert find_noise(from_bytes(b"\x00" * (CHUNK - 1), "short.txt")) is None
    noise = find_noise(from_bytes(RNG.randbytes(10_000), "all-noise.txt"))
    assert noise is not None and noise.throughout
