"""Decisions and contacts; `rempart scan` results attached to the incident."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from _wsworld import World

from rempart.triage import scanner
from rempart.workspace import (
    Forbidden,
    Invalid,
    NotFound,
    decisions,
    incidents,
    logbook,
    scans,
    transaction,
)
from rempart.workspace.decisions import ContactKind


def test_a_decision_keeps_its_rationale_and_enters_the_logbook(world: World) -> None:
    inc = world.incident.id
    with transaction(world.engine) as s:
        d = decisions.record_decision(
            s,
            world.official_a,
            inc,
            "The ransom is not paid",
            "No guarantee of decryption; backups from Friday are intact; it funds crime.",
            decided_by="Mayor of Ville A",
        )
        with pytest.raises(Invalid):
            decisions.record_decision(s, world.official_a, inc, "Pay", "  ")
        with pytest.raises(Forbidden):
            decisions.record_decision(s, world.comms_a, inc, "x", "y")
        with pytest.raises(NotFound):
            decisions.record_decision(s, world.responder_b, inc, "x", "y")
        listed = decisions.list_decisions(s, world.viewer_a, inc)
        last = logbook.entries(s, world.viewer_a, inc)[-1]
    assert [x.title for x in listed] == ["The ransom is not paid"]
    assert listed[0].decided_by == "Mayor of Ville A" and listed[0].recorded_by == d.recorded_by
    assert last.source == "decisions" and "not paid" in last.what and "backups" in last.what


def test_contacts(world: World) -> None:
    inc = world.incident.id
    with transaction(world.engine) as s:
        decisions.add_contact(
            s,
            world.responder_a,
            inc,
            ContactKind.AGENCY,
            "CERT-FR",
            phone="+33 1 00 00 00 00",
            reference="CERTFR-2026-0001",
        )
        decisions.add_contact(s, world.official_a, inc, ContactKind.POLICE, "Gendarmerie")
        with pytest.raises(Forbidden):
            decisions.add_contact(s, world.viewer_a, inc, ContactKind.INSURER, "Assureur")
        got = decisions.list_contacts(s, world.viewer_a, inc)
    assert [(c.kind, c.name) for c in got] == [
        (ContactKind.AGENCY, "CERT-FR"),
        (ContactKind.POLICE, "Gendarmerie"),
    ]


def test_scan_results_per_town_and_share(world: World, tmp_path: Path) -> None:
    share = tmp_path / "commun"
    share.mkdir()
    for i in range(6):
        (share / f"doc{i}.txt").write_text(f"compte rendu du conseil municipal {i}\n" * 50)
    for i in range(3):
        (share / f"photo{i}.jpg.lockbit").write_bytes(os.urandom(40_000))
    (share / "Restore-My-Files.txt").write_text(
        "All your files are encrypted by LockBit. Contact us: lockbitsupp@onionmail.org "
        "or http://lockbitapt6vx57t3eeqjofwgcglmutr3a35nygvokja5uuccip4ykyd.onion\n"
    )
    opts = scanner.ScanOptions(workers=1, hash="none")
    run = scanner.scan(world.engine, share, incident=world.incident.key, options=opts)
    with transaction(world.engine) as s:
        with pytest.raises(NotFound):
            scans.attach_scan(
                s, world.responder_b, world.incident.id, run.scan_id, town="ville-a", share="x"
            )
        with pytest.raises(Invalid):
            scans.attach_scan(
                s, world.responder_a, world.incident.id, run.scan_id, town="ville-a", share=" "
            )
        scans.attach_scan(
            s,
            world.responder_a,
            world.incident.id,
            run.scan_id,
            town="ville-a",
            share=r"\\srv-mairie\commun",
        )
    with transaction(world.engine) as s:
        (result,) = scans.scan_results(s, world.viewer_a, world.incident.id)
        with pytest.raises(NotFound):
            scans.scan_results(s, world.responder_b, world.incident.id)
    assert result.town == "ville-a" and result.share == r"\\srv-mairie\commun"
    assert (result.files, result.encrypted) == (10, 3), result.by_verdict
    assert result.encrypted_share == pytest.approx(0.3)
    assert len(result.notes) == 1, (result.by_verdict, result.notes)
    kinds = {k for k, _ in result.notes[0].indicators}
    assert kinds, result.notes[0]


def test_an_incident_started_by_a_scan_is_adopted(world: World, tmp_path: Path) -> None:
    share = tmp_path / "share"
    share.mkdir()
    (share / "a.txt").write_text("compte rendu\n" * 20)
    run = scanner.scan(
        world.engine,
        share,
        incident="scan-first",
        options=scanner.ScanOptions(workers=1, hash="none"),
    )
    with transaction(world.engine) as s:
        assert "scan-first" not in {i.key for i in incidents.list_incidents(s, world.responder_a)}
        adopted = incidents.create_incident(
            s,
            world.responder_a,
            key="scan-first",
            title="Scan d'abord",
            owner="ville-a",
            towns=["ville-a"],
        )
        (result,) = scans.scan_results(s, world.responder_a, adopted.id)
        with pytest.raises(Invalid, match="already exists"):
            incidents.create_incident(
                s,
                world.responder_a,
                key="scan-first",
                title="again",
                owner="ville-a",
                towns=["ville-a"],
            )
    assert result.scan_id == run.scan_id and result.files == 1
