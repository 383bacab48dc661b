"""Indicators on single observations: what decides, what only adds, what never counts."""

from __future__ import annotations

from rempart.guard.content import Content
from rempart.guard.events import Event, Op
from rempart.guard.indicators import DECISIVE, INDICATORS, History, Observation, stem
from rempart.triage.verdicts import Verdict

DOCX = Content("docx", Verdict.INTACT, 0.0, 5000, None)
ENCRYPTED = Content("unknown", Verdict.ENCRYPTED, 1.0, 5000, None, ("random content throughout",))


def points(ev: Event, before: Content | None, after: Content | None, **kw: object) -> float:
    obs = Observation(ev, "a/x.docx", before, after, History(), **kw)  # type: ignore[arg-type]
    return sum(h.points for _, ind in INDICATORS.items() if (h := ind(obs)) is not None)


def test_decoy_changed_is_decisive_but_an_office_save_onto_it_is_not() -> None:
    decoy = ("a/!0000 d.docx", "target")
    save = Event("t", Op.RENAME, "/r/a/~$!0000 d.docx.tmp", "/r/a/!0000 d.docx")
    assert points(save, DOCX, None, decoy=decoy) < DECISIVE
    assert points(save, ENCRYPTED, None, decoy=decoy) >= DECISIVE
    away = Event("t", Op.RENAME, "/r/a/!0000 d.docx", "/r/a/!0000 d.docx.locked")
    assert points(away, DOCX, None, decoy=("a/!0000 d.docx", "path")) >= DECISIVE
    gone = Event("t", Op.DELETE, "/r/a/!0000 d.docx")
    assert points(gone, DOCX, None, decoy=("a/!0000 d.docx", "path")) >= DECISIVE


def test_one_encrypted_file_never_decides_alone() -> None:
    write = Event("t", Op.WRITE, "/r/a/.x.docx.rempart-tmp")
    assert 1.0 <= points(write, DOCX, ENCRYPTED) < 2.0
    assert points(write, DOCX, DOCX) == 0.0


def test_stem_sees_through_temporary_and_appended_extensions() -> None:
    assert stem("/r/.x.docx.rempart-tmp") == "x.docx"
    assert stem("/r/x.docx.locked") == "x.docx"
    assert stem("/r/x.docx") == "x.docx"
