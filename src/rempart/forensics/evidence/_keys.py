"""Responders' Ed25519 keys: the private key in a 0600 file, the public key in the store.

The private key may be protected by a passphrase (PKCS#8 with the best encryption
`cryptography` offers): a laptop left on a desk then signs nothing without its owner.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import Engine, insert, select

from rempart.forensics.evidence._errors import EvidenceError, UnknownError
from rempart.store.evidence import EvidenceKey

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,119}")


@dataclass(frozen=True)
class PublicKey:
    name: str
    fingerprint: str
    pem: str


@dataclass(frozen=True)
class Signer:
    """A responder able to sign custody entries."""

    name: str
    fingerprint: str
    private: Ed25519PrivateKey

    def sign(self, data: bytes) -> bytes:
        return self.private.sign(data)


def fingerprint(key: Ed25519PublicKey) -> str:
    """SHA-256 of the raw 32-byte public key, in hex."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def check_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise EvidenceError(
            f"invalid responder name {name!r}",
            hint="1 to 120 letters, digits, '.', '_', '@' or '-', starting with a letter or digit",
        )
    return name


def key_file(keys_dir: Path, name: str) -> Path:
    return keys_dir / f"{check_name(name)}.key"


def create_key(
    engine: Engine, name: str, keys_dir: Path, *, passphrase: bytes | None = None
) -> PublicKey:
    """A new key pair for responder `name`: private key file 0600, public key in the store.

    Args:
        passphrase: encrypts the private key file (None: not encrypted, the file's mode alone
            protects it).

    Raises:
        EvidenceError: the name is taken (in the store or in the keys folder).
    """
    path = key_file(keys_dir, name)
    with engine.connect() as conn:
        if conn.scalar(select(EvidenceKey.id).where(EvidenceKey.name == name)) is not None:
            raise EvidenceError(f"responder {name!r} already has a key in this store")
    private = Ed25519PrivateKey.generate()
    public = private.public_key()
    pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")
    if passphrase is not None and not passphrase:
        raise EvidenceError("the passphrase is empty")
    protection = (
        serialization.BestAvailableEncryption(passphrase)
        if passphrase
        else serialization.NoEncryption()
    )
    secret = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, protection
    )
    try:
        keys_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    except FileExistsError:
        raise EvidenceError(
            f"a key file already exists: {path}", hint="move it away or choose another name"
        ) from None
    except OSError as exc:
        raise EvidenceError(f"cannot write the key file {path}: {exc.strerror}") from exc
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(secret)
            out.flush()
            os.fsync(out.fileno())
        key = PublicKey(name, fingerprint(public), pem)
        with engine.begin() as conn:
            conn.execute(
                insert(EvidenceKey).values(name=name, fingerprint=key.fingerprint, public_pem=pem)
            )
    except BaseException:
        path.unlink(missing_ok=True)  # no private key without its public half recorded
        raise
    return key


def public_keys(engine: Engine) -> dict[str, PublicKey]:
    """Every responder key of the store, by fingerprint."""
    with engine.connect() as conn:
        query = select(EvidenceKey.name, EvidenceKey.fingerprint, EvidenceKey.public_pem)
        rows = conn.execute(query)
        return {fp: PublicKey(name, fp, pem) for name, fp, pem in rows}


Passphrase = Callable[[], bytes]  # asked only when the key file is encrypted


def load_signer(
    engine: Engine, name: str, keys_dir: Path, passphrase: Passphrase | None = None
) -> Signer:
    """The signing key of responder `name`, checked against the public key in the store.

    Args:
        passphrase: gives the passphrase of an encrypted key file (prompt, environment...).
    Raises:
        EvidenceError: the key file is missing, unreadable, encrypted without a passphrase
            given, or the passphrase is wrong.
    """
    with engine.connect() as conn:
        fp = conn.scalar(select(EvidenceKey.fingerprint).where(EvidenceKey.name == name))
    if fp is None:
        raise UnknownError(
            f"no key for responder {name!r} in this store",
            hint=f"create one with: rempart evidence key create {name}",
        )
    path = key_file(keys_dir, name)
    try:
        pem = path.read_bytes()
    except FileNotFoundError:
        raise EvidenceError(
            f"the private key of {name!r} is not in {keys_dir}", hint="use --keys DIR"
        ) from None
    except OSError as exc:
        raise EvidenceError(f"cannot read the private key {path}: {exc.strerror}") from exc
    password = None
    if b"ENCRYPTED PRIVATE KEY" in pem:
        if passphrase is None:
            raise EvidenceError(
                f"the private key of {name!r} is protected by a passphrase",
                hint="give it when asked, or in REMPART_KEY_PASSPHRASE",
            )
        password = passphrase()
    try:
        private = serialization.load_pem_private_key(pem, password=password)
    except ValueError as exc:
        if password is not None:  # cryptography says "Bad decrypt" for a wrong passphrase
            raise EvidenceError(
                f"cannot decrypt the private key {path}: wrong passphrase, or a damaged file"
            ) from None
        raise EvidenceError(f"cannot read the private key {path}: {exc}") from exc
    except (TypeError, UnsupportedAlgorithm) as exc:
        raise EvidenceError(f"cannot read the private key {path}: {exc}") from exc
    if not isinstance(private, Ed25519PrivateKey):
        raise EvidenceError(f"{path} is not an Ed25519 private key")
    if fingerprint(private.public_key()) != fp:
        raise EvidenceError(
            f"the key file {path} does not match the public key recorded for {name!r}"
        )
    return Signer(name, fp, private)


def load_public_pem(pem: bytes) -> Ed25519PublicKey | None:
    """An Ed25519 public key from PEM, or None when the bytes are not one."""
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        return None
    return key if isinstance(key, Ed25519PublicKey) else None


def signature_ok(key: Ed25519PublicKey, signature: bytes, data: bytes) -> bool:
    try:
        key.verify(signature, data)
    except InvalidSignature:
        return False
    return True
