"""Block randomness: random vs compressed vs structured, small windows, intermittent patterns."""

from __future__ import annotations

import io
import os
import random
import zlib

import numpy as np
import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from rempart.triage import stats
from rempart.triage.sample import from_bytes

WORDS = ["le", "conseil", "municipal", "de", "la", "commune", "a", "voté", "budget", "écoles"]


def french(size: int, seed: int = 0) -> bytes:
    rng = random.Random(seed)
    text = " ".join(rng.choice(WORDS) for _ in range(size // 4)).encode()
    return text[:size]


def aes(data: bytes) -> bytes:
    enc = Cipher(algorithms.AES(os.urandom(32)), modes.CTR(os.urandom(16))).encryptor()
    return enc.update(data) + enc.finalize()


def jpeg_bytes() -> bytes:
    from PIL import Image

    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:900, 0:1200]
    img = np.stack([(x / 6) % 256, (y / 5) % 256, ((x + y) / 9) % 256], -1)
    img = np.clip(img + rng.normal(0, 25, img.shape), 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def labels(data: bytes, window: int) -> list[int]:
    _offsets, ent, chi = stats.window_stats(data, window)
    return stats.label(ent, chi, window).tolist()


def test_expected_entropy_of_random_windows_is_below_eight_bits() -> None:
    assert stats.expected_entropy(256) == pytest.approx(7.17, abs=0.02)
    assert stats.expected_entropy(4096) == pytest.approx(7.955, abs=0.005)
    assert stats.expected_entropy(256) < stats.expected_entropy(512) < stats.expected_entropy(4096)


@pytest.mark.parametrize("window", [64, 256, 512, 4096])
def test_random_windows_are_random_whatever_their_size(window: int) -> None:
    data = os.urandom(window * 200)
    _offsets, ent, _chi = stats.window_stats(data, window)
    # Small windows bias entropy low: 256 random bytes score ~7.2 bits, yet are random.
    if window == 256:
        assert ent.mean() < 7.3
    assert labels(data, window).count(stats.RANDOM) >= 199


def test_aes_ciphertext_is_random_and_text_is_structured() -> None:
    text = french(64 * 1024)
    assert set(labels(text, 4096)) == {stats.STRUCTURED}
    assert set(labels(aes(text), 4096)) == {stats.RANDOM}


def test_jpeg_scan_data_is_dense_not_random() -> None:
    data = jpeg_bytes()[8192 : 8192 + 40 * 4096]
    got = labels(data, 4096)
    assert got.count(stats.DENSE) >= 36, got
    assert got.count(stats.RANDOM) <= 2


def test_zero_filled_regions_are_sparse_not_random() -> None:
    assert set(labels(bytes(64 * 1024), 4096)) == {stats.SPARSE}
    assert set(labels(b"\xff" * 8192, 512)) == {stats.SPARSE}


def test_deflate_is_high_entropy() -> None:
    # Compressed data is never called structured: only format validation tells it apart.
    data = zlib.compress(os.urandom(2000).hex().encode() * 3, 9)
    assert stats.STRUCTURED not in labels(data[: 16 * 4096], 4096)


def test_window_offsets_cover_the_end() -> None:
    assert stats.window_offsets(10_000, 4096) == [0, 4096, 10_000 - 4096]
    assert stats.window_offsets(8192, 4096) == [0, 4096]
    assert stats.window_offsets(100, 4096) == []


def test_profile_finds_the_random_head_of_a_large_file() -> None:
    text = french(1024 * 1024)
    prof = stats.profile(from_bytes(aes(text[:4096]) + text[4096:]))
    assert prof.window == 4096
    assert prof.random_runs() == [(0, 4096)]
    assert 0 < prof.fraction_random < 0.05
    assert "1 random" in prof.describe()


def test_profile_merges_adjacent_random_windows() -> None:
    text = french(200 * 1024)
    data = text[:8192] + aes(text[8192:40960]) + text[40960:]
    assert stats.profile(from_bytes(data)).random_runs() == [(8192, 40960)]


def test_small_files_get_finer_windows() -> None:
    assert stats.choose_window(1_000_000) == 4096
    assert stats.choose_window(3000) == 512
    assert stats.choose_window(300) == 300
    prof = stats.profile(from_bytes(aes(french(3000))))
    assert prof.window == 512 and prof.fraction_random == 1.0


def test_damaged_inputs_do_not_crash() -> None:
    assert stats.profile(from_bytes(b"")).count == 0
    assert stats.profile(from_bytes(b"abc")).count == 0
    assert stats.find_intermittent(from_bytes(b"\x00" * 10)) is None
    assert not stats.is_random(b"short")
    assert stats.is_random(os.urandom(4096))


def intermittent(data: bytes, length: int, period: int, upto: int | None = None) -> bytes:
    arr = np.frombuffer(data, dtype=np.uint8)
    idx = np.arange(arr.size)
    mask = idx % period < length
    if upto is not None:
        mask &= idx < upto
    key = np.frombuffer(aes(bytes(arr.size)), dtype=np.uint8)
    return np.where(mask, arr ^ key, arr).astype(np.uint8).tobytes()


@pytest.mark.parametrize(("length", "period"), [(16, 32), (64, 192), (128, 512), (256, 1024)])
def test_intermittent_patterns_are_found_with_their_period(length: int, period: int) -> None:
    found = stats.find_intermittent(from_bytes(intermittent(french(1024 * 1024), length, period)))
    assert found is not None
    assert (found.period, found.length, found.covers_all) == (period, length, True)
    assert f"{length} of every {period} bytes" in found.describe()


def test_intermittent_over_part_of_the_file_does_not_cover_it() -> None:
    data = intermittent(french(1024 * 1024), 16, 32, upto=300 * 1024)
    found = stats.find_intermittent(from_bytes(data))
    assert found is not None and not found.covers_all


def test_intermittent_on_compressed_plaintext_needs_the_bytes() -> None:
    data = intermittent(jpeg_bytes(), 64, 192)
    assert stats.find_intermittent(from_bytes(data), dense=True) is not None


@pytest.mark.parametrize(
    "data",
    [french(200_000), os.urandom(200_000), bytes(200_000), jpeg_bytes()],
    ids=["text", "random", "zeros", "jpeg"],
)
def test_no_intermittent_pattern_in_clean_or_fully_random_data(data: bytes) -> None:
    assert stats.find_intermittent(from_bytes(data), dense=True) is None


def test_records_with_a_regular_layout_are_not_intermittent() -> None:
    records = b"".join(i.to_bytes(8, "little") + b"nom-%06d" % i + bytes(16) for i in range(8000))
    assert stats.find_intermittent(from_bytes(records)) is None


def test_size_text() -> None:
    assert [stats.size_text(n) for n in (0, 512, 4096, 1536, 3 * 1024 * 1024)] == [
        "0",
        "512 B",
        "4 KiB",
        "1.5 KiB",
        "3 MiB",
    ]


@pytest.mark.parametrize("n", [0, 1, 96, 256, 257, 600])
def test_byte_counts_are_each_rows_histogram_whatever_the_row_count(n: int) -> None:
    rng = np.random.default_rng(n)
    rows = rng.integers(0, 256, (n, 40), dtype=np.uint8)
    rows[:, :3] = 255  # the highest key of each row
    for view in (rows, rows[:, ::2], np.asfortranarray(rows)):  # strided and column-major too
        counts = stats.byte_counts(view)
        assert counts.shape == (n, 256)
        for i in range(n):
            assert (counts[i] == np.bincount(view[i], minlength=256)).all()
