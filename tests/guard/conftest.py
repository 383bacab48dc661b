"""Fixtures: a small practice share, and a guard running in a thread on a copy of it."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from rempart.exercise import Manifest, build
from rempart.guard.alarm import Alarm, Response
from rempart.guard.engine import Guard, GuardOptions, Hooks, Summary
from rempart.guard.respond import build_dispatcher
from rempart.store import open_store


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Manifest:
    return build(tmp_path_factory.mktemp("guard-built") / "share", 80, 5)


@pytest.fixture
def share(built: Manifest, tmp_path: Path) -> Path:
    dest = tmp_path / "share"
    shutil.copytree(built.root, dest, symlinks=True, copy_function=shutil.copy2)
    return dest


@dataclass
class KillResponder:
    """Records the alarms, and hands them to the real `stop-process` responder when `kill`."""

    kill: bool = True
    store_url: str = ""
    dry_run: bool = False
    alarms: list[Alarm] = field(default_factory=list)
    responses: list[Response] = field(default_factory=list)
    at: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.inner = (
            build_dispatcher(
                None,
                ["stop-process"],
                store_url=self.store_url,
                incident=None,
                dry_run=self.dry_run,
            )
            if self.kill
            else None
        )

    def freezer(self) -> Callable[[int], tuple[list[int], str]] | None:
        """stop-process's tripwire freeze, as the real dispatcher hands it to the guard."""
        return self.inner.freezer() if self.inner is not None else None

    def handle(self, alarm: Alarm) -> list[Response]:
        self.alarms.append(alarm)
        self.at.append(time.monotonic())
        done = self.inner.handle(alarm) if self.inner is not None else []
        self.responses.extend(done)
        return done

    def close(self) -> None:
        if self.inner is not None:
            self.inner.close()


@dataclass
class Running:
    guard: Guard
    responder: KillResponder
    lines: list[str]
    summary: Summary | None = None


@contextmanager
def guarding(
    root: Path,
    tmp: Path,
    *,
    kill: bool = True,
    dry_run: bool = False,
    **options: object,
) -> Iterator[Running]:
    """Run a guard on `root` in a thread until the block ends; waits for its `watching` line."""
    url = f"sqlite:///{tmp / 'guard.db'}"
    engine = open_store(url)
    responder = KillResponder(kill, url, dry_run=dry_run)
    lines: list[str] = []
    ready = threading.Event()

    def on_ready(line: str) -> None:
        lines.append(line)
        ready.set()

    hooks = Hooks(
        ready=on_ready,
        alarm=lambda a: lines.append(f"ALARM {a.actor.key}"),
        note=lines.append,
    )
    guard = Guard(engine, GuardOptions(root, **options), responder, hooks)  # type: ignore[arg-type]
    running = Running(guard, responder, lines)

    def run() -> None:
        running.summary = guard.run()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        assert ready.wait(60), "the guard never said it was watching"
        yield running
    finally:
        guard.stop()
        thread.join(30)
        assert not thread.is_alive()
