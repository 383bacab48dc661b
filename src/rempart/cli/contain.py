"""`rempart contain`: plan, apply, verify and undo containment (hosts, egress, accounts)."""

from __future__ import annotations

import dataclasses
import functools
import inspect
import ipaddress
import json
import typing
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape

from rempart import settings
from rempart.cli._app import ExitStatus, app

contain_app = typer.Typer(
    help="Contain an incident: isolate hosts, cut internet egress, block SMB clients, disable "
    "accounts; plan first, apply with automatic rollback, undo exactly. Hosts with an empty "
    "ssh column are this machine (--netns: inside that network namespace, for labs and tests).",
    no_args_is_help=True,
)
inventory_app = typer.Typer(help="The hosts of an incident and how to reach them.")
contain_app.add_typer(inventory_app, name="inventory")
app.add_typer(contain_app, name="contain")

INCIDENT = typer.Option(..., "--incident", help="Incident id (required: every action is recorded).")
DB = typer.Option(None, "--db", help=settings.DB.help, envvar=settings.DB.env)
JSON = typer.Option(False, "--json", help="Print a machine-readable result on stdout.")
ISOLATE = typer.Option([], "--isolate", help="Host or group to isolate (repeatable).")
CUT = typer.Option(None, "--cut-internet", help="Gateway host where internet egress is cut.")
KEEP = typer.Option(
    [],
    "--keep",
    help="Flow kept open at the gateway: NAME=CIDR:PORT, connections to it (TCP and UDP) and "
    "their replies. Names are not resolved: keep your DNS servers too (dns=IP/32:53) if the "
    "kept services are reached by name through an outside resolver.",
)
INTERNAL = typer.Option(
    [],
    "--internal",
    help="Internal network (traffic inside stays up); default: RFC 1918 and IPv6 ULA fc00::/7.",
)
ACCOUNT = typer.Option([], "--disable-account", help="Directory account (DN) to disable.")
PROBE_FROM = typer.Option(
    None, "--probe-from", help="Host behind the gateway that checks the cut (kept flows pass)."
)
PROBE_BLOCKED = typer.Option(
    [], "--probe-blocked", help="ADDRESS:PORT that must fail from --probe-from once cut."
)
SMB = typer.Option([], "--block-smb-client", help="SMB client address to block (repeatable).")
AT = typer.Option(None, "--at", help="File server (inventory name) where SMB clients are blocked.")
REMOTE_PY = typer.Option(
    "python3", "--remote-python", help="Remote file servers: the Python that has rempart."
)
SMBCONF = typer.Option(None, "--smbconf", help="Its smb.conf: the clients' sessions are closed.")
LDAP_URL = typer.Option(None, "--ldap-url", help="Directory URL, e.g. ldaps://dc.example:636.")
LDAP_DN = typer.Option(None, "--ldap-bind-dn", help="Account that may disable others.")
LDAP_PW = typer.Option(
    None, "--ldap-password", envvar="REMPART_LDAP_PASSWORD", help="Its password (or env)."
)
LDAP_KIND = typer.Option("openldap", "--ldap-kind", help="openldap (ppolicy lock) or ad.")
LDAP_CA = typer.Option(
    None, "--ldap-ca", help="ldaps://: CA file that signed the directory's certificate."
)
SSH_KEY = typer.Option([], "--ssh-key", help="Private key for SSH (repeatable; default: agent).")
KNOWN = typer.Option(None, "--known-hosts", help="known_hosts file for the managed hosts.")
WINRM_USER = typer.Option(None, "--winrm-user", help="Windows hosts: WinRM account (NTLM).")
WINRM_PW = typer.Option(
    None, "--winrm-password", envvar="REMPART_WINRM_PASSWORD", help="Its password (or env)."
)
JOURNAL = typer.Option(
    Path("rempart-contain.journal"), "--journal", help="Local journal of applies and undos."
)
TIMEOUT = typer.Option(20.0, "--timeout", min=1, help="Seconds per host operation.")
NETNS = typer.Option(
    None, "--netns", help=settings.CONTAIN_NETNS.help, envvar=settings.CONTAIN_NETNS.env
)


# Option groups: options several commands take, declared once. A command takes a group as one
# parameter typed with its class; `_with_groups` shows Typer the fields instead (in this order,
# with these declarations as in a command's signature) and builds the instance back.
@dataclass(frozen=True)
class ChangeOptions:
    """What plan and apply are asked to change, and how the cut is probed."""

    incident: str = INCIDENT
    isolate: list[str] = ISOLATE
    cut_internet: str | None = CUT
    keep: list[str] = KEEP
    internal: list[str] = INTERNAL
    probe_from: str | None = PROBE_FROM
    probe_blocked: list[str] = PROBE_BLOCKED
    disable_account: list[str] = ACCOUNT
    block_smb_client: list[str] = SMB
    at: str | None = AT
    smbconf: Path | None = SMBCONF
    remote_python: str = REMOTE_PY


@dataclass(frozen=True)
class AccessOptions:
    """How hosts and the directory are reached: plan, apply and undo."""

    ldap_url: str | None = LDAP_URL
    ldap_bind_dn: str | None = LDAP_DN
    ldap_password: str | None = LDAP_PW
    ldap_kind: str = LDAP_KIND
    ldap_ca: Path | None = LDAP_CA
    winrm_user: str | None = WINRM_USER
    winrm_password: str | None = WINRM_PW
    ssh_key: list[str] = SSH_KEY
    known_hosts: Path | None = KNOWN
    timeout: float = TIMEOUT
    netns: str | None = NETNS


def _with_groups(command: Callable[..., None]) -> Callable[..., None]:
    """`command` as Typer should see it: each option group parameter spread into its fields."""
    hints = typing.get_type_hints(command)
    groups: dict[str, Any] = {}
    params: list[inspect.Parameter] = []
    for param in inspect.signature(command).parameters.values():
        hint = hints[param.name]
        if isinstance(hint, type) and dataclasses.is_dataclass(hint):
            groups[param.name] = hint
            types = typing.get_type_hints(hint)
            params += [
                inspect.Parameter(
                    f.name, param.KEYWORD_ONLY, default=f.default, annotation=types[f.name]
                )
                for f in dataclasses.fields(hint)
            ]
        else:
            params.append(param.replace(kind=param.KEYWORD_ONLY, annotation=hint))

    @functools.wraps(command)
    def spread(**values: Any) -> None:
        for name, group in groups.items():
            fields = dataclasses.fields(group)
            values[name] = group(**{f.name: values.pop(f.name) for f in fields})
        command(**values)

    # Typer reads the parameters off the signature and their types off the annotations
    # (mypy does not know that a function may carry a __signature__)
    spread.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    spread.__annotations__ = {p.name: p.annotation for p in params}
    return spread


def _context(
    incident: str,
    access: AccessOptions,
    db: str | None,
    *,
    remote_python: str,
    confirm_within: int = 60,
) -> tuple[Any, Any]:
    """The store and the actions' context from a command's options."""
    from rempart.contain import _records, engine, inventory
    from rempart.contain.actions import Context
    from rempart.store import open_store

    _check_keys(access)
    store = open_store(settings.db_url(db))
    iid = _records.incident_id(store, incident, create=False)
    ctx = Context(
        incident=iid,
        hosts=inventory.load(store, iid),
        actor=engine.actor(),
        ssh_keys=[Path(k) for k in access.ssh_key] or None,
        known_hosts=access.known_hosts,
        timeout=access.timeout,
        confirm_seconds=confirm_within,
        ldap=_ldap(access),
        incident_key=incident,
        remote_python=remote_python or "python3",
        netns=access.netns or None,
        winrm=(access.winrm_user, access.winrm_password or "") if access.winrm_user else None,
        active=engine.active(store, iid),
    )
    return store, ctx


def _check_keys(access: AccessOptions) -> None:
    from rempart.errors import UsageError

    for key in access.ssh_key:
        if not Path(key).is_file():
            raise UsageError(f"--ssh-key {key}: no such file")


def _offline_context(incident: str, access: AccessOptions) -> Any:
    """A context without the store: for undoing from the journal."""
    _check_keys(access)
    from rempart.contain import engine
    from rempart.contain.actions import Context

    return Context(
        incident=0,
        hosts=[],
        actor=engine.actor(),
        ssh_keys=[Path(k) for k in access.ssh_key] or None,
        known_hosts=access.known_hosts,
        timeout=access.timeout,
        ldap=_ldap(access),
        incident_key=incident,
        netns=access.netns or None,
    )


def _ldap(access: AccessOptions) -> Any:
    from rempart.contain import LdapSettings
    from rempart.errors import UsageError

    if access.ldap_kind not in ("openldap", "ad"):
        raise UsageError(f"--ldap-kind must be openldap or ad, got {access.ldap_kind!r}")
    if not access.ldap_url:
        return None
    return LdapSettings(
        access.ldap_url,
        access.ldap_bind_dn or "",
        access.ldap_password or "",
        access.ldap_kind,
        str(access.ldap_ca) if access.ldap_ca else None,
    )


def _request(change: ChangeOptions) -> Any:
    from rempart.contain import Request
    from rempart.contain.nft import Flow
    from rempart.errors import UsageError

    try:
        flows = tuple(Flow.parse(k) for k in change.keep)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    try:
        nets = tuple(str(ipaddress.ip_network(n, strict=False)) for n in change.internal)
    except ValueError as exc:
        raise UsageError(f"--internal: {exc}") from None
    return Request(
        tuple(change.isolate),
        change.cut_internet,
        flows,
        internal=nets or Request().internal,
        disable_accounts=tuple(change.disable_account),
        block_smb=tuple(change.block_smb_client),
        at=change.at,
        smbconf=str(change.smbconf) if change.smbconf else None,
        probe_from=change.probe_from,
        probe_blocked=tuple(change.probe_blocked),
    )


def _print_plan(out: Console, plan: Any) -> None:
    for change in plan.changes:
        state = " [green](already applied: nothing to change)[/]" if change.noop else ""
        out.print(f"[bold]{escape(change.summary)}[/]{state}")
        # soft_wrap: the rules are printed as they are loaded, copyable, never folded
        out.print(escape(change.detail.rstrip()), highlight=False, soft_wrap=True)
        out.print(f"  stays reachable: {escape(', '.join(change.keeps))}")
        out.print(f"  state fingerprint: {change.fingerprint[:16]}")


@inventory_app.command("import")
def inventory_import(
    file: Path = typer.Argument(..., help="Inventory: .csv or .toml."),
    incident: str = INCIDENT,
    db: str | None = DB,
) -> None:
    """Replace the incident's inventory with FILE (validated first)."""
    from rempart.contain import _records, inventory
    from rempart.store import open_store

    hosts = inventory.load_file(file)
    store = open_store(settings.db_url(db))
    inventory.save(store, _records.incident_id(store, incident, create=True), hosts)
    typer.echo(f"{len(hosts)} hosts imported for incident {incident}")


@inventory_app.command("show")
def inventory_show(incident: str = INCIDENT, db: str | None = DB, as_json: bool = JSON) -> None:
    """List the incident's hosts, groups, SSH targets and management addresses."""
    from rempart.contain import _records, inventory
    from rempart.store import open_store

    store = open_store(settings.db_url(db))
    hosts = inventory.load(store, _records.incident_id(store, incident, create=False))
    if as_json:
        rows = [{**h.__dict__, "ssh": str(h.ssh) if h.ssh else ""} for h in hosts]
        typer.echo(json.dumps(rows, indent=2))
        return
    for h in hosts:
        typer.echo(
            f"{h.name}\t{h.address}\t{h.role}\t{';'.join(h.groups)}\t"
            f"{h.ssh or 'local'}\t{';'.join(h.management)}"
        )


@contain_app.command("plan")
@_with_groups
def plan_cmd(
    change: ChangeOptions, access: AccessOptions, db: str | None = DB, as_json: bool = JSON
) -> None:
    """Print exactly what would change on which host, and what stays reachable."""
    from rempart.contain import _records, engine

    request = _request(change)
    store, ctx = _context(change.incident, access, db, remote_python=change.remote_python)
    try:
        plan = engine.make_plan(ctx, request)
    finally:
        ctx.close()
    pid = _records.save_plan(store, ctx.incident, request.canonical(), plan.fingerprints())
    if as_json:
        keys = ("key", "action", "target", "summary", "detail", "keeps", "fingerprint", "noop")
        rows = [{k: getattr(c, k) for k in keys} for c in plan.changes]
        typer.echo(json.dumps({"plan": pid, "changes": rows}, indent=2))
        return
    _print_plan(Console(), plan)
    typer.echo(f"plan {pid} saved; apply it with the same arguments: rempart contain apply ...")


@contain_app.command("apply")
@_with_groups
def apply_cmd(
    change: ChangeOptions,
    access: AccessOptions,
    confirm_within: int = typer.Option(
        60,
        "--confirm-within",
        min=5,
        help="Seconds before a host restores its rules by itself (unless verified).",
    ),
    journal: Path = JOURNAL,
    yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation."),
    db: str | None = DB,
    as_json: bool = JSON,
) -> None:
    """Apply the plan host by host, verify each change, record it; roll back what fails.

    Before changing a host, a timer is started on it that restores its previous state after
    --confirm-within seconds; only a successful verification cancels it. Exit 0: all
    contained (or already); 1: some change failed or is rolling back (one line per change
    says the state it is left in); 2: refused, nothing applied.
    """
    from rempart.contain import _records, engine

    request = _request(change)
    store, ctx = _context(
        change.incident,
        access,
        db,
        remote_python=change.remote_python,
        confirm_within=confirm_within,
    )
    out = Console(quiet=as_json)
    try:
        plan = engine.make_plan(ctx, request)
        engine.check_unchanged(
            ctx, plan, _records.last_plan(store, ctx.incident, request.canonical())
        )
        _print_plan(out, plan)
        if not yes and not typer.confirm("apply these changes?"):
            raise typer.Abort()
        with _progress(len(plan.changes), quiet=as_json) as step:
            outcomes = engine.apply(store, ctx, plan, _records.Journal(journal), progress=step)
    finally:
        ctx.close()
    _report(out, outcomes, as_json)


@contextmanager
def _progress(total: int, *, quiet: bool) -> Iterator[Callable[[Any], None] | None]:
    """Host by host: a Rich progress display on a terminal (stderr), one line each elsewhere."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    console = Console(stderr=True, quiet=quiet)
    if quiet or not console.is_terminal:
        yield None if quiet else (lambda c: typer.echo(f"applying {c.key} ..."))
        return
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as bar:
        task = bar.add_task("applying", total=total)
        done = [0]

        def step(change: Any) -> None:
            # called as each change starts: the ones before it are done
            bar.update(task, completed=done[0], description=f"applying {escape(change.key)}")
            bar.console.print(f"applying {escape(change.key)} ...", highlight=False)
            done[0] += 1

        yield step
        bar.update(task, completed=total, description="applied")


@contain_app.command("undo")
@_with_groups
def undo_cmd(
    targets: list[str] = typer.Argument(None, help="Hosts or accounts (default: all)."),
    incident: str = INCIDENT,
    *,  # a group has no default of its own: keyword-only, it may follow options that do
    access: AccessOptions,
    remote_python: str = REMOTE_PY,
    journal: Path = JOURNAL,
    from_journal: bool = typer.Option(
        False, "--from-journal", help="Undo from the journal alone (store unreachable)."
    ),
    db: str | None = DB,
    as_json: bool = JSON,
) -> None:
    """Restore the exact previous ruleset or account state of every applied change.

    With --from-journal the store is not used: hosts and snapshots come from the journal
    (an apply interrupted, or the store out of reach).
    """
    from rempart.contain import _records, engine

    book = _records.Journal(journal)
    if from_journal:
        ctx = _offline_context(incident, access)
        try:
            outcomes = engine.undo_from_journal(ctx, book, list(targets or []))
        finally:
            ctx.close()
    else:
        store, ctx = _context(incident, access, db, remote_python=remote_python)
        try:
            outcomes = engine.undo(store, ctx, list(targets or []), book)
        finally:
            ctx.close()
    _report(Console(quiet=as_json), outcomes, as_json)


def _report(out: Console, outcomes: list[Any], as_json: bool) -> None:
    colour = {"contained": "green", "unchanged": "green", "undone": "green"}
    for o in outcomes:
        out.print(
            f"[{colour.get(o.state, 'red')}]{o.state:>12}[/] {escape(o.key)}: {escape(o.message)}"
        )
    if as_json:
        typer.echo(
            json.dumps(
                [{"key": o.key, "state": o.state, "message": o.message} for o in outcomes], indent=2
            )
        )
    if any(o.state not in colour for o in outcomes):
        raise typer.Exit(ExitStatus.FOUND)


@contain_app.command("log")
def log_cmd(incident: str = INCIDENT, db: str | None = DB, as_json: bool = JSON) -> None:
    """Who applied or undid what, when, and the state each target was left in."""
    from rempart.contain import _records
    from rempart.store import open_store

    store = open_store(settings.db_url(db))
    rows = _records.records(store, _records.incident_id(store, incident, create=False))
    if as_json:
        keys = ("id", "action", "target", "state", "actor", "note", "created_at")
        typer.echo(json.dumps([{k: str(getattr(r, k)) for k in keys} for r in rows], indent=2))
        return
    for r in rows:
        typer.echo(
            f"{r.created_at:%Y-%m-%d %H:%M:%S}\t{r.actor}\t{r.action}\t{r.target}\t"
            f"{r.state}\t{r.note}"
        )
