"""Archive, document and container validators never raise, whatever was done to the bytes.

Each sample is mutated the ways damage happens (bytes flipped, a range overwritten, bytes
inserted, the file cut short) and every outcome must be a `FormatCheck`; an invalid one must
say why.
"""

from __future__ import annotations

import base64
import bz2
import gzip
import lzma
import random
import struct
from collections.abc import Callable
from functools import cache

import pytest
from _container_samples import check, noise
from backports import zstd
from test_archives import rar4, rar5, seven
from test_crypto import _kdbx
from test_office import SAMPLES as OLE_SAMPLES
from test_office import _compound, locked_ooxml
from test_pdf import report
from test_zipfmt import sample as zip_sample

from rempart.triage.formats import FormatCheck
from rempart.triage.formats.crypto import crc24

_TEXT = b"".join(b"releve %d du compteur d'eau\n" % i for i in range(2000))


def _pgp() -> bytes:
    """A symmetric OpenPGP message by hand: SKESK v4, then SEIPD with partial body lengths."""
    skesk = bytes([0xC3, 13, 4, 9, 3, 2]) + noise(8, seed=1) + bytes([0x60])
    body = b"\x01" + noise(700, seed=2)
    seipd = bytes([0xD2, 0xE9]) + body[:512] + bytes([len(body) - 512]) + body[512:]
    return skesk + seipd


def _armored() -> bytes:
    packets = _pgp()
    text = base64.encodebytes(packets)
    crc = base64.b64encode(crc24(packets).to_bytes(3, "big"))
    return b"-----BEGIN PGP MESSAGE-----\n\n" + text + b"=" + crc + b"\n-----END PGP MESSAGE-----\n"


BUILDERS: dict[str, tuple[str, Callable[[], bytes]]] = {
    "docx": ("zip", lambda: zip_sample("docx")),
    "odt": ("zip", lambda: zip_sample("odt")),
    "pdf": ("pdf", report),
    "ooxml-encrypted": ("ole", locked_ooxml),
    "doc": ("ole", lambda: _compound(OLE_SAMPLES["doc-locked"][0])),
    "xls": ("ole", lambda: _compound(OLE_SAMPLES["xls"][0], 12)),
    "gzip": ("gzip", lambda: gzip.compress(_TEXT)),
    "xz": ("xz", lambda: lzma.compress(_TEXT)),
    "bz2": ("bz2", lambda: bz2.compress(_TEXT)),
    "zstd": ("zstd", lambda: zstd.compress(_TEXT)),
    "7z": ("7z", lambda: seven("secret")),
    "rar4": ("rar", rar4),
    "rar5": ("rar", lambda: rar5(encrypted_file=True)),
    "pgp": ("pgp", _pgp),
    "pgp-armored": ("pgp", _armored),
    "kdbx": ("kdbx", lambda: _kdbx(4)),
}


@cache
def _built(kind: str) -> bytes:
    return BUILDERS[kind][1]()


def _mutations(data: bytes, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    out = []
    for _ in range(15):
        flipped = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            flipped[rng.randrange(len(data))] ^= rng.randint(1, 255)
        out.append(bytes(flipped))
        start = rng.randrange(len(data))
        out.append(data[:start] + noise(rng.randint(16, 4096), seed=start) + data[start + 4096 :])
        out.append(data[:start] + noise(rng.randint(1, 64), seed=start) + data[start:])
        out.append(data[: rng.randrange(len(data))])
    for size in (0, 1, 2, 3, 4, 7, 8, 12, 16, 31, 32, 64):
        out.append(data[:size])
    return out


@pytest.mark.parametrize("kind", sorted(BUILDERS))
def test_validators_never_raise(kind: str) -> None:
    name = BUILDERS[kind][0]
    data = _built(kind)
    assert check(name, data).valid
    for mutated in _mutations(data, seed=len(data)):
        result = check(name, mutated)
        assert isinstance(result, FormatCheck)
        assert result.valid or result.evidence


def test_fuzz_samples_are_real_messages() -> None:
    # The hand-made PGP packets must walk as gpg's do, or the fuzzing above proves nothing.
    assert check("pgp", _pgp()).owner_encrypted
    assert check("pgp", _armored()).owner_encrypted
    assert struct.unpack(">H", _pgp()[:2]) == (0xC30D,)
