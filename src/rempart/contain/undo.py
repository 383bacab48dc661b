"""Undo: from the store's records, or from the local journal alone when the store is gone."""

from __future__ import annotations

from sqlalchemy import Engine

from rempart.contain import _records
from rempart.contain._errors import ContainError
from rempart.contain.actions import ACTIONS, Context, Outcome
from rempart.contain.inventory import Host, parse_ssh
from rempart.errors import RempartError


def undo(
    engine: Engine,
    ctx: Context,
    targets: list[str],
    journal: _records.Journal | None = None,
) -> list[Outcome]:
    """Restore the state before every active change (of `targets` only, when given)."""
    recs = [
        r
        for r in _records.records(engine, ctx.incident, active_only=True)
        if not targets or r.target in targets or r.target.split("/", 1)[0] in targets
    ]
    if targets and not recs:
        raise ContainError(f"nothing to undo for {', '.join(targets)}")
    if journal is not None:
        # a host re-imported away from the inventory since: how to reach it is in the journal
        _hosts_from_journal(ctx, journal)
    outcomes: list[Outcome] = []
    for rec in reversed(recs):
        key = f"{rec.action}:{rec.target}"
        if rec.before is None:  # interrupted before the snapshot: nothing was modified
            _records.finish(engine, rec.id, "undone", note="never modified")
            outcomes.append(Outcome(key, "undone", "never modified"))
            continue
        try:
            note = ACTIONS[rec.action].undo(ctx, rec.target, rec.before, rec.after_hash)
        except RempartError as exc:
            outcomes.append(Outcome(key, "failed", f"undo failed: {exc}; still contained"))
            continue
        _records.finish(engine, rec.id, "undone", note=note)
        if journal is not None and journal.path.exists():
            journal.write(
                incident=ctx.incident_key or str(ctx.incident),
                action=rec.action,
                target=rec.target,
                state="undone",
                note=note,
            )
        outcomes.append(Outcome(key, "undone", note))
    return outcomes


def undo_from_journal(ctx: Context, journal: _records.Journal, targets: list[str]) -> list[Outcome]:
    """Undo from the local journal alone, for when the store cannot be reached.

    The journal carries each change's host (how to reach it) and its snapshot; `ctx.hosts`
    is filled from it.
    """
    entries = [
        e for e in journal.pending(ctx.incident_key) if not targets or e["target"] in targets
    ]
    if not entries:
        raise ContainError(f"nothing to undo in {journal.path} for incident {ctx.incident_key}")
    _hosts_from_journal(ctx, journal)
    outcomes: list[Outcome] = []
    for e in reversed(entries):
        key = f"{e['action']}:{e['target']}"
        if "before" not in e:
            outcomes.append(Outcome(key, "undone", "never modified"))
            continue
        try:
            note = ACTIONS[e["action"]].undo(ctx, e["target"], e["before"], e.get("after_hash", ""))
        except RempartError as exc:
            outcomes.append(Outcome(key, "failed", f"undo failed: {exc}; still contained"))
            continue
        base = {"incident": ctx.incident_key, "action": e["action"], "target": e["target"]}
        journal.write(**base, state="undone", note=note)
        outcomes.append(Outcome(key, "undone", note))
    return outcomes


def _hosts_from_journal(ctx: Context, journal: _records.Journal) -> None:
    """Add to `ctx.hosts` the hosts the journal's pending changes name and it lacks."""
    for e in journal.pending(ctx.incident_key):
        if e.get("host") and e["host"]["name"] not in {h.name for h in ctx.hosts}:
            ctx.hosts.append(
                Host(
                    name=e["host"]["name"],
                    address=e["host"]["address"],
                    role=e["host"]["role"],
                    ssh=parse_ssh(e["host"]["ssh"]),
                    management=tuple(e["host"]["management"]),
                )
            )
