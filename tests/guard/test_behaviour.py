"""Behaviour indicators: many types read and one written over them, rate, copies of a file."""

from __future__ import annotations

from pathlib import Path

from rempart.guard.alarm import Actor, ActorKind
from rempart.guard.behaviour import (
    FUNNEL_FILES,
    FUNNEL_POINTS,
    RATE_CHANGES,
    RATE_POINTS,
)
from rempart.guard.content import Content
from rempart.guard.events import Event, EventQueue, Op
from rempart.guard.scoring import THRESHOLD, Scorer
from rempart.guard.sources import SourceOptions
from rempart.guard.sources._samba import SambaAuditSource
from rempart.guard.tripwire import decoy_of
from rempart.triage.verdicts import Verdict

FORMATS = ["docx", "xlsx", "pdf", "jpeg", "odt"]


def doc(fmt: str) -> Content:
    return Content(fmt, Verdict.INTACT, 0.0, 5000, None)


# content the triage cannot call encrypted (e.g. a format it does not know): only behaviour
OPAQUE = Content("unknown", Verdict.SUSPICIOUS, 0.3, 5000, None)
GZIP = Content("gzip", Verdict.INTACT, 1.0, 3000, None)


def run(scorer: Scorer, ops: list[tuple[Event, Content | None, Content | None]]) -> list[str]:
    state = scorer.state(Actor(ActorKind.PROCESS, pid=42))
    reasons = []
    for ev, before, after in ops:
        if ev.op is Op.READ:
            scorer.read(state, ev, before)
        else:
            reasons += [h.reason for h in scorer.observe(state, ev, "x", before, after)]
    return reasons


def files(n: int) -> list[tuple[str, Content]]:
    return [(f"/r/d{i % 3}/f{i}.{FORMATS[i % 5]}", doc(FORMATS[i % 5])) for i in range(n)]


def test_many_types_read_then_one_written_over_them_counts_once() -> None:
    scorer = Scorer("/r")
    ops: list[tuple[Event, Content | None, Content | None]] = []
    for path, content in files(FUNNEL_FILES + 3):  # in place: overwritten by one format
        ops.append((Event("t", Op.WRITE, path), content, OPAQUE))
    reasons = run(scorer, ops)
    funnel = [r for r in reasons if "file types read" in r]
    assert len(funnel) == 1 and "one written (unknown)" in funnel[0], reasons
    state = scorer.actors["process:42"]
    assert state.score < THRESHOLD  # behaviour alone never decides
    assert FUNNEL_POINTS + RATE_POINTS < THRESHOLD


def test_copies_beside_what_was_read_count_and_copies_elsewhere_do_not() -> None:
    beside, elsewhere = Scorer("/r"), Scorer("/r")
    ops_b: list[tuple[Event, Content | None, Content | None]] = []
    ops_e: list[tuple[Event, Content | None, Content | None]] = []
    for path, content in files(FUNNEL_FILES + 3):
        read = (Event("t", Op.READ, path), content, None)
        ops_b += [read, (Event("t", Op.WRITE, path + ".locked"), None, OPAQUE)]
        # a backup: the same reads, copies written in another folder (valid files here)
        ops_e += [read, (Event("t", Op.WRITE, "/r/backup" + path), None, OPAQUE)]
    assert any("file types read" in r for r in run(beside, ops_b))
    assert not any("file types read" in r for r in run(elsewhere, ops_e))


def test_a_zip_of_many_types_is_one_file_and_one_type_read_is_an_office_save() -> None:
    zipper, saver = Scorer("/r"), Scorer("/r")
    reads = [(Event("t", Op.READ, p), c, None) for p, c in files(20)]
    ops_z = [*reads, (Event("t", Op.WRITE, "/r/d0.zip"), None, doc("zip"))]
    assert run(zipper, ops_z) == []
    docx = doc("docx")
    ops_s = [(Event("t", Op.WRITE, f"/r/a{i}.docx"), docx, docx) for i in range(20)]
    assert run(saver, ops_s) == []


def test_compressing_files_then_deleting_them_is_not_create_then_delete() -> None:
    """gzip of old logs: a valid copy, then the original deleted (was an alarm at 8 files).
    The copy's write and the delete arrive in either order (two fanotify groups)."""
    enc = Content("unknown", Verdict.ENCRYPTED, 1.0, 5000, None, ("random",))
    for copy, counted in ((GZIP, False), (enc, True)):
        for copy_first in (True, False):
            scorer = Scorer("/r")
            state = scorer.state(Actor(ActorKind.PROCESS, pid=7))
            peak = 0.0
            for i in range(12):
                path = f"/r/logs/l{i}.log"
                create = Event("t", Op.CREATE, path + ".gz")
                write = Event("t", Op.WRITE, path + ".gz")
                delete = Event("t", Op.DELETE, path)
                scorer.observe(state, create, "x", None, None)
                if copy_first:  # the baseline knows the copy when the original goes
                    scorer.observe(state, write, "x", None, copy)
                    scorer.observe(state, delete, "x", doc("text"), None)
                else:  # the delete first: it waits until the copy is judged
                    scorer.observe(state, delete, "x", doc("text"), None)
                    peak = max(peak, state.score)
                    scorer.observe(state, write, "x", None, copy)
                peak = max(peak, state.score)
            deletes = [h for h in state.hits if "original deleted" in h.reason]
            if counted:
                assert len(deletes) == 12, (copy, copy_first)
            else:
                assert deletes == [], (copy, copy_first)
                # never on the way either: a rotation of hundreds of logs stays far below
                assert peak < 1.0, (copy, copy_first, state.hits)


def test_rate_counts_changes_of_existing_files_within_the_window() -> None:
    fast, slow = Scorer("/r"), Scorer("/r")
    docx = doc("docx")
    burst = [
        (
            Event("t", Op.RENAME, f"/r/a{i}.docx", f"/r/a{i}.bak", at=100 + i / (2 * RATE_CHANGES)),
            docx,
            None,
        )
        for i in range(RATE_CHANGES)
    ]
    reasons = run(fast, burst)
    assert sum("files changed within" in r for r in reasons) == 1
    spread = [
        (Event("t", Op.RENAME, f"/r/a{i}.docx", f"/r/a{i}.bak", at=100 + i * 0.05), docx, None)
        for i in range(RATE_CHANGES)
    ]
    assert not any("files changed within" in r for r in run(slow, spread))
    # one document saved again and again (an editor's temporary copy renamed over it)
    again = [
        (Event("t", Op.RENAME, f"/r/~$a{i % 3}.tmp", f"/r/a{i % 3}.docx", at=100.0), docx, None)
        for i in range(3 * RATE_CHANGES)
    ]
    assert not any("files changed within" in r for r in run(Scorer("/r"), again))
    # new files (a copy, an unzip) are not changes of what existed
    new = [(Event("t", Op.WRITE, f"/r/n{i}.docx", at=100.0), None, docx) for i in range(300)]
    assert not any("files changed within" in r for r in run(Scorer("/r"), new))


def test_samba_reads_are_read_events_and_writes_opened_are_not(tmp_path: Path) -> None:
    log = tmp_path / "smbd.log"
    log.write_bytes(b"")
    q = EventQueue(10)
    src = SambaAuditSource(SourceOptions(tmp_path, log), q)
    src.feed(b"10.0.0.8|alice|PC|share|openat|ok|r|/s/a.docx")
    src.feed(b"10.0.0.8|alice|PC|share|openat|ok|w|/s/b.docx")
    src.feed(b"10.0.0.8|alice|PC|share|pread_send|ok|/s/c.xlsx")
    src.feed(b"10.0.0.8|alice|PC|share|openat|ok|r")  # damaged: no path
    got = [(e.op, e.path, e.user) for e in q.get_batch(0.1)]
    assert got == [(Op.READ, "/s/a.docx", "alice"), (Op.READ, "/s/c.xlsx", "alice")]
    src.follower.close()


def test_reading_a_decoy_is_not_touching_it() -> None:
    """A preview or an antivirus reading a decoy: no freeze, no urgency, no points."""
    decoy = "/r/a/!0000 d.docx"
    assert decoy_of(Event("fanotify", Op.READ, decoy, pid=9), frozenset({decoy}), "/r") is None
    assert decoy_of(Event("fanotify", Op.WRITE, decoy, pid=9), frozenset({decoy}), "/r")


def test_a_valid_copy_in_the_originals_own_format_still_counts() -> None:
    """An attack that keeps the header (triage may call the copy intact) is no conversion."""
    for copy_first in (True, False):
        scorer = Scorer("/r")
        state = scorer.state(Actor(ActorKind.PROCESS, pid=7))
        docx = doc("docx")
        write = Event("t", Op.WRITE, "/r/a.docx.locked")
        delete = Event("t", Op.DELETE, "/r/a.docx")
        scorer.observe(state, Event("t", Op.CREATE, "/r/a.docx.locked"), "x", None, None)
        steps = [(write, None, docx), (delete, docx, None)]
        for ev, before, after in steps if copy_first else steps[::-1]:
            scorer.observe(state, ev, "x", before, after)
        assert state.score == 0.25, (copy_first, state.hits)


def test_a_log_rotation_whose_copies_are_judged_late_raises_nothing_meanwhile() -> None:
    """The content group lags behind the delete events: every delete arrives before any
    copy is judged. Counting them first reached the threshold at the 8th file."""
    scorer = Scorer("/r")
    state = scorer.state(Actor(ActorKind.PROCESS, pid=7))
    logs = [f"/r/logs/l{i}.log" for i in range(40)]
    for path in logs:
        scorer.observe(state, Event("t", Op.CREATE, path + ".gz"), "x", None, None)
        scorer.observe(state, Event("t", Op.DELETE, path), "x", doc("text"), None)
    assert state.score == 0, state.hits
    for path in logs:
        scorer.observe(state, Event("t", Op.WRITE, path + ".gz"), "x", None, GZIP)
    assert state.score == 0, state.hits
