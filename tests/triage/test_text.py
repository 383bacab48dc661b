"""Is it text? Clean text in every common encoding and kind; encrypted blocks make it not."""

from __future__ import annotations

import json
import os
import random

import numpy as np
import pytest

from rempart.triage.sample import from_bytes
from rempart.triage.text import clean, kind, sniff_text

WORDS = ["le", "conseil", "municipal", "a", "voté", "à", "l'unanimité", "budget", "été", "élèves"]


def french(size: int, seed: int = 0) -> str:
    rng = random.Random(seed)
    out = []
    total = 0
    while total < size:
        out.append(" ".join(rng.choice(WORDS) for _ in range(12)).capitalize() + ".\n")
        total += len(out[-1])
    return "".join(out)[:size]


def scramble(data: bytes, mask: np.ndarray) -> bytes:
    arr = np.frombuffer(data, dtype=np.uint8)
    noise = np.frombuffer(os.urandom(arr.size), dtype=np.uint8)
    return np.where(mask, noise, arr).astype(np.uint8).tobytes()


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (french(5000).encode(), "utf-8"),
        (french(5000).encode("cp1252"), "cp1252"),
        ("\ufeff".encode() + french(5000).encode(), "utf-8-sig"),
        ("\ufeff".encode("utf-16-le") + french(5000).encode("utf-16-le"), "utf-16-le"),
        ("\ufeff".encode("utf-16-be") + french(5000).encode("utf-16-be"), "utf-16-be"),
        (french(5000).encode("utf-16-le"), "utf-16-le"),  # no BOM: NULs at odd offsets
        (b"plain ascii log line\n" * 200, "ascii"),
        (b"\x1b[32mOK\x1b[0m service started\n" * 100, "ascii"),  # ANSI colours in logs
    ],
)
def test_clean_text_is_text(data: bytes, encoding: str) -> None:
    info = sniff_text(from_bytes(data))
    assert info is not None
    assert info.encoding == encoding


def test_large_text_is_checked_in_every_sampled_region() -> None:
    data = french(2_000_000).encode()
    assert sniff_text(from_bytes(data)) is not None
    # A 128 KiB encrypted run in the middle: the head is clean but a stride is not.
    hit = bytearray(data)
    hit[900_000:1_031_072] = os.urandom(131_072)
    assert sniff_text(from_bytes(bytes(hit))) is None


def test_utf8_cut_at_the_end_of_the_head_sample_is_still_text() -> None:
    data = ("é" * 40_000 + french(400_000)).encode()
    sample = from_bytes(data)
    assert len(sample.head) == 64 * 1024 and sample.head[-1] >= 0x80
    assert sniff_text(sample) is not None


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"nom;prenom;ville\nDupont;Jean;Lyon\nMartin;Lea;Paris\nDurand;Paul;Nice\n", "csv"),
        (b"id,montant\n1,12.5\n2,13.0\n3,9.99\n", "csv"),
        (b"<!DOCTYPE html>\n<html><body><p>Bonjour</p></body></html>", "html"),
        (b"<?xml version='1.0'?><conf><a>1</a></conf>", "xml"),
        (json.dumps({"commune": "Bréval", "n": [1, 2, 3]}).encode(), "json"),
        (b"From: a@mairie.fr\nTo: b@mairie.fr\nSubject: test\n\nBonjour\n", "eml"),
        (b"{\\rtf1\\ansi Bonjour\\par}", "rtf"),
        (french(3000).encode(), "text"),
    ],
)
def test_kind_sniffing(data: bytes, expected: str) -> None:
    assert kind(data) == expected
    info = sniff_text(from_bytes(data))
    assert info is not None and info.kind == expected


def every(data: bytes, length: int, period: int) -> np.ndarray:
    return np.arange(len(data)) % period < length


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: scramble(d, np.ones(len(d), dtype=bool)),
        lambda d: scramble(d, every(d, 16, 32)),
        lambda d: scramble(d, every(d, 64, 192)),
        lambda d: scramble(d, np.arange(len(d)) < 4096),
        lambda d: scramble(d, (np.arange(len(d)) >= 1000) & (np.arange(len(d)) < 1064)),
    ],
    ids=["whole", "16-of-32", "64-of-192", "head-4k", "64-bytes"],
)
def test_encrypted_blocks_make_text_not_text(damage: object) -> None:
    data = french(50_000).encode()
    assert sniff_text(from_bytes(damage(data))) is None  # type: ignore[operator]


@pytest.mark.parametrize(
    "data",
    [
        b"",
        bytes(5000),
        b"MZ\x90\x00\x03\x00\x00\x00" + bytes(200),
        "\ufeff".encode("utf-16-le") + os.urandom(4000),  # BOM, then garbage
        b"\xef\xbb\xbf" + os.urandom(4000),
        bytes(range(256)) * 20,
    ],
    ids=["empty", "zeros", "pe-header", "utf16-bom-garbage", "utf8-bom-garbage", "all-bytes"],
)
def test_binary_and_damaged_inputs_are_not_text(data: bytes) -> None:
    assert sniff_text(from_bytes(data)) is None


def test_clean_allows_a_few_scattered_controls() -> None:
    text = bytearray(french(20_000).encode())
    for i in range(0, 20_000, 2500):
        text[i] = 0x07  # a stray BEL here and there, not a cluster
    assert clean(bytes(text))
    assert not clean(bytes(text[:1000]) + bytes([1, 2, 3, 4, 5, 6]) + bytes(text[1000:]))
