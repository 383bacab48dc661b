"""Close an SMB client's Samba sessions: find them with `smbstatus -j`, end them with smbcontrol.

`smbcontrol smbd kill-client-ip ADDR` asks smbd's master to end every connection from ADDR;
the smbd children serving that client that are still there a moment later are terminated
directly. A client that reconnects gets a new session: block it with nftables first.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rempart.errors import RempartError, UsageError
from rempart.guard.respond import _procs
from rempart.guard.respond.nft import _NETNS


class SambaError(RempartError):
    """smbstatus or smbcontrol is missing or failed (Samba not running, wrong smb.conf...)."""


def _run(args: Sequence[str], *, smbconf: Path | None, netns: str | None) -> str:
    if shutil.which(args[0]) is None:
        raise SambaError(f"{args[0]} not found", hint="apt-get install samba")
    if smbconf is not None and not smbconf.is_file():
        # smbstatus would quietly read the default smb.conf and find no session
        raise SambaError(f"smb.conf not found: {smbconf}")
    cmd = [args[0], *(["-s", str(smbconf)] if smbconf else []), *args[1:]]
    if netns is not None:
        if not _NETNS.match(netns):
            raise UsageError(f"not a network namespace name: {netns!r}")
        cmd = ["ip", "netns", "exec", netns, *cmd]
    try:
        done = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=10)
    except subprocess.TimeoutExpired as exc:
        raise SambaError(f"{args[0]} did not answer within 10 s") from exc
    if done.returncode != 0:
        said = (done.stderr or done.stdout).strip().splitlines()
        raise SambaError(f"{' '.join(args)} failed: {said[-1] if said else done.returncode}")
    return done.stdout


def _same(a: str, b: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    try:
        found = ipaddress.ip_address(a.strip("[]").split("%")[0])
    except ValueError:
        return False
    if isinstance(found, ipaddress.IPv6Address) and found.ipv4_mapped is not None:
        found = found.ipv4_mapped
    return found == b


def _host(hostname: str) -> str:
    """'ipv4:10.0.0.2:51234' or 'ipv6:fd00::2:51234' -> the address."""
    if hostname.startswith(("ipv4:", "ipv6:")):
        return hostname[5:].rsplit(":", 1)[0]
    return hostname


def session_pids(
    address: str, *, smbconf: Path | None = None, netns: str | None = None
) -> list[int]:
    """The smbd processes serving `address` now (one per client connection)."""
    try:
        addr = ipaddress.ip_address(address.strip("[]"))
    except ValueError:
        raise UsageError(f"not an IP address: {address!r}") from None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    pids = set()
    for sess in _sessions(smbconf, netns):
        host = _host(str(sess.get("hostname", "")))
        if _same(host, addr) or _same(str(sess.get("remote_machine", "")), addr):
            pids.add(int(sess["server_id"]["pid"]))
    return sorted(pids)


def _sessions(smbconf: Path | None, netns: str | None) -> list[dict[str, Any]]:
    raw = _run(["smbstatus", "-j", "-p"], smbconf=smbconf, netns=netns)
    try:
        sessions = json.loads(raw).get("sessions", {})
        return [s for s in sessions.values() if isinstance(s, dict)]
    except (json.JSONDecodeError, AttributeError) as exc:
        raise SambaError(f"smbstatus -j gave unreadable output: {raw[:200]!r}") from exc


def _same_user(name: str, user: str) -> bool:
    """Samba may say `DOMAIN\\user` where the audit said `user`; accounts ignore case."""
    return name.lower() == user.lower() or name.rsplit("\\", 1)[-1].lower() == user.lower()


def user_session_pids(
    user: str, *, smbconf: Path | None = None, netns: str | None = None
) -> list[int]:
    """The smbd processes serving a session of the account `user` now."""
    if not user:
        raise UsageError("no user name given")
    found = {
        int(s["server_id"]["pid"])
        for s in _sessions(smbconf, netns)
        if _same_user(str(s.get("username", "")), user)
    }
    return sorted(found)


def close_user_sessions(user: str, *, smbconf: Path | None = None, netns: str | None = None) -> int:
    """End every Samba session of the account `user`, from whatever address; returns how many
    smbd processes served one. smbcontrol has no per-user message, so the smbd children are
    terminated: a connection that also carries another account's session (several users of
    one terminal server) is cut too, as `kill-client-ip` would.

    Raises:
        UsageError: no user name.
        SambaError: smbstatus missing or failing.
    """
    pids = user_session_pids(user, smbconf=smbconf, netns=netns)
    _terminate(pids)
    return len(pids)


def _terminate(pids: list[int], wait: float = 0.0) -> None:
    """SIGTERM the smbd children among `pids` still there after `wait` seconds."""
    deadline = time.monotonic() + wait
    alive = pids
    while alive and time.monotonic() < deadline:
        time.sleep(0.02)
        alive = [p for p in alive if (i := _procs.info(p)) is not None and i.state != "Z"]
    for pid in alive:
        if (proc := _procs.info(pid)) is not None and proc.name == "smbd":
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)


def close_sessions(address: str, *, smbconf: Path | None = None, netns: str | None = None) -> int:
    """End every Samba session of the client at `address`; returns how many were open.

    Raises:
        UsageError: not an address.
        SambaError: smbstatus/smbcontrol missing or failing.
    """
    pids = session_pids(address, smbconf=smbconf, netns=netns)
    if not pids:
        return 0
    _run(
        ["smbcontrol", "smbd", "kill-client-ip", address.strip("[]")], smbconf=smbconf, netns=netns
    )
    _terminate(pids, wait=2.0)  # those the master did not get to: end the client's own smbd
    return len(pids)
