"""Photos (Pillow over numpy) and PDFs (reportlab, invariant mode, compressed streams)."""

# Document libraries are imported where used: `rempart` starts for every command, and only
# `exercise build` needs them.
# ruff: noqa: PLC0415

from __future__ import annotations

import functools
import io
import random
import textwrap
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from rempart.exercise._content import Words

_NOISE: dict[int, np.ndarray] = {}
_NOISE_SIDE = 1536
_GRAIN = 20  # at most ±20 levels of grain, and scenes stay within [20, 235]: no wrap-around


def _noise(seed: int) -> np.ndarray:
    """One grain texture per seed and process; photos take windows of it.

    Stored as uint8 two's complement so that adding it to a picture is one uint8 numpy add
    (the scene's range keeps every sum inside 0..255).
    """
    if seed not in _NOISE:
        gen = np.random.default_rng([seed, 7])
        grain = np.clip(gen.normal(0, 8, (_NOISE_SIDE, _NOISE_SIDE, 3)), -_GRAIN, _GRAIN)
        _NOISE[seed] = grain.astype(np.int8).view(np.uint8)
    return _NOISE[seed]


def _grain(seed: int, rng: random.Random, width: int, height: int) -> np.ndarray:
    noise = _noise(seed)
    if width >= _NOISE_SIDE or height >= _NOISE_SIDE:  # big camera pictures: tile it
        reps = (height // _NOISE_SIDE + 1, width // _NOISE_SIDE + 1, 1)
        return np.tile(noise, reps)[:height, :width]
    dy, dx = rng.randrange(_NOISE_SIDE - height), rng.randrange(_NOISE_SIDE - width)
    return noise[dy : dy + height, dx : dx + width]


def picture(
    rng: random.Random, seed: int, width: int, height: int, *, grain: bool = True
) -> Image.Image:
    """A natural-looking picture: a smooth sky-to-ground scene, shapes, and sensor grain.

    The scene is drawn at 1/8 scale and enlarged by Pillow (C code); the grain is one numpy
    add: the cost is the JPEG encoder's.
    """
    sw, sh = max(2, width // 8), max(2, height // 8)
    top = np.array([rng.randint(60, 200) for _ in range(3)], dtype=np.float32)
    bottom = np.array([rng.randint(30, 160) for _ in range(3)], dtype=np.float32)
    t = np.linspace(0.0, 1.0, sh, dtype=np.float32)[:, None, None]
    tilt = np.linspace(-18.0, 18.0, sw, dtype=np.float32)[None, :, None] * rng.uniform(-1, 1)
    small = np.clip(top * (1 - t) + bottom * t + tilt, _GRAIN, 255 - _GRAIN).astype(np.uint8)
    scene = Image.fromarray(small, "RGB")
    draw = ImageDraw.Draw(scene)
    for _ in range(rng.randint(3, 12)):
        x0, y0 = rng.randrange(sw), rng.randrange(sh)
        box = (x0, y0, x0 + rng.randint(2, max(3, sw // 3)), y0 + rng.randint(2, max(3, sh // 3)))
        color = tuple(rng.randint(_GRAIN, 255 - _GRAIN) for _ in range(3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)(box, fill=color)
    out = scene.resize((width, height), Image.Resampling.BILINEAR)
    if not grain:
        return out
    pixels = np.asarray(out) + _grain(seed, rng, width, height)  # uint8, wraps never
    return Image.fromarray(pixels, "RGB")


def photo_size(rng: random.Random) -> tuple[int, int]:
    """Mostly web and phone sizes, sometimes a full camera picture."""
    width = int(min(4000, max(240, rng.lognormvariate(6.7, 0.5))))
    return width, width * rng.choice((3, 9, 2)) // rng.choice((4, 16, 3))


def encode(img: Image.Image, kind: str) -> bytes:
    buf = io.BytesIO()
    if kind == "jpeg":
        img.save(buf, "JPEG", quality=85)
    elif kind == "png":
        img.save(buf, "PNG", compress_level=6)
    elif kind == "gif":
        img.convert("P", palette=Image.Palette.ADAPTIVE, colors=64).save(buf, "GIF")
    else:
        img.save(buf, "WEBP", quality=80, method=0)
    return buf.getvalue()


def image_file(kind: str, rng: random.Random, seed: int) -> bytes:
    """A photo (jpeg, webp) or a flat graphic (png, gif) of a realistic size."""
    width, height = photo_size(rng)
    if kind in ("png", "gif", "webp"):  # graphics and web pictures are smaller
        limit = 500 if kind == "gif" else 1000
        width, height = min(width, limit), min(height, limit * 3 // 4)
    return encode(picture(rng, seed, width, height, grain=kind in ("jpeg", "webp")), kind)


def pdf(rng: random.Random, seed: int, title: str, *, with_image: bool = False) -> bytes:
    """A letter or report of 1-6 pages; invariant mode pins dates and ids to constants."""
    from reportlab import rl_config
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    words = Words(rng)
    buf = io.BytesIO()
    saved, rl_config.useA85 = rl_config.useA85, 0  # binary streams: ASCII85 is pure Python here
    try:
        c = canvas.Canvas(buf, pagesize=A4, invariant=1, pageCompression=1)
        _draw_pages(c, rng, seed, title, words, with_image)
    finally:
        rl_config.useA85 = saved
    return buf.getvalue()


@functools.cache
def _wrapped(sentence: str) -> tuple[str, ...]:
    return tuple(textwrap.wrap(sentence, 95))


def _draw_pages(
    c: Any, rng: random.Random, seed: int, title: str, words: Words, with_image: bool
) -> None:
    from reportlab.lib.utils import ImageReader

    c.setTitle(title)
    c.setAuthor("Mairie de Saint-Martin-des-Champs")
    for page in range(rng.choices((1, 2, 3, 6), weights=(5, 3, 2, 1))[0]):
        c.setFont("Helvetica-Bold", 14)
        c.drawString(60, 790, title if page == 0 else f"{title} (suite {page + 1})")
        c.setFont("Helvetica", 10)
        y = 760
        if with_image and page == 0:
            img = picture(rng, seed, 480, 320)
            c.drawImage(ImageReader(img), 60, 480, width=300, height=200)
            y = 460
        while y > 80:
            for sentence in words.sentences():
                for line in _wrapped(sentence):
                    c.drawString(60, y, line)
                    y -= 13
            y -= 8
        c.showPage()
    c.save()
