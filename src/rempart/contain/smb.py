"""Block an SMB client at a file server and close its Samba sessions.

One implementation: the guard's responders (`rempart.guard.respond.nft.block_client`,
`rempart.guard.respond.samba.close_sessions`) do the work; this action adds plan, verify
and undo around them. On the machine rempart runs on they are called directly (inside the
network namespace the local runner names, if any); on a remote file server the very same
functions run there over SSH, with the Python that has rempart installed (`--remote-python`).
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rempart.contain import nft
from rempart.contain._errors import ContainError, HostError
from rempart.contain._runner import LocalRunner
from rempart.contain.actions import ACTIONS, Action, Applied, Change, Context, Request
from rempart.guard.respond import nft as guard_nft
from rempart.guard.respond import samba as guard_samba

#: Run on a remote file server: the guard's helpers, nothing else.
_REMOTE = """
import json, sys
from pathlib import Path
from rempart.guard.respond import nft, samba
op, addr, conf = sys.argv[1:4]
if op == "list":
    print(json.dumps(nft.blocked_clients()))
elif op == "block":
    nft.block_client(addr)
    print(json.dumps(samba.close_sessions(addr, smbconf=Path(conf)) if conf else 0))
elif op == "unblock":
    print(json.dumps(nft.unblock_client(addr, all_ports=False)))
"""


def _call(ctx: Context, server: str, op: str, address: str = "", smbconf: str = "") -> Any:
    """`op` (list, block, unblock) at `server`: directly when local, over SSH when remote."""
    runner = ctx.runner(ctx.host(server))
    if isinstance(runner, LocalRunner):
        ns = runner.netns
        if op == "list":
            return guard_nft.blocked_clients(netns=ns)
        if op == "block":
            guard_nft.block_client(address, netns=ns)
            conf = Path(smbconf) if smbconf else None
            return guard_samba.close_sessions(address, smbconf=conf, netns=ns) if conf else 0
        # only the block contain made (SMB ports): an every-port block is the guard's own
        return guard_nft.unblock_client(address, netns=ns, all_ports=False)
    argv = " ".join(shlex.quote(a) for a in (op, address, smbconf))
    got = runner.run(
        f"{shlex.quote(ctx.remote_python)} -c {shlex.quote(_REMOTE)} {argv}", timeout=ctx.timeout
    )
    if got.status != 0:
        said = (got.stderr.strip().splitlines() or [f"status {got.status}"])[-1]
        raise HostError(
            f"{server}: the guard's SMB responder failed there: {said}",
            hint="rempart must be installed on the file server (see --remote-python)",
        )
    return json.loads(got.stdout)


def _state(ctx: Context, server: str) -> list[str]:
    return list(_call(ctx, server, "list"))


def _address(text: str) -> tuple[str, str]:
    """The client's address as nft writes it (one IPv6 address has many spellings) and the
    set the guard's `block_client` puts it in (SMB ports only: by address family)."""
    addr = guard_nft.parse_address(text)  # refuses loopback, unusable addresses
    # the guard's own naming, so that the plan names the set the apply really fills
    return str(addr), guard_nft.set_for(addr, all_ports=False)


class BlockSmbClient(Action):
    name = "block-smb"

    def plan(self, ctx: Context, target: str, request: Request) -> Change:
        server, given = target.split("/", 1)
        address, set_name = _address(given)
        blocked = _state(ctx, server)
        where = ctx.runner(ctx.host(server)).label
        closing = (
            "close its Samba sessions" if request.smbconf else "sessions left open (no --smbconf)"
        )
        return Change(
            key=f"{self.name}:{target}",
            action=self.name,
            target=target,
            summary=f"block SMB client {address} at {server} ({where})",
            detail=(
                f"add {address} to set {set_name} of table inet {guard_nft.TABLE} "
                f"(TCP {', '.join(map(str, guard_nft.SMB_PORTS))}: reset); {closing}\n"
            ),
            keeps=(f"{address}'s other traffic", "every other SMB client"),
            fingerprint=nft.digest(json.dumps(blocked)),
            noop=address in blocked,
            # the file server: the journal keeps how to reach it, for undo --from-journal
            host=ctx.host(server),
            params=(("smbconf", request.smbconf or ""),),
        )

    def current_hash(self, ctx: Context, change: Change) -> str:
        return nft.digest(json.dumps(_state(ctx, change.target.split("/", 1)[0])))

    def apply(self, ctx: Context, change: Change, snapshot: Callable[[str], None]) -> Applied:
        server, given = change.target.split("/", 1)
        address = _address(given)[0]
        blocked = _state(ctx, server)
        if nft.digest(json.dumps(blocked)) != change.fingerprint:
            raise ContainError(f"{server}: the blocked SMB clients changed since the plan")
        before = json.dumps({"blocked": address in blocked})
        snapshot(before)
        _call(ctx, server, "block", address, change.param("smbconf"))
        return Applied(before=before, after_hash=nft.digest(json.dumps(_state(ctx, server))))

    def verify(self, ctx: Context, change: Change) -> list[str]:
        server, given = change.target.split("/", 1)
        address = _address(given)[0]
        if address not in _state(ctx, server):
            return [f"{address} is not in {server}'s blocked SMB clients"]
        return []

    def undo(self, ctx: Context, target: str, before: str, after_hash: str) -> str:
        server, address = target.split("/", 1)
        if json.loads(before).get("blocked"):
            return f"{address} was already blocked before: left blocked"
        _call(ctx, server, "unblock", address)
        return f"{address} unblocked at {server}"


ACTIONS.add(BlockSmbClient.name, BlockSmbClient())
