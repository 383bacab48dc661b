"""Turn the first bytes of a text-like file (UTF-8/16, cp1252, HTML, HTA, RTF) into plain text.

Ransom notes come in every encoding Windows offers and often as HTML or HTA pages; the
detector wants the words, not the markup. Binary content gives None: "not my format".
"""

from __future__ import annotations

import html
import re

#: Only the head of a file is read: notes are small and a huge file must stay cheap.
MAX_BYTES = 64 * 1024

_BOMS = (
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)
_NUL_RUN = re.compile(rb"\x00{16,}")
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
#: Every byte but the controls above: deleting them leaves the controls.
_CONTROL_BYTES = bytes(b for b in range(256) if not (b <= 8 or 14 <= b <= 31 or b == 127))
_STYLE = re.compile(r"<(style|head)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_TAG = re.compile(r"<[!/?a-zA-Z][^<>]{0,4000}>")
_RTF_HEX = re.compile(r"\\'([0-9a-fA-F]{2})")
_RTF_UNICODE = re.compile(r"\\u(-?\d{1,5})\??")
_RTF_WORD = re.compile(r"\\[a-zA-Z]+-?\d* ?|\\[{}\\*~_-]|[{}]")
_RTF_SKIP = re.compile(r"\{\\\*[^{}]*\}|\{\\(fonttbl|colortbl|stylesheet|info)[^}]*\}+")
_SPACES = re.compile(r"[ \t\f\v\r\u00a0]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")


def _guess_utf16(head: bytes) -> str | None:
    """UTF-16 without a BOM shows NUL bytes on one side of most ASCII characters."""
    sample = head[:2048]
    if len(sample) < 4:
        return None
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    half = len(sample) // 2
    if odd > 0.4 * half and even < 0.05 * half:
        return "utf-16-le"
    if even > 0.4 * half and odd < 0.05 * half:
        return "utf-16-be"
    return None


def decode(data: bytes) -> str | None:
    """Decode the head of a file as text, or None when it does not look like text."""
    head = bytes(data[:MAX_BYTES])
    if not head:
        return None
    encoding: str | None = None
    for bom, name in _BOMS:
        if head.startswith(bom):
            head, encoding = head[len(bom) :], name
            break
    else:
        encoding = _guess_utf16(head)
    if encoding is None:
        # Notes written into preallocated files carry runs of NUL padding: not binary content.
        if b"\x00" * 16 in head:  # a substring search first: the regex scans slowly
            head = _NUL_RUN.sub(b"\n", head)
        if head.count(0) > len(head) // 100:
            return None
        try:
            text = head.decode("utf-8")
        except UnicodeDecodeError as error:
            # A cut in the middle of a multi-byte character at the 64 KiB limit is not a
            # reason to fall back to cp1252; anything earlier is.
            if error.start >= len(head) - 3:
                head = head[: error.start]
                text = head.decode("utf-8")
            else:
                text = head.decode("cp1252", errors="replace")
    else:
        # Truncated UTF-16 (odd length, cut surrogate) decodes with replacement characters.
        text = head.decode(encoding, errors="replace")
    if not text:
        return None
    if encoding is None:
        # UTF-8 and cp1252 keep ASCII control characters as single bytes: count them in
        # the bytes, in C, rather than with a regex over the text.
        controls = len(head.translate(None, _CONTROL_BYTES))
    else:
        controls = len(_CONTROL.findall(text))
    bad = controls + text.count("\ufffd")
    if bad > max(4, len(text) // 20):
        return None
    return text


def _rtf_char(match: re.Match[str]) -> str:
    code = int(match.group(1)) % 65536  # RTF writes code points above 32767 as negatives
    return "\ufffd" if 0xD800 <= code < 0xE000 else chr(code)


def _rtf_to_text(text: str) -> str:
    text = _RTF_SKIP.sub(" ", text)
    text = _RTF_HEX.sub(lambda m: bytes([int(m.group(1), 16)]).decode("cp1252", "replace"), text)
    text = _RTF_UNICODE.sub(_rtf_char, text)
    text = text.replace("\\par", "\n")
    return _RTF_WORD.sub(" ", text)


def _html_to_text(text: str) -> str:
    # Script bodies stay: HTA notes often write their text from JavaScript strings.
    text = _STYLE.sub(" ", text)
    text = _COMMENT.sub(" ", text)
    text = _TAG.sub(" ", text)
    return html.unescape(text)


def plain_text(data: bytes) -> str | None:
    """The readable text of a text-like file: decoded, markup removed, spaces collapsed."""
    text = decode(data)
    return None if text is None else normalise(text)


def normalise(text: str) -> str:
    """Decoded text with its markup (HTML, RTF) removed and its spaces collapsed."""
    stripped = text.lstrip()
    if stripped.startswith("{\\rtf"):
        text = _rtf_to_text(text)
    elif "<" in text and _TAG.search(text, 0, 4096) is not None:
        text = _html_to_text(text)
    text = _SPACES.sub(" ", text.replace("\r\n", "\n"))
    return _BLANK_LINES.sub("\n\n", text).strip()
