"""The PowerShell for Windows hosts (no Windows here: the script's content is what is tested)."""

from __future__ import annotations

import ipaddress

import pytest

from rempart.contain.windows import GROUP, _complement, isolate_script, undo_script


def test_isolation_script_saves_state_blocks_and_allows_management() -> None:
    script = isolate_script(7, ["10.214.0.1", "10.214.9.0/24"])
    lines = script.splitlines()
    assert lines[0] == "$ErrorActionPreference = 'Stop'"
    save = next(i for i, ln in enumerate(lines) if "Export-Clixml" in ln)
    block = next(i for i, ln in enumerate(lines) if "DefaultOutboundAction Block" in ln)
    assert save < block  # the previous state is saved before anything changes
    assert "firewall-before-7.xml" in lines[save]
    assert "Test-Path" in lines[save - 1]  # a second run keeps the first saved state
    assert (
        f"New-NetFirewallRule -Group '{GROUP}' -DisplayName 'rempart: management in' "
        "-Direction Inbound -Action Allow -RemoteAddress '10.214.0.1/32','10.214.9.0/24'"
    ) in script
    assert (
        "-Direction Outbound -Action Block -RemoteAddress '0.0.0.0-10.214.0.0',"
        "'10.214.0.2-10.214.8.255','10.214.10.0-255.255.255.255',"
        "'::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'"
    ) in script


def test_undo_script_removes_our_rules_and_restores_profiles() -> None:
    script = undo_script(7)
    assert f"Get-NetFirewallRule -Group '{GROUP}'" in script
    assert "Import-Clixml -Path 'C:\\ProgramData\\rempart\\firewall-before-7.xml'" in script
    assert "-DefaultInboundAction $p.DefaultInboundAction" in script


def test_complement_covers_everything_but_the_allowlist() -> None:
    ranges = _complement(["10.0.0.0/8", "10.1.2.3", "192.168.1.0/24", "fd00::/8"])
    v4 = [r for r in ranges if ":" not in r]
    assert v4 == ["0.0.0.0-9.255.255.255", "11.0.0.0-192.168.0.255", "192.168.2.0-255.255.255.255"]
    first, last = (ipaddress.ip_address(a) for a in ranges[-1].split("-"))
    assert str(first) == "fe00::" and last == ipaddress.ip_address("ffff:" * 7 + "ffff")


def test_a_windows_host_without_management_addresses_is_refused() -> None:
    with pytest.raises(ValueError, match="without management addresses"):
        isolate_script(1, [])


def test_a_windows_host_is_planned_with_its_script_and_needs_credentials(
    tmp_path, monkeypatch
) -> None:
    from rempart.contain import engine
    from rempart.contain._records import Journal, incident_id
    from rempart.contain.actions import Context, Request
    from rempart.contain.inventory import parse
    from rempart.store import open_store

    monkeypatch.setenv("SSH_CLIENT", "10.214.0.9 50000 22")
    hosts = parse("name,address,role,management\npc1,10.214.3.4,windows,10.214.0.1\n")
    store = open_store(f"sqlite:///{tmp_path / 's.db'}")
    ctx = Context(incident_id(store, "w", create=True), hosts, "tester")
    plan = engine.make_plan(ctx, Request(isolate=("pc1",)))
    [change] = plan.changes
    assert change.action == "isolate-windows"
    assert "'10.214.0.1/32','10.214.0.9/32'" in change.detail  # management + responder
    [outcome] = engine.apply(store, ctx, plan, Journal(tmp_path / "j"))
    assert outcome.state == "failed" and "no WinRM credentials given" in outcome.message
    assert "left as it was" in outcome.message


def test_this_machines_own_address_stays_allowed_on_a_windows_host(tmp_path, monkeypatch) -> None:
    """rempart talks to the Windows host over WinRM from this machine: the address the host
    sees it from must stay allowed, or the isolation cuts the very session that applies it
    (and the verification and the undo after it)."""
    from rempart.contain import engine
    from rempart.contain._records import incident_id
    from rempart.contain.actions import Context, Request
    from rempart.contain.inventory import parse
    from rempart.store import open_store

    monkeypatch.delenv("SSH_CLIENT", raising=False)
    hosts = parse("name,address,role,management\npc1,127.0.0.3,windows,10.214.0.1\n")
    store = open_store(f"sqlite:///{tmp_path / 's.db'}")
    ctx = Context(incident_id(store, "w", create=True), hosts, "tester")
    [change] = engine.make_plan(ctx, Request(isolate=("pc1",))).changes
    assert "'10.214.0.1/32','127.0.0.1/32'" in change.detail
    assert "127.0.0.1" in change.keeps


def test_windows_apply_is_commit_confirmed_by_a_scheduled_task() -> None:
    import base64
    import re

    from rempart.contain.windows import confirm_script

    lines = isolate_script(7, ["10.214.0.1"], rollback_seconds=45).splitlines()
    register = next(i for i, ln in enumerate(lines) if "Register-ScheduledTask" in ln)
    block = next(i for i, ln in enumerate(lines) if "DefaultOutboundAction Block" in ln)
    save = next(i for i, ln in enumerate(lines) if "Export-Clixml" in ln)
    assert save < register < block  # state saved, then the rollback armed, then the change
    assert "-TaskName 'rempart-rollback-7'" in lines[register] and "'SYSTEM'" in lines[register]
    assert any("AddSeconds(45)" in ln for ln in lines)
    encoded = re.search(r"-EncodedCommand (\S+)'", "\n".join(lines))
    assert encoded is not None
    assert base64.b64decode(encoded[1]).decode("utf-16-le") == undo_script(7)
    assert "Unregister-ScheduledTask -TaskName 'rempart-rollback-7'" in confirm_script(7)
    assert "Unregister-ScheduledTask -TaskName 'rempart-rollback-7'" in undo_script(7)
