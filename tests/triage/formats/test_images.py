"""Image validators: real files made by Pillow are valid; damaged ones are caught."""

from __future__ import annotations

import io
import os
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from _media_samples import (
    DAMAGE,
    assert_damaged,
    assert_never_raises,
    assert_trailer,
    check,
    runs_128k,
)
from PIL import Image

from rempart.triage.formats import VALIDATORS, identify
from rempart.triage.formats.images import PngValidator
from rempart.triage.sample import from_bytes, take


def _picture(width: int, height: int, seed: int = 1) -> Image.Image:
    """A photo-like picture: smooth gradients plus sensor noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([x * 255 // width, y * 255 // height, (x + y) * 127 // (width + height)], -1)
    noisy = base + rng.integers(-12, 12, size=base.shape)
    return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8), "RGB")


def _save(image: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


@cache
def samples() -> dict[str, tuple[str, bytes]]:
    """name -> (format, bytes); some small (read whole), some larger than 256 KiB."""
    big, small, huge = _picture(700, 500), _picture(160, 120, seed=2), _picture(1600, 1000, seed=4)
    frames = [_picture(200, 150, seed=i).convert("P") for i in range(30)]
    rgb = [frame.convert("RGB") for frame in frames]
    return {
        "png-big": ("png", _save(big, "PNG")),
        "png-palette": ("png", _save(small.convert("P"), "PNG", optimize=True)),
        "png-interlaced-alpha": ("png", _save(small.convert("RGBA"), "PNG", interlace=1)),
        "jpeg-big": ("jpeg", _save(huge, "JPEG", quality=95)),
        "jpeg-progressive": ("jpeg", _save(huge, "JPEG", quality=90, progressive=True)),
        "jpeg-small-exif": ("jpeg", _save(small, "JPEG", exif=Image.Exif().tobytes())),
        "gif": ("gif", _save(small.convert("P"), "GIF")),
        "gif-big": ("gif", _save(huge.convert("P"), "GIF")),
        "webp-lossy": ("webp", _save(big, "WEBP", quality=80)),
        "webp-lossless": ("webp", _save(small, "WEBP", lossless=True)),
        "bmp": ("bmp", _save(small, "BMP")),
        "bmp-big": ("bmp", _save(big, "BMP")),
        "tiff": ("tiff", _save(small, "TIFF")),
        "tiff-lzw": ("tiff", _save(big, "TIFF", compression="tiff_lzw")),
        "mpo-two-images": ("jpeg", _save(big, "MPO", save_all=True, append_images=[small])),
        "gif-animated": ("gif", _save(frames[0], "GIF", save_all=True, append_images=frames[1:])),
        "webp-animated": ("webp", _save(rgb[0], "WEBP", save_all=True, append_images=rgb[1:4])),
        "apng": ("png", _save(rgb[0], "PNG", save_all=True, append_images=rgb[1:4])),
    }


NAMES = list(samples())


@pytest.mark.parametrize("name", NAMES)
def test_real_files_are_valid(name: str) -> None:
    fmt, data = samples()[name]
    result = identify(from_bytes(data, "renamed.dat"))
    assert result is not None
    assert (result.format, result.valid, result.evidence) == (fmt, True, ())
    assert result.dense is (fmt not in ("bmp", "tiff") or name == "tiff-lzw")  # LZW: compressed
    assert result.end in (None, len(data))


@pytest.mark.parametrize("how", DAMAGE)
@pytest.mark.parametrize("name", NAMES)
def test_damage_is_caught(name: str, how: str) -> None:
    fmt, data = samples()[name]
    assert_damaged(VALIDATORS[fmt], data, how)


@pytest.mark.parametrize("name", [n for n in NAMES if not n.startswith(("tiff", "gif-big"))])
def test_trailer_is_reported(name: str) -> None:
    fmt, data = samples()[name]
    assert_trailer(VALIDATORS[fmt], data)


@pytest.mark.parametrize("name", ["png-big", "jpeg-big", "jpeg-progressive"])
def test_128k_runs_inside_large_files(name: str) -> None:
    fmt, data = samples()[name]
    assert len(data) > 300 * 1024
    result = check(VALIDATORS[fmt], runs_128k(data))
    assert result is not None and not result.valid, result


def test_png_crc_evidence_names_chunk_and_offset() -> None:
    data = bytearray(samples()["png-palette"][1])
    data[20] ^= 0xFF  # inside IHDR
    result = PngValidator().validate(from_bytes(bytes(data)))
    assert result.evidence == ("png: CRC mismatch in IHDR chunk at offset 8",)


def test_jpeg_without_eoi_is_truncated() -> None:
    data = samples()["jpeg-big"][1]
    result = check(VALIDATORS["jpeg"], data[:-2])
    assert result is not None and not result.valid
    assert "EOI" in result.evidence[0]


@pytest.mark.parametrize("name", ["png-big", "jpeg-big", "gif-big", "tiff-lzw"])
def test_large_files_read_from_disk_within_budget(name: str, tmp_path: Path) -> None:
    fmt, data = samples()[name]
    path = tmp_path / "image"
    path.write_bytes(data)
    fd = os.open(path, os.O_RDONLY)
    try:
        sample = take(fd, len(data), path.name)
        result = VALIDATORS[fmt].validate(sample)
    finally:
        os.close(fd)
    assert result.valid, result
    assert sample._spent < 1024 * 1024


@pytest.mark.parametrize("name", NAMES)
def test_mutations_never_raise(name: str) -> None:
    fmt, data = samples()[name]
    assert_never_raises(VALIDATORS[fmt], data)
