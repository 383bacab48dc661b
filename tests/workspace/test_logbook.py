"""The logbook's hash chain: every kind of tampering done directly in the database shows."""

from __future__ import annotations

import csv
import io
import itertools
import json

import pytest
from _wsworld import World
from sqlalchemy import text

from rempart.workspace import Invalid, logbook, transaction


def _fill(world: World, n: int = 5) -> int:
    with transaction(world.engine) as s:
        for i in range(1, n + 1):
            logbook.append(s, world.responder_a, world.incident.id, f"entry {i}", source="phone")
    return world.incident.id


def _verify(world: World) -> logbook.ChainReport:
    with transaction(world.engine) as s:
        return logbook.verify(s, world.op, world.incident.id)


def _sql(world: World, statement: str, **params: object) -> None:
    with world.engine.begin() as conn:
        conn.execute(text(statement), params)


def test_appended_entries_chain_and_verify(world: World) -> None:
    _fill(world)
    report = _verify(world)
    assert report.ok and report.entries == 5
    with transaction(world.engine) as s:
        got = logbook.entries(s, world.viewer_a, world.incident.id)
    assert [e.seq for e in got] == [1, 2, 3, 4, 5]
    assert got[0].prev_hash == logbook.GENESIS
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(got))
    assert got[0].author == "tech@ville-a.fr" and got[0].source == "phone"
    assert report.head == got[-1].hash


def test_a_correction_is_a_new_entry(world: World) -> None:
    _fill(world, 2)
    with transaction(world.engine) as s:
        fixed = logbook.append(s, world.official_a, world.incident.id, "it was 23:10", corrects=1)
        with pytest.raises(Invalid):
            logbook.append(s, world.official_a, world.incident.id, "x", corrects=99)
        with pytest.raises(Invalid):
            logbook.append(s, world.official_a, world.incident.id, "   ")
    assert fixed.seq == 3 and fixed.corrects == 1
    assert _verify(world).ok


def test_changed_entry_is_detected(world: World) -> None:
    inc = _fill(world)
    _sql(
        world,
        "UPDATE ws_log_entries SET what='nothing happened' WHERE incident_id=:i AND seq=3",
        i=inc,
    )
    report = _verify(world)
    assert not report.ok
    assert [(p.seq, p.kind) for p in report.problems] == [(3, "changed")]


def test_changed_time_is_detected(world: World) -> None:
    inc = _fill(world)
    _sql(
        world,
        "UPDATE ws_log_entries SET author='someone@else.fr' WHERE incident_id=:i AND seq=1",
        i=inc,
    )
    assert [(p.seq, p.kind) for p in _verify(world).problems] == [(1, "changed")]


def test_deleted_entry_is_detected(world: World) -> None:
    inc = _fill(world)
    _sql(world, "DELETE FROM ws_log_entries WHERE incident_id=:i AND seq=2", i=inc)
    kinds = {p.kind for p in _verify(world).problems}
    assert {"link", "sequence", "head"} <= kinds


def test_deleted_last_entry_is_detected(world: World) -> None:
    inc = _fill(world)
    _sql(world, "DELETE FROM ws_log_entries WHERE incident_id=:i AND seq=5", i=inc)
    assert [p.kind for p in _verify(world).problems] == ["head"]


def test_inserted_entry_is_detected(world: World) -> None:
    inc = _fill(world, 3)
    # A forged entry with a well-formed hash of its own, slipped in at the end.
    with transaction(world.engine) as s:
        last = logbook.entries(s, world.op, inc)[-1]
    forged = logbook.entry_hash(
        last.hash, "2026-rans-a", 4, last.at, "x@y.fr", "forged", "web", None
    )
    _sql(
        world,
        "INSERT INTO ws_log_entries (incident_id, seq, at, author, what, source, "
        "prev_hash, hash) VALUES (:i, 4, :at, 'x@y.fr', 'forged', 'web', :p, :h)",
        i=inc,
        at=last.at,
        p=last.hash,
        h=forged,
    )
    assert [p.kind for p in _verify(world).problems] == ["head"]


def test_inserted_entry_in_the_middle_is_detected(world: World) -> None:
    inc = _fill(world, 3)
    _sql(
        world, "UPDATE ws_log_entries SET seq = seq + 100 WHERE incident_id=:i AND seq >= 2", i=inc
    )
    _sql(
        world,
        "INSERT INTO ws_log_entries (incident_id, seq, at, author, what, source, "
        "prev_hash, hash) SELECT incident_id, 2, at, author, 'forged', source, hash, hash "
        "FROM ws_log_entries WHERE incident_id=:i AND seq=1",
        i=inc,
    )
    kinds = {p.kind for p in _verify(world).problems}
    assert {"changed", "sequence", "head"} <= kinds


def test_reordered_entries_are_detected(world: World) -> None:
    inc = _fill(world)
    # Swap entries 2 and 4 by renumbering (through a free number: seq is unique).
    for a, b in ((2, 999), (4, 2), (999, 4)):
        _sql(
            world,
            "UPDATE ws_log_entries SET seq=:b WHERE incident_id=:i AND seq=:a",
            a=a,
            b=b,
            i=inc,
        )
    problems = _verify(world).problems
    assert {p.seq for p in problems if p.kind == "changed"} == {2, 4}
    assert any(p.kind == "sequence" for p in problems)


def test_swapped_texts_are_detected(world: World) -> None:
    inc = _fill(world)
    _sql(
        world,
        "UPDATE ws_log_entries SET what = CASE seq WHEN 2 THEN 'entry 3' "
        "ELSE 'entry 2' END WHERE incident_id=:i AND seq IN (2, 3)",
        i=inc,
    )
    assert {(p.seq, p.kind) for p in _verify(world).problems} == {(2, "changed"), (3, "changed")}


def test_exports_carry_every_entry_and_hash(world: World) -> None:
    inc = _fill(world, 3)
    with transaction(world.engine) as s:
        logbook.append(s, world.responder_a, inc, 'a "quoted", multi\nline note')
        jsonl = logbook.export_jsonl(s, world.viewer_a, inc)
        as_csv = logbook.export_csv(s, world.viewer_a, inc)
        head = logbook.verify(s, world.op, inc).head
    lines = [json.loads(line) for line in jsonl.splitlines()]
    assert [r["seq"] for r in lines] == [1, 2, 3, 4] and lines[-1]["hash"] == head
    assert lines[3]["what"] == 'a "quoted", multi\nline note'
    rows = list(csv.DictReader(io.StringIO(as_csv)))
    assert [r["seq"] for r in rows] == ["1", "2", "3", "4"]
    assert rows[3]["what"] == lines[3]["what"] and rows[0]["at"] == lines[0]["at"]
    # The export alone is enough to re-check the chain.
    prev = logbook.GENESIS
    from datetime import datetime

    for r in lines:
        at = datetime.fromisoformat(r["at"])
        h = logbook.entry_hash(
            prev, "2026-rans-a", r["seq"], at, r["author"], r["what"], r["source"], r["corrects"]
        )
        assert h == r["hash"]
        prev = h


def test_a_rewritten_chain_shows_against_an_earlier_export(world: World) -> None:
    inc = _fill(world, 3)
    with transaction(world.engine) as s:
        anchor = logbook.export_jsonl(s, world.op, inc)
    # Rewrite entry 2 and recompute every hash and the head: the chain alone looks intact.
    _sql(world, "UPDATE ws_log_entries SET what='nothing' WHERE incident_id=:i AND seq=2", i=inc)
    with transaction(world.engine) as s:
        prev = logbook.GENESIS
        for e in logbook.entries(s, world.op, inc):
            h = logbook.entry_hash(
                prev, "2026-rans-a", e.seq, e.at, e.author, e.what, e.source, e.corrects
            )
            s.execute(
                text(
                    "UPDATE ws_log_entries SET prev_hash=:p, hash=:h WHERE incident_id=:i "
                    "AND seq=:n"
                ),
                {"p": prev, "h": h, "i": inc, "n": e.seq},
            )
            prev = h
        s.execute(text("UPDATE incidents SET log_head=:h WHERE id=:i"), {"h": prev, "i": inc})
    assert _verify(world).ok
    with transaction(world.engine) as s:
        found = logbook.compare_export(s, world.op, inc, anchor)
        with pytest.raises(Invalid):
            logbook.compare_export(s, world.op, inc, '{"seq": 1}\nnot json\n')
    assert [(p.seq, p.kind) for p in found] == [(2, "differs"), (3, "differs")]


def test_csv_export_defuses_spreadsheet_formulas(world: World) -> None:
    inc = world.incident.id
    hostile = [
        '=HYPERLINK("http://evil.test","click")',
        "+33 1 23 45 67 89",
        "-2+3",
        "@SUM(A1:A2)",
        "\tcmd",
        "\rcmd",
    ]
    with transaction(world.engine) as s:
        for what in hostile:
            # An author can also be hostile (e-mail of a guard-like source, a source field).
            logbook.append(s, world.responder_a, inc, what, source="=cmd|' /C calc'!A0")
        logbook.append(s, world.responder_a, inc, "a plain note = fine")
        as_csv = logbook.export_csv(s, world.viewer_a, inc)
        jsonl = logbook.export_jsonl(s, world.viewer_a, inc)
    rows = list(csv.DictReader(io.StringIO(as_csv)))
    # strip() in append removes the leading tab/CR: those entries are harmless already.
    expected = ["'" + w if w[0] in "=+-@" else w.strip() for w in hostile]
    assert [r["what"] for r in rows[:-1]] == expected
    assert all(r["source"] == "'=cmd|' /C calc'!A0" for r in rows[:-1])
    assert rows[-1]["what"] == "a plain note = fine" and rows[-1]["seq"] == str(len(hostile) + 1)
    # The JSONL export is the exact record the hash chain covers: untouched.
    assert json.loads(jsonl.splitlines()[0])["what"] == hostile[0]
    assert logbook.csv_cell("\tx") == "'\tx" and logbook.csv_cell("\rx") == "'\rx"
    assert logbook.csv_cell(7) == 7 and logbook.csv_cell("ok") == "ok"
