"""Block SMB clients at the file server with nftables, in a table of our own.

Table `inet rempart_guard` holds named sets of blocked addresses (IPv4 and IPv6; SMB ports only,
or all ports) and one input chain that answers them with a TCP reset (the client fails at once
instead of hanging until its timeout) or drops them. The rule applies to connections already
open too, so the attacker's next write fails. No other table is ever read or changed.
Public helpers (the `rempart contain` actions reuse them): `block_client`, `unblock_client`,
`blocked_clients`.
"""

from __future__ import annotations

import ipaddress
import json
import re
import shutil
import subprocess
import threading
from collections.abc import Iterable, Sequence
from typing import Literal

from rempart.errors import RempartError, UsageError

TABLE = "rempart_guard"
SMB_PORTS = (445, 139)
_SETS = ("blocked4", "blocked6", "blocked4_all", "blocked6_all")
_NETNS = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_lock = threading.Lock()  # check-then-add must not interleave between two alarms

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class NftError(RempartError):
    """nft is missing or refused a command (not root, no CAP_NET_ADMIN, no nf_tables)."""


def _nft(args: Sequence[str], *, netns: str | None, stdin: str | None = None) -> str:
    if shutil.which("nft") is None:
        raise NftError("nft not found", hint="apt-get install nftables")
    cmd = ["nft", *args]
    if netns is not None:
        if not _NETNS.match(netns):
            raise UsageError(f"not a network namespace name: {netns!r}")
        cmd = ["ip", "netns", "exec", netns, *cmd]
    try:
        done = subprocess.run(
            cmd, check=False, input=stdin, capture_output=True, text=True, timeout=10
        )
    except subprocess.TimeoutExpired as exc:
        raise NftError(f"nft did not answer within 10 s: {' '.join(cmd)}") from exc
    if done.returncode != 0:
        raise NftError(f"nft {' '.join(args)} failed: {done.stderr.strip() or done.returncode}")
    return done.stdout


def parse_address(address: str, never_block: Iterable[str] = ()) -> Address:
    """The address to block, refusing loopback, unusable and protected addresses.

    Raises:
        UsageError: not an address, loopback/unspecified/multicast, or in `never_block`
            (addresses or networks in CIDR form).
    """
    try:
        addr: Address = ipaddress.ip_address(address.strip().strip("[]").split("%")[0])
    except ValueError:
        raise UsageError(f"not an IP address: {address!r}") from None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped  # Samba on a dual-stack socket reports ::ffff:a.b.c.d
    if addr.is_loopback or addr.is_unspecified or addr.is_multicast:
        raise UsageError(f"refusing to block {addr}: loopback, unspecified or multicast")
    for entry in never_block:
        try:
            net = ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise UsageError(f"never_block: not an address or network: {entry!r}") from None
        if addr.version == net.version and addr in net:
            raise UsageError(f"refusing to block {addr}: it is in never_block ({entry})")
    return addr


def _script(action: Literal["reject", "drop"]) -> str:
    verdict = "reject with tcp reset" if action == "reject" else "drop"
    # A TCP reset only answers TCP; other protocols of an all-ports block are dropped.
    return f"""table inet {TABLE} {{
  set ports {{ type inet_service; elements = {{ {", ".join(map(str, SMB_PORTS))} }}; }}
  set blocked4 {{ type ipv4_addr; }}
  set blocked6 {{ type ipv6_addr; }}
  set blocked4_all {{ type ipv4_addr; }}
  set blocked6_all {{ type ipv6_addr; }}
  chain input {{
    type filter hook input priority -10; policy accept;
    ip saddr @blocked4_all meta l4proto tcp {verdict}
    ip saddr @blocked4_all drop
    ip6 saddr @blocked6_all meta l4proto tcp {verdict}
    ip6 saddr @blocked6_all drop
    ip saddr @blocked4 tcp dport @ports {verdict}
    ip6 saddr @blocked6 tcp dport @ports {verdict}
  }}
}}
"""


def _table_exists(netns: str | None) -> bool:
    try:
        _nft(["list", "table", "inet", TABLE], netns=netns)
    except NftError:
        return False
    return True


def _ensure_table(netns: str | None, action: Literal["reject", "drop"]) -> None:
    if not _table_exists(netns):
        _nft(["-f", "-"], netns=netns, stdin=_script(action))


def _elements(set_name: str, netns: str | None) -> list[str]:
    data = json.loads(_nft(["-j", "list", "set", "inet", TABLE, set_name], netns=netns))
    for item in data.get("nftables", []):
        if "set" in item:
            elem = item["set"].get("elem", [])
            return [str(e) for e in ([elem] if isinstance(elem, str) else elem)]
    return []


def set_for(addr: Address, all_ports: bool) -> str:
    """The set a block of `addr` goes in: SMB ports only or every port, by address family."""
    return f"blocked{addr.version}" + ("_all" if all_ports else "")


def block_client(
    address: str,
    *,
    netns: str | None = None,
    ports: Sequence[int] | None = SMB_PORTS,
    never_block: Iterable[str] = (),
    action: Literal["reject", "drop"] = "reject",
) -> bool:
    """Block `address` (on `ports`, or every port when None/empty); False if already blocked.

    Raises:
        UsageError: the address cannot or must not be blocked (see `parse_address`).
        NftError: nft failed.
    """
    addr = parse_address(address, never_block)
    all_ports = not ports
    target = set_for(addr, all_ports)
    with _lock:
        try:  # the table is there but for the first block: one nft call less on the hot path
            present = _elements(target, netns)
        except NftError:
            _ensure_table(netns, action)
            present = _elements(target, netns)
        if str(addr) in present:
            return False
        cmds = []
        if not all_ports:
            listed = ", ".join(str(int(p)) for p in ports or ())
            cmds.append(f"add element inet {TABLE} ports {{ {listed} }}")
        cmds.append(f"add element inet {TABLE} {target} {{ {addr} }}")
        _nft(["-f", "-"], netns=netns, stdin="\n".join(cmds) + "\n")
    return True


def unblock_client(
    address: str, *, netns: str | None = None, all_ports: bool | None = None
) -> bool:
    """Lift the blocks of `address`: both kinds, or only the SMB-ports one (`all_ports=False`:
    `contain undo` lifts its own block, not an every-port block the guard added since) or
    only the every-port one. False when there was none to lift."""
    addr = parse_address(address)
    removed = False
    kinds = (False, True) if all_ports is None else (all_ports,)
    with _lock:
        if not _table_exists(netns):
            return False
        for every_port in kinds:
            target = set_for(addr, every_port)
            if str(addr) in _elements(target, netns):
                _nft(["delete", "element", "inet", TABLE, target, f"{{ {addr} }}"], netns=netns)
                removed = True
    return removed


def blocked_clients(*, netns: str | None = None) -> list[str]:
    """Every address blocked now (SMB ports or all ports), sorted."""
    if not _table_exists(netns):
        return []
    found: set[str] = set()
    for name in _SETS:
        found.update(_elements(name, netns))
    return sorted(found, key=lambda a: (ipaddress.ip_address(a).version, ipaddress.ip_address(a)))


def remove_table(*, netns: str | None = None) -> bool:
    """Delete our table (every block at once); False when there was none."""
    if not _table_exists(netns):
        return False
    _nft(["delete", "table", "inet", TABLE], netns=netns)
    return True
