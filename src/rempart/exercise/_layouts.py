"""Encryption layouts: which bytes of a file an attack encrypts, imitating real families.

Each layout is a pure function of (bytes, key material): `apply` gives the attacked bytes,
`revert` gives the original back. The stream ciphers (AES-256-CTR, ChaCha20 from
`cryptography`) XOR a keystream over the selected bytes, so both directions share one path;
the byte shuffling is done with numpy views, never a Python loop over bytes.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from rempart.registry import Registry

# A selector returns views (numpy arrays sharing memory with the body) of the bytes to encrypt.
Selector = Callable[[np.ndarray, dict[str, Any]], list[np.ndarray]]


@dataclass(frozen=True)
class KeyMaterial:
    """Everything needed to encrypt and decrypt one file; written to the journal first."""

    layout: str
    cipher: str  # "aes-ctr", "chacha20" or "xor"
    key: bytes
    nonce: bytes = b""
    trailer: bytes = b""  # appended after the body (random, like a wrapped key blob)
    params: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "layout": self.layout,
            "cipher": self.cipher,
            "key": self.key.hex(),
            "nonce": self.nonce.hex(),
            "trailer_size": len(self.trailer),  # only its size is needed to undo
            "params": self.params,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> KeyMaterial:
        return cls(
            layout=data["layout"],
            cipher=data["cipher"],
            key=bytes.fromhex(data["key"]),
            nonce=bytes.fromhex(data["nonce"]),
            trailer=bytes(int(data["trailer_size"])),
            params=dict(data["params"]),
        )


@dataclass(frozen=True)
class Layout:
    """A named way of encrypting part of a file."""

    name: str
    family_hint: str | None  # the family this layout imitates (for default notes)
    select: Selector
    choose_params: Callable[[random.Random, int], dict[str, Any]]
    cipher: str = "aes-ctr"
    trailer_size: int = 0
    description: str = ""


LAYOUTS: Registry[Layout] = Registry("exercise layout")


def _periodic(body: np.ndarray, on: int, period: int, offset: int = 0) -> list[np.ndarray]:
    """`on` bytes encrypted at the start of every `period` bytes, from `offset`."""
    view = body[offset:]
    full = len(view) // period
    parts = [view[: full * period].reshape(full, period)[:, :on]] if full else []
    parts.append(view[full * period :][:on])
    return parts


def _no_params(_rng: random.Random, _size: int) -> dict[str, Any]:
    return {}


def _akira_params(rng: random.Random, _size: int) -> dict[str, Any]:
    return {"percent": rng.choice((20, 25, 30, 40, 50)), "chunks": rng.randint(2, 8)}


def _akira_select(body: np.ndarray, p: dict[str, Any]) -> list[np.ndarray]:
    size, chunks = len(body), p["chunks"]
    chunk = max(1, size * p["percent"] // 100 // chunks)
    step = max(chunk, size // chunks)
    return [body[i * step : i * step + chunk] for i in range(chunks) if i * step < size]


def _register_builtins() -> None:
    def add(name: str, family: str | None, select: Selector, **kw: Any) -> None:
        kw.setdefault("choose_params", _no_params)
        LAYOUTS.add(name, Layout(name, family, select, **kw))

    add("full", None, lambda b, p: [b], description="whole file")
    add(
        "full-trailer",
        None,
        lambda b, p: [b],
        trailer_size=512,
        description="whole file + 512-byte trailer",
    )
    add("head4k", "lockbit", lambda b, p: [b[:4096]], description="first 4 KiB (LockBit 2.0)")
    add(
        "runs128k",
        "lockbit",
        lambda b, p: _periodic(b, 128 * 1024, 4 * 128 * 1024),
        description="128 KiB encrypted, 384 KiB skipped (LockBit 3.0-like)",
    )
    add(
        "lockfile",
        None,
        lambda b, p: _periodic(b, 16, 32),
        description="every other 16 bytes (LockFile)",
    )
    add(
        "blackbasta",
        "blackbasta",
        lambda b, p: _periodic(b, 64, 192),
        cipher="chacha20",
        description="64 bytes in every 192 (Black Basta)",
    )
    add(
        "akira",
        None,
        _akira_select,
        choose_params=_akira_params,
        cipher="chacha20",
        trailer_size=534,
        description="a percentage over N chunks + 534-byte trailer (Akira)",
    )
    add(
        "magic-kept",
        None,
        lambda b, p: [b[p["keep"] :]],
        choose_params=lambda rng, _s: {"keep": rng.randint(8, 16)},
        description="first 8-16 bytes kept, the rest encrypted",
    )
    add(
        "xor",
        None,
        lambda b, p: [b],
        cipher="xor",
        description="weak repeating-key XOR (key of 4-16 bytes)",
    )


_register_builtins()

CONCRETE = tuple(LAYOUTS)  # every layout `mixed` picks from


def new_key_material(layout: Layout, rng: random.Random, size: int) -> KeyMaterial:
    """Fresh key material for one file (random key per file, drawn from `rng`)."""
    if layout.cipher == "xor":
        key, nonce = rng.randbytes(rng.randint(4, 16)), b""
    else:
        key, nonce = rng.randbytes(32), rng.randbytes(16)
    return KeyMaterial(
        layout=layout.name,
        cipher=layout.cipher,
        key=key,
        nonce=nonce,
        trailer=rng.randbytes(layout.trailer_size),
        params=layout.choose_params(rng, size),
    )


def _keystream(km: KeyMaterial, n: int) -> np.ndarray:
    if km.cipher == "xor":
        return np.resize(np.frombuffer(km.key, dtype=np.uint8), n)
    if km.cipher == "chacha20":
        algo: Any = algorithms.ChaCha20(km.key, km.nonce)
        enc = Cipher(algo, mode=None).encryptor()
    else:
        enc = Cipher(algorithms.AES(km.key), modes.CTR(km.nonce)).encryptor()
    return np.frombuffer(enc.update(bytes(n)), dtype=np.uint8)


def _xor_selected(body: bytearray, km: KeyMaterial) -> None:
    arr = np.frombuffer(body, dtype=np.uint8)
    parts = [p for p in LAYOUTS[km.layout].select(arr, km.params) if p.size]
    if not parts:
        return
    flat = np.concatenate([p.ravel() for p in parts])
    flat ^= _keystream(km, flat.size)
    pos = 0
    for part in parts:  # a handful of views, not one per byte
        part[...] = flat[pos : pos + part.size].reshape(part.shape)
        pos += part.size


def apply(data: bytes, km: KeyMaterial) -> bytes:
    """The attacked bytes of `data`."""
    body = bytearray(data)
    _xor_selected(body, km)
    return bytes(body) + km.trailer


def revert(data: bytes, km: KeyMaterial) -> bytes:
    """The original bytes of attacked `data` (the inverse of `apply`)."""
    body = bytearray(data[: len(data) - len(km.trailer)] if km.trailer else data)
    _xor_selected(body, km)
    return bytes(body)


def pick_layout(name: str, rng: random.Random) -> Layout:
    """The layout called `name`, or one drawn from `rng` when `name` is "mixed"."""
    if name == "mixed":
        return LAYOUTS[rng.choice(CONCRETE)]
    return LAYOUTS[name]
