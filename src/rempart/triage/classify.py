"""The verdict on one file: intact, encrypted, partially encrypted, ransom note or suspicious.

Cheap checks first, since the scanner calls this for every file: a format that validates,
then clean text, and only for what is left the randomness statistics, intermittent
patterns and weak XOR. Random content alone never makes a file `encrypted`: something
must say that it should not be random (its extension, an original extension kept under
an appended one, a failed format validation, a family marker). Without that it is at most
`suspicious`: keys, containers and random data are random on purpose.
"""

from __future__ import annotations

from rempart.triage import families, notes, stats, text, xor
from rempart.triage._intermittent import find_intermittent
from rempart.triage._noise import find_noise
from rempart.triage.formats import FormatCheck, identify
from rempart.triage.sample import BudgetExceeded, Sample, from_bytes
from rempart.triage.verdicts import Classification, Verdict

#: Extensions of files that a validator recognises when intact (random content means
#: the signature is gone: a content/extension mismatch).
EXPECTS_MAGIC = frozenset(
    """doc docx docm dot dotx xls xlsx xlsm xlsb ppt pptx pptm odt ods odp odg msg pub pdf
    jpg jpeg png gif bmp tif tiff webp mp3 mp4 m4a wav flac ogg zip 7z rar gz tgz bz2 xz zst
    sqlite sqlite3 kdbx exe dll sys msi""".split()  # noqa: SIM905 - a word list reads better
)
#: Extensions whose content is never random as a whole: the above and text. Compressed
#: formats without a validator (mkv, avi, heic, psd...) are left out on purpose: their
#: content can look random when intact, so their extension proves nothing.
STRUCTURED = EXPECTS_MAGIC | frozenset(
    """txt csv tsv log md html htm xml json yaml yml ini cfg conf eml vcf ics rtf svg sql
    dxf py js ts c h cpp java cs php sh ps1 bat vbs""".split()  # noqa: SIM905 - as above
)
#: Extensions of text formats: noise chunks inside them are encrypted chunks.
TEXTUAL = STRUCTURED - EXPECTS_MAGIC - frozenset({"rtf", "svg"})
#: Said of a file whose extension expects a signature that is gone; the cross-file pass
#: (`context`) reads it to promote such files sitting next to a ransom note.
SIGNATURE_LOST = "signature lost"
RANDOM_THROUGHOUT = "random content throughout"
#: Evidence of an intact file of no known format: an `intact` verdict always says why.
NOT_RANDOM = "no known format; content not random"
TOO_SMALL = "too small to sample; no known format"
#: Formats that legitimately embed packed or encrypted payloads (installers, resources):
#: random blocks inside them are reported, not judged.
_OLE = bytes.fromhex("d0cf11e0a1b11ae1")
PACKED = frozenset({"pe", "exe", "elf", "macho", "msi"})


def classify_bytes(data: bytes, name: str) -> Classification:
    """Classify in-memory content as if it were the file `name`."""
    return classify(from_bytes(data, name))


def classify(sample: Sample) -> Classification:
    """The verdict on one file from its sample, with the evidence that led to it."""
    if sample.size == 0:
        return Classification(Verdict.INTACT, "empty", evidence=("empty file",))
    check = identify(sample)
    if check is not None and check.valid:
        return _valid(sample, check)
    # A text that happens to start like a magic ("MZ...") fails its validator: text wins,
    # since no damaged binary reads as clean text throughout.
    info, plain = text.sniff_text(sample), True
    if info is None and (loose := text.sniff_loose(sample)) is not None:
        info, plain = loose
    if info is not None:
        found = notes.analyse_note(sample.head, sample.name)
        if found is not None:
            why = ("reads as a ransom note", *found.evidence)
            return Classification(Verdict.RANSOM_NOTE, info.kind, found.family, why, note=found)
        if plain:
            why = (f"clean {info.describe()}",)
            return Classification(Verdict.INTACT, info.kind, evidence=why)
    owner = _owner_encrypted(sample, check) if check is not None else None
    if check is not None and owner is not None:
        # Damaged (often a truncated copy), but encrypted by its owner: its randomness
        # proves nothing, and an owner-encrypted file is never called encrypted.
        why = (f"damaged {check.format}, {owner}", *check.evidence)
        return Classification(Verdict.SUSPICIOUS, check.format, evidence=why)
    return _unrecognised(sample, check)


def _owner_encrypted(sample: Sample, check: FormatCheck) -> str | None:
    """Why a damaged file looks encrypted by its owner, from what is left of its structure."""
    if check.owner_encrypted:
        return "encrypted by its owner"
    head = sample.head
    if head.startswith(b"PK\x03\x04") and head[6:7] and head[6] & 1 and _zip_name_readable(head):
        return "its first ZIP entry is flagged as encrypted by its owner"
    if head.startswith(b"%PDF") and (b"/Encrypt" in head or b"/Encrypt" in sample.tail):
        return "its /Encrypt dictionary says encrypted by its owner"
    if head.startswith(_OLE) and "EncryptedPackage".encode("utf-16-le") in head:
        return "its EncryptedPackage stream says encrypted by its owner (Office password)"
    if head.startswith(b"7z\xbc\xaf\x27\x1c") and b"\x06\xf1\x07\x01" in sample.tail:
        return "its AES coder says encrypted by its owner"  # 7zAES method id in the header
    return None


def _zip_name_readable(head: bytes) -> bool:
    """The first local header still holds a readable name: the flag is not a kept magic."""
    if len(head) < 30:
        return False
    size = int.from_bytes(head[26:28], "little")
    name = head[30 : 30 + size]
    return 0 < size <= 1024 and len(name) == size and text.clean(name)


def _valid(sample: Sample, check: FormatCheck) -> Classification:
    fmt = check.format
    evidence = [f"valid {fmt}", *check.evidence]
    if check.owner_encrypted:
        # Encrypted on purpose: its randomness is the owner's, never the attacker's.
        why = (f"encrypted by its owner ({fmt})", *check.evidence)
        return Classification(Verdict.INTACT, fmt, evidence=why)
    trailer = _trailer(sample, check)
    if trailer:
        evidence.append(trailer)
        marker = families.by_marker(sample.head, sample.tail)
        if marker is not None:
            why = (f"{fmt} structure intact but a ransomware trailer is appended", marker[1])
            return Classification(Verdict.ENCRYPTED, fmt, marker[0], (*why, *evidence))
    if not check.dense:
        prof = stats.profile(sample)
        end = check.end if check.end is not None else sample.size
        runs = [(a, min(b, end)) for a, b in prof.random_runs() if a < end]
        # One random window can be an embedded PNG or a certificate; ciphertext runs longer.
        if sum(b - a for a, b in runs) >= 2 * prof.window:
            where = f"random blocks at {_runs(runs)} in a {fmt}, whose content is not compressed"
            if fmt in PACKED:
                evidence.append(where + " (packed payload?)")
            else:
                _family(sample, evidence)
                why = (where, prof.describe(), *evidence)
                return Classification(Verdict.PARTIALLY_ENCRYPTED, fmt, None, why)
    return Classification(Verdict.INTACT, fmt, evidence=tuple(evidence))


def _trailer(sample: Sample, check: FormatCheck) -> str | None:
    """Evidence about bytes after the end of the format's data, if any."""
    if check.end is None or check.end >= sample.size:
        return None
    extra = sample.size - check.end
    try:
        data = sample.read(check.end, min(extra, 64 * 1024))
    except BudgetExceeded:
        return f"{stats.size_text(extra)} after the end of the {check.format} data (not read)"
    kind = "random-looking " if stats.is_random(data) else ""
    return f"{stats.size_text(extra)} of {kind}data after the end of the {check.format} data"


def _unrecognised(sample: Sample, check: FormatCheck | None) -> Classification:
    """No valid format and not text: decide from randomness and from what names the file."""
    fmt = check.format if check is not None else "data"
    reasons = _should_not_be_random(sample, check)
    marker = families.by_marker(sample.head, sample.tail)
    if marker is not None:
        reasons.append(marker[1])
    known = check.evidence if check is not None else ()
    prof = stats.profile(sample)
    n_random, n_plain = prof.counted(stats.RANDOM), prof.plain
    if n_random and n_random >= 0.9 * prof.count and n_plain <= 1:
        what = (RANDOM_THROUGHOUT, prof.describe())
        fmt = fmt if check is not None else "random"
        if reasons:
            return _damaged(Verdict.ENCRYPTED, sample, fmt, marker, (*what, *reasons, *known))
        doubt = "random, but nothing says it should not be (a key, a container, random data?)"
        return Classification(Verdict.SUSPICIOUS, fmt, evidence=(*what, doubt, *known))
    pattern = find_intermittent(sample, dense=prof.counted(stats.DENSE) > 0)
    if pattern is not None:
        scope = "to the end of the file" if pattern.covers_all else "in part of the file only"
        if not reasons:
            # Fixed-size records with a random field (hashes, ids, nonces: a git index, a
            # cache) repeat like LockFile's stripes: the pattern alone proves nothing.
            doubt = "but nothing says it should not be random (records with a random field?)"
            why: tuple[str, ...] = (f"{pattern.describe()}, {scope}", doubt, *known)
            return Classification(Verdict.SUSPICIOUS, fmt, evidence=why)
        verdict = Verdict.ENCRYPTED if pattern.covers_all else Verdict.PARTIALLY_ENCRYPTED
        why = (f"{pattern.describe()}, {scope}", *reasons, *known)
        return _damaged(verdict, sample, fmt, marker, why)
    # A weak XOR leaves the structure of what it hides: never random throughout, never an
    # alternation of random and plain runs. So it is looked for only now (it costs).
    found = xor.find_xor(sample)
    if found is not None:
        return _damaged(Verdict.ENCRYPTED, sample, fmt, marker, (found.describe(), *known))
    if expected_extension(sample) in TEXTUAL:
        # Chunks too small for the block statistics (Akira-like percentages of a text).
        noise = find_noise(sample)
        if noise is not None:
            verdict = Verdict.ENCRYPTED if noise.throughout else Verdict.PARTIALLY_ENCRYPTED
            return _damaged(verdict, sample, fmt, marker, (noise.describe(), *reasons, *known))
    if n_random:
        runs = f"random blocks at {_runs(prof.random_runs())}"
        # A random first block is what a compressed format of its own looks like too (git
        # packs, caches): only a reason (a marker is one) makes random blocks damage.
        if reasons:
            why = (runs, prof.describe(), *reasons, *known)
            return _damaged(Verdict.PARTIALLY_ENCRYPTED, sample, fmt, marker, why)
        why = (runs, "inside content of no known format", prof.describe(), *known)
        return Classification(Verdict.SUSPICIOUS, fmt, evidence=why)
    return _not_random(sample, check, prof, reasons, marker)


def _not_random(
    sample: Sample,
    check: FormatCheck | None,
    prof: stats.RandomnessProfile,
    reasons: list[str],
    marker: tuple[str, str] | None,
) -> Classification:
    """No random block sampled: intact unless a marker, a damaged format or a lost magic."""
    fmt = check.format if check is not None else "data"
    seen = (prof.describe(),) if prof.count else ()
    if marker is not None:
        why: tuple[str, ...] = (
            marker[1],
            "sampled content not random: encryption may lie between samples",
        )
        return _damaged(Verdict.PARTIALLY_ENCRYPTED, sample, fmt, marker, why)
    if check is not None:
        why = (f"damaged {fmt}, but not random: truncated or corrupted?", *check.evidence)
        return Classification(Verdict.SUSPICIOUS, fmt, evidence=(*why, *seen))
    expected = expected_extension(sample)
    if expected in EXPECTS_MAGIC:
        lost = f"{SIGNATURE_LOST}: no {expected} signature where the name says .{expected}"
        if expected != sample.extension:  # renamed too: .docx.locked, .jpg.x7k2p9
            why = (lost, *reasons, "content of no known format")
            return _damaged(Verdict.PARTIALLY_ENCRYPTED, sample, fmt, marker, (*why, *seen))
        return Classification(Verdict.SUSPICIOUS, fmt, evidence=(lost, *seen))
    if not prof.count and reasons:
        return Classification(Verdict.SUSPICIOUS, fmt, evidence=("too small to judge", *reasons))
    if prof.count:
        return Classification(Verdict.INTACT, fmt, evidence=(NOT_RANDOM, *seen))
    return Classification(Verdict.INTACT, fmt, evidence=(TOO_SMALL,))


def expected_extension(sample: Sample) -> str:
    """The extension the file had before an attack renamed it: the last one when it names a
    format, else an inner one under an appended extension (report.docx.lockbit -> docx)."""
    parts = sample.name.rsplit("/", 1)[-1].lower().split(".")[1:]
    for part in reversed(parts):
        if part in STRUCTURED:
            return part
    return parts[-1] if parts else ""


def _should_not_be_random(sample: Sample, check: FormatCheck | None) -> list[str]:
    """Strong reasons why this file's content should be structured."""
    reasons = []
    if check is not None:
        reasons.append(f"{check.format} magic present but the structure does not validate")
    parts = sample.name.rsplit("/", 1)[-1].lower().split(".")
    if len(parts) > 1 and parts[-1] in STRUCTURED:
        reasons.append(f"its extension .{parts[-1]} names a format that is not random")
    inner = [p for p in parts[1:-1] if p in STRUCTURED]
    if inner and parts[-1] not in STRUCTURED:
        reasons.append(f"original extension .{inner[-1]} kept under .{parts[-1]}")
    return reasons


def _damaged(
    verdict: Verdict,
    sample: Sample,
    fmt: str,
    marker: tuple[str, str] | None,
    evidence: tuple[str, ...],
) -> Classification:
    """An encrypted or partially encrypted verdict, with the family when known."""
    extra = list(evidence)
    if marker is None:
        _family(sample, extra)
    family = marker[0] if marker is not None else None
    return Classification(verdict, fmt, family, tuple(dict.fromkeys(extra)))


def _family(sample: Sample, evidence: list[str]) -> None:
    """Note the families its extension suggests; too weak to name one here.

    The cross-file pass (`context`) names the family: from a ransom note nearby first,
    from an extension only one family uses otherwise.
    """
    names = families.by_extension(sample.name)
    if names:
        evidence.append(f"extension .{sample.extension} is used by {', '.join(names)}")


def _runs(runs: list[tuple[int, int]], limit: int = 3) -> str:
    shown = ", ".join(f"{stats.size_text(a)}-{stats.size_text(b)}" for a, b in runs[:limit])
    return shown + (f" and {len(runs) - limit} more runs" if len(runs) > limit else "")
