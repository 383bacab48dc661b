"""Notes that plain-text sniffing refuses: NUL padding, ASCII-art frames."""

from __future__ import annotations

import os

from rempart.triage.classify import classify_bytes
from rempart.triage.verdicts import Verdict

NOTE = (
    b"YOUR FILES ARE ENCRYPTED!\r\n"
    b"All your documents, databases and backups have been encrypted and your data stolen.\r\n"
    b"To recover them you must pay 2 BTC to bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh\r\n"
    b"Contact us on Tox or through our site on TOR. Do not go to the police.\r\n"
)
FRAME = b"\\" * 120 + b"\r\n"


def _framed(text: bytes) -> bytes:
    """Every line inside backslash art: letters are well under a third of the bytes."""
    lines = [b"\\" * 10 + line + b"\\" * 40 for line in text.splitlines()]
    return (FRAME * 3 + b"\r\n".join(lines) + b"\r\n" + FRAME * 3) * 2


def test_a_note_padded_with_nul_bytes_is_a_note() -> None:
    found = classify_bytes(NOTE + b"\x00" * 4575 + b"\r\n", "How To Restore Your Files.txt")
    assert found.verdict is Verdict.RANSOM_NOTE


def test_a_note_framed_in_ascii_art_is_a_note() -> None:
    data = _framed(NOTE)
    assert sum(chr(b).isalnum() for b in data) < 0.35 * len(data)  # not "wordy" text
    assert classify_bytes(data, "README.txt").verdict is Verdict.RANSOM_NOTE


def test_text_with_nul_padding_is_plain_text() -> None:
    log = b"2026-11-21 03:12:01 backup started\n" * 60 + b"\x00" * 8192 + b"backup done\n" * 20
    found = classify_bytes(log, "backup.log")
    assert found.verdict is Verdict.INTACT and found.evidence == ("clean text (ascii)",)


def test_padding_does_not_hide_an_encrypted_block() -> None:
    # damaged input: a random block between the text and its padding
    log = b"2026-11-21 03:12:01 backup started\n" * 60
    data = log + os.urandom(800) + b"\x00" * 8192 + log
    assert classify_bytes(data, "backup.log").verdict is not Verdict.INTACT


def test_art_without_a_claim_stays_what_it_was() -> None:
    # clean but not wordy, and no ransom claim: not promoted to text, not a note
    data = _framed(b"Joyeux anniversaire Martine\r\nde la part du service technique")
    found = classify_bytes(data, "carte.txt")
    assert found.verdict is not Verdict.RANSOM_NOTE
    assert "clean text" not in " ".join(found.evidence)
