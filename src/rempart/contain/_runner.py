"""Running shell commands on a host: here (optionally inside a network namespace) or over SSH.

One synchronous interface for the actions; the SSH side keeps one asyncssh connection per
host on a private event loop, key-based only (no password ever prompted at night).
"""

from __future__ import annotations

import asyncio
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import asyncssh

from rempart import settings
from rempart.contain._errors import HostError
from rempart.contain.inventory import Host, SshTarget


@dataclass(frozen=True)
class Result:
    status: int
    stdout: str
    stderr: str


class Runner(Protocol):
    label: str

    def run(self, command: str, *, stdin: str | None = None, timeout: float = 20) -> Result: ...

    def reconnect_probe(self, timeout: float) -> bool: ...

    def close(self) -> None: ...


class LocalRunner:
    """Commands on this machine; `netns` runs them inside a named network namespace."""

    def __init__(self, netns: str | None = None) -> None:
        self.netns = netns
        self.label = f"local (netns {netns})" if netns else "local"

    def run(self, command: str, *, stdin: str | None = None, timeout: float = 20) -> Result:
        argv = ["sh", "-c", command]
        if self.netns:
            argv = ["ip", "netns", "exec", self.netns, *argv]
        try:
            done = subprocess.run(
                argv, input=stdin, capture_output=True, text=True, timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired:
            raise HostError(f"{self.label}: command timed out after {timeout:g} s") from None
        return Result(done.returncode, done.stdout, done.stderr)

    def reconnect_probe(self, timeout: float) -> bool:
        return True  # nothing stands between the responder and the local machine

    def close(self) -> None:
        return None


class SshRunner:
    """Commands on a remote host over one asyncssh connection."""

    def __init__(
        self,
        target: SshTarget,
        *,
        keys: list[Path] | None = None,
        known_hosts: Path | None = None,
        connect_timeout: float = 10,
    ) -> None:
        self.target = target
        self.keys = [str(k) for k in keys] if keys else None
        self.known_hosts = str(known_hosts) if known_hosts else None
        self.connect_timeout = connect_timeout
        self.label = f"ssh {target}"
        self._loop = asyncio.new_event_loop()
        self._conn: asyncssh.SSHClientConnection | None = None

    async def _connect(self, timeout: float) -> asyncssh.SSHClientConnection:
        try:
            return await asyncio.wait_for(
                asyncssh.connect(
                    self.target.host,
                    port=self.target.port,
                    username=self.target.user,
                    client_keys=self.keys,
                    known_hosts=self.known_hosts,
                    password=None,
                    kbdint_auth=False,
                    agent_path=None if self.keys else (),
                    connect_timeout=timeout,
                ),
                timeout,
            )
        except asyncssh.PermissionDenied:
            raise HostError(
                f"{self.label}: the SSH key was refused",
                hint="check --ssh-key and the host's authorized_keys",
            ) from None
        except asyncssh.KeyImportError as exc:
            raise HostError(
                f"{self.label}: cannot use the SSH key ({exc})",
                hint="give an unencrypted private key with --ssh-key, or load it in ssh-agent",
            ) from None
        except asyncssh.HostKeyNotVerifiable as exc:
            raise HostError(
                f"{self.label}: host key not trusted ({exc})",
                hint="give --known-hosts with the host's key",
            ) from None
        except (TimeoutError, OSError, asyncssh.Error) as exc:
            raise HostError(f"{self.label}: unreachable ({exc or type(exc).__name__})") from None

    def _connection(self) -> asyncssh.SSHClientConnection:
        if self._conn is None:
            self._conn = self._loop.run_until_complete(self._connect(self.connect_timeout))
        return self._conn

    def run(self, command: str, *, stdin: str | None = None, timeout: float = 20) -> Result:
        conn = self._connection()
        try:
            done = self._loop.run_until_complete(
                asyncio.wait_for(conn.run(command, input=stdin, check=False), timeout)
            )
        except TimeoutError:
            raise HostError(f"{self.label}: command timed out after {timeout:g} s") from None
        except (OSError, asyncssh.Error) as exc:
            self._conn = None
            raise HostError(f"{self.label}: connection lost ({exc})") from None
        out, err = done.stdout or "", done.stderr or ""
        return Result(
            int(done.exit_status if done.exit_status is not None else 255),
            out if isinstance(out, str) else out.decode(),
            err if isinstance(err, str) else err.decode(),
        )

    def reconnect_probe(self, timeout: float) -> bool:
        """Can the responder still open a new SSH connection (the path is not cut)?"""
        try:
            conn = self._loop.run_until_complete(self._connect(timeout))
        except HostError:
            return False
        conn.close()
        self._loop.run_until_complete(conn.wait_closed())
        return True

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._loop.run_until_complete(self._conn.wait_closed())
            self._conn = None
        self._loop.close()


def runner_for(
    host: Host,
    *,
    keys: list[Path] | None = None,
    known_hosts: Path | None = None,
    netns: str | None = None,
    connect_timeout: float = 10,
) -> Runner:
    """The way to command `host`: SSH when its inventory entry says so, else this machine."""
    if host.ssh is None:
        return LocalRunner(settings.resolve(settings.CONTAIN_NETNS, netns) or None)
    return SshRunner(host.ssh, keys=keys, known_hosts=known_hosts, connect_timeout=connect_timeout)
