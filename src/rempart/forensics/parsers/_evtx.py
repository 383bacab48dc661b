"""Windows event logs (.evtx) through the Rust-backed `evtx` package."""

from __future__ import annotations

import json
import os
import struct
from collections.abc import Iterator
from datetime import tzinfo
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from rempart.forensics._time import parse_iso
from rempart.forensics.parsers import Parser, Row, Warn, open_evidence

MAGIC = b"ElfFile\x00"
HEADER_SIZE, CHUNK_SIZE = 4096, 65536
#: consecutive unreadable records after which the rest of the file is given up
_MAX_BAD_RUN = 50
_LOGONS = {4624, 4625, 4634, 4647, 4648, 4672, 4776, 4778, 4779}
#: the EventData names each column is read from, first one set wins
_LOGON_USER = ("TargetUserName", "SubjectUserName")
_LOGON_DOMAIN = ("TargetDomainName", "SubjectDomainName")
_USER = ("User", "SubjectUserName", "TargetUserName", "AccountName")
_DOMAIN = ("SubjectDomainName",)
_PROCESS = ("Image", "NewProcessName", "ProcessName", "ImagePath")
_COMMAND_LINE = ("CommandLine", "ScriptBlockText")
_PARENT = ("ParentImage", "ParentProcessName")
_SRC_ADDR = ("IpAddress", "SourceIp", "SourceAddress", "ClientAddress")
_TARGET_HOST = ("TargetServerName", "DestinationHostname", "DestinationIp")


def _sniff(path: Path, head: bytes) -> bool:
    # A file named .evtx is claimed even when damaged: the user must hear about it.
    return head.startswith(MAGIC) or path.suffix.lower() == ".evtx"


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict):
        return _text(value.get("#text"))
    if isinstance(value, list):
        return " ".join(_text(v) for v in value)
    return str(value)


def _int(value: Any) -> int | None:
    if type(value) is int:  # most are: the parser writes numbers as JSON numbers
        return value
    text = _text(value)
    try:
        return int(text, 0) if text else None
    except ValueError:
        return None


def _first(data: dict[str, Any], names: tuple[str, ...]) -> str:
    """The first of these values that is set ("-" is Windows for "none")."""
    for name in names:
        value = data.get(name)
        if value is None:
            continue
        text = value if type(value) is str else _text(value)
        if text and text != "-":
            return text
    return ""


def event_data(event: dict[str, Any]) -> dict[str, Any]:
    """The named values of a record (EventData, or the leaves of UserData)."""
    data = event.get("EventData")
    if isinstance(data, dict):
        return data
    user = event.get("UserData")
    found: dict[str, Any] = {}
    stack = [user]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                if isinstance(value, dict) and "#text" not in value:
                    stack.append(value)
                elif key != "#attributes":
                    found[key] = value
    return found


def loads(raw: str) -> Any:
    """JSON text -> value, with orjson; json only for what orjson refuses (ints past 64 bits)."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return json.loads(raw)


def normalize(record_id: int, fallback_time: str, raw: str) -> Row:
    """One evtx JSON record -> a timeline row (the original JSON kept as `raw`)."""
    event = loads(raw)["Event"]
    system = event.get("System") or {}
    data = event_data(event)
    event_id = _int(system.get("EventID"))
    created = system.get("TimeCreated")
    ts_text = ""
    if isinstance(created, dict):
        ts_text = _text((created.get("#attributes") or {}).get("SystemTime"))
    ts_text = ts_text or fallback_time.removesuffix(" UTC")
    try:
        ts_us, precision = parse_iso(ts_text)
    except ValueError:
        ts_us, precision = None, "unreadable"
    if event_id in _LOGONS:
        user = _first(data, _LOGON_USER)
        domain = _first(data, _LOGON_DOMAIN)
    else:
        user = _first(data, _USER)
        domain = "" if "\\" in user else _first(data, _DOMAIN)
    account = f"{domain}\\{user}" if domain and user else user
    process = _first(data, _PROCESS)
    command_line = _first(data, _COMMAND_LINE)
    channel, host = system.get("Channel"), system.get("Computer")
    channel = channel if type(channel) is str else _text(channel)
    host = host if type(host) is str else _text(host)
    return {
        "record_key": str(record_id),
        "ts_us": ts_us,
        "ts_text": ts_text[:64],
        "ts_precision": precision,
        "host": host[:255],
        "channel": channel[:255],
        "event_id": event_id,
        "record_id": record_id,
        "account": account[:255],
        "process": process,
        "command_line": command_line,
        "parent": _first(data, _PARENT),
        "logon_type": _int(data.get("LogonType")),
        "src_addr": _first(data, _SRC_ADDR)[:255],
        "target_host": _first(data, _TARGET_HOST)[:255],
        "message": f"{channel} {event_id}: {command_line or process or account}"[:2000],
        "raw": raw,
    }


def _check_size(handle: BinaryIO, warn: Warn) -> None:
    """The file header says how many 64 KiB chunks follow: a cut copy has fewer."""
    header = handle.read(HEADER_SIZE)
    handle.seek(0)
    if len(header) < HEADER_SIZE or not header.startswith(MAGIC):
        return  # the parser reports it
    chunks = struct.unpack_from("<H", header, 42)[0]
    expected = HEADER_SIZE + chunks * CHUNK_SIZE
    size = os.fstat(handle.fileno()).st_size
    if size < expected:
        warn(
            f"truncated: the header announces {chunks} chunks ({expected:,} bytes), "
            f"the file has {size:,} bytes; the records after the cut are lost"
        )


def _parse(path: Path, skip: int, warn: Warn, _zone: tzinfo | None) -> Iterator[Row]:
    # Event log times are UTC by format: no zone to assume.
    # The parser reads the open file object: opened read-only, without touching its atime.
    with open_evidence(path) as handle:
        yield from _records(handle, skip, warn)


def _records(handle: BinaryIO, skip: int, warn: Warn) -> Iterator[Row]:
    from evtx import PyEvtxParser  # noqa: PLC0415  # a compiled module: loaded when needed

    _check_size(handle, warn)
    try:
        # One thread: ingest parses in its own worker process, a Rust pool per file costs
        # more than it gives on small files and competes with the inserts on large ones.
        records = PyEvtxParser(handle, 1).records_json()
    except (OSError, RuntimeError) as exc:
        warn(f"not a readable event log: {exc}")
        return
    seen, bad_run, bad = 0, 0, 0
    while True:
        try:
            record = next(records)
        except StopIteration:
            break
        except (OSError, RuntimeError) as exc:  # one damaged record or chunk: keep reading
            bad, bad_run = bad + 1, bad_run + 1
            if bad == 1:
                warn(f"damaged record: {exc}")
            if bad_run >= _MAX_BAD_RUN:
                warn(f"gave up after {bad_run} unreadable records in a row")
                break
            continue
        bad_run = 0
        if record is None:
            continue
        seen += 1
        if seen <= skip:
            continue
        try:
            yield normalize(record["event_record_id"], record["timestamp"], record["data"])
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            bad += 1
            warn(f"record {record.get('event_record_id')}: unusable ({exc})")
    if bad > 1:
        warn(f"{bad} damaged records in all")


PARSER = Parser("evtx", _sniff, _parse)
