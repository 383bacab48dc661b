"""Text logs: lines read in binary, numbered, decoded without ever failing."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, tzinfo
from pathlib import Path

from rempart.forensics._time import parse_iso, zone_given
from rempart.forensics.parsers import Row, open_evidence

MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTHS = {m: i for i, m in enumerate(MONTH_NAMES, 1)}
CLASSIC = re.compile(r"(?P<mon>[A-Z][a-z]{2}) +(?P<day>\d{1,2}) (?P<hms>\d\d:\d\d:\d\d)$")


def numbered_lines(path: Path, skip: int) -> Iterator[tuple[int, str]]:
    """(line number from 1, text) after the first `skip` lines; never loads the whole file."""
    with open_evidence(path) as handle:
        for number, line in enumerate(handle, 1):
            if number > skip:
                yield number, line.rstrip(b"\r\n").decode("utf-8", "backslashreplace")


def file_year(path: Path) -> int:
    """The year a classic syslog line (which has none) most likely belongs to."""
    return datetime.fromtimestamp(path.stat().st_mtime, UTC).year


def classic_time(text: str, year: int, zone: tzinfo | None = None) -> tuple[int, str]:
    """`Nov  3 20:01:02` -> (microseconds, precision); the year is assumed, the zone too
    (UTC) unless the user gave it.

    Raises:
        ValueError: not a classic syslog time.
    """
    found = CLASSIC.match(text)
    if not found:
        raise ValueError(text)
    month = _MONTHS[found["mon"]]
    iso = f"{year:04d}-{month:02d}-{int(found['day']):02d}T{found['hms']}"
    if zone is not None:
        return parse_iso(iso, zone)[0], f"s, year assumed, {zone_given(zone)}"
    us, _ = parse_iso(iso + "Z")
    return us, "s, year and zone assumed (UTC)"


def text_row(
    number: int, line: str, ts: tuple[int, str] | None, ts_text: str, raw: str | None = None
) -> Row:
    """A row with the defaults of a text log; parsers fill in what they know."""
    return {
        "record_key": f"line:{number}",
        "ts_us": ts[0] if ts else None,
        "ts_text": ts_text[:64],
        "ts_precision": ts[1] if ts else "unreadable",
        "host": "",
        "channel": "",
        "event_id": None,
        "record_id": number,
        "account": "",
        "process": "",
        "command_line": "",
        "parent": "",
        "logon_type": None,
        "src_addr": "",
        "target_host": "",
        "message": line[:2000],
        "raw": json.dumps({"line": line}, ensure_ascii=False) if raw is None else raw,
    }
