"""Files their owner encrypted on purpose: a scan must not call these ransomware.

Password-protected Office (msoffcrypto-tool), PDF (pikepdf, AES-256), ZIP AES (pyzipper),
7z (py7zr) and OpenPGP symmetric files. The libraries draw salts and IVs from the system's
randomness; for the same bytes on every build of a seed, `_seeded_randomness` lends them a
seeded source for the duration of one file. OpenPGP is written here (RFC 4880 SKESK v4 +
SEIPD v1 with MDC, AES-256, iterated and salted S2K) because `gpg --symmetric` cannot be
seeded; `gpg --decrypt` reads it (tested).
"""

# Document libraries are imported where used: `rempart` starts for every command, and only
# `exercise build` needs them.
# ruff: noqa: PLC0415

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import io
import os
import random
import struct
import tempfile
from collections.abc import Iterator
from typing import Any

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms

try:  # OpenPGP's CFB mode moved to the "decrepit" corner of cryptography
    from cryptography.hazmat.decrepit.ciphers.modes import CFB
except ImportError:  # cryptography < 43
    from cryptography.hazmat.primitives.ciphers.modes import CFB

OWNER_PASSWORD = "Mairie-2024!"  # every owner-encrypted file of a practice share uses it


@contextlib.contextmanager
def _seeded_randomness(rng: random.Random) -> Iterator[None]:
    import msoffcrypto.method.ecma376_agile as agile
    import py7zr.compressor
    import pyzipper.zipfile_aes as zaes

    p7c: Any = py7zr.compressor  # patched below: mypy knows no such attribute

    class _Random:
        @staticmethod
        def new() -> Any:
            return _Random

        @staticmethod
        def read(n: int) -> bytes:
            return rng.randbytes(n)

    saved = (agile._random_buffer, p7c.get_random_bytes, zaes.Random)
    agile._random_buffer = rng.randbytes
    p7c.get_random_bytes = rng.randbytes
    zaes.Random = _Random
    try:
        yield
    finally:
        agile._random_buffer, p7c.get_random_bytes, zaes.Random = saved


_DERIVED: dict[tuple[str, bytes, str, int], Any] = {}


def _cached_derive(original: Any) -> Any:
    def derive(password: str, salt: bytes, algorithm: str, spins: int) -> Any:
        key = (password, bytes(salt), algorithm, spins)
        if key not in _DERIVED:
            _DERIVED[key] = original(password, salt, algorithm, spins)
        return _DERIVED[key].copy()

    return staticmethod(derive)


def office(plain: bytes, seed: int, rng: random.Random, when: dt.datetime) -> bytes:
    """An OOXML document encrypted with ECMA-376 agile encryption (Office's "password").

    The password salt is one per seed so that the 100,000 SHA-512 rounds of the key
    derivation (pure Python in msoffcrypto-tool) run once per process, not once per file;
    the other salts, the IVs and the file key are still drawn per file.
    """
    import msoffcrypto.method.container.ecma376_encrypted as container
    from msoffcrypto.method.ecma376_agile import ECMA376Agile

    class _Then(dt.datetime):  # the OLE directory dates are "now" otherwise
        @classmethod
        def now(cls, tz: dt.tzinfo | None = None) -> Any:
            return when.replace(tzinfo=None)

    salt = hashlib.sha256(f"office-salt/{seed}".encode()).digest()[:16]
    saved = ECMA376Agile.__dict__["_derive_iterated_hash_from_password"]
    ECMA376Agile._derive_iterated_hash_from_password = _cached_derive(saved.__func__)
    container.datetime = _Then
    try:
        with _seeded_randomness(rng):
            return bytes(ECMA376Agile.encrypt(OWNER_PASSWORD, io.BytesIO(plain), salt_value=salt))
    finally:
        ECMA376Agile._derive_iterated_hash_from_password = saved
        container.datetime = dt.datetime


@functools.cache
def _libqpdf() -> Any:
    """The qpdf library pikepdf ships with, for the two switches pikepdf does not expose."""
    import ctypes
    import glob

    import pikepdf

    base = os.path.dirname(os.path.dirname(pikepdf.__file__))
    found = sorted(glob.glob(os.path.join(base, "pikepdf.libs", "libqpdf*.so*")))
    lib = ctypes.CDLL(found[0] if found else "libqpdf.so")
    lib.qpdf_init.restype = ctypes.c_void_p
    lib.qpdf_get_buffer.restype = ctypes.c_void_p
    lib.qpdf_get_buffer_length.restype = ctypes.c_size_t
    handle = [ctypes.c_void_p]
    flag = [ctypes.c_int]
    arguments: dict[str, list[Any]] = {
        "qpdf_read_memory": [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulonglong, ctypes.c_char_p],
        "qpdf_init_write_memory": [],
        "qpdf_set_static_ID": flag,
        "qpdf_set_static_aes_IV": flag,
        "qpdf_set_r4_encryption_parameters_insecure": [ctypes.c_char_p] * 2 + flag * 9,
        "qpdf_write": [],
        "qpdf_get_buffer": [],
        "qpdf_get_buffer_length": [],
    }
    for name, types in arguments.items():
        getattr(lib, name).argtypes = handle + types
    return lib


def pdf(plain: bytes) -> bytes:
    """A PDF that needs the user password to open (AES-128, R4, via qpdf).

    qpdf draws AES IVs at random; its static-IV and static-ID switches (C API, not exposed
    by pikepdf) make the bytes repeatable. R4 rather than R6 because R6 also draws the
    file key at random.
    """
    import ctypes

    lib = _libqpdf()
    handle = ctypes.c_void_p(lib.qpdf_init())
    try:
        if lib.qpdf_read_memory(handle, b"practice.pdf", plain, len(plain), None) & 2:
            raise ValueError("qpdf could not read a generated PDF")
        lib.qpdf_init_write_memory(handle)
        lib.qpdf_set_static_ID(handle, 1)
        lib.qpdf_set_static_aes_IV(handle, 1)
        lib.qpdf_set_r4_encryption_parameters_insecure(
            handle,
            OWNER_PASSWORD.encode(),
            (OWNER_PASSWORD + "-owner").encode(),
            1,
            1,
            1,
            1,
            1,
            1,
            0,
            1,
            1,  # all permissions, print full, encrypt metadata, AES
        )
        if lib.qpdf_write(handle) & 2:  # 1 means warnings only
            raise ValueError("qpdf could not write the encrypted PDF")
        return ctypes.string_at(lib.qpdf_get_buffer(handle), lib.qpdf_get_buffer_length(handle))
    finally:
        lib.qpdf_cleanup(ctypes.byref(handle))


def zip_aes(members: dict[str, bytes], when: dt.datetime, rng: random.Random) -> bytes:
    """A WinZip AES-256 archive."""
    import pyzipper

    out = io.BytesIO()
    with (
        _seeded_randomness(rng),
        pyzipper.AESZipFile(
            out, "w", compression=pyzipper.ZIP_DEFLATED, encryption=pyzipper.WZ_AES
        ) as zf,
    ):
        zf.setpassword(OWNER_PASSWORD.encode())
        for name, data in members.items():
            info = zf.zipinfo_cls(filename=name, date_time=when.timetuple()[:6])
            info.compress_type = pyzipper.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)
    return out.getvalue()


@functools.cache
def _cached_7z_key(password: bytes, cycles: int, salt: bytes, digest: str) -> bytes:
    import py7zr.helpers

    return py7zr.helpers.calculate_key(password, cycles, salt, digest)


def seven_zip(members: dict[str, bytes], when: dt.datetime, rng: random.Random) -> bytes:
    """A 7z archive with encrypted data and headers."""
    import py7zr
    import py7zr.compressor

    p7c: Any = py7zr.compressor
    stamp = when.timestamp()
    out = io.BytesIO()
    saved = p7c.calculate_key
    p7c.calculate_key = _cached_7z_key  # 2^19 SHA-256 rounds per archive otherwise
    try:
        with tempfile.TemporaryDirectory(prefix="rempart-7z-") as tmp, _seeded_randomness(rng):
            filters = [
                {"id": py7zr.FILTER_LZMA2, "preset": 1},
                {"id": py7zr.FILTER_CRYPTO_AES256_SHA256},
            ]
            with py7zr.SevenZipFile(
                out, "w", password=OWNER_PASSWORD, filters=filters, header_encryption=True
            ) as zf:
                for name, data in members.items():
                    path = os.path.join(tmp, name)
                    with open(path, "wb") as f:
                        f.write(data)
                    os.utime(path, (stamp, stamp))
                    zf.write(path, name)
    finally:
        p7c.calculate_key = saved
    return out.getvalue()


def _packet(tag: int, body: bytes) -> bytes:
    n = len(body)
    if n < 192:
        head = bytes([n])
    elif n < 8384:
        n -= 192
        head = bytes([(n >> 8) + 192, n & 0xFF])
    else:
        head = b"\xff" + struct.pack(">I", n)
    return bytes([0xC0 | tag]) + head + body


def openpgp(plain: bytes, name: str, when: dt.datetime, rng: random.Random) -> bytes:
    """What `gpg --symmetric --cipher-algo AES256` writes, from seeded salt and prefix."""
    salt, count_byte = rng.randbytes(8), 0x60  # 65536 bytes hashed
    count = (16 + (count_byte & 15)) << ((count_byte >> 4) + 6)
    material = salt + OWNER_PASSWORD.encode()
    stream = (material * (count // len(material) + 1))[: max(count, len(material))]
    key = hashlib.sha256(stream).digest()
    skesk = _packet(3, bytes([4, 9, 3, 8]) + salt + bytes([count_byte]))
    fname = name.encode()[:255]
    literal = _packet(
        11, b"b" + bytes([len(fname)]) + fname + struct.pack(">I", int(when.timestamp())) + plain
    )
    prefix = rng.randbytes(16)
    inner = prefix + prefix[-2:] + literal + b"\xd3\x14"
    inner += hashlib.sha1(inner).digest()  # the MDC the format mandates
    enc = Cipher(algorithms.AES(key), CFB(bytes(16))).encryptor()
    return skesk + _packet(18, b"\x01" + enc.update(inner) + enc.finalize())
