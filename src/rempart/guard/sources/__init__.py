"""Event sources, registered by name: fanotify, inotify (fallback), samba-audit (log file)
and samba-syslog (datagram socket)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from rempart.guard.events import EventQueue
from rempart.registry import Registry


class Source(Protocol):
    """A thread that feeds events under a root into a queue until stopped."""

    name: str
    #: what this source cannot see, said once at start ("" when nothing worth saying)
    blind_spots: str

    @property
    def damaged(self) -> int:
        """Records that could not be read (damaged log lines); 0 for kernel sources."""
        ...

    def start(self) -> None: ...

    def alive(self) -> bool:
        """False once the source's thread died: the guard is blind and must say so."""
        ...

    def stop(self) -> None: ...


@dataclass(frozen=True)
class SourceOptions:
    root: Path  # resolved
    samba_log: Path | None = None  # smbd's `log file` with vfs_full_audit lines
    samba_syslog: Path | None = None  # a datagram socket to bind: smbd's syslog records
    reads: bool = True  # fanotify: also files closed after reading (the type-funnel indicator)


#: the sources that read Samba's audit: their events name the SMB client
AUDIT_SOURCES = frozenset({"samba-audit", "samba-syslog"})

#: A factory raises SourceUnavailable when it cannot run here (another source may).
SourceFactory = Callable[[SourceOptions, EventQueue], Source]

SOURCES: Registry[SourceFactory] = Registry("guard event source")


def _register_builtins() -> None:
    # imported here: they import this module's SourceOptions
    from rempart.guard.sources import _fanotify, _inotify, _samba, _syslog  # noqa: PLC0415

    SOURCES.add("fanotify", _fanotify.FanotifySource)
    SOURCES.add("inotify", _inotify.InotifySource)
    SOURCES.add("samba-audit", _samba.SambaAuditSource)
    SOURCES.add("samba-syslog", _syslog.SambaSyslogSource)


_register_builtins()
