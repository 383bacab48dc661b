"""The systemd unit example parses and keeps what the guard needs."""

from __future__ import annotations

import configparser
import shutil
import subprocess
from pathlib import Path

import pytest

UNIT = Path(__file__).resolve().parents[3] / "contrib" / "systemd" / "rempart-guard.service"


def parsed() -> configparser.ConfigParser:
    # systemd allows repeated keys; strict=False keeps the last one, enough for these checks
    cp = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    cp.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    cp.read_string(UNIT.read_text())
    return cp


def test_required_keys() -> None:
    unit = parsed()
    service = unit["Service"]
    assert service["ExecStart"] == (
        "/usr/local/bin/rempart guard /srv/share --config /etc/rempart/guard.toml"
    )
    assert service["Restart"] == "on-failure"
    caps = service["CapabilityBoundingSet"].split()
    assert {"CAP_SYS_ADMIN", "CAP_NET_ADMIN", "CAP_KILL"} <= set(caps)  # fanotify, nft, signals
    assert "AF_NETLINK" in service["RestrictAddressFamilies"]  # nft talks netlink
    assert "PrivateNetwork" not in service  # nft must change the host's ruleset
    assert service.get("ProtectProc", "default") != "invisible"  # stop-process sees all
    assert unit["Install"]["WantedBy"] == "multi-user.target"


def test_systemd_analyze_verify(tmp_path: Path) -> None:
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze not found (Debian package systemd); keys checked above")
    # verify also checks that ExecStart exists: point it at a binary this machine has
    copy = tmp_path / "rempart-guard.service"
    copy.write_text(UNIT.read_text().replace("/usr/local/bin/rempart", shutil.which("true") or ""))
    r = subprocess.run(
        ["systemd-analyze", "verify", str(copy)],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    assert "Unknown" not in r.stderr and "ignoring" not in r.stderr, r.stderr
