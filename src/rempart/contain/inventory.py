"""The inventory: hosts, their groups, how to reach them, and what must stay reachable.

Read from CSV (columns name,address,role,groups,ssh,management; lists separated by `;`) or
TOML (`[[host]]` tables with the same keys, lists as arrays). Every mistake names its line.
"""

from __future__ import annotations

import csv
import io
import ipaddress
import json
import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, delete, insert, select
from sqlalchemy.orm import Session

from rempart.contain._errors import InventoryError
from rempart.store.contain import ContainHost

COLUMNS = ("name", "address", "role", "groups", "ssh", "management")
REQUIRED = ("name", "address")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$")
_SSH = re.compile(
    r"^(?P<user>[A-Za-z0-9_.-]+)@(?P<host>\[[0-9a-fA-F:]+\]|[^:@\s]+)(?::(?P<port>\d+))?$"
)


@dataclass(frozen=True)
class SshTarget:
    user: str
    host: str
    port: int = 22

    def __str__(self) -> str:
        return f"{self.user}@{self.host}:{self.port}"


@dataclass(frozen=True)
class Host:
    name: str
    address: str
    role: str = ""
    groups: tuple[str, ...] = ()
    ssh: SshTarget | None = None  # None: the machine rempart runs on
    management: tuple[str, ...] = ()  # addresses or networks that always stay reachable

    @property
    def windows(self) -> bool:
        """Role "windows" (any case): isolated through its firewall profiles, over WinRM."""
        return self.role.lower() == "windows"

    @property
    def reached_by(self) -> str:
        """How rempart commands the host: `winrm`, `ssh USER@HOST:PORT` or `local`."""
        if self.windows:
            return "winrm"  # at its address, whatever the ssh column says
        return f"ssh {self.ssh}" if self.ssh else "local"


def parse_ssh(text: str) -> SshTarget | None:
    """`user@host[:port]` -> SshTarget; empty -> None (local). Raises ValueError."""
    text = text.strip()
    if not text:
        return None
    m = _SSH.match(text)
    if not m:
        raise ValueError(f"ssh must be user@host[:port], got {text!r}")
    port = int(m["port"] or 22)
    if not 0 < port < 65536:
        raise ValueError(f"ssh port out of range: {port}")
    return SshTarget(m["user"], m["host"].strip("[]"), port)


def _network(text: str) -> str:
    try:
        return str(ipaddress.ip_network(text.strip(), strict=False))
    except ValueError:
        raise ValueError(f"not an IP address or network: {text.strip()!r}") from None


def _host(fields: dict[str, object]) -> Host:
    unknown = sorted(set(fields) - set(COLUMNS))
    if unknown:
        raise ValueError(f"unknown column(s) {', '.join(unknown)}; known: {', '.join(COLUMNS)}")
    for key in REQUIRED:
        if not str(fields.get(key) or "").strip():
            raise ValueError(f"missing {key}")
    name = str(fields["name"]).strip()
    if not _NAME.match(name):
        raise ValueError(f"bad host name {name!r} (letters, digits, . _ -)")
    try:
        address = str(ipaddress.ip_address(str(fields["address"]).strip()))
    except ValueError:
        raise ValueError(f"bad address {str(fields['address']).strip()!r}") from None

    def listed(key: str) -> list[str]:
        value = fields.get(key) or []
        items = value.split(";") if isinstance(value, str) else value
        if not isinstance(items, list):
            raise ValueError(f"{key} must be a list")
        return [str(i).strip() for i in items if str(i).strip()]

    return Host(
        name=name,
        address=address,
        role=str(fields.get("role") or "").strip(),
        groups=tuple(listed("groups")),
        ssh=parse_ssh(str(fields.get("ssh") or "")),
        management=tuple(_network(m) for m in listed("management")),
    )


def _rows_csv(text: str, source: str) -> Iterable[tuple[int, dict[str, object]]]:
    reader = csv.DictReader(io.StringIO(text), strict=True)
    line = 1  # where the record being read starts (a quoted cell may span lines)
    try:
        header = reader.fieldnames or []
        extra = sorted(set(header) - set(COLUMNS))
        if extra:
            raise InventoryError(f"unknown column(s) {', '.join(extra)}", source=source, line=1)
        missing = [c for c in REQUIRED if c not in header]
        if missing:
            raise InventoryError(f"missing column(s) {', '.join(missing)}", source=source, line=1)
        line = reader.line_num + 1
        for row in reader:
            if None in row:  # more cells than the header has names
                raise InventoryError("more cells than columns", source=source, line=line)
            yield line, {k: v for k, v in row.items() if v is not None}
            line = reader.line_num + 1
    except csv.Error as exc:
        raise InventoryError(f"damaged CSV: {exc}", source=source, line=line) from None


def _rows_toml(text: str) -> Iterable[tuple[int, dict[str, object]]]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InventoryError(f"damaged TOML: {exc}") from None
    extra = sorted(set(data) - {"host"})
    if extra:
        raise InventoryError(f"unknown key(s) {', '.join(extra)}: expected [[host]] tables")
    hosts = data.get("host", [])
    if not isinstance(hosts, list):
        raise InventoryError("`host` must be an array of tables ([[host]])")
    # tomllib keeps no line numbers: find each [[host]] header to name where the entry starts
    starts = [i + 1 for i, ln in enumerate(text.splitlines()) if ln.strip() == "[[host]]"]
    for n, entry in enumerate(hosts):
        yield (starts[n] if n < len(starts) else 0), dict(entry)


def parse(text: str, *, source: str = "inventory", fmt: str | None = None) -> list[Host]:
    """Hosts of an inventory text (format from `fmt` or the source's suffix)."""
    fmt = fmt or ("toml" if source.endswith(".toml") else "csv")
    rows = _rows_toml(text) if fmt == "toml" else _rows_csv(text, source)
    hosts: list[Host] = []
    seen: dict[str, int] = {}
    for line, fields in rows:
        try:
            host = _host(fields)
        except ValueError as exc:
            raise InventoryError(str(exc), source=source, line=line) from None
        if host.name in seen:
            raise InventoryError(
                f"host {host.name!r} already defined on line {seen[host.name]}",
                source=source,
                line=line,
            )
        seen[host.name] = line
        hosts.append(host)
    if not hosts:
        raise InventoryError("no hosts", source=source)
    return hosts


def load_file(path: Path) -> list[Host]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InventoryError(f"cannot read the inventory: {exc}", source=str(path)) from None
    return parse(text, source=str(path))


def save(engine: Engine, incident: int, hosts: Sequence[Host]) -> None:
    """Replace the incident's inventory with `hosts` (one transaction)."""
    with engine.begin() as conn:
        conn.execute(delete(ContainHost).where(ContainHost.incident_id == incident))
        conn.execute(
            insert(ContainHost),
            [
                {
                    "incident_id": incident,
                    "name": h.name,
                    "address": h.address,
                    "role": h.role,
                    "groups": json.dumps(list(h.groups)),
                    "ssh": str(h.ssh) if h.ssh else "",
                    "management": json.dumps(list(h.management)),
                }
                for h in hosts
            ],
        )


def load(engine: Engine, incident: int) -> list[Host]:
    with Session(engine) as session:
        rows = session.scalars(
            select(ContainHost).where(ContainHost.incident_id == incident).order_by(ContainHost.id)
        )
        return [
            Host(
                name=r.name,
                address=r.address,
                role=r.role,
                groups=tuple(json.loads(r.groups)),
                ssh=parse_ssh(r.ssh),
                management=tuple(json.loads(r.management)),
            )
            for r in rows
        ]


def select_hosts(hosts: Sequence[Host], names: Iterable[str]) -> list[Host]:
    """Hosts named, or members of groups named, in inventory order; unknown names refused."""
    wanted = list(names)
    by_name = {h.name for h in hosts}
    groups = {g for h in hosts for g in h.groups}
    unknown = [n for n in wanted if n not in by_name and n not in groups]
    if unknown:
        raise InventoryError(
            f"unknown host or group: {', '.join(unknown)}",
            source="inventory",
        )
    return [h for h in hosts if h.name in wanted or set(h.groups) & set(wanted)]
