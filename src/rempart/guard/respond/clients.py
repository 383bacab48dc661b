"""The `block-client` and `close-session` responders: cut an SMB client off the file server.

Blocking comes first (the client cannot reconnect), then its open sessions are closed (the
smbd serving it stops writing for it at once).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from rempart.errors import RempartError, UsageError
from rempart.guard.alarm import ActorKind, Alarm, Response
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

    def respond(self, alarm: Alarm, *, dry_run: bool) -> Response:
        address = alarm.actor.address
        if not address:
            return response(self.name, alarm, ok=False, dry_run=dry_run, detail="no address")
        key = alarm.actor.key
        if (first := self._once.claim(key)) is not None:
            return response(
                self.name, alarm, ok=True, dry_run=dry_run, detail=first, already_done=True
            )
        where = f" in netns {self.netns}" if self.netns else ""
        scope = "all ports" if self.ports is None else "ports " + ",".join(map(str, self.ports))
        ok = False
        try:
            nft.parse_address(address, self.never_block)
            if dry_run:
                ok, detail = True, f"would block {address} ({scope}) with nftables{where}"
            elif nft.block_client(
                address,
                netns=self.netns,
                ports=self.ports,
                never_block=self.never_block,
                action=self.action,
            ):
                ok, detail = True, f"blocked {address} ({scope}, {self.action}){where}"
            else:
                ok, detail = True, f"{address} was already blocked{where}"
        except RempartError as exc:  # refused (loopback, never_block) or nft failed
            detail = f"not blocked: {exc}"
        self._once.settle(key, detail, keep=ok and not dry_run)
        return response(
            self.name, alarm, ok=ok, dry_run=dry_run, detail=detail, extra={"address": address}
        )


class CloseSession:
    """End the client's Samba sessions (smbcontrol kill-client-ip, then its smbd children)."""

    name = "close-session"

    def __init__(self, options: Mapping[str, Any], context: Context | None = None) -> None:
        self.smbconf = Path(options["smbconf"]) if options["smbconf"] else None
        self.netns = str(options["netns"]) or None
        self._once = Once()

    def respond(self, alarm: Alarm, *, dry_run: bool) -> Response:
        address = alarm.actor.address
        if not address:
            return response(self.name, alarm, ok=False, dry_run=dry_run, detail="no address")
        key = alarm.actor.key
        if (first := self._once.claim(key)) is not None:
            return response(
                self.name, alarm, ok=True, dry_run=dry_run, detail=first, already_done=True
            )
        ok = False
        try:
            if dry_run:
                pids = samba.session_pids(address, smbconf=self.smbconf, netns=self.netns)
                detail = f"would close {len(pids)} Samba session(s) of {address} (smbd {pids})"
            else:
                n = samba.close_sessions(address, smbconf=self.smbconf, netns=self.netns)
                detail = f"closed {n} Samba session(s) of {address}"
            ok = True
        except RempartError as exc:
            detail = f"sessions not closed: {exc}"
        self._once.settle(key, detail, keep=ok and not dry_run)
        return response(
            self.name, alarm, ok=ok, dry_run=dry_run, detail=detail, extra={"address": address}
        )


_SMB = frozenset({ActorKind.SMB_CLIENT})

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
