"""The incident store opens, migrates and round-trips scan rows on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import func, inspect, select

from rempart.errors import StoreError
from rempart.store import ScanFile, open_store
from rempart.triage import _persist
from rempart.triage.rows import Row


def test_migrates_to_head_and_is_idempotent(store_url: str) -> None:
    engine = open_store(store_url)
    open_store(store_url)  # a second open is a no-op
    tables = set(inspect(engine).get_table_names())
    assert {"incidents", "scans", "scan_files", "scan_dirs", "alembic_version"} <= tables


def test_rows_round_trip_raw_path_bytes_and_dedupe(store_url: str) -> None:
    engine = open_store(store_url)
    inc = _persist.incident_id(engine, "mairie-2026")
    assert _persist.incident_id(engine, "mairie-2026") == inc
    scan_id = _persist.start_scan(engine, inc, b"/srv/share", {})
    deep = b"/".join([b"d"] * 3000) + b"/f"  # far longer than an index entry may be
    odd = b"Etat civil/acte\xff\xfe.docx"
    rows = [
        Row(odd, "encrypted", "random", "lockbit", 10, 1, None, ("head random",)),
        Row(deep, "intact", "text", None, 3, 2, "ab" * 32, ()),
    ]
    writer = _persist.Writer(engine, scan_id)
    writer.add(rows)
    writer.flush()
    writer.add(rows)  # a resumed scan classifying the same files again
    writer.flush()
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(ScanFile)) == 2
        got = conn.execute(select(ScanFile.path, ScanFile.path_text, ScanFile.top)).all()
    by_path = {bytes(p): (t, top) for p, t, top in got}
    assert by_path[odd] == ("Etat civil/acte\\xff\\xfe.docx", "Etat civil")
    assert deep in by_path


def test_resumable_scan_is_found_and_done_scans_are_not(store_url: str) -> None:
    engine = open_store(store_url)
    inc = _persist.incident_id(engine, "x")
    scan_id = _persist.start_scan(engine, inc, b"/a", {})
    assert _persist.resumable(engine, inc, b"/a") == scan_id
    _persist.set_status(engine, scan_id, "done")
    with pytest.raises(Exception, match="no unfinished scan"):
        _persist.resumable(engine, inc, b"/a")


def test_bad_urls_give_a_clear_error(tmp_path) -> None:
    with pytest.raises(StoreError, match="cannot use store URL"):
        open_store("nosuchdb://x")
    with pytest.raises(StoreError, match="does not exist"):
        open_store(f"sqlite:///{tmp_path}/missing/dir/store.db")


@pytest.mark.postgres
def test_unreachable_postgres_is_a_store_error(postgres) -> None:
    with pytest.raises(StoreError, match="cannot open the incident store"):
        open_store(f"postgresql://postgres@127.0.0.1:{postgres.port + 1}/nope?connect_timeout=2")
