"""Behaviour indicators over an actor's recent operations: type funnel and rate of change.

Both are small contributions (never decisive alone, nor together: 0.5 + 0.25 < threshold):
content indicators still decide, these only let fewer files go when content is ambiguous.

- **type funnel** ("many file types read, one written"): the actor consumed files of many
  formats (read them, or overwrote, renamed or deleted them) and wrote files of one single
  format each *in place of* one of them: over it, or as its copy (`a.docx` -> `a.docx.locked`).
  A backup or a zip reads many types too but writes one archive, or copies elsewhere: no
  replacement, no points. `gzip -r` replaces every file by one format, and is counted: its
  output is intact, so nothing else adds up.
- **rate**: distinct files that existed changed (overwritten, renamed, deleted) per second by
  one actor, above what the benign workloads of `rempart exercise workload` reach at full
  speed (an editor saving one document three times changes one file).

`note_flow` keeps the history these read (before the indicators run, so the current operation
counts); `note_created` keeps what `create-then-delete` and `breadth` read (after them).
"""

from __future__ import annotations

import os

from rempart.guard.events import Op
from rempart.guard.indicators import INDICATORS, Hit, Observation, stem
from rempart.triage.verdicts import Verdict

#: distinct formats consumed, replacing writes, and the share of the main written format
FUNNEL_TYPES, FUNNEL_FILES, FUNNEL_SHARE = 4, 5, 0.9
FUNNEL_POINTS = 0.5
#: changes of existing files within RATE_WINDOW seconds (see bench/guard/RESULTS.md)
RATE_CHANGES, RATE_WINDOW = 150, 1.0
RATE_POINTS = 0.25
_READ = 2048  # read files remembered per actor
_FORMATS = 64  # formats counted per actor (a share has a few dozen)
_CREATED = 4096


def _stem_path(path: str) -> str:
    return os.path.join(os.path.dirname(path), stem(path))


def _count(table: dict[str, int], key: str) -> None:
    if key in table or len(table) < _FORMATS:
        table[key] = table.get(key, 0) + 1


def note_flow(obs: Observation) -> None:
    """Before the indicators: what the actor consumed and produced, and when it changed files."""
    ev, h, before, after = obs.event, obs.history, obs.before, obs.after
    if ev.op is Op.READ:
        fmt = before.format if before is not None else "?"
        if before is not None:
            _count(h.consumed, fmt)
        h.read[_stem_path(ev.path)] = fmt
        h.read.move_to_end(_stem_path(ev.path))
        while len(h.read) > _READ:
            h.read.popitem(last=False)
        return
    if before is None and ev.op is not Op.WRITE:
        return
    if ev.op is Op.WRITE:
        replaces = before is not None or _stem_path(ev.path) in h.read
        if replaces and after is not None:
            _count(h.produced, after.format)
        if before is None:
            return
    assert before is not None
    _count(h.consumed, before.format)
    # distinct files, by stem: an editor saving one document three times is one file, and a
    # rename to `a.docx.locked` then its write are one file too
    key = _stem_path(ev.path2 if ev.op is Op.RENAME and ev.path2 else ev.path)
    h.changes.append((ev.at, key))
    h.changed[key] = h.changed.get(key, 0) + 1
    while h.changes and h.changes[0][0] < ev.at - RATE_WINDOW:
        _at, old = h.changes.popleft()
        h.changed[old] -= 1
        if not h.changed[old]:
            del h.changed[old]
    h.peak_changes = max(h.peak_changes, len(h.changed))


def note_created(obs: Observation) -> None:
    """After the indicators: copies written (create-then-delete) and folders (breadth)."""
    ev, h = obs.event, obs.history
    if ev.op not in (Op.WRITE, Op.CREATE):
        return
    if len(h.folders) < _CREATED:
        h.folders.add(os.path.dirname(ev.path))
    if obs.before is None and len(h.created) < _CREATED:
        h.created[stem(ev.path)] = ev.path
        after = obs.after
        if ev.op is Op.WRITE and len(h.valid_copies) < _CREATED:
            # create-then-delete: a conversion ("" when judged and not a valid file)
            valid = after is not None and after.verdict is Verdict.INTACT
            h.valid_copies[ev.path] = after.format if valid and after is not None else ""


@INDICATORS.register("type-funnel")
def _funnel(obs: Observation) -> Hit | None:
    h = obs.history
    if h.funnel_counted or obs.event.op is not Op.WRITE or len(h.consumed) < FUNNEL_TYPES:
        return None
    total = sum(h.produced.values())
    if total < FUNNEL_FILES:
        return None
    fmt, n = max(h.produced.items(), key=lambda kv: kv[1])
    if n < FUNNEL_SHARE * total:
        return None
    h.funnel_counted = True
    read = ", ".join(sorted(h.consumed, key=lambda f: -h.consumed[f])[:4])
    return Hit(
        FUNNEL_POINTS,
        f"{len(h.consumed)} file types read ({read}...), one written ({fmt}) over them: {n} files",
    )


@INDICATORS.register("rate")
def _rate(obs: Observation) -> Hit | None:
    h = obs.history
    if h.rate_counted or len(h.changed) < RATE_CHANGES:
        return None
    h.rate_counted = True
    return Hit(RATE_POINTS, f"{len(h.changed)} files changed within {RATE_WINDOW:g} s")
