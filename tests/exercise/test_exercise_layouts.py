"""Each layout encrypts exactly the bytes its family does, and reverts exactly."""

from __future__ import annotations

import random

import numpy as np
import pytest

from rempart.exercise import LAYOUTS
from rempart.exercise._layouts import KeyMaterial, apply, new_key_material, revert

KIB = 1024
SIZE = 1536 * KIB + 77  # not a multiple of any period


def _attack(name: str, size: int = SIZE, seed: int = 1) -> tuple[bytes, bytes, KeyMaterial]:
    data = bytes(size)  # zeros: a changed byte is a non-zero byte
    km = new_key_material(LAYOUTS[name], random.Random(seed), size)
    return data, apply(data, km), km


def _changed(attacked: bytes, start: int, stop: int) -> float:
    """Share of bytes in [start, stop) that the attack changed (data was all zeros)."""
    view = np.frombuffer(attacked, dtype=np.uint8)[start:stop]
    return float(np.count_nonzero(view)) / max(1, view.size)


@pytest.mark.parametrize("name", list(LAYOUTS))
@pytest.mark.parametrize("size", [0, 1, 15, 100, 4096, 200_000, SIZE])
def test_revert_gives_the_original_back(name: str, size: int) -> None:
    rng = np.random.default_rng(size)
    data = rng.integers(0, 256, size, dtype=np.uint8).tobytes()
    km = new_key_material(LAYOUTS[name], random.Random(size), size)
    attacked = apply(data, km)
    assert len(attacked) == size + LAYOUTS[name].trailer_size
    again = KeyMaterial.from_json(km.to_json())  # what undo reads from the journal
    assert revert(attacked, again) == data
    if size >= 64:
        assert attacked != data


def test_lockfile_every_other_16_bytes() -> None:
    _, out, _ = _attack("lockfile")
    assert _changed(out, 0, 16) > 0.8 and _changed(out, 16, 32) == 0
    assert _changed(out, 32, 48) > 0.8 and _changed(out, 48, 64) == 0


def test_blackbasta_64_in_192() -> None:
    _, out, km = _attack("blackbasta")
    assert km.cipher == "chacha20"
    assert _changed(out, 0, 64) > 0.9 and _changed(out, 64, 192) == 0
    assert _changed(out, 192, 256) > 0.9 and _changed(out, 256, 384) == 0


def test_head4k() -> None:
    _, out, _ = _attack("head4k")
    assert _changed(out, 0, 4096) > 0.99 and _changed(out, 4096, SIZE) == 0


def test_runs128k_skips_three_runs() -> None:
    _, out, _ = _attack("runs128k")
    assert _changed(out, 0, 128 * KIB) > 0.99
    assert _changed(out, 128 * KIB, 512 * KIB) == 0
    assert _changed(out, 512 * KIB, 640 * KIB) > 0.99
    _, out_small, _ = _attack("runs128k", size=50_000)
    assert _changed(out_small, 0, 50_000) > 0.99  # small files whole


def test_full_and_full_trailer() -> None:
    _, out, _ = _attack("full")
    assert len(out) == SIZE and _changed(out, 0, SIZE) > 0.99
    _, out, km = _attack("full-trailer")
    assert len(out) == SIZE + 512 and km.to_json()["trailer_size"] == 512


def test_akira_percent_over_chunks_and_trailer() -> None:
    _, out, km = _attack("akira")
    assert len(out) == SIZE + 534
    share = _changed(out, 0, SIZE)
    assert abs(share - km.params["percent"] / 100) < 0.03


def test_magic_kept() -> None:
    _, out, km = _attack("magic-kept")
    keep = km.params["keep"]
    assert 8 <= keep <= 16
    assert _changed(out, 0, keep) == 0 and _changed(out, keep, SIZE) > 0.99


def test_xor_is_a_repeating_key() -> None:
    _, out, km = _attack("xor")
    assert 4 <= len(km.key) <= 16 and km.cipher == "xor"
    assert out[: len(km.key)] == km.key  # zeros XOR key = key, repeated
    assert out[len(km.key) : 2 * len(km.key)] == km.key


def test_a_fresh_key_per_file() -> None:
    rng = random.Random(3)
    keys = {new_key_material(LAYOUTS["full"], rng, 100).key for _ in range(50)}
    assert len(keys) == 50
