"""Misses found by bench/triage_bench.py, kept as tests so they stay fixed."""

from __future__ import annotations

import io
import random

import pyzipper

from rempart.triage import families
from rempart.triage.classify import classify_bytes
from rempart.triage.verdicts import Verdict

RNG = random.Random(5)


def test_kept_magic_of_a_zip_aes_archive_is_not_owner_encryption() -> None:
    buf = io.BytesIO()
    with pyzipper.AESZipFile(buf, "w", encryption=pyzipper.WZ_AES) as z:
        z.setpassword(b"secret")
        z.writestr("fiche_de_paie.csv", "nom;salaire\n" * 2000)
    owner = buf.getvalue()
    assert classify_bytes(owner, "paie.zip").verdict is Verdict.INTACT
    attacked = owner[:12] + RNG.randbytes(len(owner) - 12)  # flag byte kept, rest encrypted
    result = classify_bytes(attacked, "paie.zip")
    assert result.verdict is Verdict.ENCRYPTED, result.evidence


def test_random_bytes_after_a_pgp_like_byte_are_not_a_pgp_message() -> None:
    for start in (b"\x8f\x04", b"\x87\x03", b"\x8f\x05"):  # SKESK/PKESK, "indeterminate length"
        result = classify_bytes(start + RNG.randbytes(200_000), "budget.docx.locked")
        assert result.verdict is Verdict.ENCRYPTED, (start, result.evidence)


def test_generic_extensions_name_no_family() -> None:
    assert families.by_extension("budget.xlsx.locked") == ()
    assert families.by_extension("budget.xlsx.encrypted") == ()
    assert families.by_extension("budget.xlsx.lockbit")  # a family's own extension still does
