"""Sigma rules compiled to predicates: modifiers, both process-creation schemas, limits."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from rempart.forensics._fields import evtx_fields
from rempart.forensics.sigma import Prepared, load_rules

HEADER = """\
title: t
id: 3a3c6a0e-8f0c-4d5e-9b1a-{n:012d}
status: test
logsource:
    category: process_creation
    product: windows
level: high
"""


def _rule(tmp_path: Path, detection: str, n: int = 1) -> Any:
    path = tmp_path / f"r{n}.yml"
    path.write_text(HEADER.format(n=n) + "detection:\n" + detection)
    ruleset = load_rules([path])
    assert ruleset.rules, (ruleset.errors, ruleset.unsupported, ruleset.unsupported_logsources)
    return ruleset.rules[0].predicate


def _matches(predicate: Any, **fields: Any) -> bool:
    return bool(predicate(Prepared(fields)))


@pytest.mark.parametrize(
    ("detection", "hit", "miss"),
    [
        (
            "    s:\n        Image|endswith: '\\\\VSSADMIN.exe'\n    condition: s",
            {"Image": "C:\\Windows\\System32\\vssadmin.exe"},
            {"Image": "C:\\vssadmin.exe.bak"},
        ),
        (
            "    s:\n        CommandLine|contains|all: [delete, shadows]\n    condition: s",
            {"CommandLine": "vssadmin DELETE Shadows /all"},
            {"CommandLine": "vssadmin delete"},
        ),
        (
            "    s:\n        CommandLine|re: 'bcdedit.*recoveryenabled\\s+no'\n    condition: s",
            {"CommandLine": "bcdedit /set {default} recoveryenabled no"},
            {"CommandLine": "bcdedit"},
        ),
        (
            "    s:\n        IpAddress|cidr: 10.0.0.0/8\n    condition: s",
            {"IpAddress": "10.2.3.4"},
            {"IpAddress": "192.168.1.1"},
        ),
        (
            "    s:\n        CommandLine|windash|contains: ' -enc '\n    condition: s",
            {"CommandLine": "powershell /enc AAA"},
            {"CommandLine": "powershell -e AAA"},
        ),
        (
            "    s:\n        CommandLine|base64offset|contains: 'http://'\n    condition: s",
            {"CommandLine": "powershell -e aHR0cDovL2V4YW1wbGU="},
            {"CommandLine": "x"},
        ),
        ("    s:\n        LogonType: 10\n    condition: s", {"LogonType": 10}, {"LogonType": 3}),
        (
            "    s:\n        Image: 'C:\\Windows\\c?d.exe'\n    f:\n        User: null\n"
            "    condition: s and not f",
            {"Image": "c:\\windows\\cmd.exe", "User": "bob"},
            {"Image": "c:\\windows\\cmd.exe"},
        ),
        (
            "    s:\n        CommandLine|exists: true\n    condition: s",
            {"CommandLine": ""},
            {"Image": "x"},
        ),
        (
            "    s:\n        ParentImage|fieldref: Image\n    condition: s",
            {"Image": "A.exe", "ParentImage": "a.EXE"},
            {"Image": "a.exe", "ParentImage": "b.exe"},
        ),
        (
            "    s:\n        CommandLine|cased|contains: 'Invoke'\n    condition: s",
            {"CommandLine": "Invoke-X"},
            {"CommandLine": "invoke-x"},
        ),
        (
            "    keywords:\n        - 'mimikatz'\n    condition: keywords",
            {"CommandLine": "run MimiKatz now"},
            {"CommandLine": "run"},
        ),
    ],
)
def test_modifiers(
    tmp_path: Path, detection: str, hit: dict[str, Any], miss: dict[str, Any]
) -> None:
    predicate = _rule(tmp_path, detection)
    assert _matches(predicate, **hit)
    assert not _matches(predicate, **miss)


def _security_4688(data: dict[str, Any]) -> str:
    return json.dumps(
        {
            "Event": {
                "System": {"EventID": 4688, "Channel": "Security", "Computer": "PC1"},
                "EventData": data,
            }
        }
    )


def test_security_4688_reads_as_sysmon_process_creation(tmp_path: Path) -> None:
    predicate = _rule(
        tmp_path,
        "    s:\n        Image|endswith: '\\\\wbadmin.exe'\n"
        "        ParentImage|endswith: '\\\\cmd.exe'\n        User: admin\n"
        "        ParentProcessId: 0x10\n    condition: s",
    )
    fields = evtx_fields(
        _security_4688(
            {
                "NewProcessName": "C:\\Windows\\System32\\wbadmin.exe",
                "ProcessId": "0x10",
                "NewProcessId": "0x20",
                "ParentProcessName": "C:\\Windows\\cmd.exe",
                "SubjectUserName": "admin",
            }
        )
    )
    assert fields["ProcessId"] == "0x20"
    assert _matches(predicate, **fields)


def test_unsupported_and_damaged_rules_are_counted(tmp_path: Path) -> None:
    (tmp_path / "placeholder.yml").write_text(
        HEADER.format(n=2)
        + "detection:\n    s:\n        User|expand: '%admins%'\n    condition: s\n"
    )
    (tmp_path / "webserver.yml").write_text(
        HEADER.format(n=3).replace("category: process_creation", "category: webserver")
        + "detection:\n    s:\n        cs-uri: x\n    condition: s\n"
    )
    (tmp_path / "broken.yml").write_text("title: [unclosed\n  detection: {")
    (tmp_path / "nocondition.yml").write_text(
        HEADER.format(n=4) + "detection:\n    s:\n        a: b\n"
    )
    (tmp_path / "correlation.yml").write_text(
        "title: c\nid: 5d1f4cb4-6ac8-4a1b-9d43-0f58a3e1b7c2\ncorrelation:\n    type: event_count\n"
        "    rules: [3a3c6a0e-8f0c-4d5e-9b1a-000000000002]\n    group-by: [User]\n"
        "    timespan: 1m\n    condition:\n        gte: 10\n"
    )
    ruleset = load_rules([tmp_path])
    assert ruleset.rules == []
    assert sum(ruleset.unsupported.values()) >= 1
    assert ruleset.unsupported_logsources == {"windows/webserver/-": 1}
    assert {Path(p).name for p, _ in ruleset.errors} >= {"broken.yml", "nocondition.yml"}


def test_shipped_rules_all_compile() -> None:
    from rempart.forensics.sigma import builtin_rules_dir

    ruleset = load_rules([builtin_rules_dir()])
    assert not ruleset.errors and not ruleset.unsupported and not ruleset.unsupported_logsources
    assert len(ruleset.rules) == len(list(builtin_rules_dir().glob("*.yml"))) >= 11
    stories = {r.story for r in ruleset.rules}
    assert {
        "shadow_copies_deleted",
        "backups_deleted",
        "services_stopped",
        "recovery_disabled",
        "remote_execution",
        "lateral_logon",
        "smb_write",
    } <= stories
