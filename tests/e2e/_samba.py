"""A throwaway Samba server (smbd + vfs_full_audit) in a network namespace, and a FUSE mount of it.

Everything lives under one temporary folder (config, passdb, locks, logs, the share itself), smbd
listens only on the loopback of a network namespace created for it, and the client side is
smbnetfs (a FUSE SMB client: this kernel has no CIFS) whose daemon joins that namespace with
`nsenter --net` only, so its mount stays visible to the test process. Cleanup always runs:
unmount, stop smbd and wait for it, delete the namespace, the Unix user and the folder.

    with samba_server() as srv:          # pytest.skip when not root / a tool is missing
        with srv.fuse_mount() as share:  # MOUNT/127.0.0.1/share, through SMB (skips if it fails)
            (share / "a.txt").write_text("x")
        srv.audit()  # [AuditLine(op="pwrite_send", paths=(".../a.txt",)), ...]

The server accepts SMB1 (NT1) to SMB3; the client dialect is chosen per mount (client_conf).
Leftover processes: smbd's helpers (samba-dcerpcd, rpcd_*) outlive smbd, so they are found by
our private config path in /proc and stopped too.

Debian packages: samba, samba-vfs-modules (full_audit.so), smbclient, smbnetfs, fuse3,
plus iproute2 / util-linux / passwd (ip, nsenter, useradd) which Debian always has.
"""

from __future__ import annotations

import contextlib
import glob
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

HOST = "127.0.0.1"
SHARE = "share"
PASSWORD = "Rempart-Test-1"

_BINARIES = {
    "smbd": "samba",
    "smbpasswd": "samba-common-bin (pulled in by samba)",
    "smbclient": "smbclient",
    "smbnetfs": "smbnetfs",
    "fusermount3": "fuse3",
    "ip": "iproute2",
    "nsenter": "util-linux",
    "useradd": "passwd",
    "userdel": "passwd",
    "umount": "mount",
}


def missing_requirements(*, fuse: bool = True) -> str | None:
    """Why this machine cannot run the Samba tests, or None when it can."""
    if os.geteuid() != 0:
        return "needs root (network namespace, Unix user, smbd, FUSE mount)"
    for name, package in _BINARIES.items():
        if not fuse and name in ("smbnetfs", "fusermount3"):
            continue
        if shutil.which(name) is None:
            return f"`{name}` not found (Debian package: {package})"
    if not glob.glob("/usr/lib/*/samba/vfs/full_audit.so") + glob.glob(
        "/usr/lib/samba/vfs/full_audit.so"
    ):
        return "Samba's full_audit VFS module is missing (Debian package: samba-vfs-modules)"
    if fuse and not os.path.exists("/dev/fuse"):
        return "/dev/fuse is missing (no FUSE in this kernel/container)"
    return None


def _run(
    cmd: list[str], *, timeout: float = 20, check: bool = True, **kw
) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=check, **kw)


def _is_mounted(path: Path) -> bool:
    target = os.fsencode(str(path))
    with open("/proc/self/mountinfo", "rb") as f:
        return any(line.split()[4] == target for line in f)


@dataclass(frozen=True)
class AuditLine:
    """One vfs_full_audit record: prefix %I|%u|%m|%S, then op|ok|path[|path]."""

    ip: str
    user: str
    machine: str
    share: str
    op: str
    result: str
    paths: tuple[str, ...]


class SambaServer:
    """smbd on 127.0.0.1:445 inside namespace `netns`, serving `share_dir` as //127.0.0.1/share.

    With `prefix` (two-namespace mode, RECIPES section 3): smbd listens on 10.213.N.1 in
    namespace `<prefix>-srv-<tag>`, joined by a veth pair to `<prefix>-cli-<tag>` (10.213.N.2),
    where clients run (`client_run`); `global_conf` adds [global] lines (e.g. `debug pid = yes`).
    """

    def __init__(
        self,
        base: Path,
        prefix: str | None = None,
        global_conf: str = "",
        share_conf: str = "",
        smbd_prefix: tuple[str, ...] = (),
    ) -> None:
        tag = secrets.token_hex(3)
        self.base = base
        self.netns = f"{prefix}-srv-{tag}" if prefix else f"rmp-smb-{tag}"
        self.client_netns: str | None = f"{prefix}-cli-{tag}" if prefix else None
        self._veth = (f"{prefix}s{tag}", f"{prefix}c{tag}") if prefix else None
        subnet = int(tag[:2], 16) % 250 + 1
        self.host = f"10.213.{subnet}.1" if prefix else HOST
        self.client_address = f"10.213.{subnet}.2" if prefix else HOST
        self.global_conf = global_conf
        #: lines added at the end of [share] (they override the defaults above them)
        self.share_conf = share_conf
        #: a command smbd runs under, inside the namespace (e.g. `sh -c SCRIPT sh`)
        self.smbd_prefix = smbd_prefix
        self.user = f"rmpsmb{tag}"
        self.password = PASSWORD
        self.share_dir = base / "share"
        self.conf = base / "smb.conf"
        self.log = base / "log" / "smbd.log"
        self.proc: subprocess.Popen | None = None
        self._cleanups: list = []

    # -- lifecycle -------------------------------------------------------
    def start(self) -> None:
        for sub in ("share", "private", "lock", "state", "cache", "pid", "log", "client"):
            (self.base / sub).mkdir(parents=True, exist_ok=True)
        self.base.chmod(0o755)  # smbd serves the share as the Unix user: it must reach the path
        self.conf.write_text(self._config())

        _run(["ip", "netns", "add", self.netns])
        self._cleanups.append(lambda: _run(["ip", "netns", "del", self.netns], check=False))
        _run(["ip", "-n", self.netns, "link", "set", "lo", "up"])
        if self.client_netns is not None and self._veth is not None:
            self._two_namespaces(self.client_netns, *self._veth)

        _run(["useradd", "-M", "-s", "/usr/sbin/nologin", "-d", "/nonexistent", self.user])
        self._cleanups.append(lambda: _run(["userdel", self.user], check=False))
        shutil.chown(self.share_dir, self.user, self.user)
        _run(
            ["smbpasswd", "-c", str(self.conf), "-s", "-a", self.user],
            input=f"{self.password}\n{self.password}\n",
        )

        smbd = ["smbd", "--foreground", "--no-process-group", "-s", str(self.conf)]
        with open(self.base / "log" / "smbd.stdout", "wb") as out:
            self.proc = subprocess.Popen(
                ["ip", "netns", "exec", self.netns, *self.smbd_prefix, *smbd],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                # own session: on exit smbd signals its whole process group (pytest otherwise)
                start_new_session=True,
            )
        self._cleanups.append(self._stop_helpers)
        self._cleanups.append(self._stop_smbd)
        self._wait_ready()

    def _two_namespaces(self, cli: str, veth_s: str, veth_c: str) -> None:
        _run(["ip", "netns", "add", cli])
        self._cleanups.append(lambda: _run(["ip", "netns", "del", cli], check=False))
        _run(["ip", "link", "add", veth_s, "type", "veth", "peer", "name", veth_c])
        _run(["ip", "link", "set", veth_s, "netns", self.netns])
        _run(["ip", "link", "set", veth_c, "netns", cli])
        _run(["ip", "-n", self.netns, "addr", "add", f"{self.host}/30", "dev", veth_s])
        _run(["ip", "-n", cli, "addr", "add", f"{self.client_address}/30", "dev", veth_c])
        for ns, dev in ((self.netns, veth_s), (cli, veth_c)):
            _run(["ip", "-n", ns, "link", "set", "lo", "up"])
            _run(["ip", "-n", ns, "link", "set", dev, "up"])

    def client_popen(self, cmd: list[str], **kw) -> subprocess.Popen:
        """Start `cmd` in the client namespace (two-namespace mode)."""
        assert self.client_netns is not None, "not in two-namespace mode"
        return subprocess.Popen(["ip", "netns", "exec", self.client_netns, *cmd], **kw)

    def _wait_ready(self, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"smbd exited with {self.proc.returncode}: {self.tail()}")
            r = self.smbclient("ls", check=False, timeout=10)
            if r.returncode == 0:
                return
            last = (r.stdout + r.stderr).strip()
            time.sleep(0.3)
        raise RuntimeError(f"smbd not answering after {timeout}s: {last}\n{self.tail()}")

    def _stop_smbd(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()  # `ip netns exec` execs smbd, so this pid is smbd itself
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)

    def _helper_pids(self) -> list[int]:
        """smbd's helpers (samba-dcerpcd, rpcd_*) outlive smbd: found by our config path."""
        mine, needle = [], os.fsencode(str(self.conf))
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                with contextlib.suppress(OSError):
                    cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
                    state = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[0]
                    if needle in cmdline and state != "Z":
                        mine.append(int(entry))
        return mine

    def _stop_helpers(self) -> None:
        deadline = time.monotonic() + 10
        for pid in self._helper_pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        while (left := self._helper_pids()) and time.monotonic() < deadline:
            time.sleep(0.1)
        for pid in left:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def stop(self) -> None:
        errors = []
        while self._cleanups:
            try:
                self._cleanups.pop()()
            except (OSError, subprocess.SubprocessError, RuntimeError) as exc:  # go on
                errors.append(repr(exc))
        shutil.rmtree(self.base, ignore_errors=True)
        if errors:
            raise RuntimeError("Samba cleanup: " + "; ".join(errors))

    # -- helpers ---------------------------------------------------------
    def smbclient(
        self, command: str, *, check: bool = True, timeout: float = 20
    ) -> subprocess.CompletedProcess:
        """Run smbclient commands against the share from inside the namespace."""
        auth = f"{self.user}%{self.password}"
        cmd = ["smbclient", f"//{self.host}/{SHARE}", "-s", str(self.conf), "-U", auth, "-t", "5"]
        return _run(
            ["ip", "netns", "exec", self.netns, *cmd, "-c", command], check=check, timeout=timeout
        )

    def tail(self, n: int = 30) -> str:
        texts = []
        for p in (self.log, self.base / "log" / "smbd.stdout"):
            with contextlib.suppress(OSError):
                texts.append("\n".join(p.read_text(errors="replace").splitlines()[-n:]))
        return "\n".join(texts)

    def audit(self) -> list[AuditLine]:
        """The full_audit records of our user, oldest first."""
        lines = []
        with contextlib.suppress(FileNotFoundError):
            for raw in self.log.read_text(errors="replace").splitlines():
                fields = raw.strip().split("|")
                if len(fields) >= 7 and fields[1] == self.user:
                    lines.append(AuditLine(*fields[:6], paths=tuple(fields[6:])))
        return lines

    def chown_share(self) -> None:
        """Give the share's files to the Samba user (after building them server-side as root)."""
        _run(["chown", "-R", f"{self.user}:{self.user}", str(self.share_dir)])

    @contextlib.contextmanager
    def fuse_mount(
        self, timeout: float = 20, client_conf: str = "", smbnetfs_opts: str = ""
    ) -> Iterator[Path]:
        """Mount the share with smbnetfs; yields MOUNT/127.0.0.1/share. Skips if the mount fails.

        client_conf: [global] lines of the client's smb.conf (e.g. the dialect); smbnetfs_opts:
        extra -o options (e.g. ",smbnetfs_debug=6" to debug; its log is client/smbnetfs.log).
        """
        client = self.base / "client"
        home, mnt = client / "home", client / "mnt"
        (home / ".smb").mkdir(parents=True, exist_ok=True)
        mnt.mkdir(exist_ok=True)
        cfg = home / ".smb" / "smbnetfs.conf"
        cfg.write_text(f'auth "{HOST}" "{self.user}" "{self.password}"\n')
        cfg.chmod(0o600)
        # libsmbclient reads $HOME/.smb/smb.conf
        conf = client_conf or "  client min protocol = SMB2\n"
        (home / ".smb" / "smb.conf").write_text("[global]\n" + conf)
        opts = f"config={cfg},smb_query_browsers=false,log_file={client / 'smbnetfs.log'}"
        # nsenter --net only: smbnetfs reaches smbd in the namespace, the mount stays ours
        cmd = ["nsenter", f"--net=/run/netns/{self.netns}", "smbnetfs", str(mnt), "-f"]
        with open(client / "smbnetfs.stdout", "wb") as out:
            proc = subprocess.Popen(
                [*cmd, "-o", opts + smbnetfs_opts],
                env={**os.environ, "HOME": str(home)},
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        try:
            share = mnt / HOST / SHARE
            why = self._wait_mount(proc, mnt, share, timeout)
            if why:
                pytest.skip(f"smbnetfs FUSE mount of //{HOST}/{SHARE} failed: {why}")
            yield share
        finally:
            if _is_mounted(mnt):
                r = _run(["fusermount3", "-u", str(mnt)], check=False)
                if r.returncode != 0 and _is_mounted(mnt):
                    _run(["umount", "-l", str(mnt)], check=False)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)

    @staticmethod
    def _wait_mount(proc: subprocess.Popen, mnt: Path, share: Path, timeout: float) -> str | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                said = (mnt.parent / "smbnetfs.stdout").read_text(errors="replace")[-2000:]
                return f"smbnetfs exited with {proc.returncode}: {said}"
            if _is_mounted(mnt):
                # the first access connects to smbd: in a child, so a hang cannot block us
                r = _run(["ls", "-a", str(share)], check=False, timeout=30)
                if r.returncode == 0:
                    return None
                last = r.stderr.strip()
            else:
                last = "not mounted yet"
            time.sleep(0.3)
        return f"{share} not usable after {timeout}s ({last})"

    def _config(self) -> str:
        b = self.base
        return f"""[global]
  server role = standalone server
  workgroup = RMPTEST
  netbios name = RMPSRV
  disable netbios = yes
  smb ports = 445
  interfaces = {self.host if self.client_netns else "lo"}
  bind interfaces only = yes
  private dir = {b}/private
  lock directory = {b}/lock
  state directory = {b}/state
  cache directory = {b}/cache
  pid directory = {b}/pid
  ncalrpc dir = {b}/lock/ncalrpc
  logging = file
  log file = {self.log}
  max log size = 0
  log level = 0 full_audit:1
  passdb backend = tdbsam
  load printers = no
  printing = bsd
  printcap name = /dev/null
  disable spoolss = yes
  server min protocol = NT1
{self.global_conf}[{SHARE}]
  path = {self.share_dir}
  read only = no
  valid users = {self.user}
  vfs objects = full_audit
  full_audit:success = pwrite pwrite_send write renameat unlinkat mkdirat
  full_audit:failure = none
  full_audit:prefix = %I|%u|%m|%S
  full_audit:syslog = false
{self.share_conf}"""


@contextlib.contextmanager
def samba_server(
    *,
    fuse: bool = True,
    prefix: str | None = None,
    global_conf: str = "",
    share_conf: str = "",
    smbd_prefix: tuple[str, ...] = (),
) -> Iterator[SambaServer]:
    """Start a private smbd (pytest.skip when this machine cannot); always cleaned up.

    prefix: two-namespace mode (server and client namespaces joined by a veth pair).
    """
    why = missing_requirements(fuse=fuse)
    if why:
        pytest.skip(why)
    base = Path(tempfile.mkdtemp(prefix="rempart-smb-"))
    srv = SambaServer(base, prefix, global_conf, share_conf, smbd_prefix)
    try:
        srv.start()
        yield srv
    finally:
        srv.stop()
