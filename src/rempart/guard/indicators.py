"""Indicators of encryption in progress, registered by name; each scores one observation.

An indicator looks at one file operation of one actor (with the file's content before and
after, when known) and returns points and a reason, or nothing. Points add up per actor;
`scoring.THRESHOLD` decides. Weights are set so that one file never decides on its own,
except a decoy: legitimate bulk work (Office saves, zips, backups, photo imports) writes
valid formats, which no content indicator counts.
"""

from __future__ import annotations

import os
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

from rempart.guard.content import SIMILARITY_LOST, Content, distance
from rempart.guard.events import Event, Op
from rempart.registry import Registry
from rempart.triage.verdicts import DAMAGED, Verdict


@dataclass
class History:
    """What one actor did recently, as indicators need it (bounded: see `behaviour`)."""

    created: dict[str, str] = field(default_factory=dict)  # stem -> path written
    folders: set[str] = field(default_factory=set)
    breadth_counted: bool = False
    #: formats of the files the actor read or replaced -> how many (`behaviour.note_flow`)
    consumed: dict[str, int] = field(default_factory=dict)
    #: recently read files, as their stem path (dir/stem) -> format
    read: OrderedDict[str, str] = field(default_factory=OrderedDict)
    #: formats of the files written over (or beside, as a copy of) what was read -> how many
    produced: dict[str, int] = field(default_factory=dict)
    funnel_counted: bool = False
    #: when (monotonic) the actor changed a file that existed (overwrite, rename, delete),
    #: and which (stem path), within the rate window; `changed` counts them per file
    changes: deque[tuple[float, str]] = field(default_factory=deque)
    changed: dict[str, int] = field(default_factory=dict)
    rate_counted: bool = False
    #: copies whose original was deleted before their content was judged -> (original,
    #: its format): create-then-delete decides when the copy's write is judged
    counted_copies: dict[str, tuple[str, str]] = field(default_factory=dict)
    #: new files the actor wrote, judged -> their format when valid (intact), else ""
    valid_copies: dict[str, str] = field(default_factory=dict)
    #: the most changes seen within one window so far (what benchmarks compare)
    peak_changes: int = 0


@dataclass(frozen=True)
class Observation:
    event: Event
    rel: str  # path relative to the watched root, for reasons
    before: Content | None  # from the baseline
    after: Content | None  # analysed content, for writes
    history: History
    #: the decoy this operation touches, if any, and how: "path" (the decoy itself),
    #: "target" (renamed onto it) or "copy" (a temporary copy of it being written)
    decoy: tuple[str, str] | None = None


@dataclass(frozen=True)
class Hit:
    points: float
    reason: str


Indicator = Callable[[Observation], Hit | None]
INDICATORS: Registry[Indicator] = Registry("guard indicator")

DECISIVE = 100.0


def stem(path: str) -> str:
    """The name without a temporary or appended extension: `.a.docx.tmp` -> `a.docx`."""
    base = os.path.basename(path).lstrip(".")
    parts = base.split(".")
    return ".".join(parts[:2]) if len(parts) > 2 else base


@INDICATORS.register("decoy")
def _decoy(obs: Observation) -> Hit | None:
    """Decoys are hidden from users: a change that leaves an intact document is still an
    application saving (Office's temporary copy renamed over it); anything else decides."""
    if obs.decoy is None:
        return None
    ev, (rel, how) = obs.event, obs.decoy
    if ev.op is Op.WRITE:
        damaged = obs.after is not None and obs.after.verdict is not Verdict.INTACT
    elif ev.op is Op.RENAME and how == "target":
        content = obs.before or obs.after  # what now sits at the decoy's name
        damaged = content is None or content.verdict is not Verdict.INTACT
    elif ev.op is Op.RENAME:
        damaged = os.path.splitext(ev.path)[1] != os.path.splitext(ev.path2 or "")[1]
    else:
        damaged = ev.op is Op.DELETE
    return Hit(DECISIVE, f"decoy {ev.op.value}: {rel}") if damaged else None


@INDICATORS.register("encrypted-content")
def _encrypted(obs: Observation) -> Hit | None:
    after = obs.after
    if after is None or after.verdict not in DAMAGED:
        return None
    why = after.evidence[0] if after.evidence else after.verdict.value
    return Hit(1.0, f"{after.verdict.value.replace('_', ' ')}: {obs.rel} ({why})")


@INDICATORS.register("randomness-appeared")
def _randomness(obs: Observation) -> Hit | None:
    """Random blocks where the file had none (triage may only say `suspicious`)."""
    before, after = obs.before, obs.after
    if before is None or after is None or after.verdict in DAMAGED:
        return None
    if before.random < 0.2 and after.random >= 0.5 and before.verdict is Verdict.INTACT:
        return Hit(0.75, f"encrypted blocks appeared: {obs.rel} ({before.format} before)")
    return None


@INDICATORS.register("similarity-lost")
def _similarity(obs: Observation) -> Hit | None:
    before, after = obs.before, obs.after
    if before is None or after is None or after.verdict is Verdict.INTACT:
        return None
    d = distance(before.digest, after.digest)
    if d is not None and d > SIMILARITY_LOST:
        return Hit(0.25, f"similarity lost: {obs.rel} (TLSH distance {d})")
    return None


@INDICATORS.register("ransom-note")
def _note(obs: Observation) -> Hit | None:
    if obs.after is not None and obs.after.verdict is Verdict.RANSOM_NOTE:
        return Hit(1.5, f"ransom note written: {obs.rel}")
    return None


@INDICATORS.register("new-extension")
def _extension(obs: Observation) -> Hit | None:
    ev = obs.event
    if ev.op is not Op.RENAME or ev.path2 is None or obs.before is None:
        return None
    old, new = os.path.splitext(ev.path)[1].lower(), os.path.splitext(ev.path2)[1].lower()
    if old and new != old and os.path.basename(ev.path2).startswith(os.path.basename(ev.path)):
        return Hit(0.25, f"renamed to a new extension: {obs.rel} -> {new}")
    return None


@INDICATORS.register("create-then-delete")
def _create_delete(obs: Observation) -> Hit | None:
    """A file deleted after the actor wrote a copy beside it; unless the copy is a valid file
    of another format (`x.log.gz`, a PDF of a document): compressing or converting is
    everyday work. A copy judged intact in the original's own format still counts (an
    attack that keeps the file's header). The copy's write and the delete come from two
    fanotify groups, in either order: a delete whose copy is not judged yet waits for it, and
    counts only if the copy is no such conversion (counting first and giving the points
    back later let a log rotation of a few hundred files reach the threshold meanwhile)."""
    ev, h = obs.event, obs.history
    if ev.op is Op.WRITE and ev.path in h.counted_copies:
        original, fmt = h.counted_copies.pop(ev.path)
        after = obs.after
        if after is not None and after.verdict is Verdict.INTACT and after.format != fmt:
            return None
        return Hit(0.25, f"copy written, original deleted: {original}")
    copy = h.created.get(stem(ev.path))
    if ev.op is not Op.DELETE or obs.before is None or copy in (None, ev.path):
        return None
    assert copy is not None
    valid = h.valid_copies.get(copy)  # None: not judged yet; "": judged, not a valid file
    if valid is None:
        if len(h.counted_copies) < 4096:
            h.counted_copies[copy] = (obs.rel, obs.before.format)
        return None
    if valid and valid != obs.before.format:  # a conversion
        return None
    return Hit(0.25, f"copy written, original deleted: {obs.rel}")


@INDICATORS.register("breadth")
def _breadth(obs: Observation) -> Hit | None:
    h = obs.history
    after = obs.after
    if h.breadth_counted or len(h.folders) < 8 or after is None:
        return None
    if after.verdict is Verdict.INTACT:
        return None
    h.breadth_counted = True
    return Hit(0.5, f"writes across {len(h.folders)} folders")
