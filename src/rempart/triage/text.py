"""Is this file text? Cheaply, and strictly enough that encrypted blocks inside it show.

Text files are the most common plain files on a share, so the clean case must cost almost
nothing: one `bytes.translate` deletes every byte allowed in text and what remains is
counted. Random bytes are about 11% control characters, so even a 64-byte encrypted run
leaves some; only then does numpy look at where they sit, 256 bytes at a time.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

import numpy as np

from rempart.triage.sample import Sample

_ALLOWED = bytes([9, 10, 12, 13, 27, *range(32, 127), *range(128, 256)])
_ASCII = bytes(range(128))
_CONTROLS = np.ones(256, dtype=np.bool_)
_CONTROLS[list(_ALLOWED)] = False
#: Bytes that cp1252 leaves undefined: latin-1 text never has them.
_CP1252_HOLES = b"\x81\x8d\x8f\x90\x9d"
_HIGH_RUN = re.compile(rb"[\x80-\xff]{4}")
_UTF8_PAIR = re.compile(rb"[\xc2-\xdf][\x80-\xbf]")
_ALNUM = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_HIGH = bytes(range(128, 256))
_NUL_PAD = re.compile(rb"\x00{16,}")
MIN_WORDY = 0.35  # French prose is ~80% letters, a CSV of numbers ~70%, HTML ~60%
GRAIN = 256
MAX_CONTROLS = 0.01  # of a whole sample: form feeds, stray escapes in logs
MAX_GRAIN_CONTROLS = 4  # in any 256 bytes: random data has ~28

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_CSV_SEPARATORS = (b",", b";", b"\t", b"|")
_EML_HEADER = re.compile(
    rb"^(received|from|to|subject|date|message-id|mime-version|return-path|delivered-to):",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class TextInfo:
    """A text file: its encoding and, when cheap to tell, its kind."""

    encoding: str
    kind: str  # "text", "csv", "html", "xml", "json", "eml", "rtf"

    def describe(self) -> str:
        return f"{self.kind} ({self.encoding})"


def sniff_text(sample: Sample) -> TextInfo | None:
    """A `TextInfo` when every sampled region of the file reads as clean text, else None."""
    head = sample.head
    if not head:
        return None
    for bom, encoding in _BOMS:
        if head.startswith(bom):
            if encoding.startswith("utf-16"):
                return _utf16(sample, encoding)
            break
    else:
        encoding = ""
    if head.count(0) and _looks_utf16le(head):
        return _utf16(sample, "utf-16-le")
    for _off, data in sample.regions():
        if not clean(data):
            return None
    encoding = encoding or _eight_bit_encoding(head, sample.whole)
    if not encoding or not wordy(head, letters_above_ascii=encoding.startswith("utf-8")):
        return None
    return TextInfo(encoding, kind(head))


def sniff_loose(sample: Sample) -> tuple[TextInfo, bool] | None:
    """What `sniff_text` refuses but a ransom note can still be: clean text once runs of NUL
    padding (16 or more) are taken out (a note written from a fixed-size buffer, a log a
    crash extended with zeros), wordy or not (a note framed in ASCII art). The TextInfo, and
    whether it is wordy: only then is it plain text; else only a note may be found in it.
    An encrypted block is no cleaner for either."""
    regions = [data for _off, data in sample.regions()]
    if b"\x00" in regions[0]:
        if b"\x00" * 16 not in regions[0]:
            return None
        regions = [_NUL_PAD.sub(b"", data) for data in regions]
    head = regions[0]
    if not head or not all(clean(data) for data in regions):
        return None
    encoding = _eight_bit_encoding(head, sample.whole)
    if not encoding:
        return None
    return TextInfo(encoding, kind(head)), wordy(head, encoding.startswith("utf-8"))


def readable(data: bytes) -> bool:
    """Clean and wordy: what a decryption must give to count as text."""
    return clean(data) and wordy(data, letters_above_ascii=False)


def wordy(data: bytes, letters_above_ascii: bool) -> bool:
    """True when letters and digits make a good part of `data`, as in any real text.

    Printable is not enough: text XORed with one byte such as 0x5a stays printable
    (letters become punctuation) but loses its letters. Bytes above ASCII count as
    letters only in valid UTF-8 (other scripts); in 8-bit text they would hide that.
    """
    kept = data.translate(None, _ALNUM)
    if letters_above_ascii:
        kept = kept.translate(None, _HIGH)
    return len(data) - len(kept) >= MIN_WORDY * len(data)


def clean(data: bytes) -> bool:
    """True when `data` has no NUL and no cluster of control characters."""
    if b"\x00" in data:
        return False
    controls = len(data.translate(None, _ALLOWED))
    if controls == 0:
        return True
    if controls > MAX_CONTROLS * len(data):
        return False
    # A few controls overall, but are they bunched up like an encrypted block? Count them
    # in every 256-byte window, wherever it starts.
    seen = np.cumsum(_CONTROLS[np.frombuffer(data, dtype=np.uint8)], dtype=np.int32)
    if seen.size <= GRAIN:
        return controls <= MAX_GRAIN_CONTROLS
    return int((seen[GRAIN:] - seen[:-GRAIN]).max()) <= MAX_GRAIN_CONTROLS


def _eight_bit_encoding(head: bytes, whole: bool) -> str:
    """'ascii', 'utf-8' or 'cp1252' for NUL-free text, '' when the high bytes are noise."""
    if head.isascii():
        return "ascii"
    # A sample may cut a UTF-8 sequence at its end: let the incremental decoder wait.
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=whole)
    except UnicodeDecodeError:
        pass
    else:
        return "utf-8"
    # Latin-1 text has its accented letters one by one among ASCII letters; random bytes
    # come in runs of high bytes, and UTF-8 text with a damaged spot keeps its pairs.
    high = len(head.translate(None, _ASCII))
    if high > 0.3 * len(head) or any(b in head for b in _CP1252_HOLES):
        return ""
    if _HIGH_RUN.search(head) or len(_UTF8_PAIR.findall(head, 0, 8192)) > 2:
        return ""
    return "cp1252"


def _looks_utf16le(head: bytes) -> bool:
    # ASCII-range text in UTF-16LE without a BOM: a NUL at nearly every odd offset.
    odd = head[1:4096:2]
    return len(odd) >= 32 and odd.count(0) >= 0.9 * len(odd)


def _utf16(sample: Sample, encoding: str) -> TextInfo | None:
    for off, region in sample.regions():
        data = region[off % 2 :]  # a strided sample may start mid code unit
        try:
            decoded = data[: len(data) - len(data) % 2].decode(encoding, errors="strict")
        except UnicodeDecodeError:
            return None
        if not clean(decoded.lstrip("\ufeff").encode("utf-8", errors="surrogatepass")):
            return None
    start = sample.head[:2048].decode(encoding, errors="ignore").lstrip("\ufeff")
    return TextInfo(encoding, kind(start.encode()))


def kind(head: bytes) -> str:
    """Cheap content sniffing of the kind of text: csv, html, xml, json, eml, rtf or text."""
    start = head[:1024].lstrip(b"\xef\xbb\xbf \t\r\n")
    lower = start[:512].lower()
    if lower.startswith(b"{\\rtf"):
        return "rtf"
    if lower.startswith((b"<!doctype html", b"<html")) or b"<html" in lower:
        return "html"
    if lower.startswith(b"<?xml") or (lower.startswith(b"<") and b"</" in head[:4096]):
        return "xml"
    if start[:1] in (b"{", b"[") and head.rstrip()[-1:] in (b"}", b"]", b","):
        return "json"
    if _EML_HEADER.match(start) and b"\n\n" in head.replace(b"\r\n", b"\n"):
        return "eml"
    if _is_csv(start):
        return "csv"
    return "text"


def _is_csv(start: bytes) -> bool:
    # The same non-zero count of one separator on each of the first lines.
    lines = start.replace(b"\r\n", b"\n").split(b"\n")[:6]
    if len(lines) < 3:
        return False
    lines = lines[:-1] if len(lines) > 3 else lines  # the last one may be cut by the sample
    for sep in _CSV_SEPARATORS:
        if sep not in lines[0]:
            continue
        counts = {line.count(sep) for line in lines if line}
        if len(counts) == 1 and counts.pop() > 0:
            return True
    return False
