"""Indicators of compromise in ransom notes: wallets, onion sites, contacts, ids, deadlines.

Every candidate is validated where its format allows it (base58check and bech32 checksums
for Bitcoin, the v3 onion checksum, the Tox id checksum): a string that merely looks like a
wallet is not reported as one. Values are kept as found, in order, without duplicates.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Callable, Iterator

from rempart.triage.verdicts import Indicator

_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {c: i for i, c in enumerate(_B58)}
_BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_BECH32_GEN = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
_BECH32_CONSTS = (1, 0x2BC830A3)  # bech32 (segwit v0), bech32m (taproot)

_BTC_LEGACY = re.compile(r"(?<![A-Za-z0-9])[13][1-9A-HJ-NP-Za-km-z]{25,34}(?![A-Za-z0-9])")
_BTC_BECH32 = re.compile(
    r"(?<![A-Za-z0-9])(?:bc1|BC1)[02-9ac-hj-np-zAC-HJ-NP-Z]{11,71}(?![A-Za-z0-9])"
)
_XMR = re.compile(r"(?<![A-Za-z0-9])[48][1-9A-HJ-NP-Za-km-z]{94}(?![A-Za-z0-9])")
_ONION = re.compile(r"(?<![A-Za-z0-9])((?:[a-z2-7]{56}|[a-z2-7]{16})\.onion)(?![A-Za-z0-9])", re.I)
_EMAIL = re.compile(
    r"(?<![\w.+-])[\w.+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})*\.[A-Za-z]{2,12}\b"
)
_TOX = re.compile(r"(?<![0-9A-Fa-f])[0-9A-Fa-f]{76}(?![0-9A-Fa-f])")
_SESSION = re.compile(r"(?<![0-9A-Fa-f])05[0-9a-fA-F]{64}(?![0-9A-Fa-f])")
_VICTIM_ID = re.compile(
    r"\b(?:personal|your|unique|victim|company|login|client|decrypt(?:ion)?|recovery|access)"
    r"[ _-]?(?:id|identifier|key|code|token)\b[^:=\n]{0,12}[:=]\s*"
    r"([A-Za-z0-9][A-Za-z0-9+/=_-]{5,200})",
    re.I,
)
_DEADLINE = re.compile(
    r"\b\d{1,3}\s?(?:hours?|hrs|days?|weeks?|heures?|jours?|semaines?|stunden|tage)\b", re.I
)
_AMOUNT = re.compile(
    r"(?:[$€]\s?\d[\d,. ]*\d(?:\s?(?:k|m|million|millions))?\b)"
    r"|(?:\b\d+(?:[.,]\d+)?\s?(?:btc|bitcoins?|xmr|monero|usdt|usd|eur|euros?|dollars)\b)",
    re.I,
)
_IMAGE_SUFFIX = (".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp")


def _base58check_ok(text: str) -> bool:
    number = 0
    for char in text:
        number = number * 58 + _B58_INDEX[char]
    pad = len(text) - len(text.lstrip("1"))
    try:
        raw = b"\0" * pad + number.to_bytes((number.bit_length() + 7) // 8, "big")
    except OverflowError:
        return False
    if len(raw) != 25 or raw[0] not in (0x00, 0x05):
        return False
    digest = hashlib.sha256(hashlib.sha256(raw[:-4]).digest()).digest()
    return digest[:4] == raw[-4:]


def _bech32_ok(text: str) -> bool:
    if text.lower() != text and text.upper() != text:
        return False
    text = text.lower()
    data = [_BECH32.index(c) for c in text[3:]]
    values = [ord(c) >> 5 for c in "bc"] + [0] + [ord(c) & 31 for c in "bc"] + data
    check = 1
    for value in values:
        top = check >> 25
        check = (check & 0x1FFFFFF) << 5 ^ value
        for i, gen in enumerate(_BECH32_GEN):
            check ^= gen if (top >> i) & 1 else 0
    return check in _BECH32_CONSTS


def _onion_ok(address: str) -> bool:
    label = address[: -len(".onion")].lower()
    if len(label) == 16:
        return True
    try:
        raw = base64.b32decode(label.upper())
    except binascii.Error:
        return False
    key, checksum, version = raw[:32], raw[32:34], raw[34:]
    digest = hashlib.sha3_256(b".onion checksum" + key + version).digest()
    return version == b"\x03" and digest[:2] == checksum


def _tox_ok(text: str) -> bool:
    raw = bytes.fromhex(text)
    check = bytearray(2)
    for i, byte in enumerate(raw[:36]):
        check[i % 2] ^= byte
    return bytes(check) == raw[36:]


def _email_ok(text: str) -> bool:
    return not text.lower().endswith(_IMAGE_SUFFIX)


def _always(_: str) -> bool:
    return True


# (kind, pattern, validator): the order is the order of the report.
_RULES: tuple[tuple[str, re.Pattern[str], Callable[[str], bool]], ...] = (
    ("btc", _BTC_LEGACY, _base58check_ok),
    ("btc", _BTC_BECH32, _bech32_ok),
    ("xmr", _XMR, _always),
    ("onion", _ONION, _onion_ok),
    ("email", _EMAIL, _email_ok),
    ("tox", _TOX, _tox_ok),
    ("session", _SESSION, _always),
    ("victim_id", _VICTIM_ID, _always),
    ("deadline", _DEADLINE, _always),
    ("amount", _AMOUNT, _always),
)


def _candidates(text: str) -> Iterator[Indicator]:
    for kind, pattern, valid in _RULES:
        for match in pattern.finditer(text):
            value = match.group(match.lastindex or 0).strip()
            if valid(value):
                yield Indicator(kind, value)


def extract(text: str) -> tuple[Indicator, ...]:
    """All validated indicators in `text`, as found, first occurrence first, no duplicates.

    A Tox id is 76 hex characters and a Session id 66: the same run of hex is never both.
    """
    seen: dict[tuple[str, str], Indicator] = {}
    for indicator in _candidates(text):
        seen.setdefault((indicator.kind, indicator.value.lower()), indicator)
    return tuple(seen.values())


#: Indicator kinds that ordinary documents practically never contain.
STRONG_KINDS = frozenset({"btc", "xmr", "onion", "tox", "session"})
