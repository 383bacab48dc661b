"""Linux auth.log / syslog: classic (`Nov  3 20:01:02 host prog[pid]: msg`), high-precision
ISO (`2026-11-03T20:01:02.123456+01:00 host prog[pid]: msg`) and RFC 5424 lines.

sshd logons, sudo commands and account creations get their account, address and command
line; every other line is kept with its program as channel.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import tzinfo
from pathlib import Path

from rempart.forensics._time import parse_iso
from rempart.forensics.parsers import Parser, Row, Warn
from rempart.forensics.parsers._lines import classic_time, file_year, numbered_lines, text_row

LINE = re.compile(
    r"^(?:<\d{1,3}>1 )?(?P<ts>[A-Z][a-z]{2} +\d{1,2} \d\d:\d\d:\d\d|\d{4}-\d\d-\d\dT\S+) "
    r"(?P<host>\S+) (?P<prog>[^\s:\[]+)(?:\[(?P<pid>\d+)\]:?|:| (?P<procid>\S+) \S+ (?:-|\[.*?\]))"
    r" ?(?P<msg>.*)$"
)
SSH_OK = re.compile(r"Accepted (?P<method>\S+) for (?P<user>\S+) from (?P<ip>\S+) port \d+")
SSH_FAIL = re.compile(
    r"Failed (?P<method>\S+) for (?:invalid user )?(?P<user>\S+) from (?P<ip>\S+)"
)
SUDO = re.compile(r"^\s*(?P<user>\S+) : .*?COMMAND=(?P<cmd>.*)$")
NEW_USER = re.compile(r"new user: name=(?P<user>[^,\s]+)")
#: event ids given to the lines the story reads (no such thing in syslog: ours, documented)
SSH_LOGON, SSH_FAILED, SUDO_COMMAND, USER_ADDED = 1, 2, 3, 4


def _sniff(path: Path, head: bytes) -> bool:
    lines = [line for line in head.decode("utf-8", "replace").splitlines()[:20] if line.strip()]
    # The last line of the head may be cut: judge by the complete ones.
    complete = lines[:-1] if len(lines) > 1 else lines
    return bool(complete) and sum(bool(LINE.match(x)) for x in complete) * 2 >= len(complete)


def _enrich(row: Row, prog: str, msg: str) -> None:
    if prog == "sshd" and (found := SSH_OK.search(msg)):
        row.update(event_id=SSH_LOGON, account=found["user"], src_addr=found["ip"])
        row["logon_type"] = 10  # an interactive remote session, like RDP on Windows
    elif prog == "sshd" and (found := SSH_FAIL.search(msg)):
        row.update(event_id=SSH_FAILED, account=found["user"], src_addr=found["ip"])
    elif prog == "sudo" and (found := SUDO.search(msg)):
        row.update(event_id=SUDO_COMMAND, account=found["user"], command_line=found["cmd"])
    elif prog in {"useradd", "adduser"} and (found := NEW_USER.search(msg)):
        row.update(event_id=USER_ADDED, account=found["user"])
    row["account"] = row["account"][:255]
    row["src_addr"] = row["src_addr"][:255]


def _parse(path: Path, skip: int, warn: Warn, zone: tzinfo | None) -> Iterator[Row]:
    year = file_year(path)
    bad = 0
    for number, line in numbered_lines(path, skip):
        found = LINE.match(line)
        if not found:
            if line.strip():
                bad += 1
                if bad == 1:
                    warn(f"line {number}: not a syslog line, skipped")
            continue
        text = found["ts"]
        try:
            when = parse_iso(text, zone) if text[0].isdigit() else classic_time(text, year, zone)
        except ValueError:
            when = None
        row = text_row(number, line, when, text)
        prog = found["prog"]
        row.update(host=found["host"][:255], channel=prog[:255], process=prog, message=found["msg"])
        _enrich(row, prog, found["msg"])
        yield row
    if bad > 1:
        warn(f"{bad} lines were not syslog lines")


PARSER = Parser("syslog", _sniff, _parse)
