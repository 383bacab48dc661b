"""The dispatcher: blocks first, records every response in a real store, alerts never delay."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from sqlalchemy import insert, select

from rempart.guard.alarm import Alarm, Response
from rempart.guard.respond import build_dispatcher
from rempart.store import Incident, open_store
from rempart.store.guard import GuardResponse, GuardRun


def rows(url: str) -> list[GuardResponse]:
    engine = open_store(url)
    try:
        with engine.connect() as conn:
            found = conn.execute(select(GuardResponse).order_by(GuardResponse.id)).all()
            return [GuardResponse(**r._mapping) for r in found]
    finally:
        engine.dispose()


def test_order_record_and_idempotence(
    store_url: str, tmp_path: Path, alarm_for: Callable[..., Alarm]
) -> None:
    config = tmp_path / "guard.toml"
    config.write_text('[hook]\ncommand = ["true"]\n[stop-process]\n[record]\n')
    victim = subprocess.Popen(["sleep", "30"])
    d = build_dispatcher(config, [], store_url=store_url, incident="mairie-2026", dry_run=False)
    try:
        alarm = alarm_for(pid=victim.pid)
        first = d.handle(alarm)
        assert [r.responder for r in first] == ["stop-process", "record", "hook"]
        assert all(r.ok for r in first), first
        assert victim.wait(2) < 0
        second = d.handle(alarm_for(pid=victim.pid))
        assert [r.already_done for r in second] == [True, False, True]
    finally:
        d.close()
        victim.kill()
        victim.wait()
    found = rows(store_url)
    assert [(r.responder, r.already_done) for r in found] == [
        ("stop-process", False),
        ("record", False),
        ("hook", False),
        ("stop-process", True),
        ("record", False),
        ("hook", True),
    ]
    first_row = found[0]
    assert first_row.actor_key == f"process:{victim.pid}"
    extra = json.loads(first_row.extra)
    assert extra["alarm_at"] == alarm.at.isoformat()
    assert extra["alarm_reason"] == "decoy written: .aaa-rempart.docx"
    engine = open_store(store_url)
    with engine.connect() as conn:
        incident = conn.scalar(select(Incident.id).where(Incident.key == "mairie-2026"))
    engine.dispose()
    assert {r.incident_id for r in found} == {incident}


def test_slow_alert_does_not_delay_the_block(
    tmp_path: Path, alarm_for: Callable[..., Alarm]
) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    config = tmp_path / "guard.toml"
    config.write_text('[hook]\ncommand = ["sleep", "1.5"]\n[stop-process]\n[record]\n')
    late: list[Response] = []
    arrived = threading.Event()

    def told(resp: Response) -> None:
        late.append(resp)
        arrived.set()

    d = build_dispatcher(
        config, [], store_url=url, incident=None, dry_run=False, notify_wait=0.1, on_response=told
    )
    victims = [subprocess.Popen(["sleep", "30"]) for _ in range(2)]
    try:
        started = time.monotonic()
        out = [d.handle(alarm_for(pid=v.pid)) for v in victims]
        took = time.monotonic() - started
        assert took < 1.0  # two alarms, each block done, neither waited for the hook
        assert [[r.responder for r in o] for o in out] == [["stop-process", "record"]] * 2
        assert all(v.wait(2) < 0 for v in victims)
        assert arrived.wait(5)
    finally:
        d.close()  # waits for the hooks still running
        for v in victims:
            v.kill()
            v.wait()
    assert sorted(r.responder for r in late) == ["hook", "hook"]
    assert [r.responder for r in rows(url)].count("hook") == 2


def test_dry_run_records_what_would_be_done(
    tmp_path: Path, alarm_for: Callable[..., Alarm]
) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    victim = subprocess.Popen(["sleep", "30"])
    d = build_dispatcher(None, ["default"], store_url=url, incident=None, dry_run=True)
    try:
        out = d.handle(alarm_for(pid=victim.pid))
        # close-session and block-client do not apply to a local process
        assert [r.responder for r in out] == ["stop-process", "record", "alert"]
        assert out[0].dry_run and out[0].detail.startswith("would stop and kill 1 process(es)")
        assert not out[1].dry_run  # the record is real
        assert victim.poll() is None
        smb = d.handle(alarm_for(address="10.0.0.2"))
        assert [r.responder for r in smb] == ["block-client", "close-session", "record", "alert"]
    finally:
        d.close()
        victim.kill()
        victim.wait()
    found = rows(url)
    assert [(r.responder, r.dry_run) for r in found][:2] == [
        ("stop-process", True),
        ("record", False),
    ]


def test_record_alone_with_the_run(tmp_path: Path, alarm_for: Callable[..., Alarm]) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    engine = open_store(url)
    with engine.begin() as conn:
        run = conn.execute(insert(GuardRun).values(root="/srv/share")).inserted_primary_key
    engine.dispose()
    assert run is not None
    d = build_dispatcher(None, [], store_url=url, incident=None, dry_run=False)
    alarm = replace(alarm_for(user="mallory"), run_id=run[0])
    try:
        assert [r.responder for r in d.handle(alarm)] == ["record"]
        assert d.handle(alarm)[0].already_done  # the same alarm handed twice
    finally:
        d.close()
    found = rows(url)
    assert [(r.responder, r.actor_key, r.run_id) for r in found] == [
        ("record", "user:mallory", run[0])
    ]
