"""Indicator extraction: every wallet, onion and Tox id is validated before it is reported."""

from __future__ import annotations

import base64
import hashlib
import random
from pathlib import Path

import pytest

from rempart.triage._ioc import extract
from rempart.triage._text import plain_text
from rempart.triage.verdicts import Indicator

NOTES = Path(__file__).resolve().parents[3] / "shared" / "data" / "ransom-notes"
B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def _kinds(text: str, kind: str) -> list[str]:
    return [i.value for i in extract(text) if i.kind == kind]


def _base58check(payload: bytes) -> str:
    raw = payload + hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4]
    number, out = int.from_bytes(raw, "big"), ""
    while number:
        number, digit = divmod(number, 58)
        out = B58[digit] + out
    return "1" * (len(raw) - len(raw.lstrip(b"\0"))) + out


def _onion(key: bytes) -> str:
    check = hashlib.sha3_256(b".onion checksum" + key + b"\x03").digest()[:2]
    return base64.b32encode(key + check + b"\x03").decode().lower() + ".onion"


def _tox(seed: int) -> str:
    body = random.Random(seed).randbytes(36)
    check = bytearray(2)
    for i, byte in enumerate(body):
        check[i % 2] ^= byte
    return (body + bytes(check)).hex().upper()


def test_legacy_bitcoin_addresses_need_a_valid_checksum() -> None:
    genesis = "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"
    p2sh = "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"
    made = _base58check(b"\x00" + bytes(range(20)))
    broken = genesis[:-1] + ("b" if genesis[-1] != "b" else "c")
    text = f"Send 0.5 BTC to {genesis} or {p2sh} or {made}; not {broken}."
    assert _kinds(text, "btc") == [genesis, p2sh, made]


@pytest.mark.parametrize(
    "address",
    [
        "BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4",  # BIP 173, segwit v0
        "bc1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qccfmv3",
        "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",  # BIP 350, taproot
    ],
)
def test_bech32_addresses_are_checked(address: str) -> None:
    assert _kinds(f"wallet: {address}", "btc") == [address]
    damaged = address[:-1] + ("q" if address[-1].lower() != "q" else "p")
    damaged = damaged.upper() if address.isupper() else damaged
    assert _kinds(f"wallet: {damaged}", "btc") == []


def test_mixed_case_bech32_is_refused() -> None:
    assert _kinds("bc1QW508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", "btc") == []


def test_monero_addresses_have_95_characters() -> None:
    address = "4" + "A" + "".join(random.Random(1).choice(B58) for _ in range(93))
    assert _kinds(f"XMR: {address}", "xmr") == [address]
    assert _kinds(f"XMR: {address[:-1]}", "xmr") == []


def test_onion_v3_checksum_and_v2_format() -> None:
    good = _onion(bytes(range(32)))
    bad = good[:10] + ("a" if good[10] != "a" else "b") + good[11:]
    text = f"http://{good}/chat http://{bad}/ and old expyuzz4wqqyqhjn.onion"
    assert _kinds(text, "onion") == [good, "expyuzz4wqqyqhjn.onion"]


def test_tox_and_session_ids() -> None:
    good = _tox(3)
    bad = good[:-2] + ("00" if good[-2:] != "00" else "11")
    session = "05" + "ab" * 32
    text = f"Tox: {good}\nTox (old): {bad}\nSession: {session}"
    assert _kinds(text, "tox") == [good]
    assert _kinds(text, "session") == [session]


def test_emails_victim_ids_deadlines_and_amounts() -> None:
    text = (
        "Write to restore@onionmail.org or Restore@Onionmail.org (logo@2x.png is no address).\n"
        "Your personal ID: 8F3A-22C1-77Q9\n"
        "You have 72 hours; after that the price is $500,000 or 0.5 BTC, 10 jours pour payer."
    )
    found = extract(text)
    assert [i.value for i in found if i.kind == "email"] == ["restore@onionmail.org"]
    assert Indicator("victim_id", "8F3A-22C1-77Q9") in found
    assert {"72 hours", "10 jours"} <= {i.value for i in found if i.kind == "deadline"}
    assert {"$500,000", "0.5 BTC"} <= {i.value for i in found if i.kind == "amount"}


def test_values_are_kept_as_found_in_first_seen_order() -> None:
    onion = _onion(bytes(32))
    text = f"{onion.upper()} then {onion} then again {onion}"
    assert _kinds(text, "onion") == [onion.upper()]


def test_nothing_in_ordinary_text() -> None:
    text = "Le conseil municipal a voté le budget de l'école. Réunion le 12 mars à 18h."
    assert [i for i in extract(text) if i.kind not in ("deadline", "amount")] == []


def test_real_note_wallet() -> None:
    note = NOTES / "ryuk" / "ryuk.txt"
    if not note.is_file():
        pytest.skip(f"reference notes not found at {NOTES} (../shared/data/ransom-notes)")
    text = plain_text(note.read_bytes())
    assert text is not None
    assert _kinds(text, "btc") == ["14hVKm7Ft2rxDBFTNkkRC3kGstMGp2A4hk"]
