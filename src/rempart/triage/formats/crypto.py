"""Containers encrypted by their owner: OpenPGP messages (binary and armored) and KeePass KDBX.

Their content is random by design, so the structure around it is what must hold: packet
lengths that add up, armor whose CRC24 checks, a KDBX header whose SHA-256 matches.
"""

from __future__ import annotations

import binascii
import hashlib
import re
import struct
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from rempart.triage.formats._base import VALIDATORS, FormatCheck
from rempart.triage.formats._checks import Damaged, guarded, need, trailer
from rempart.triage.sample import Sample, from_bytes

_ENCRYPTED_DATA = {9, 18, 20}  # SED, SEIPD, AEAD
_MESSAGE_TAGS = {1, 3, *_ENCRYPTED_DATA}
# Versions a packet body starts with (RFC 4880 and 9580); SED (9) has no version octet.
_VERSIONS = {1: {3, 6}, 3: {4, 5, 6}, 18: {1, 2}, 20: {1}}
_CHUNKS = 1 << 18  # partial-length chunks walked at most
_ARMOR = re.compile(
    rb"-----BEGIN PGP MESSAGE-----\r?\n(?:[^\r\n]+\r?\n)*?\r?\n"  # armor headers, blank line
    rb"([A-Za-z0-9+/=\r\n]*?)(?:\r?\n=([A-Za-z0-9+/]{4}))?\r?\n-----END PGP MESSAGE-----"
)
_KDBX = struct.pack("<II", 0x9AA2D903, 0xB54BFB67)
_ARMOR_MAX = 3 * 1024 * 1024  # armored messages decoded whole up to this size


def _peek(sample: Sample, pos: int, what: str) -> bytes:
    """Up to 6 bytes at `pos` (a packet header or a length), at least one."""
    buf = sample.read(pos, 6)
    if not buf:
        raise Damaged(f"pgp: {what} at offset {pos} runs past the end of the file")
    return buf


def _header(sample: Sample, pos: int) -> tuple[int, int, int, bool]:
    """(tag, body offset, body length or -1 for "to the end", partial) of the packet at pos."""
    first = _peek(sample, pos, "packet header")
    ctb = first[0]
    if not ctb & 0x80:
        raise Damaged(f"pgp: byte {ctb:#04x} at offset {pos} is not a packet header")
    if not ctb & 0x40:  # old format: length type in the two low bits
        kind = ctb & 3
        if kind == 3:
            return (ctb >> 2) & 0xF, pos + 1, -1, False
        width = (1, 2, 4)[kind]
        return (ctb >> 2) & 0xF, pos + 1 + width, int.from_bytes(first[1 : 1 + width], "big"), False
    length, body, partial = _new_length(first, 1)
    return ctb & 0x3F, pos + body, length, partial


def _new_length(buf: bytes, at: int) -> tuple[int, int, bool]:
    """(length, offset after the length octets, partial) of a new-format length at `at`."""
    o1 = buf[at]
    if o1 < 192:
        return o1, at + 1, False
    if o1 < 224:
        return ((o1 - 192) << 8) + buf[at + 1] + 192, at + 2, False
    if o1 == 255:
        return int.from_bytes(buf[at + 1 : at + 5], "big"), at + 5, False
    return 1 << (o1 & 0x1F), at + 1, True


def _walk_pgp(sample: Sample) -> FormatCheck:
    pos, tags = 0, list[int]()
    while pos < sample.size:
        tag, body, length, partial = _header(sample, pos)
        if tag not in _MESSAGE_TAGS:
            # A message is session keys then one encrypted data packet: anything else here
            # is damaged data read as a header (random bytes often look like one).
            where = "first packet" if not tags else f"packet at offset {pos}"
            raise Damaged(f"pgp: {where} has tag {tag}, not a session key or encrypted data")
        version = sample.read(body, 1)
        if tag in _VERSIONS and (not version or version[0] not in _VERSIONS[tag]):
            raise Damaged(f"pgp: packet with tag {tag} at offset {pos} has an unknown version")
        tags.append(tag)
        if length < 0:
            if tag not in _ENCRYPTED_DATA:
                # Only the last, encrypted data packet may run "to the end of the file".
                raise Damaged(f"pgp: packet with tag {tag} at offset {pos} has no length")
            pos = sample.size
            break
        pos = body + length
        for _ in range(_CHUNKS):
            if not partial:
                break
            length, after, partial = _new_length(_peek(sample, pos, "chunk length"), 0)
            pos += after + length
        if partial:
            note = (f"pgp: more than {_CHUNKS} body chunks, walk stopped at offset {pos}",)
            return FormatCheck("pgp", True, note, tag in _ENCRYPTED_DATA, dense=True)
        if pos > sample.size:
            raise Damaged(f"pgp: packet with tag {tag} at offset {body} runs past the end")
        if tag in _ENCRYPTED_DATA:
            break  # an encrypted message ends with its one encrypted data packet
    if sample.size - pos > pos:
        # More unknown bytes than packets: the walk went astray in damaged data.
        raise Damaged(f"pgp: packets end at offset {pos}, {sample.size - pos} unknown bytes follow")
    locked = any(t in _ENCRYPTED_DATA for t in tags)
    if not locked:
        raise Damaged("pgp: session keys but no encrypted data packet")
    evidence = trailer("pgp", pos, sample.size, "end of message")
    return FormatCheck("pgp", True, evidence, locked, dense=True, end=pos)


@lru_cache(maxsize=1)
def _crc24_tables() -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.uint32]]:
    """Per-position byte tables for 256-byte blocks, and the 3 tables that skip one block."""
    crc = np.arange(256, dtype=np.uint32) << 16
    for _ in range(8):
        crc = np.where(crc & 0x800000, (crc << 1) ^ 0x864CFB, crc << 1) & 0xFFFFFF
    table = np.empty((256, 256), dtype=np.uint32)  # table[k][b]: byte b followed by k zeros
    table[0] = crc
    for k in range(1, 256):
        table[k] = ((table[k - 1] << 8) & 0xFFFFFF) ^ crc[table[k - 1] >> 16]
    skip = np.empty((3, 256), dtype=np.uint32)  # skip[i][b]: state b << 8i after 256 zeros
    for i in range(3):
        state = np.arange(256, dtype=np.uint32) << (8 * i)
        for _ in range(256):
            state = ((state << 8) & 0xFFFFFF) ^ crc[state >> 16]
        skip[i] = state
    return table, skip


def crc24(data: bytes) -> int:
    """OpenPGP CRC-24 (RFC 4880 6.1), 256 bytes at a time in numpy."""
    table, skip = _crc24_tables()
    head = len(data) % 256  # fed byte by byte (fewer than 256), the rest a block at a time
    first = table[0].tolist()
    state = 0xB704CE
    for byte in data[:head]:
        state = ((state << 8) & 0xFFFFFF) ^ first[(state >> 16) ^ byte]
    blocks = np.frombuffer(data, dtype=np.uint8, offset=head).reshape(-1, 256)
    partial = np.bitwise_xor.reduce(table[np.arange(255, -1, -1), blocks], axis=1)
    low, mid, high = skip.tolist()
    for value in partial.tolist():
        state = low[state & 0xFF] ^ mid[(state >> 8) & 0xFF] ^ high[state >> 16] ^ value
    return int(state)


def _armored(sample: Sample) -> FormatCheck:
    if sample.size > _ARMOR_MAX:
        if b"-----END PGP MESSAGE-----" not in sample.tail:
            raise Damaged("pgp: no END PGP MESSAGE line in the last 64 KiB (truncated?)")
        note = ("pgp: large armored message, only its start and end checked",)
        return FormatCheck("pgp", True, note, True, dense=True)
    text = sample.read(0, sample.size)
    match = _ARMOR.search(text)
    if match is None:
        raise Damaged("pgp: armored message has no well-formed body between BEGIN and END lines")
    try:
        packets = binascii.a2b_base64(re.sub(rb"\s+", b"", match.group(1)), strict_mode=True)
        crc = binascii.a2b_base64(match.group(2)) if match.group(2) else None
    except binascii.Error as exc:
        raise Damaged(f"pgp: armored body does not decode as base64 ({exc})") from None
    if crc is not None and int.from_bytes(crc, "big") != crc24(packets):
        raise Damaged(f"pgp: armor CRC24 at offset {match.start(2)} does not match the body")
    inner = _walk_pgp(from_bytes(packets))
    if inner.end != len(packets):
        raise Damaged("pgp: armored packets do not add up to the decoded body")
    end = match.end() + (2 if text[match.end() : match.end() + 2] == b"\r\n" else 1)
    end = min(end, sample.size) if text[end:].strip() else sample.size
    evidence = trailer("pgp", end, sample.size, "end of message")
    return FormatCheck("pgp", True, evidence, inner.owner_encrypted, True, end)


def _kdbx(sample: Sample) -> FormatCheck:
    head = sample.head
    minor, major = struct.unpack_from("<HH", head, 8)
    if major not in (2, 3, 4):
        raise Damaged(f"kdbx: version {major}.{minor} at offset 8 is unknown")
    pos, width = 12, (4 if major >= 4 else 2)
    fields: dict[int, bytes] = {}
    while True:
        if pos + 1 + width > len(head):
            raise Damaged(f"kdbx: header runs past offset {pos} without its end field")
        kind = head[pos]
        size = int.from_bytes(head[pos + 1 : pos + 1 + width], "little")
        if kind > 12:
            raise Damaged(f"kdbx: unknown header field {kind} at offset {pos}")
        fields[kind] = head[pos + 1 + width : pos + 1 + width + size]
        pos += 1 + width + size
        if kind == 0:
            break
    if len(fields.get(2, b"")) != 16 or len(fields.get(4, b"")) != 32:
        raise Damaged("kdbx: cipher id or master seed field missing or of the wrong size")
    if major < 4:
        return FormatCheck("kdbx", True, (), True, dense=True)
    stored = need(sample, pos, 64, "kdbx: header hash")
    if stored[:32] != hashlib.sha256(head[:pos]).digest():
        raise Damaged(f"kdbx: header SHA-256 at offset {pos} does not match the header")
    pos += 64
    for _ in range(1 << 16):  # HMAC blocks: 32-byte HMAC, 4-byte size, data; size 0 ends
        (size,) = struct.unpack_from("<I", need(sample, pos + 32, 4, "kdbx: block header"))
        pos += 36 + size
        if size == 0 or pos > sample.size:
            break
    if pos > sample.size:
        raise Damaged(f"kdbx: last data block runs past the end of the file (to {pos})")
    return FormatCheck(
        "kdbx",
        True,
        trailer("kdbx", pos, sample.size, "end of database"),
        True,
        dense=True,
        end=pos,
    )


def _sniff_binary(sample: Sample) -> bool:
    """A first packet that is a session key (v3 PKESK, v4-6 SKESK) or encrypted data packet."""
    head = sample.head
    if len(head) < 4 or not head[0] & 0x80:
        return False
    try:
        tag, body, length, _partial = _header(sample, 0)
    except (Damaged, IndexError):
        return False
    if tag not in _MESSAGE_TAGS or body >= len(head) or length > sample.size:
        return False
    version = head[body]
    return (tag, version) in {(1, 3), (1, 6), (3, 4), (3, 5), (3, 6), (18, 1), (18, 2), (20, 1)}


class PgpValidator:
    """OpenPGP encrypted messages, binary or ASCII-armored."""

    name = "pgp"

    def sniff(self, sample: Sample) -> bool:
        if sample.head.lstrip()[:27] == b"-----BEGIN PGP MESSAGE-----":
            return True
        return _sniff_binary(sample)

    def validate(self, sample: Sample) -> FormatCheck:
        if b"-----BEGIN PGP MESSAGE-----" in sample.head[:1024]:
            return guarded("pgp", lambda: _armored(sample), dense=True)
        return guarded("pgp", lambda: _walk_pgp(sample), dense=True)


class KdbxValidator:
    """KeePass 2.x databases (KDBX 3.1 and 4)."""

    name = "kdbx"

    def sniff(self, sample: Sample) -> bool:
        return sample.head[:8] == _KDBX

    def validate(self, sample: Sample) -> FormatCheck:
        if sample.head[:8] != _KDBX:
            return FormatCheck("kdbx", False, ("kdbx: no signature at offset 0",), dense=True)
        return guarded("kdbx", lambda: _kdbx(sample), dense=True)


VALIDATORS.add("pgp", PgpValidator())
VALIDATORS.add("kdbx", KdbxValidator())
