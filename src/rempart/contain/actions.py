"""Containment actions: registered by name, each with plan, apply, verify and undo.

A plan is a list of `Change`s, each naming one action on one target (a host, an account)
with the exact text it will apply and a fingerprint of the target's state when planned.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rempart.contain._errors import ContainError
from rempart.contain._runner import Runner, runner_for
from rempart.contain.inventory import Host
from rempart.contain.nft import Flow, Probe
from rempart.registry import Registry


@dataclass(frozen=True)
class Change:
    key: str  # "<action>:<target>", unique in a plan
    action: str
    target: str
    summary: str
    detail: str  # exactly what is applied: nft rules, PowerShell, LDAP modification
    keeps: tuple[str, ...]  # what stays reachable / untouched
    fingerprint: str  # sha256 of the target's state when planned
    noop: bool = False  # already applied as planned: nothing to do
    host: Host | None = None
    params: tuple[tuple[str, str], ...] = ()

    def param(self, name: str, default: str = "") -> str:
        return dict(self.params).get(name, default)


@dataclass(frozen=True)
class Applied:
    before: str  # state to restore on undo (ruleset text, JSON of account attributes)
    after_hash: str
    timer: str = ""  # commit-confirmed rollback timer on the host, "" when none


@dataclass(frozen=True)
class Request:
    """What the responder asked for, independent of the inventory's current content."""

    isolate: tuple[str, ...] = ()
    cut_internet: str | None = None
    keep: tuple[Flow, ...] = ()
    # private IPv4 and IPv6 unique local addresses: traffic between them stays up
    internal: tuple[str, ...] = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")
    disable_accounts: tuple[str, ...] = ()
    block_smb: tuple[str, ...] = ()  # client addresses
    at: str | None = None  # the file server where they are blocked
    smbconf: str | None = None  # its smb.conf, to close the clients' sessions
    probe_from: str | None = None  # inventory host behind the gateway that probes the cut
    probe_blocked: tuple[str, ...] = ()  # ADDRESS:PORT that must fail once the cut is on

    def canonical(self) -> dict[str, Any]:
        return {
            "isolate": sorted(self.isolate),
            "cut_internet": self.cut_internet,
            "keep": sorted(f"{f.name}={f.network}:{f.port}" for f in self.keep),
            "internal": sorted(self.internal),
            "disable_accounts": sorted(self.disable_accounts),
            "block_smb": sorted(self.block_smb),
            "at": self.at,
            "probe_from": self.probe_from,
            "probe_blocked": sorted(self.probe_blocked),
        }


@dataclass(frozen=True)
class LdapSettings:
    url: str
    bind_dn: str
    password: str
    kind: str = "openldap"  # or "ad"
    ca_file: str | None = None  # ldaps://: CA bundle to verify the directory (default: system)


@dataclass
class Context:
    """Everything actions need: the inventory, how to reach hosts, timeouts, the record."""

    incident: int
    hosts: list[Host]
    actor: str
    ssh_keys: list[Path] | None = None
    known_hosts: Path | None = None
    timeout: float = 20
    confirm_seconds: int = 60
    ldap: LdapSettings | None = None
    winrm: tuple[str, str] | None = None  # user, password
    incident_key: str = ""  # the name responders type; the journal is keyed by it
    remote_python: str = "python3"  # on remote file servers: the Python that has rempart
    netns: str | None = None  # hosts with no ssh: run inside this namespace (labs, tests)
    active: dict[str, tuple[str, str]] = field(default_factory=dict)  # key -> (after_hash, detail)
    _runners: dict[str, Runner] = field(default_factory=dict)
    _seen: dict[str, str | None] = field(default_factory=dict)

    def host(self, name: str) -> Host:
        for h in self.hosts:
            if h.name == name:
                return h
        raise ContainError(f"unknown host {name!r}", hint="see 'rempart contain inventory show'")

    def runner(self, host: Host) -> Runner:
        if host.name not in self._runners:
            self._runners[host.name] = runner_for(
                host,
                keys=self.ssh_keys,
                known_hosts=self.known_hosts,
                netns=self.netns,
                connect_timeout=self.timeout,
            )
        return self._runners[host.name]

    def responder_seen_by(self, host: Host) -> str | None:
        """The responder's address as `host` sees it: the path that must never be cut."""
        if host.name not in self._seen:
            if host.ssh is None:
                value = os.environ.get("SSH_CLIENT", "")
            else:
                value = self.runner(host).run("echo $SSH_CLIENT", timeout=self.timeout).stdout
            self._seen[host.name] = value.split()[0] if value.split() else None
        return self._seen[host.name]

    @property
    def responder(self) -> str | None:
        """This machine's SSH client address when the responder works remotely."""
        client = os.environ.get("SSH_CLIENT", "").split()
        return client[0] if client else None

    def close(self) -> None:
        for r in self._runners.values():
            r.close()
        self._runners.clear()


class Action(ABC):
    """One kind of containment; subclasses register an instance in ACTIONS."""

    name: str

    @abstractmethod
    def plan(self, ctx: Context, target: str, request: Request) -> Change: ...

    @abstractmethod
    def apply(self, ctx: Context, change: Change, snapshot: Callable[[str], None]) -> Applied:
        """Apply `change`; `snapshot(before)` is called before anything is modified."""

    @abstractmethod
    def verify(self, ctx: Context, change: Change) -> Sequence[Probe | str]:
        """Checks after apply: Probes, or strings describing a failed check."""

    def confirm(self, ctx: Context, change: Change, applied: Applied) -> None:
        """Verification passed: cancel the host's rollback timer, if any."""
        return None

    @abstractmethod
    def current_hash(self, ctx: Context, change: Change) -> str: ...

    @abstractmethod
    def undo(self, ctx: Context, target: str, before: str, after_hash: str) -> str:
        """Restore `before`; returns a one-line note on the state left."""


@dataclass(frozen=True)
class Outcome:
    key: str
    state: str  # contained, unchanged, failed, rolling_back, undone
    message: str
    checks: tuple[Probe | str, ...] = ()


ACTIONS: Registry[Action] = Registry("containment action")
