"""Records in the store and the local journal of an apply."""

from __future__ import annotations

from pathlib import Path

import pytest

from rempart.contain import ContainError
from rempart.contain._records import (
    Journal,
    finish,
    incident_id,
    last_plan,
    records,
    save_plan,
    start,
)
from rempart.store import open_store


def test_actions_and_plans_are_recorded(store_url: str) -> None:
    engine = open_store(store_url)
    with pytest.raises(ContainError, match="unknown incident 'x'"):
        incident_id(engine, "x", create=False)
    iid = incident_id(engine, "x", create=True)
    rec = start(engine, iid, "isolate", "ws1", "alice@laptop", "table ...")
    [row] = records(engine, iid, active_only=True)
    assert (row.state, row.before) == ("applying", None)  # no snapshot yet: never modified
    finish(engine, rec, "verified", before="", after_hash="ab")
    [row] = records(engine, iid, active_only=True)
    assert (row.state, row.before, row.after_hash) == ("verified", "", "ab")
    finish(engine, rec, "undone")
    assert records(engine, iid, active_only=True) == []

    request = {"isolate": ["ws1"]}
    assert last_plan(engine, iid, request) is None
    save_plan(engine, iid, request, {"isolate:ws1": "h1"})
    save_plan(engine, iid, request, {"isolate:ws1": "h2"})
    assert last_plan(engine, iid, request) == {"isolate:ws1": "h2"}
    assert last_plan(engine, iid, {"isolate": ["ws2"]}) is None


def test_journal_keeps_pending_changes_and_survives_a_cut_line(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j")
    journal.write(incident="i1", action="isolate", target="ws1", state="applying")
    journal.write(incident="i1", action="isolate", target="ws1", state="applying", before="x")
    journal.write(incident="i1", action="isolate", target="ws2", state="applying")
    journal.write(incident="i1", action="isolate", target="ws2", state="undone")
    journal.write(incident="i2", action="isolate", target="ws3", state="applying")
    with (tmp_path / "j").open("a") as f:
        f.write('{"incident": 1, "action": "isol')  # the interruption cut this line
    [pending] = journal.pending("i1")
    assert (pending["target"], pending["before"]) == ("ws1", "x")
