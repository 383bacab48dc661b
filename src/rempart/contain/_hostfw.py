"""The nftables actions: isolate a Linux host, cut internet egress at a Linux gateway."""

from __future__ import annotations

import ipaddress
from abc import abstractmethod
from collections.abc import Callable, Sequence

from rempart.contain import nft
from rempart.contain._errors import ChangedSincePlan, ContainError, HostError, NotApplied
from rempart.contain.actions import ACTIONS, Action, Applied, Change, Context, Request
from rempart.contain.inventory import Host


def _contains(nets: Sequence[str], address: str) -> bool:
    ip = ipaddress.ip_address(address)
    return any(ip in ipaddress.ip_network(n, strict=False) for n in nets)


class NftAction(Action):
    """Shared by the nftables actions: snapshot, commit-confirmed load, exact undo."""

    @abstractmethod
    def rules(self, ctx: Context, host: Host, request: Request) -> tuple[str, tuple[str, ...]]:
        """The table text for `host` and the list of what stays reachable."""

    def plan(self, ctx: Context, target: str, request: Request) -> Change:
        host = ctx.host(target)
        rules, keeps = self.rules(ctx, host, request)
        current = nft.digest(nft.ruleset(ctx.runner(host), ctx.timeout))
        key = f"{self.name}:{host.name}"
        noop = ctx.active.get(key) == (current, rules)
        where = ctx.runner(host).label
        return Change(
            params=self.params(ctx, request),
            key=key,
            action=self.name,
            target=host.name,
            summary=f"{self.name} {host.name} ({host.address}) via {where}",
            detail=rules,
            keeps=keeps,
            fingerprint=current,
            noop=noop,
            host=host,
        )

    def params(self, ctx: Context, request: Request) -> tuple[tuple[str, str], ...]:
        """What verify needs beyond the rules (probes...)."""
        return ()

    def current_hash(self, ctx: Context, change: Change) -> str:
        assert change.host is not None
        return nft.digest(nft.ruleset(ctx.runner(change.host), ctx.timeout))

    def apply(self, ctx: Context, change: Change, snapshot: Callable[[str], None]) -> Applied:
        assert change.host is not None
        runner = ctx.runner(change.host)
        before = nft.ruleset(runner, ctx.timeout)
        if nft.digest(before) != change.fingerprint:
            raise ChangedSincePlan(
                f"{change.target}: the ruleset changed since the plan",
                hint="plan again and review the new rules",
            )
        snapshot(before)
        where = nft.scope(ctx.incident_key or str(ctx.incident), change.target)
        timer = nft.arm_rollback(runner, before, ctx.confirm_seconds, ctx.timeout, where)
        try:
            nft.load(runner, nft.load_script(change.detail), ctx.timeout)
        except HostError as exc:
            # nft -f is atomic: nothing was loaded. Left armed, the timer would "restore", a
            # minute later, over whatever someone changes meanwhile
            if nft.disarm_rollback(runner, timer, ctx.timeout):
                raise NotApplied(str(exc)) from None
            raise
        after = nft.digest(nft.ruleset(runner, ctx.timeout))
        return Applied(before=before, after_hash=after, timer=timer)

    def confirm(self, ctx: Context, change: Change, applied: Applied) -> None:
        assert change.host is not None
        if applied.timer and not nft.disarm_rollback(
            ctx.runner(change.host), applied.timer, ctx.timeout
        ):
            raise HostError(
                f"{change.target}: the rollback timer had already fired (verification took "
                f"longer than {ctx.confirm_seconds} s): the host is back to its previous rules",
                hint="apply again with a longer --confirm-within",
            )

    def undo(self, ctx: Context, target: str, before: str, after_hash: str) -> str:
        runner = ctx.runner(ctx.host(target))
        # a timer left by an interrupted apply must not fire after (or against) this undo
        nft.cancel_rollbacks(
            runner, nft.scope(ctx.incident_key or str(ctx.incident), target), ctx.timeout
        )
        # our table only, back as it was (absent, usually): what others changed since stays
        nft.load(runner, nft.restore_script(before), ctx.timeout)
        if nft.ruleset(runner, ctx.timeout) == before:
            return "ruleset restored exactly as before"
        return (
            "rempart's table put back as before; other rules differ from before "
            "(changed by someone else since, and kept)"
        )

    def reconnect(self, ctx: Context, change: Change) -> list[str]:
        assert change.host is not None
        if ctx.runner(change.host).reconnect_probe(min(ctx.timeout, 10)):
            return []
        return [f"a new SSH connection to {change.target} fails: the responder's path is cut"]


class Isolate(NftAction):
    name = "isolate"

    def rules(self, ctx: Context, host: Host, request: Request) -> tuple[str, tuple[str, ...]]:
        allow = list(host.management)
        seen = ctx.responder_seen_by(host)
        if host.ssh is not None and seen is None:
            raise ContainError(
                f"{host.name}: cannot tell the responder's address (SSH_CLIENT is empty)",
                hint="refusing: isolating it could cut our own path",
            )
        if seen:
            allow.append(seen)
        return nft.isolate_rules(allow), (*sorted(set(allow)), "loopback")

    def verify(self, ctx: Context, change: Change) -> list[nft.Probe | str]:
        assert change.host is not None
        found: list[nft.Probe | str] = list(self.reconnect(ctx, change))
        # the rules themselves: with no other host to probe, they are all there is to check
        listing = ctx.runner(change.host).run(
            f"nft list table inet {nft.TABLE}", timeout=ctx.timeout
        )
        if listing.status != 0 or listing.stdout.count("policy drop;") < 2:
            found.append(f"{change.target}: rempart's rules not in place (input, output drop)")
        keeps = [k for k in change.keeps if k != "loopback"]
        # from the isolated host: other inventory hosts outside the allowlist are unreachable
        # (not the host itself, even listed under another name: its own address is loopback)
        others = [
            h
            for h in ctx.hosts
            if h.address != change.host.address and not _contains(keeps, h.address)
        ]
        targets = [(o.address, port) for o in others[:4] for port in (22, 445)]
        found += nft.probe_many(ctx.runner(change.host), targets, expect_open=False, wait=1)
        return found


class CutInternet(NftAction):
    name = "cut-internet"

    def rules(self, ctx: Context, host: Host, request: Request) -> tuple[str, tuple[str, ...]]:
        allow = list(host.management)
        seen = ctx.responder_seen_by(host)
        if seen:
            allow.append(seen)
        keeps = tuple(f"internal {n}" for n in request.internal) + tuple(
            f"{f.name}: {f.network} port {f.port}" for f in request.keep
        )
        text = nft.cut_internet_rules(request.internal, request.keep, allow)
        return text, keeps + tuple(sorted(set(allow)))

    def verify(self, ctx: Context, change: Change) -> list[nft.Probe | str]:
        assert change.host is not None
        found: list[nft.Probe | str] = list(self.reconnect(ctx, change))
        listing = ctx.runner(change.host).run(
            f"nft list chain inet {nft.TABLE} forward", timeout=ctx.timeout
        )
        if listing.status != 0 or "policy drop" not in listing.stdout:
            found.append(f"{change.target}: the forward chain is not in place")
        origin = change.param("probe_from")
        if origin:
            # from a host behind the gateway: kept flows pass, the rest of the internet fails
            runner = ctx.runner(ctx.host(origin))
            found += nft.probe_many(runner, _targets(change.param("probe_keep")), expect_open=True)
            found += nft.probe_many(
                runner, _targets(change.param("probe_blocked")), expect_open=False
            )
        return found

    def params(self, ctx: Context, request: Request) -> tuple[tuple[str, str], ...]:
        if not request.probe_from:
            return ()
        ctx.host(request.probe_from)  # unknown hosts are refused at plan time
        keep = [
            f"{next(iter(ipaddress.ip_network(f.network).hosts()))}:{f.port}" for f in request.keep
        ]
        for item in request.probe_blocked:
            _targets(item)  # refuses a damaged ADDRESS:PORT now, not after the apply
        return (
            ("probe_from", request.probe_from),
            ("probe_keep", ";".join(keep)),
            ("probe_blocked", ";".join(request.probe_blocked)),
        )


def _targets(text: str) -> list[tuple[str, int]]:
    """'a:p;a:p' -> [(a, p)]; raises ContainError on a damaged item."""
    found = []
    for item in filter(None, text.split(";")):
        address, _, port = item.rpartition(":")
        try:
            ipaddress.ip_address(address.strip("[]"))
            number = int(port)
        except ValueError:
            raise ContainError(f"a probe must be ADDRESS:PORT, got {item!r}") from None
        if not 0 < number < 65536:
            raise ContainError(f"a probe must be ADDRESS:PORT, got {item!r}")
        found.append((address.strip("[]"), number))
    return found


ACTIONS.add(Isolate.name, Isolate())
ACTIONS.add(CutInternet.name, CutInternet())
