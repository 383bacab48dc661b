"""Detect a weak repeating-key XOR "encryption" and recover its key from the head.

Some low-end ransomware (and many wipers) XOR files with a short key. Such a file is not
random: a shift by the key length lines up equal key bytes, so the ciphertext repeats
itself as often as the plaintext does (index of coincidence). The key is then guessed
per column: the plaintext's most common byte is usually 0x00 (binary) or 0x20 (text), or
the first bytes are a known magic. A guess counts only when the decryption proves it: a
magic number with a mode-derived key, a validating format, or clean text.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from rempart.triage import text
from rempart.triage.formats import identify
from rempart.triage.sample import Sample
from rempart.triage.stats import byte_counts, is_random

MAX_KEY = 64
SPAN = 32768  # bytes of the head used to find the key: 512 rows for a 64-byte key
MIN_SPAN = 256
IC_SPAN = 2048
MAX_DERIVED = 4  # keys derived from a known header that a validator is asked to confirm
SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "a PDF header"),
    (b"PK\x03\x04", "a ZIP header"),
    (b"\x89PNG\r\n\x1a\n", "a PNG header"),
    (b"\xff\xd8\xff", "a JPEG header"),
    (bytes.fromhex("d0cf11e0a1b11ae1"), "an OLE (Office 97-2003) header"),
    (b"SQLite format 3\x00", "a SQLite header"),
    (b"GIF8", "a GIF header"),
    (b"7z\xbc\xaf\x27\x1c", "a 7z header"),
    (b"\x7fELF", "an ELF header"),
    (b"Rar!\x1a\x07", "a RAR header"),
    (b"{\\rtf", "an RTF header"),
)
#: Whole first bytes that common writers put in files (known plaintext): XORed with the
#: file's first bytes they give the key outright, checked by its own repetition.
HEADERS: tuple[bytes, ...] = (
    b"PK\x03\x04\x14\x00\x00\x00\x08\x00",  # zipfile, python-docx, LibreOffice
    b"PK\x03\x04\x14\x00\x06\x00\x08\x00",  # Microsoft Office
    b"PK\x03\x04\x14\x00\x08\x08\x08\x00",  # Java / LibreOffice streamed entries
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR",
    b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01",
    bytes.fromhex("d0cf11e0a1b11ae1") + bytes(16) + b"\x3e\x00",
    *(
        f"%PDF-{v}{eol}%".encode()
        for v in ("1.3", "1.4", "1.5", "1.6", "1.7", "2.0")
        for eol in ("\n", "\r\n", "\r")
    ),
)

Bytes = NDArray[np.uint8]


@dataclass(frozen=True)
class XorFinding:
    """A repeating XOR key whose decryption yields a known header or clean text."""

    key: bytes
    plaintext: str  # what the head decrypts to, for the evidence line

    def describe(self) -> str:
        return f"repeating-key XOR, key length {len(self.key)}: decrypts to {self.plaintext}"


def find_xor(sample: Sample) -> XorFinding | None:
    """The XOR key of `sample` when its head decrypts to something known, else None."""
    data = np.frombuffer(sample.head, dtype=np.uint8, count=min(len(sample.head), SPAN))
    if data.size < MIN_SPAN:
        return None
    # A header match ends the search; text is judged by the best-reading candidate,
    # since a slightly wrong key can still decrypt to clean text.
    best: tuple[float, bytes, str] | None = None
    for key in (k for p in _periods(data) for k in _mode_keys(data, p)):
        found = _check(data, key)
        if found and found != "clean text":
            return XorFinding(_shortest(bytes(key)), found)
        if found:
            score = float(_TEXTISH[_xor(data, key), 0].sum())
            if best is None or score > best[0]:
                best = (score, bytes(key), found)
    if best is not None:
        return XorFinding(_shortest(best[1]), best[2])
    # A key derived from a known header proves nothing by the header it rebuilds: a
    # validator must accept the decrypted file. Few keys pass the header's own check.
    for key in _header_keys(data, sample.size)[:MAX_DERIVED]:
        check = identify(_decrypted(sample, key)) if key.any() else None
        if check is not None and check.valid:
            return XorFinding(_shortest(bytes(key)), f"a {check.format} that validates")
    return None


def _periods(data: Bytes) -> list[int]:
    """Up to three key lengths, shortest first, whose shift makes the data repeat most."""
    data = data[:IC_SPAN]  # enough to see a period; random data leaves quickly
    top = min(MAX_KEY, data.size // 8)
    if top == 0 or is_random(data.tobytes()):
        return []  # XOR with a short key never makes structured data look random
    # Every shift at once: row i of the view is data[i : i + top + 1].
    view = np.lib.stride_tricks.sliding_window_view(data, top + 1)
    ic = np.count_nonzero(view[:, 1:] == view[:, :1], axis=0) / view.shape[0]
    if ic.max() < 4 / 256:  # random data repeats 1/256 of the time
        return []
    top_shifts = [int(s) + 1 for s in np.flatnonzero(ic >= 0.7 * ic.max())[:3]]
    # A multiple of the key length can repeat as well as the key length itself: offer the
    # divisors that repeat well too, since more rows per column estimate the key better.
    floor = max(4 / 256, 3 * float(np.median(ic)))  # well above unrelated shifts
    good = {p for p in range(1, top + 1) if ic[p - 1] >= floor}
    found = {d for p in top_shifts for d in range(1, p + 1) if p % d == 0 and d in good}
    return sorted(found | set(top_shifts))[:4]


def _mode_keys(data: Bytes, period: int) -> list[Bytes]:
    """Keys that turn each column's most common byte into 0x00 (binary) or 0x20 (text),
    and the key that makes each column read most like text (letters, digits, spaces)."""
    rows = data[: data.size // period * period].reshape(-1, period)
    counts = byte_counts(np.ascontiguousarray(rows.T))
    mode = counts.argmax(axis=1).astype(np.uint8)
    # How text-like each column reads under each key byte c: sum_b counts[b] * w[b ^ c],
    # a XOR-convolution, done exactly in integers with Walsh-Hadamard transforms. (The
    # plain product with the 256x256 table went to a threaded BLAS whose spinning threads
    # doubled the CPU time of a whole scan.)
    scores = _walsh(_walsh(counts) * _WEIGHTS_WALSH)
    texty = scores.argmax(axis=1).astype(np.uint8)
    return [mode, mode ^ np.uint8(0x20), texty]


def _walsh(rows: NDArray[np.int64]) -> NDArray[np.int64]:
    """Unnormalised Walsh-Hadamard transform of each 256-wide row.

    H256 is H16 (x) H16: two products with a 16x16 sign matrix, one over the low four bits
    of the index and one over the high four (integer products: numpy's own loops, no BLAS).
    Applied twice it multiplies by 256, so the XOR-convolution above comes out 256 times
    too large: the argmax does not mind.
    """
    n = rows.shape[0]
    grid = rows.astype(np.int64).reshape(n, 16, 16)
    out: NDArray[np.int64] = np.matmul(_H16, grid @ _H16).reshape(n, 256)
    return out


def _sylvester(size: int) -> NDArray[np.int64]:
    """The size x size Walsh-Hadamard sign matrix (size a power of two)."""
    h = np.ones((1, 1), dtype=np.int64)
    while h.shape[0] < size:
        h = np.block([[h, h], [h, -h]])
    return h


_H16 = _sylvester(16)


def _text_weights() -> NDArray[np.float64]:
    # A rough profile of text bytes, prose and tables alike. Newlines, digits and the
    # usual separators weigh enough that flipping bit 0x40 (digits to letters, newline
    # to 'J') or 0x20 (letter case, space to NUL) always costs something.
    weight = np.full(256, -1.0)  # control characters: never in text
    weight[0x21:0x7F] = 0.2  # symbols
    weight[[9, 13]] = 0.3
    weight[0x80:] = 0.05  # UTF-8 or latin-1 letters
    weight[np.frombuffer(b".,;:'-\"", dtype=np.uint8)] = 0.4
    weight[ord("0") : ord("9") + 1] = 0.6
    weight[ord("a") : ord("z") + 1] = 0.6
    weight[ord("A") : ord("Z") + 1] = 0.3
    weight[10] = 0.8
    weight[0x20] = 1.0
    b = np.arange(256)
    table: NDArray[np.float64] = weight[b[:, None] ^ b[None, :]]
    return table


_TEXTISH = _text_weights()
#: The weights in integers (all are multiples of 0.05), Walsh-transformed once.
_WEIGHTS_WALSH = _walsh(np.rint(_TEXTISH[:1, :] * 20).astype(np.int64))


def _header_keys(data: Bytes, size: int) -> list[Bytes]:
    """Keys under which the file starts with a known header, checked by their repetition."""
    first = data[:64].tobytes()
    keys = []
    # Headers that hold the file size are known plaintext too (24-bit BMP, WAV).
    sized: tuple[bytes, ...] = ()
    if 8 <= size < 1 << 32:  # 32-bit size fields: bigger files cannot be BMP or WAV
        sized = (
            b"BM" + size.to_bytes(4, "little") + bytes(4) + b"\x36\x00\x00\x00\x28\x00\x00\x00",
            b"RIFF" + (size - 8).to_bytes(4, "little") + b"WAVEfmt ",
        )
    for header in (*HEADERS, *sized):
        n = len(header)
        if len(first) < n:
            continue
        # XOR of two short byte strings through ints: no per-byte Python loop.
        k = (int.from_bytes(first[:n]) ^ int.from_bytes(header)).to_bytes(n)
        # The key length p is where k starts repeating; at least two bytes must check it.
        p = k.find(k[:1], 1)
        while 0 < p < n - 1 and k[p:] != k[: n - p]:
            p = k.find(k[:1], p + 1)
        if 0 < p < n - 1:
            keys.append(np.frombuffer(k[:p], dtype=np.uint8).copy())
    return keys


def _check(data: Bytes, key: Bytes) -> str | None:
    """What the key decrypts the head to, when that proves the key; else None."""
    if not key.any():
        return None  # XOR with zeros: the file is what it is
    plain = _xor(data, key)
    head = plain[:32].tobytes()
    for magic, what in SIGNATURES:
        if head.startswith(magic):
            return what
    # Text proves the key only if the ciphertext was not text already.
    if text.readable(plain[:4096].tobytes()) and not text.readable(data[:4096].tobytes()):
        return "clean text"
    return None


def _decrypted(sample: Sample, key: Bytes) -> Sample:
    """The sample as it reads once XORed with the key, extra reads included."""
    head = _dec(0, sample.head, key)
    return _XorSample(
        name=sample.name,
        size=sample.size,
        head=head,
        tail=_dec(sample.tail_offset, sample.tail, key),
        strides=tuple((off, _dec(off, chunk, key)) for off, chunk in sample.strides),
        source=sample,
        key=key,
    )


@dataclass
class _XorSample(Sample):
    """A decrypted view of a sample: validators' extra reads are decrypted too."""

    source: Sample | None = None
    key: Bytes = field(default_factory=lambda: np.zeros(1, dtype=np.uint8))

    def read(self, offset: int, length: int) -> bytes:
        if self.source is None or offset + length <= len(self.head) or offset >= self.tail_offset:
            return super().read(offset, length)
        return _dec(offset, self.source.read(offset, length), self.key)


def _dec(offset: int, chunk: bytes, key: Bytes) -> bytes:
    arr = np.frombuffer(chunk, dtype=np.uint8)
    return _xor(arr, np.roll(key, -(offset % key.size))).tobytes()


def _xor(data: Bytes, key: Bytes) -> Bytes:
    reps = -(-data.size // key.size)
    return data ^ np.tile(key, reps)[: data.size]


def _shortest(key: bytes) -> bytes:
    """The key's own period: a 16-byte guess of an 8-byte key repeats itself."""
    for p in range(1, len(key)):
        if len(key) % p == 0 and key[:p] * (len(key) // p) == key:
            return key[:p]
    return key
