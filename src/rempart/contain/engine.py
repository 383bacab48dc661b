"""Plan, apply and undo a containment: the flow around the registered actions.

apply: compare each target with its fingerprint in the saved plan (refuse everything if one
changed), then host by host: record, snapshot, commit-confirmed change, verification,
confirmation. One host failing does not stop the others; each gets its own outcome.
"""

from __future__ import annotations

import getpass
import ipaddress
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine

from rempart.contain import _hostfw, _records, account, smb, windows  # noqa: F401  # registers
from rempart.contain._errors import ChangedSincePlan, ContainError, NotApplied
from rempart.contain.actions import ACTIONS, Change, Context, Outcome, Request
from rempart.contain.inventory import Host, select_hosts
from rempart.contain.nft import Probe
from rempart.contain.undo import undo, undo_from_journal
from rempart.errors import RempartError

__all__ = [
    "Plan",
    "active",
    "actor",
    "apply",
    "check_unchanged",
    "make_plan",
    "undo",
    "undo_from_journal",
]


@dataclass(frozen=True)
class Plan:
    request: Request
    changes: tuple[Change, ...]

    def fingerprints(self) -> dict[str, str]:
        return {c.key: c.fingerprint for c in self.changes}


def actor() -> str:
    """Who is acting: the login, the machine, and the SSH client address when remote."""
    who = f"{getpass.getuser()}@{socket.gethostname()}"
    client = os.environ.get("SSH_CLIENT", "").split()
    return f"{who} from {client[0]}" if client else who


def _inside(keeps: tuple[str, ...], address: str) -> bool:
    ip = ipaddress.ip_address(address)
    for k in keeps:
        try:
            if ip in ipaddress.ip_network(k, strict=False):
                return True
        except ValueError:
            continue  # a description such as "loopback", not a network
    return False


def _check_responder_path(ctx: Context, changes: list[Change]) -> None:
    """Refuse a plan in which isolating one host cuts the responder's path to another."""
    managed = [c.host for c in changes if c.host is not None]
    for cut in (c for c in changes if c.action == "isolate" and c.host is not None):
        assert cut.host is not None
        for other in managed:
            if other.name == cut.host.name or other.ssh is None:
                continue
            via = ctx.responder_seen_by(other) == cut.host.address or _inside(
                other.management, cut.host.address
            )
            if via and not _inside(cut.keeps, other.address):
                raise ContainError(
                    f"isolating {cut.host.name} would cut the responder's path to {other.name} "
                    f"(reached from {cut.host.address})",
                    hint=f"add {other.address} to {cut.host.name}'s management addresses, "
                    "or contain from another machine",
                )


def make_plan(ctx: Context, request: Request) -> Plan:
    """What would change, target by target; refuses plans that cut the responder off."""
    changes: list[Change] = []
    for host in select_hosts(ctx.hosts, request.isolate) if request.isolate else []:
        kind = "isolate-windows" if host.windows else "isolate"
        changes.append(ACTIONS[kind].plan(ctx, host.name, request))
    if request.cut_internet:
        changes.append(ACTIONS["cut-internet"].plan(ctx, request.cut_internet, request))
    if request.block_smb and not request.at:
        raise ContainError("--block-smb-client needs --at FILESERVER")
    for address in request.block_smb:
        changes.append(ACTIONS["block-smb"].plan(ctx, f"{request.at}/{address}", request))
    for dn in request.disable_accounts:
        changes.append(ACTIONS["disable-account"].plan(ctx, dn, request))
    if not changes:
        raise ContainError(
            "nothing to contain",
            hint="give --isolate, --cut-internet, --block-smb-client or --disable-account",
        )
    _check_responder_path(ctx, changes)
    return Plan(request, tuple(changes))


def check_unchanged(ctx: Context, plan: Plan, saved: dict[str, str] | None) -> None:
    """Refuse when any target's state differs from the saved plan's fingerprint."""
    if saved is None:
        return
    # a change already applied as planned differs from the plan made before it, by our doing
    moved = [c.target for c in plan.changes if not c.noop and saved.get(c.key) != c.fingerprint]
    if moved:
        raise ChangedSincePlan(
            f"changed since the plan (by someone else?): {', '.join(moved)}; nothing applied",
            hint="run 'rempart contain plan' again and review it",
        )


def apply(
    engine: Engine,
    ctx: Context,
    plan: Plan,
    journal: _records.Journal,
    *,
    progress: Callable[[Change], None] | None = None,
) -> list[Outcome]:
    """Apply every change of `plan`, verifying each; returns one outcome per change."""
    outcomes: list[Outcome] = []
    for change in plan.changes:
        if progress:
            progress(change)
        if change.noop:
            outcomes.append(Outcome(change.key, "unchanged", "already contained as planned"))
            continue
        outcomes.append(_apply_one(engine, ctx, change, journal))
    return outcomes


def _apply_one(engine: Engine, ctx: Context, change: Change, journal: _records.Journal) -> Outcome:
    action = ACTIONS[change.action]
    rec = _records.start(
        engine, ctx.incident, change.action, change.target, ctx.actor, change.detail
    )
    base = {
        "incident": ctx.incident_key or str(ctx.incident),
        "action": change.action,
        "target": change.target,
    }
    host = change.host
    journal.write(
        **base,
        state="applying",
        record=rec,
        detail=change.detail,
        host=_host_line(host) if host else None,
    )

    touched: list[str] = []

    def snapshot(before: str) -> None:
        touched.append(before)
        journal.write(**base, state="applying", record=rec, before=before)
        _records.finish(engine, rec, "applying", before=before)

    try:
        applied = action.apply(ctx, change, snapshot)
    except RempartError as exc:  # ours, and the guard responders' (nft, Samba)
        if isinstance(exc, NotApplied):
            # nothing modified: closed ("refused" is not active), so no undo ever replays it
            _records.finish(engine, rec, "refused", note=str(exc))
            journal.write(**base, state="undone", record=rec, note="refused: nothing modified")
            return Outcome(change.key, "failed", f"{exc}; left as it was")
        _records.finish(engine, rec, "failed", note=str(exc))
        journal.write(**base, state="failed", record=rec)
        left = (
            "left as it was"
            if not touched
            else f"state uncertain; its rollback timer restores it within {ctx.confirm_seconds} s"
        )
        return Outcome(change.key, "failed", f"{exc}; {left}")
    _records.finish(engine, rec, "applying", after_hash=applied.after_hash)
    # the hash after: undo from the journal alone can then tell "nobody touched it since"
    # and restore the exact previous ruleset
    journal.write(
        **base, state="applied", record=rec, timer=applied.timer, after_hash=applied.after_hash
    )
    try:
        checks = tuple(action.verify(ctx, change))
    except RempartError as exc:
        checks = (f"verification could not run: {exc}",)
    failed = [c for c in checks if isinstance(c, str) or not c.ok]
    if not failed:
        try:
            action.confirm(ctx, change, applied)
        except ContainError as exc:
            note = f"verified but the rollback timer could not be cancelled: {exc}"
            _records.finish(engine, rec, "rolling_back", note=note)
            return Outcome(change.key, "rolling_back", note, checks)
        _records.finish(engine, rec, "verified", note="verified")
        journal.write(**base, state="verified", record=rec)
        return Outcome(change.key, "contained", "applied and verified", checks)
    why = "; ".join(str(f) if isinstance(f, str) else _describe(f) for f in failed)
    if applied.timer:
        note = f"verification failed ({why}): restores itself within {ctx.confirm_seconds} s"
        _records.finish(engine, rec, "rolling_back", note=note)
        return Outcome(change.key, "rolling_back", note, checks)
    try:
        result = action.undo(
            ctx, change.target, _records_before(engine, ctx, rec), applied.after_hash
        )
    except RempartError as exc:
        note = f"verification failed ({why}) and so did the undo ({exc}): still applied"
        _records.finish(engine, rec, "failed", note=note)
        return Outcome(change.key, "failed", note, checks)
    _records.finish(engine, rec, "undone", note=f"verification failed ({why}); {result}")
    return Outcome(change.key, "failed", f"verification failed ({why}); {result}", checks)


def _records_before(engine: Engine, ctx: Context, rec: int) -> str:
    return next(r.before or "" for r in _records.records(engine, ctx.incident) if r.id == rec)


def _describe(p: Probe) -> str:
    want = "reachable" if p.expect_open else "blocked"
    return f"{p.origin} -> {p.address}:{p.port} {p.outcome}, expected {want}"


def active(engine: Engine, incident: int) -> dict[str, tuple[str, str]]:
    """Verified changes: key -> (hash after apply, detail), for idempotent plans."""
    return {
        f"{r.action}:{r.target}": (r.after_hash, r.detail)
        for r in _records.records(engine, incident, active_only=True)
        if r.state == "verified"
    }


def _host_line(host: Host) -> dict[str, object]:
    return {
        "name": host.name,
        "address": host.address,
        "role": host.role,
        "ssh": str(host.ssh) if host.ssh else "",
        "management": list(host.management),
    }
