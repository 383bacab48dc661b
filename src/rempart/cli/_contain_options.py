"""The options of `rempart contain`, declared once, and what they become for the library.

Plan, apply and undo share two groups of options. A command takes a group as one parameter
typed with its class; `with_groups` shows Typer the group's fields instead (in this order,
with these declarations, as in a command's signature) and builds the instance back before
calling the command. `make_request` and `make_context` turn the options into the library's `Request`
and `Context` (imported when a command runs: `rempart --help` does not pay for them).
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import ipaddress
import typing
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer

from rempart import settings

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


def with_groups(command: Callable[..., None]) -> Callable[..., None]:
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


def make_context(
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

    reach = _reach(incident, access, remote_python)
    store = open_store(settings.db_url(db))
    iid = _records.incident_id(store, incident, create=False)
    ctx = Context(
        incident=iid,
        hosts=inventory.load(store, iid),
        confirm_seconds=confirm_within,
        active=engine.active(store, iid),
        **reach,
    )
    return store, ctx


def offline_context(incident: str, access: AccessOptions, *, remote_python: str) -> Any:
    """A context without the store: for undoing from the journal."""
    from rempart.contain.actions import Context

    return Context(incident=0, hosts=[], **_reach(incident, access, remote_python))


def _reach(incident: str, access: AccessOptions, remote_python: str) -> dict[str, Any]:
    """Who acts and how hosts and the directory are reached: the same with or without the
    store (an option given to undo --from-journal is used as by the others)."""
    from rempart.contain import engine
    from rempart.errors import UsageError

    for key in access.ssh_key:
        if not Path(key).is_file():
            raise UsageError(f"--ssh-key {key}: no such file")
    return {
        "actor": engine.actor(),
        "ssh_keys": [Path(k) for k in access.ssh_key] or None,
        "known_hosts": access.known_hosts,
        "timeout": access.timeout,
        "ldap": _ldap(access),
        "incident_key": incident,
        "remote_python": remote_python or "python3",
        "netns": access.netns or None,
        "winrm": (access.winrm_user, access.winrm_password or "") if access.winrm_user else None,
    }


def _ldap(access: AccessOptions) -> Any:
    from rempart.contain import LdapSettings
    from rempart.errors import UsageError

    if access.ldap_kind not in ("openldap", "ad"):
        raise UsageError(f"--ldap-kind must be openldap or ad, got {access.ldap_kind!r}")
    if not (access.ldap_url or access.ldap_bind_dn or access.ldap_password):
        return None  # what is missing is named if an account is to be disabled
    return LdapSettings(
        access.ldap_url or "",
        access.ldap_bind_dn or "",
        access.ldap_password or "",
        access.ldap_kind,
        str(access.ldap_ca) if access.ldap_ca else None,
    )


def make_request(change: ChangeOptions) -> Any:
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
