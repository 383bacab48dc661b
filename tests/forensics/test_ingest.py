"""Ingest into SQLite and PostgreSQL: idempotent, resumable, damaged files are warnings."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from _timeline_samples import ATOMIC
from sqlalchemy import Engine, func, select, update

from rempart.forensics._errors import TimelineError
from rempart.forensics.ingest import ingest
from rempart.store import open_store
from rempart.store.models import Incident, Scan, ScanFile, path_key
from rempart.store.timeline import EVENTS, SOURCES


def _count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(EVENTS)) or 0)


def test_ingest_folder_is_idempotent(store_url: str, text_logs: Path) -> None:
    shutil.copy(ATOMIC, text_logs / "sysmon.evtx")
    (text_logs / "broken.evtx").write_bytes(b"not an event log" * 100)
    engine = open_store(store_url)
    first = ingest(engine, [text_logs], "town")
    assert first.by_kind == {"evtx": 2, "samba": 1, "syslog": 1}  # the broken one too
    assert first.skipped == [str(text_logs / "notes.txt")]
    warned = {Path(w.path).name for w in first.warnings}
    assert warned == {"broken.evtx", "smbd.log", "auth.log"}
    stored = _count(engine)
    assert stored == first.events > 100
    again = ingest(engine, [text_logs], "town")
    assert again.unchanged == 4 and again.events == 0 and _count(engine) == stored


def test_grown_log_and_killed_run_resume(store_url: str, text_logs: Path) -> None:
    engine = open_store(store_url)
    log = text_logs / "auth.log"
    ingest(engine, [log], "town", scans=False)
    before = _count(engine)
    with log.open("a") as handle:
        handle.write(
            "Nov 21 23:30:00 fs1 sshd[9]: Accepted password for eve from 10.1.1.1 port 1 ssh2\n"
        )
    assert ingest(engine, [log], "town", scans=False).events == 1
    assert _count(engine) == before + 1
    # A run killed mid-file: the source says "running" with some records done.
    with engine.begin() as conn:
        conn.execute(update(SOURCES).values(status="running", done=2))
    resumed = ingest(engine, [log], "town", scans=False)
    assert resumed.events == 4  # lines 3.. re-read; the unique key keeps one copy
    assert _count(engine) == before + 1


def test_scan_file_times_join_the_timeline(store_url: str) -> None:
    engine = open_store(store_url)
    with engine.begin() as conn:
        inc = conn.execute(
            Incident.__table__.insert().values(key="town", title="t")
        ).inserted_primary_key[0]
        scan = conn.execute(
            Scan.__table__.insert().values(
                incident_id=inc, root="/srv/share", root_bytes=b"/srv/share"
            )
        ).inserted_primary_key[0]
        for i, verdict in enumerate(["encrypted", "intact", "ransom_note", "encrypted"]):
            p = f"d/f{i}".encode()
            conn.execute(
                ScanFile.__table__.insert().values(
                    scan_id=scan,
                    path=p,
                    path_key=path_key(p),
                    path_text=p.decode(),
                    top="d",
                    verdict=verdict,
                    format="x",
                    size=10,
                    mtime_ns=1_700_000_000_123_456_789 + i,
                )
            )
    summary = ingest(engine, [], "town")
    assert summary.events == 3
    with engine.connect() as conn:
        rows = conn.execute(select(EVENTS.c.channel, EVENTS.c.ts_us, EVENTS.c.ts_text)).all()
    assert sorted(r.channel for r in rows) == ["encrypted", "encrypted", "ransom_note"]
    assert min(r.ts_us for r in rows) == 1_700_000_000_123_456
    assert "1700000000123456789" in {r.ts_text for r in rows}  # nanoseconds kept as found
    assert ingest(engine, [], "town").events == 3 and _count(engine) == 3


def test_missing_path_is_an_error(tmp_path: Path) -> None:
    engine = open_store(f"sqlite:///{tmp_path / 's.db'}")
    with pytest.raises(TimelineError, match="no such file"):
        ingest(engine, [tmp_path / "nope"], "town")


def test_nul_bytes_and_undecodable_names_are_stored(store_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "odd"
    folder.mkdir()
    name = os.fsdecode(b"auth-\xe9t\xe9.log")  # Latin-1 name: not UTF-8
    (folder / name).write_bytes(
        b"Nov 21 22:58:01 fs1 sshd[1]: Accepted password for ag\x00ent from 10.0.0.9 port 5 ssh2\n"
        b"Nov 21 22:58:02 fs1 kernel: caf\xe9 \xff\n"
    )
    engine = open_store(store_url)
    summary = ingest(engine, [folder], "town", scans=False)
    assert summary.events == 2 and not summary.warnings
    with engine.connect() as conn:
        paths = conn.scalars(select(SOURCES.c.path)).all()
        messages = conn.scalars(select(EVENTS.c.message).order_by(EVENTS.c.id)).all()
    assert paths == [str(folder).rstrip("/") + "/auth-\\xe9t\\xe9.log"]
    assert "caf\\xe9 \\xff" in messages[1]  # undecodable bytes kept visible


def test_ingest_settings_are_restored_on_the_pooled_connection(tmp_path: Path) -> None:
    # The ingest connection skips foreign-key checks and widens its cache: the pool's next
    # user must get the store's usual settings back, after a run and after a failed one.
    engine = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    (tmp_path / "a.evtx").write_bytes(ATOMIC.read_bytes())

    def settings() -> tuple[object, ...]:
        with engine.connect() as conn:
            names = ("foreign_keys", "cache_size", "wal_autocheckpoint")
            return tuple(conn.exec_driver_sql(f"PRAGMA {name}").scalar() for name in names)

    usual = settings()
    assert usual[0] == 1
    assert ingest(engine, [tmp_path / "a.evtx"], "town", scans=False).events == 565
    assert settings() == usual

    def fail(_files: int, _events: int, _path: str) -> None:
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        ingest(engine, [tmp_path / "a.evtx"], "other", scans=False, progress=fail)
    assert settings() == usual
    with engine.connect() as conn:  # the failed run's batch was rolled back, nothing dangling
        orphans = conn.exec_driver_sql("PRAGMA foreign_key_check").all()
    assert orphans == []


def test_a_log_keeps_the_zone_it_was_first_read_in(store_url: str, text_logs: Path) -> None:
    engine = open_store(store_url)
    log = text_logs / "auth.log"
    first = ingest(engine, [log], "town", scans=False, tz="Europe/Paris")
    assert not [w for w in first.warnings if "zone" in w.message]

    def stored() -> list[tuple[str, int]]:
        with engine.connect() as conn:
            rows = conn.execute(
                select(EVENTS.c.ts_precision, EVENTS.c.ts_us).order_by(EVENTS.c.record_id)
            )
            return [(str(p), int(us)) for p, us in rows if us is not None]

    before = stored()
    assert before[0][0] == "s, year assumed, zone Europe/Paris given"
    with log.open("a") as handle:
        handle.write("Nov 21 23:30:00 fs1 sshd[9]: Accepted password for eve\n")
    # Grown, and read again without --tz: its new line is read in the zone of the others.
    grown = ingest(engine, [log], "town", scans=False)
    assert grown.events == 1
    (warning,) = [w.message for w in grown.warnings if "zone" in w.message]
    assert "read as Europe/Paris" in warning and "UTC not applied" in warning
    after = stored()
    assert after[:-1] == before
    assert after[-1][0] == "s, year assumed, zone Europe/Paris given"
    assert after[-1][1] - before[0][1] == (32 * 60 - 1) * 10**6  # 22:58:01 -> 23:30:00
    # Unchanged, asked in another zone: nothing is read, the user is told why.
    again = ingest(engine, [log], "town", scans=False, tz="UTC")
    assert again.unchanged == 1 and [w.path for w in again.warnings] == [str(log)]
