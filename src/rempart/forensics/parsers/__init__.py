"""Log parsers registered by name: each says whether a file is its format, then streams rows.

A parser yields one row per record: a dict of the `timeline_events` columns (without ids).
Two outcomes for a bad input, as plaso does: "not my format" (sniff says no, the file is
skipped quietly) and "my format but damaged" (a warning with the path, the run goes on).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rempart.registry import Registry

Row = dict[str, Any]
Warn = Callable[[str], None]


@dataclass(frozen=True)
class Parser:
    name: str
    #: (path, first 4 KiB) -> is this file in my format?
    sniff: Callable[[Path, bytes], bool]
    #: (path, records to skip (already stored), warn) -> rows, in file order
    parse: Callable[[Path, int, Warn], Iterator[Row]]


PARSERS: Registry[Parser] = Registry("log parser")


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
