"""The `block-client` and `close-session` responders: cut an SMB client off the file server.

Blocking comes first (the client cannot reconnect), then its open sessions are closed (the
smbd serving it stops writing for it at once).
"""

from __future__ import annotations

import ipaddress
import json
import os
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from rempart.errors import RempartError, UsageError
from rempart.guard.alarm import Actor, ActorKind, Alarm, Response
from rempart.guard.respond import nft, samba
from rempart.guard.respond._base import RESPONDERS, Context, Once, Option, ResponderSpec, response

_NETNS_HELP = "Network namespace to act in (tests, containers); empty: the host's."


class BlockClient:
    """Add the client's address to the nftables block sets of `inet rempart_guard`."""

    name = "block-client"

    def __init__(self, options: Mapping[str, Any], context: Context | None = None) -> None:
        self.never_block = [str(a) for a in options["never_block"]]
        self.ports = None if options["all_ports"] else tuple(int(p) for p in options["ports"])
        action = str(options["action"])
        if action not in ("reject", "drop"):
            raise UsageError(f"block-client.action must be 'reject' or 'drop', not {action!r}")
        self.action: Literal["reject", "drop"] = "reject" if action == "reject" else "drop"
        self.netns = str(options["netns"]) or None
        self._once = Once()
        for entry in self.never_block:  # a typo here must fail at start-up, not at the alarm
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise UsageError(f"never_block: not an address or network: {entry!r}") from None
        # A user alarm blocks every address the account was seen on, not only the attacker's:
        # the server itself (a job mounting its own share) and the responder's own machine
        # (the SSH session running the guard) must never be among them, listed or not.
        self.protected = {a: "the server's own address" for a in own_addresses(self.netns)}
        if responder := responder_address():
            self.protected.setdefault(responder, "the responder's address (SSH_CLIENT)")

    def respond(self, alarm: Alarm, *, dry_run: bool) -> Response:
        if alarm.actor.pids:
            return _local(self.name, alarm, dry_run)
        addresses = _addresses(alarm)
        if not addresses:
            return response(self.name, alarm, ok=False, dry_run=dry_run, detail="no address")
        key = alarm.actor.key
        if (first := self._once.claim(key)) is not None:
            return response(
                self.name, alarm, ok=True, dry_run=dry_run, detail=first, already_done=True
            )
        done = [self._block(a, dry_run) for a in addresses]
        ok = all(d[0] for d in done)
        detail = "; ".join(d[1] for d in done)
        self._once.settle(key, detail, keep=ok and not dry_run)
        extra = {"address": " ".join(addresses)}
        return response(self.name, alarm, ok=ok, dry_run=dry_run, detail=detail, extra=extra)

    def _block(self, address: str, dry_run: bool) -> tuple[bool, str]:
        where = f" in netns {self.netns}" if self.netns else ""
        scope = "all ports" if self.ports is None else "ports " + ",".join(map(str, self.ports))
        try:
            addr = str(nft.parse_address(address, self.never_block))
            if (why := self.protected.get(addr)) is not None:
                return False, f"{address} not blocked: refusing to block {why}"
            if dry_run:
                return True, f"would block {address} ({scope}) with nftables{where}"
            if nft.block_client(
                address,
                netns=self.netns,
                ports=self.ports,
                never_block=self.never_block,
                action=self.action,
            ):
                return True, f"blocked {address} ({scope}, {self.action}){where}"
            return True, f"{address} was already blocked{where}"
        except RempartError as exc:  # refused (loopback, never_block) or nft failed
            return False, f"{address} not blocked: {exc}"


def own_addresses(netns: str | None) -> list[str]:
    """The addresses of this host (or of the network namespace `netns`), from `ip -j addr`.

    Raises:
        UsageError: `ip` is missing or fails (block-client could then block the server itself).
    """
    cmd = ["ip", "-j", "addr", "show"] if netns is None else ["ip", "-n", netns, "-j", "addr"]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=10, check=True)
        links = json.loads(done.stdout)
    except (OSError, subprocess.SubprocessError, json.JSONDecodeError) as exc:
        raise UsageError(f"block-client: cannot list the server's own addresses: {exc}") from None
    return [
        str(ipaddress.ip_address(info["local"]))
        for link in links
        for info in link.get("addr_info", [])
        if "local" in info
    ]


def responder_address() -> str | None:
    """The address the guard's operator is connected from (SSH_CLIENT), if any."""
    words = os.environ.get("SSH_CLIENT", "").split()
    try:
        return str(nft.parse_address(words[0])) if words else None
    except RempartError:
        return None


def _local(name: str, alarm: Alarm, dry_run: bool) -> Response:
    """A local Unix user's alarm: no SMB client, nothing to do here; said, not silent."""
    detail = (
        f"nothing to do: {alarm.actor.key} is a local user's processes, not an SMB client "
        "(stop-process stops them)"
    )
    return response(name, alarm, ok=True, dry_run=dry_run, detail=detail)


def _addresses(alarm: Alarm) -> tuple[str, ...]:
    """The client's address; for a user, every address the account was seen on recently."""
    a = alarm.actor
    if a.kind is ActorKind.USER:
        return a.addresses
    return (a.address,) if a.address else ()


class CloseSession:
    """End the client's Samba sessions (smbcontrol kill-client-ip, then its smbd children)."""

    name = "close-session"

    def __init__(self, options: Mapping[str, Any], context: Context | None = None) -> None:
        self.smbconf = Path(options["smbconf"]) if options["smbconf"] else None
        self.netns = str(options["netns"]) or None
        self._once = Once()

    def respond(self, alarm: Alarm, *, dry_run: bool) -> Response:
        a = alarm.actor
        if a.pids:
            return _local(self.name, alarm, dry_run)
        user = a.kind is ActorKind.USER
        if not (a.user if user else a.address):
            what = "no user" if user else "no address"
            return response(self.name, alarm, ok=False, dry_run=dry_run, detail=what)
        key = a.key
        if (first := self._once.claim(key)) is not None:
            return response(
                self.name, alarm, ok=True, dry_run=dry_run, detail=first, already_done=True
            )
        ok = False
        try:
            detail = self._user(a.user or "", dry_run) if user else self._client(a, dry_run)
            ok = True
        except RempartError as exc:
            detail = f"sessions not closed: {exc}"
        self._once.settle(key, detail, keep=ok and not dry_run)
        extra = {"user": a.user or ""} if user else {"address": a.address or ""}
        return response(self.name, alarm, ok=ok, dry_run=dry_run, detail=detail, extra=extra)

    def _client(self, a: Actor, dry_run: bool) -> str:
        address = a.address or ""
        if dry_run:
            pids = samba.session_pids(address, smbconf=self.smbconf, netns=self.netns)
            return f"would close {len(pids)} Samba session(s) of {address} (smbd {pids})"
        n = samba.close_sessions(address, smbconf=self.smbconf, netns=self.netns)
        return f"closed {n} Samba session(s) of {address}"

    def _user(self, user: str, dry_run: bool) -> str:
        if dry_run:
            pids = samba.user_session_pids(user, smbconf=self.smbconf, netns=self.netns)
            return f"would close {len(pids)} Samba session(s) of user {user} (smbd {pids})"
        n = samba.close_user_sessions(user, smbconf=self.smbconf, netns=self.netns)
        return f"closed {n} Samba session(s) of user {user}"


#: a user alarm: every address of the account, every session of the account
_SMB = frozenset({ActorKind.SMB_CLIENT, ActorKind.USER})

RESPONDERS.add(
    "block-client",
    ResponderSpec(
        name="block-client",
        phase="block",
        help="Block the SMB client's address with nftables (table inet rempart_guard).",
        options=(
            Option("never_block", list, [], "Addresses/networks never blocked.", item=str),
            Option("ports", list, list(nft.SMB_PORTS), "Ports blocked.", item=int),
            Option("all_ports", bool, False, "Block every port, not only SMB's."),
            Option("action", str, "reject", "'reject' (TCP reset: fails fast) or 'drop'."),
            Option("netns", str, "", _NETNS_HELP),
        ),
        factory=BlockClient,
        kinds=_SMB,
    ),
)
RESPONDERS.add(
    "close-session",
    ResponderSpec(
        name="close-session",
        phase="block",
        help="Close the SMB client's open Samba sessions.",
        options=(
            Option("smbconf", str, "", "smb.conf of the server (smbstatus/smbcontrol -s)."),
            Option("netns", str, "", _NETNS_HELP),
        ),
        factory=CloseSession,
        kinds=_SMB,
    ),
)
