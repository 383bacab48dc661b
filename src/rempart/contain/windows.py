"""Windows hosts: the exact PowerShell that isolates one (and the one that undoes it).

Windows Firewall lets explicit allow rules win over a profile's default "block", so setting
the defaults is not enough: a block rule covering every remote address except the management
allowlist is added too (block rules win over allow rules). The previous profile settings are
exported first and put back by the undo script. There is no Windows machine in the tests:
they check the script's content; running it needs WinRM credentials (pywinrm). Apply is
commit-confirmed there too: a scheduled task restores the previous state unless removed.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import socket
from collections.abc import Callable, Sequence

from rempart.contain._errors import ContainError, HostError
from rempart.contain.actions import ACTIONS, Action, Applied, Change, Context, Request
from rempart.contain.inventory import Host

GROUP = "rempart-contain"
SAVED = r"C:\ProgramData\rempart\firewall-before-{incident}.xml"
TASK = "rempart-rollback-{incident}"


def _complement(allow: Sequence[str]) -> list[str]:
    """Every address range outside `allow`, as Windows "first-last" ranges (IPv4 and IPv6)."""
    out: list[str] = []
    for everything in (ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0")):
        keep = sorted(
            (
                n
                for n in (ipaddress.ip_network(a, strict=False) for a in allow)
                if n.version == everything.version
            ),
            key=lambda n: int(n.network_address),
        )
        start = int(everything.network_address)
        end = int(everything.broadcast_address)
        make = type(everything.network_address)
        for net in keep:
            if int(net.network_address) > start:
                out.append(f"{make(start)}-{make(int(net.network_address) - 1)}")
            start = max(start, int(net.broadcast_address) + 1)
        if start <= end:
            out.append(f"{make(start)}-{make(end)}")
    return out


def _ps_list(items: Sequence[str]) -> str:
    return ",".join(f"'{i}'" for i in items)


def _encoded(script: str) -> str:
    """`powershell -EncodedCommand` form: base64 of the UTF-16LE text."""
    return base64.b64encode(script.encode("utf-16-le")).decode()


def isolate_script(incident: int, allow: Sequence[str], rollback_seconds: int = 60) -> str:
    """PowerShell that blocks all traffic of the host except with the management allowlist.

    Commit-confirmed like the Linux hosts: before anything changes, a one-shot scheduled
    task (SYSTEM) is registered to run the undo script in `rollback_seconds`; only a
    successful verification removes it (`confirm_script`).
    """
    if not allow:
        raise ValueError("a Windows host cannot be isolated without management addresses")
    saved = SAVED.format(incident=incident)
    blocked = _ps_list(_complement(allow))
    allowed = _ps_list(sorted(str(ipaddress.ip_network(a, strict=False)) for a in allow))
    rollback = "powershell.exe -NoProfile -NonInteractive -EncodedCommand " + _encoded(
        undo_script(incident)
    )
    return "\n".join(
        [
            "$ErrorActionPreference = 'Stop'",
            "New-Item -ItemType Directory -Force -Path 'C:\\ProgramData\\rempart' | Out-Null",
            f"if (-not (Test-Path '{saved}')) {{",
            "  Get-NetFirewallProfile | Select-Object Name,Enabled,DefaultInboundAction,"
            f"DefaultOutboundAction | Export-Clixml -Path '{saved}'",
            "}",
            f"$rollback = New-ScheduledTaskAction -Execute 'powershell.exe' -Argument "
            f"'{rollback.split(' ', 1)[1]}'",
            "$when = New-ScheduledTaskTrigger -Once -At (Get-Date).AddSeconds("
            f"{int(rollback_seconds)})",
            f"Register-ScheduledTask -TaskName '{TASK.format(incident=incident)}' -Force"
            " -User 'SYSTEM' -RunLevel Highest -Action $rollback -Trigger $when | Out-Null",
            f"Get-NetFirewallRule -Group '{GROUP}' -ErrorAction SilentlyContinue"
            " | Remove-NetFirewallRule",
            "Set-NetFirewallProfile -All -Enabled True -DefaultInboundAction Block"
            " -DefaultOutboundAction Block",
            f"New-NetFirewallRule -Group '{GROUP}' -DisplayName 'rempart: management in'"
            f" -Direction Inbound -Action Allow -RemoteAddress {allowed} | Out-Null",
            f"New-NetFirewallRule -Group '{GROUP}' -DisplayName 'rempart: management out'"
            f" -Direction Outbound -Action Allow -RemoteAddress {allowed} | Out-Null",
            f"New-NetFirewallRule -Group '{GROUP}' -DisplayName 'rempart: block in'"
            f" -Direction Inbound -Action Block -RemoteAddress {blocked} | Out-Null",
            f"New-NetFirewallRule -Group '{GROUP}' -DisplayName 'rempart: block out'"
            f" -Direction Outbound -Action Block -RemoteAddress {blocked} | Out-Null",
            "",
        ]
    )


def confirm_script(incident: int) -> str:
    """Verification passed: remove the rollback task (the failure says it had already run)."""
    return (
        "$ErrorActionPreference = 'Stop'\n"
        f"Unregister-ScheduledTask -TaskName '{TASK.format(incident=incident)}' -Confirm:$false\n"
    )


def undo_script(incident: int) -> str:
    """PowerShell that removes rempart's rules and restores the saved profile settings."""
    saved = SAVED.format(incident=incident)
    return "\n".join(
        [
            "$ErrorActionPreference = 'Stop'",
            f"Get-NetFirewallRule -Group '{GROUP}' -ErrorAction SilentlyContinue"
            " | Remove-NetFirewallRule",
            f"foreach ($p in Import-Clixml -Path '{saved}') {{",
            "  Set-NetFirewallProfile -Name $p.Name -Enabled $p.Enabled"
            " -DefaultInboundAction $p.DefaultInboundAction"
            " -DefaultOutboundAction $p.DefaultOutboundAction",
            "}",
            f"Remove-Item -Path '{saved}'",
            f"Unregister-ScheduledTask -TaskName '{TASK.format(incident=incident)}'"
            " -Confirm:$false -ErrorAction SilentlyContinue",
            "",
        ]
    )


def run_winrm(address: str, user: str, password: str, script: str) -> tuple[int, str]:
    """Run `script` on a Windows host over WinRM (NTLM, HTTPS 5986 when the URL says so)."""
    try:
        import winrm  # noqa: PLC0415  # pulls in requests: paid only when WinRM is really used
    except ImportError:
        raise ContainError(
            "running PowerShell over WinRM needs pywinrm", hint="pip install 'rempart[windows]'"
        ) from None

    session = winrm.Session(address, auth=(user, password), transport="ntlm")
    result = session.run_ps(script)
    return int(result.status_code), (result.std_out + result.std_err).decode(errors="replace")


def source_address(address: str) -> str | None:
    """This machine's address on the way to `address` (as the host sees it, barring NAT).

    A UDP socket's connect only picks the route and the source: nothing is sent.
    """
    ip = ipaddress.ip_address(address)
    with socket.socket(
        socket.AF_INET if ip.version == 4 else socket.AF_INET6, socket.SOCK_DGRAM
    ) as s:
        try:
            s.connect((address, 5985))
        except OSError:
            return None
        return str(s.getsockname()[0])


def _allowlist(ctx: Context, host: Host) -> list[str]:
    """Management, the responder, and this machine: WinRM comes from here, and with it the
    apply, the verification and the undo."""
    allow = list(host.management)
    for extra in (ctx.responder, source_address(host.address)):
        if extra:
            allow.append(extra)
    return allow


def _winrm(ctx: Context, host: Host, script: str) -> str:
    if ctx.winrm is None:
        raise ContainError(
            f"{host.name}: no WinRM credentials given; nothing was changed",
            hint="run the printed PowerShell on the host by hand, or give --winrm-user",
        )
    status, out = run_winrm(host.address, ctx.winrm[0], ctx.winrm[1], script)
    if status != 0:
        raise HostError(f"{host.name}: the PowerShell failed (status {status}): {out[-300:]}")
    return out


class IsolateWindows(Action):
    """Isolate a Windows host (inventory role "windows") through its firewall profiles."""

    name = "isolate-windows"

    def plan(self, ctx: Context, target: str, request: Request) -> Change:
        host = ctx.host(target)
        allow = _allowlist(ctx, host)
        if not allow:
            raise ContainError(
                f"{host.name}: a Windows host needs management addresses (or SSH_CLIENT)",
                hint="refusing: the isolation would cut every path to it",
            )
        script = isolate_script(ctx.incident, allow, ctx.confirm_seconds)
        return Change(
            key=f"{self.name}:{host.name}",
            action=self.name,
            target=host.name,
            summary=f"isolate Windows host {host.name} ({host.address}) via WinRM",
            detail=script,
            keeps=tuple(sorted(set(allow))),
            fingerprint=hashlib.sha256(script.encode()).hexdigest(),
            host=host,
        )

    def current_hash(self, ctx: Context, change: Change) -> str:
        return change.fingerprint  # the host's state is saved by the script itself

    def apply(self, ctx: Context, change: Change, snapshot: Callable[[str], None]) -> Applied:
        assert change.host is not None
        if ctx.winrm is None:
            _winrm(ctx, change.host, "")  # refuses with the reason before anything is noted
        snapshot(undo_script(ctx.incident))  # the script saves the profiles before changing
        _winrm(ctx, change.host, change.detail)
        return Applied(
            before=undo_script(ctx.incident),
            after_hash=change.fingerprint,
            timer=TASK.format(incident=ctx.incident),
        )

    def confirm(self, ctx: Context, change: Change, applied: Applied) -> None:
        assert change.host is not None
        try:
            _winrm(ctx, change.host, confirm_script(ctx.incident))
        except HostError as exc:
            raise HostError(
                f"{change.target}: the rollback task could not be removed ({exc}): it may have "
                "run already, restoring the previous firewall state",
                hint="apply again with a longer --confirm-within",
            ) from None

    def verify(self, ctx: Context, change: Change) -> list[str]:
        assert change.host is not None
        out = _winrm(
            ctx, change.host, f"(Get-NetFirewallRule -Group '{GROUP}' | Measure-Object).Count"
        )
        return [] if out.strip() == "4" else [f"{change.target}: rempart's 4 rules not found"]

    def undo(self, ctx: Context, target: str, before: str, after_hash: str) -> str:
        _winrm(ctx, ctx.host(target), before)
        return "firewall profiles restored from the saved state; rempart's rules removed"


ACTIONS.add(IsolateWindows.name, IsolateWindows())
