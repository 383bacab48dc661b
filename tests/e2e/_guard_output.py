"""One reader for a guard started as a subprocess: every line it prints, in order.

Reading the first line with `proc.stdout.readline()` and the rest with `proc.communicate()`
loses output: the text file under `readline` reads ahead a whole buffer, and `communicate`
reads the pipe's descriptor again, after that buffer. A thread reads every line instead; the
tests of the guard over SMB use `GuardOutput`; `test_guard_output.py` tests it.
"""

from __future__ import annotations

import subprocess
import threading
from typing import IO


class GuardOutput:
    """Collects `proc`'s stdout (text mode) in a thread from the start."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        self.proc = proc
        self.lines: list[str] = []
        self._ended = False
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._read, args=(proc.stdout,), daemon=True)
        self._thread.start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            with self._cond:
                self.lines.append(line)
                self._cond.notify_all()
        with self._cond:
            self._ended = True
            self._cond.notify_all()

    def first(self, timeout: float = 120.0) -> str:
        """The first line (the guard's `watching ...`), or all it said if it ended without."""
        with self._cond:
            self._cond.wait_for(lambda: bool(self.lines) or self._ended, timeout)
            return self.lines[0] if self.lines else ""

    def text(self) -> str:
        with self._cond:
            return "".join(self.lines)

    def stop(self, timeout: float = 30.0) -> str:
        """Terminate the guard (SIGTERM: a clean stop), wait for it; everything it printed."""
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        self._thread.join(timeout)
        return self.text()
