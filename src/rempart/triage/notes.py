"""Ransom note detection by content, family identification and indicator extraction.

A file is a ransom note when its words say so: a scored combination of what notes say
(files encrypted, a decryptor for sale, bitcoin, Tor, leak threats, do-not rules...) and of
what they carry (wallets, onion sites, Tox ids), weighed against what memos and procedures
say about ransomware ("do not pay", "report it"). The file name only tips the balance.
The family comes from the catalog's self-names and phrases, with the nearest known note as
a second opinion when a reference folder is loaded.
"""

from __future__ import annotations

import logging
import math
import threading
from dataclasses import dataclass, field
from pathlib import Path

from rempart.errors import RempartError
from rempart.settings import NOTES_DIR, resolve
from rempart.triage import _ioc, _vocab
from rempart.triage._similar import ReferenceNotes
from rempart.triage._text import MAX_BYTES, decode, normalise
from rempart.triage.families import Candidate, note_name_families, rank
from rempart.triage.verdicts import Indicator, NoteFinding

__all__ = ["ReferenceNotes", "analyse_note", "load_reference_notes", "use_reference_notes"]

log = logging.getLogger(__name__)

#: A note needs this much evidence, a core claim, and a threat (see `_vocab.THREAT_KEYS`).
THRESHOLD = 7.0
#: A known note this similar (cosine of 4-gram vectors) names the family on its own.
SIMILAR_ENOUGH = 0.45
#: Below this catalog score (no self-name), a close known note overrides the catalog...
WEAK_CATALOG = 3.0
#: ...when it is at least this similar.
SIMILAR_TEMPLATE = 0.75
#: A known note this similar is the same template: it outweighs the catalog.
NEAR_DUPLICATE = 0.85
_SHORT_NOTE_WORDS = 25
_SHORT_NOTE_SCORE = 5.0
_TITLE_CHARS = 300
_CONTACT_KINDS = frozenset({"email", "onion", "tox", "session"})

_reference: ReferenceNotes | None = None
_reference_checked = False


def load_reference_notes(directory: str | Path) -> ReferenceNotes:
    """Load a folder of known notes (`<family>/<note>`) and use it for identification.

    Raises:
        UsageError: the folder is missing or holds no readable note.
    """
    reference = ReferenceNotes.load(directory)
    use_reference_notes(reference)
    return reference


def use_reference_notes(reference: ReferenceNotes | None) -> None:
    """Use this set of known notes as the second opinion (None: the catalog alone)."""
    global _reference, _reference_checked
    _reference, _reference_checked = reference, True
    with _recent_lock:
        _recent.clear()  # answers given with another reference set


def _active_reference() -> ReferenceNotes | None:
    global _reference_checked  # noqa: PLW0603 -- the environment is read once
    if not _reference_checked:
        _reference_checked = True
        directory = resolve(NOTES_DIR)
        if directory:
            try:
                use_reference_notes(ReferenceNotes.load(directory))
            except RempartError as error:
                log.warning("ignoring %s: %s", NOTES_DIR.env, error)
    return _reference


@dataclass
class _Assessment:
    """What the text of a file says for and against its being a ransom note."""

    score: float = 0.0
    core: bool = False  # claims the files are encrypted, a decryptor, data taken...
    threat: bool = False  # says what only an extortioner says
    advice: bool = False  # says what memos and procedures say
    evidence: list[str] = field(default_factory=list)


def _assess(text: str, name: str, indicators: tuple[Indicator, ...]) -> _Assessment:
    """Weigh the cues, counter-cues, indicators and file name of a text."""
    lowered, found = text.lower(), _Assessment()
    said = [cue for cue in _vocab.CUES if cue.pattern.search(lowered)]
    if said:
        found.score += sum(cue.weight for cue in said)
        found.core = any(cue.core for cue in said)
        found.threat = any(cue.key in _vocab.THREAT_KEYS for cue in said)
        found.evidence.append("says: " + ", ".join(cue.key for cue in said))
    against = [cue for cue in _vocab.COUNTER_CUES if cue.pattern.search(lowered)]
    if against:
        found.score -= sum(cue.weight for cue in against)
        found.advice = True
        found.evidence.append("reads like advice: " + ", ".join(cue.key for cue in against))
    strong = sorted({i.kind for i in indicators if i.kind in _ioc.STRONG_KINDS})
    if strong:
        found.score += 3.0 + (1.0 if len(strong) > 1 else 0.0)
        found.threat = True
        found.evidence.append("carries " + ", ".join(strong))
    weak = sorted({i.kind for i in indicators if i.kind not in _ioc.STRONG_KINDS})
    if weak:
        found.score += 1.0
        found.evidence.append("mentions " + ", ".join(weak))
    if name and (_vocab.NOTE_NAME.search(name) or note_name_families(name)):
        found.score += 1.0
        found.evidence.append(f"note-like file name {name!r}")
    return found


def _self_names(top: Candidate | None) -> list[str]:
    """The gang's names found in the text (from the ranking's evidence "name 'X'")."""
    if top is None:
        return []
    return [reason[6:-1].lower() for reason in top.evidence if reason.startswith("name ")]


def _family_bonus(text: str, top: Candidate | None) -> float:
    """A gang naming itself, above all in a note's title, adds to the evidence."""
    if top is None:
        return 0.0
    head = text[:_TITLE_CHARS].lower()
    return 2.0 if any(name in head for name in _self_names(top)) else 1.0


def _short_note(text: str, top: Candidate | None, indicators: tuple[Indicator, ...]) -> bool:
    """Hardly more than a way to reach a gang that names itself, as the title (Play) or
    along with its usual wording (Grief)."""
    names = _self_names(top)
    if top is None or not names or len(text.split()) > _SHORT_NOTE_WORDS:
        return False
    title = text.split("\n", 1)[0].strip(" \t!*=-~#[]<>").lower()
    reachable = any(i.kind in _CONTACT_KINDS for i in indicators)
    return reachable and (title in names or top.score >= _SHORT_NOTE_SCORE)


def _identify(text: str, ranked: list[Candidate]) -> tuple[str | None, list[str]]:
    """The family by the catalog, with the nearest known note as a second opinion."""
    top = ranked[0] if ranked else None
    evidence = (
        [f"family {top.family} (score {top.score:g}): " + "; ".join(top.evidence)] if top else []
    )
    reference = _active_reference()
    match = reference.nearest(text) if reference is not None else None
    if match is None or match.similarity < SIMILAR_ENOUGH:
        return (top.family if top else None), evidence
    evidence.append(f"closest known note {match.family}/{match.note} ({match.similarity:.2f})")
    tied = [c.family for c in ranked if top is not None and c.score == top.score]
    if (
        top is None
        or match.similarity >= NEAR_DUPLICATE
        or (top.score < WEAK_CATALOG and match.similarity >= SIMILAR_TEMPLATE)
        or (len(tied) > 1 and match.family in tied)
    ):
        return match.family, evidence
    return top.family, evidence


#: Recent answers by (content, name): an attack drops the same note in every folder, and
#: its cues cost a millisecond each time. Bounded (entries hold at most MAX_BYTES each);
#: emptied when the reference notes change.
_recent: dict[tuple[bytes, str], NoteFinding | None] = {}
_RECENT_MAX = 32
_recent_lock = threading.Lock()


def analyse_note(data: bytes, name: str) -> NoteFinding | None:
    """Return a finding when `data` (a text-like file's content) reads as a ransom note."""
    _active_reference()  # first, since loading one from the environment empties `_recent`
    key = (bytes(data[:MAX_BYTES]), name)
    with _recent_lock:  # `guard` may classify from several threads
        if key in _recent:
            return _recent[key]
    found = _analyse(key[0], name)
    with _recent_lock:
        if len(_recent) >= _RECENT_MAX:
            del _recent[next(iter(_recent))]  # the oldest entry: dicts keep insertion order
        _recent[key] = found
    return found


def _analyse(data: bytes, name: str) -> NoteFinding | None:
    raw = decode(data)
    if raw is None:
        return None
    # The cheap look comes first, on the decoded text: markup removal and the cues cost
    # milliseconds on a large file, and almost no file gets past this line.
    low = raw.lower()
    strong = any(word in low for word in _vocab.PREFILTER_WORDS)
    if not strong and not (len(raw) <= 4 * _vocab.SHORT_TEXT and _vocab.WEAK_PREFILTER.search(low)):
        return None
    text = _vocab.BLOB.sub("", normalise(raw))[: _vocab.MAX_TEXT]
    if not strong and len(text) > _vocab.SHORT_TEXT:
        return None
    # Without a core claim only a short note naming its gang can pass (`_short_note`), so
    # a longer text stops here, before the indicators and the family ranking (e-mails).
    lowered = text.lower()
    core = any(cue.pattern.search(lowered) for cue in _vocab.CORE_CUES)
    if not core and len(text.split()) > _SHORT_NOTE_WORDS:
        return None
    indicators = _ioc.extract(text)
    found = _assess(text, name, indicators)
    ranked = rank(text, name, (i.value for i in indicators if i.kind == "onion"))
    top = ranked[0] if ranked else None
    bonus = _family_bonus(text, top)
    found.score += bonus
    # A gang naming itself is a threat in itself; "your files are encrypted" alone is not.
    found.threat = found.threat or bonus > 0
    is_note = found.core and found.threat and found.score >= THRESHOLD
    if not is_note and (found.advice or not _short_note(text, top, indicators)):
        return None
    family, family_evidence = _identify(text, ranked)
    confidence = round(1.0 - math.exp(-max(found.score, 3.0) / 6.0), 3)
    return NoteFinding(family, confidence, indicators, tuple(found.evidence + family_evidence))
