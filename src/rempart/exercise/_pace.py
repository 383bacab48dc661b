"""How fast an attack goes: steady, in bursts, or slow and low.

A pace is a schedule: file number i (in attack order) may start no earlier than
`offset(i)` seconds after the attack started. Worker threads each wait for the slot of the
file they took, so the schedule holds whatever the number of threads.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass

from rempart.exercise._safety import ExerciseError

PACES = ("steady", "bursts", "slow-low")
SLOW_LOW_RATE = 3 / 60  # files per second: a few files a minute, under most rate alarms
BURST_FILES = 20
BURST_PAUSE = 2.0  # seconds, on average (each pause is drawn in [0.5, 1.5] x this)


@dataclass(frozen=True)
class Pace:
    """A pace and its parameters (see `attack`)."""

    kind: str = "steady"
    rate: float | None = None  # files per second at most (steady, slow-low)
    burst: int = BURST_FILES  # files per burst (bursts)
    pause: float = BURST_PAUSE  # mean pause between bursts, seconds (bursts)

    def __post_init__(self) -> None:
        if self.kind not in PACES:
            raise ExerciseError(f"unknown pace {self.kind!r}", hint=f"one of {', '.join(PACES)}")
        if self.rate is not None and self.rate <= 0:
            raise ExerciseError(f"rate must be positive, not {self.rate}")
        if self.kind == "bursts" and self.rate is not None:
            raise ExerciseError("bursts go as fast as possible", hint="give --burst and --pause")
        if self.burst < 1 or self.pause < 0:
            raise ExerciseError("bursts need at least one file and a pause of 0 s or more")

    @property
    def files_per_second(self) -> float | None:
        if self.kind == "slow-low":
            return self.rate or SLOW_LOW_RATE
        return self.rate if self.kind == "steady" else None


class Pacer:
    """Thread-safe: `wait(i, stop)` sleeps until file number i may start."""

    def __init__(self, pace: Pace, seed: int | None) -> None:
        self.pace = pace
        self.started = time.monotonic()
        # its own generator: the pace never changes which keys or layouts a seed gives
        self._rng = random.Random(f"pace-{seed}" if seed is not None else None)
        self._pauses: list[float] = [0.0]  # cumulative pause before burst k
        self._lock = threading.Lock()

    def offset(self, index: int) -> float:
        """Seconds after the start at which file number `index` may start."""
        rate = self.pace.files_per_second
        if rate:
            return index / rate
        if self.pace.kind != "bursts":
            return 0.0
        burst = index // self.pace.burst
        with self._lock:  # drawn in burst order, so a seed gives the same pauses
            while len(self._pauses) <= burst:
                jitter = self._rng.uniform(0.5, 1.5)
                self._pauses.append(self._pauses[-1] + self.pace.pause * jitter)
            return self._pauses[burst]

    def wait(self, index: int, stop: threading.Event) -> bool:
        """Sleep until file number `index` may start; False if `stop` was set meanwhile."""
        delay = self.started + self.offset(index) - time.monotonic()
        return not stop.wait(delay) if delay > 0 else not stop.is_set()
