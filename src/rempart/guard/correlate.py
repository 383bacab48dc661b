"""Who is behind an smbd write: the SMB client the audit log names for that path or process.

Each SMB client is served by its own smbd child, so once one of that child's writes is
matched with an audit record (same path, a few seconds apart, in either order), every
later write of the PID belongs to the client. With `debug pid = yes` the audit header
names the smbd PID and no matching is needed.
"""

from __future__ import annotations

import os
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import TypeVar

from rempart.guard.alarm import Actor, ActorKind

T = TypeVar("T")
K = TypeVar("K", str, int)

_RECENT = 10_000  # paths remembered on each side
_WINDOW = 10.0  # seconds within which a path seen on both sides is one operation
_PIDS = 4096  # smbd PIDs remembered (one per SMB connection: weeks of them otherwise)
#: how long "PID n is an smbd" is believed: PIDs are reused, and a local process given a
#: former smbd's PID must not inherit its client (nor escape stop-process as an "smbd")
_SMBD_TTL = 30.0


@dataclass(frozen=True)
class Client:
    address: str
    user: str | None


def is_smbd(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/comm", "rb") as f:
            return f.read().strip() == b"smbd"
    except OSError:  # gone: it does not matter any more who it was
        return False


class Correlator:
    def __init__(self) -> None:
        self._by_pid: OrderedDict[int, Client] = OrderedDict()
        self._audit: OrderedDict[str, tuple[Client, float]] = OrderedDict()
        self._smbd: OrderedDict[str, tuple[int, float]] = OrderedDict()
        self._smbd_pids: OrderedDict[int, tuple[bool, float]] = OrderedDict()

    def smbd(self, pid: int) -> bool:
        now = time.monotonic()
        found = self._smbd_pids.get(pid)
        if found is None or now - found[1] > _SMBD_TTL:
            found = (is_smbd(pid), now)
            _remember(self._smbd_pids, pid, found, _PIDS)
            if not found[0]:  # not (or no longer) an smbd: whatever client it served is gone
                self._by_pid.pop(pid, None)
        return found[0]

    def audit(self, path: str, client: Client, smbd_pid: int | None) -> None:
        """An audit record: `client` touched `path` (through `smbd_pid` when known)."""
        now = time.monotonic()
        if smbd_pid is not None:
            _remember(self._by_pid, smbd_pid, client, _PIDS)
        seen = self._smbd.get(path)
        if seen is not None and now - seen[1] < _WINDOW:
            _remember(self._by_pid, seen[0], client, _PIDS)
        _remember(self._audit, path, (client, now))

    def write(self, path: str, pid: int) -> None:
        """A write by an smbd process seen by fanotify."""
        now = time.monotonic()
        seen = self._audit.get(path)
        if seen is not None and now - seen[1] < _WINDOW:
            _remember(self._by_pid, pid, seen[0], _PIDS)
        _remember(self._smbd, path, (pid, now))

    def client_of_pid(self, pid: int) -> Client | None:
        found = self._by_pid.get(pid)
        return found if found is not None and self.smbd(pid) else None

    def pids_of(self, client: Client) -> list[int]:
        """The smbd processes known to serve `client`."""
        return [pid for pid, c in self._by_pid.items() if c == client]

    def client_of_paths(self, paths: list[str]) -> Client | None:
        for path in paths:
            seen = self._audit.get(path)
            if seen is not None:
                return seen[0]
        return None

    def actor(self, pid: int | None, paths: list[str]) -> Actor | None:
        """The SMB client behind `pid` (or behind these paths when the PID is unknown)."""
        client = self.client_of_pid(pid) if pid is not None else None
        if client is None and (pid is None or self.smbd(pid)):
            client = self.client_of_paths(paths)
        if client is None:
            return None
        return Actor(ActorKind.SMB_CLIENT, address=client.address, user=client.user, smbd_pid=pid)


def command_of(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            raw = f.read()
    except OSError:
        return None
    return " ".join(os.fsdecode(a) for a in raw.split(b"\0") if a)[:500] or None


def _remember(table: OrderedDict[K, T], key: K, value: T, most: int = _RECENT) -> None:
    table[key] = value
    table.move_to_end(key)
    while len(table) > most:
        table.popitem(last=False)
