"""Log parsers registered by name: each says whether a file is its format, then streams rows.

A parser yields one row per record: a dict of the `timeline_events` columns (without ids).
Two outcomes for a bad input, as plaso does: "not my format" (sniff says no, the file is
skipped quietly) and "my format but damaged" (a warning with the path, the run goes on).
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import tzinfo
from pathlib import Path
from typing import Any, BinaryIO

from rempart.registry import Registry

Row = dict[str, Any]
Warn = Callable[[str], None]


@dataclass(frozen=True)
class Parser:
    name: str
    #: (path, first 4 KiB) -> is this file in my format?
    sniff: Callable[[Path, bytes], bool]
    #: (path, records to skip (already stored), warn, zone of the times written without one
    #: (None: UTC)) -> rows, in file order
    parse: Callable[[Path, int, Warn, tzinfo | None], Iterator[Row]]


PARSERS: Registry[Parser] = Registry("log parser")

_NOATIME = getattr(os, "O_NOATIME", 0)


def open_evidence(path: Path) -> BinaryIO:
    """Open a log read-only without updating its access time (evidence is read, never touched).

    O_NOATIME is only allowed to the file's owner (or CAP_FOWNER): elsewhere it fails with
    EPERM and the file is opened without it (the kernel's relatime usually spares it anyway).
    """
    flags = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags | _NOATIME)
    except PermissionError as exc:
        if not _NOATIME or exc.errno != errno.EPERM:
            raise
        fd = os.open(path, flags)
    try:
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)  # a folder, say: the descriptor must not leak
        raise


def find_parser(path: Path, head: bytes) -> Parser | None:
    """The first registered parser that recognises the file, None when none does."""
    for _name, parser in PARSERS.items():
        if parser.sniff(path, head):
            return parser
    return None


def _register_builtins() -> None:
    from rempart.forensics.parsers import _evtx, _samba, _syslog  # noqa: PLC0415  # cycle

    for parser in (_evtx.PARSER, _samba.PARSER, _syslog.PARSER):
        PARSERS.add(parser.name, parser)


_register_builtins()
