"""An event's fields as Sigma rules name them, built from the stored record."""

from __future__ import annotations

import json
from typing import Any

from rempart.forensics.parsers._evtx import event_data, loads

#: Security 4688 names -> Sysmon 1 names, so process_creation rules read both (as pySigma's
#: windows-audit pipeline maps them). 4688's own `ProcessId` is the creator: it becomes the
#: parent's id, and the new process's id becomes `ProcessId`.
_SECURITY_4688 = {
    "NewProcessName": "Image",
    "ParentProcessName": "ParentImage",
    "SubjectUserName": "User",
    "NewProcessId": "ProcessId",
    "ProcessId": "ParentProcessId",
    "SubjectLogonId": "LogonId",
}


def _system(system: dict[str, Any], fields: dict[str, Any]) -> None:
    for key, value in system.items():
        if isinstance(value, dict):
            if "#text" in value:
                fields[key] = value["#text"]
            for attr, inner in (value.get("#attributes") or {}).items():
                fields[f"{key}_{attr}"] = inner  # Provider_Name, TimeCreated_SystemTime...
        else:
            fields[key] = value


def evtx_fields(raw: str) -> dict[str, Any]:
    event = loads(raw)["Event"]
    fields: dict[str, Any] = {}
    _system(event.get("System") or {}, fields)
    data = event_data(event)
    fields.update(data)
    if fields.get("EventID") == 4688 and fields.get("Channel") == "Security":
        for name, alias in _SECURITY_4688.items():
            if name in data:
                fields[alias] = data[name]
        if "ParentProcessName" not in data:
            fields.pop("ParentImage", None)
    return fields


def text_fields(row: Any) -> dict[str, Any]:
    """Fields of a Samba audit or syslog event (keyword rules search all of them)."""
    raw = json.loads(row.raw)
    fields: dict[str, Any] = dict(raw.get("fields") or {})
    fields.update(
        message=row.message,
        Hostname=row.host,
        Program=row.channel,
        User=row.account,
        SourceIp=row.src_addr,
        CommandLine=row.command_line,
    )
    return {k: v for k, v in fields.items() if v not in (None, "")}


def fields_for(row: Any) -> dict[str, Any]:
    """The matching view of one stored event (a row with source, raw, message...)."""
    if row.source == "evtx":
        return evtx_fields(row.raw)
    return text_fields(row)
