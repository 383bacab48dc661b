"""Disable a directory account through ldap3, keeping its previous state for undo.

OpenLDAP (ppolicy overlay): `pwdAccountLockedTime: 000001010000Z` locks the account until
an administrator removes it. Active Directory: the ACCOUNTDISABLE bit (2) of
`userAccountControl`. The state before is recorded as JSON and put back exactly on undo.
"""

from __future__ import annotations

import hashlib
import json
import ssl
from collections.abc import Callable
from typing import Any

import ldap3  # type: ignore[import-untyped]  # ldap3 ships no type information
from ldap3 import MODIFY_DELETE, MODIFY_REPLACE
from ldap3.core.exceptions import LDAPException  # type: ignore[import-untyped]  # same

from rempart.contain._errors import ContainError, HostError
from rempart.contain.actions import (
    ACTIONS,
    Action,
    Applied,
    Change,
    Context,
    LdapSettings,
    Request,
)

LOCKED = "000001010000Z"  # ppolicy: locked until an administrator unlocks
ACCOUNTDISABLE = 0x2
_ATTR = {"openldap": "pwdAccountLockedTime", "ad": "userAccountControl"}


def _server(settings: LdapSettings, timeout: float) -> Any:
    """The directory server; over ldaps:// its certificate is verified (ldap3 does not by
    default): the bind password must not go to whoever answers inside a breached network."""
    tls = ldap3.Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=settings.ca_file or None)
    return ldap3.Server(settings.url, connect_timeout=int(timeout), tls=tls)


def _settings(ctx: Context) -> LdapSettings:
    """How to reach the directory, all of it: refused, naming what is missing, before any bind
    (ldap3 would only say "password is mandatory", and after connecting)."""
    given = ctx.ldap or LdapSettings("", "", "")
    needed = {
        "--ldap-url": given.url,
        "--ldap-bind-dn": given.bind_dn,
        # where the CLI reads the password from (it is never asked)
        "a password (--ldap-password, or the environment variable REMPART_LDAP_PASSWORD)": (
            given.password
        ),
    }
    missing = [what for what, value in needed.items() if not value]
    if missing:
        listed = ", ".join(missing[:-1]) + " and " + missing[-1] if missing[1:] else missing[0]
        raise ContainError(f"disabling an account needs {listed}")
    return given


def _connect(ctx: Context) -> Any:
    ldap = _settings(ctx)
    try:
        server = _server(ldap, ctx.timeout)
        return ldap3.Connection(
            server,
            ldap.bind_dn,
            ldap.password,
            auto_bind=True,
            receive_timeout=int(ctx.timeout),
        )
    except LDAPException as exc:
        raise HostError(
            f"directory {ldap.url}: cannot bind as {ldap.bind_dn}: {exc}",
            hint="check the URL and the account; over ldaps://, --ldap-ca names the CA",
        ) from None


def _state(ctx: Context, dn: str) -> dict[str, list[str]]:
    attr = _ATTR[_settings(ctx).kind]
    conn = _connect(ctx)
    try:
        if not conn.search(dn, "(objectClass=*)", search_scope="BASE", attributes=[attr]):
            raise ContainError(f"account not found in the directory: {dn}")
        # raw values: ldap3 would turn a lock time into a datetime, and undo must write back
        # exactly what was there
        raw = conn.response[0]["raw_attributes"].get(attr, [])
        return {attr: [v.decode() for v in raw]}
    finally:
        conn.unbind()


def _digest(state: dict[str, list[str]]) -> str:
    return hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()


def _disabled(kind: str, state: dict[str, list[str]]) -> dict[str, list[str]]:
    if kind == "openldap":
        return {"pwdAccountLockedTime": [LOCKED]}
    uac = int((state.get("userAccountControl") or ["512"])[0])
    return {"userAccountControl": [str(uac | ACCOUNTDISABLE)]}


def _write(ctx: Context, dn: str, state: dict[str, list[str]]) -> None:
    changes: dict[str, list[tuple[str, list[str]]]] = {
        attr: [(MODIFY_REPLACE, values)] if values else [(MODIFY_DELETE, [])]
        for attr, values in state.items()
    }
    conn = _connect(ctx)
    try:
        if not conn.modify(dn, changes) and conn.result.get("description") != "noSuchAttribute":
            raise HostError(f"directory refused to modify {dn}: {conn.result.get('message')}")
    finally:
        conn.unbind()


class DisableAccount(Action):
    name = "disable-account"

    def plan(self, ctx: Context, target: str, request: Request) -> Change:
        ldap = _settings(ctx)
        state = _state(ctx, target)
        wanted = _disabled(ldap.kind, state)
        detail = "\n".join(f"{a}: {state[a] or '(absent)'} -> {v}" for a, v in wanted.items())
        return Change(
            key=f"{self.name}:{target}",
            action=self.name,
            target=target,
            summary=f"disable account {target} ({ldap.kind} at {ldap.url})",
            detail=detail + "\n",
            keeps=("the account's other attributes, groups and password",),
            fingerprint=_digest(state),
            noop=state == wanted,
        )

    def current_hash(self, ctx: Context, change: Change) -> str:
        return _digest(_state(ctx, change.target))

    def apply(self, ctx: Context, change: Change, snapshot: Callable[[str], None]) -> Applied:
        assert ctx.ldap is not None
        state = _state(ctx, change.target)
        if _digest(state) != change.fingerprint:
            raise ContainError(f"{change.target}: the account changed since the plan")
        wanted = _disabled(ctx.ldap.kind, state)
        snapshot(json.dumps(state, sort_keys=True))
        _write(ctx, change.target, wanted)
        return Applied(before=json.dumps(state, sort_keys=True), after_hash=_digest(wanted))

    def verify(self, ctx: Context, change: Change) -> list[str]:
        assert ctx.ldap is not None
        state = _state(ctx, change.target)
        if state != _disabled(ctx.ldap.kind, state):
            return [f"{change.target}: the account is not disabled after the change"]
        return []

    def undo(self, ctx: Context, target: str, before: str, after_hash: str) -> str:
        state: dict[str, list[str]] = json.loads(before)
        _write(ctx, target, state)
        if _state(ctx, target) != state:
            return "the account's state differs from before: check it by hand"
        return "account state restored exactly as before"


ACTIONS.add(DisableAccount.name, DisableAccount())
