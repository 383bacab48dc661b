"""Playbook files are checked on load; their steps become tasks with due times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from _wsworld import World

from rempart.errors import RegistryError
from rempart.workspace import (
    Forbidden,
    NotFound,
    PlaybookError,
    logbook,
    playbooks,
    tasks,
    transaction,
)
from rempart.workspace.tasks import TaskStatus

GOOD = """
id: tiny
phase: test
title: {fr: Petit, en: Tiny}
steps:
  - id: one
    due: 90m
    role: official
    title: {fr: Un, en: One}
"""


def test_builtin_playbooks_cover_the_phases() -> None:
    books = playbooks.builtin()
    assert set(books) >= {
        "first-hours",
        "containment",
        "investigation",
        "recovery",
        "communication",
        "notifications",
    }
    cnil = next(s for s in books["notifications"].steps if s.id == "cnil")
    assert cnil.due == timedelta(hours=72)
    for _, book in books.items():
        assert book.references, book.id
        assert all(s.title.fr and s.title.en for s in book.steps)


def test_a_good_playbook_parses() -> None:
    book = playbooks.parse(GOOD)
    assert book.steps[0].due == timedelta(minutes=90)
    assert book.steps[0].title.get("en") == "One"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("id: x\nsteps: [unclosed", "not valid YAML"),
        ("- a list\n- not a mapping\n", "mapping"),
        ("\x00\x01binary", "not valid YAML"),
        (GOOD.replace("id: tiny", "id: Not Valid"), "id must be"),
        (GOOD.replace("due: 90m", "due: soon"), "due must look like"),
        (GOOD.replace("role: official", "role: mayor"), "unknown role"),
        (GOOD.replace("{fr: Un, en: One}", "{fr: Un}"), "both 'fr' and 'en'"),
        (GOOD.replace("steps:", "steps: []\nx:"), "non-empty list"),
        (GOOD + "  - id: one\n    title: {fr: a, en: b}\n", "used twice"),
        (GOOD.replace("phase: test", "phase: ''"), "phase"),
    ],
)
def test_damaged_playbooks_are_refused(text: str, message: str) -> None:
    with pytest.raises(PlaybookError, match=message):
        playbooks.parse(text, "bad.yaml")


def test_damaged_file_on_disk(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_bytes(b"\xff\xfe not utf-8")
    with pytest.raises(PlaybookError, match=r"a\.yaml"):
        playbooks.load_dir(tmp_path)
    (tmp_path / "a.yaml").write_text(GOOD)
    (tmp_path / "b.yaml").write_text(GOOD)
    with pytest.raises(RegistryError, match="already registered"):
        playbooks.load_dir(tmp_path)


def test_instantiate_then_work_the_tasks(world: World) -> None:
    inc = world.incident.id
    with transaction(world.engine) as s:
        made = tasks.instantiate(s, world.responder_a, inc, "first-hours")
        again = tasks.instantiate(s, world.responder_a, inc, "first-hours")
    assert len(made) == len(playbooks.builtin()["first-hours"].steps) and again == []
    first_seen = datetime(2026, 11, 21, 23, 40, tzinfo=UTC)
    isolate = next(t for t in made if t.step == "disconnect-network")
    assert isolate.due_at == first_seen + timedelta(minutes=30)
    assert isolate.title.startswith("Isoler") and isolate.status is TaskStatus.TODO
    assert isolate.overdue(now=first_seen + timedelta(hours=1))
    with transaction(world.engine) as s:
        t = tasks.update_task(s, world.responder_a, isolate.id, assignee="maire@ville-a.fr")
        assert t.assignee == "maire@ville-a.fr"
        t = tasks.update_task(s, world.official_a, isolate.id, status=TaskStatus.DONE)
        assert t.status is TaskStatus.DONE and not t.overdue()
        with pytest.raises(NotFound):  # a user who cannot see the incident
            tasks.update_task(s, world.responder_a, isolate.id, assignee="tech@ville-b.fr")
        with pytest.raises(NotFound):
            tasks.update_task(s, world.responder_b, isolate.id, status=TaskStatus.TODO)
        with pytest.raises(Forbidden):
            tasks.update_task(s, world.viewer_a, isolate.id, status=TaskStatus.TODO)
        listed = tasks.list_tasks(s, world.viewer_a, inc)
        log = logbook.entries(s, world.viewer_a, inc)
    assert [x.due_at for x in listed] == sorted(x.due_at for x in listed if x.due_at)
    assert log[-1].what.startswith("Task done: Isoler") and log[-1].source == "tasks"


def test_english_tasks_and_manual_ones(world: World) -> None:
    with transaction(world.engine) as s:
        made = tasks.instantiate(
            s, world.responder_a, world.incident.id, "notifications", lang="en"
        )
        extra = tasks.add_task(s, world.responder_a, world.incident.id, "Call the insurer back")
    assert any(t.title.startswith("Notify the data breach to the CNIL") for t in made)
    with transaction(world.engine) as s:
        counts = tasks.progress(s, world.viewer_a, [world.incident.id, 999])
        hidden = tasks.progress(s, world.responder_b, [world.incident.id])
    assert counts == {world.incident.id: {TaskStatus.TODO: len(made) + 1}}
    assert hidden == {}
    assert extra.status is TaskStatus.TODO and extra.playbook is None
