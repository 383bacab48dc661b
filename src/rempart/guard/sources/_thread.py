"""What every source shares: one daemon thread reading until asked to stop."""

from __future__ import annotations

import threading


class SourceThread:
    """Runs `self._run` in a daemon thread; subclasses close their own descriptors in
    `stop` after `_join`. `_stop` is set when the guard stops: `_run` checks it."""

    name: str

    def _init_thread(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)

    def _run(self) -> None:
        raise NotImplementedError

    def start(self) -> None:
        self._thread.start()

    def alive(self) -> bool:
        return self._thread.is_alive()

    def _join(self) -> None:
        self._stop.set()
        if self._thread.ident is not None:  # started (a later source may fail before)
            self._thread.join(timeout=5)
