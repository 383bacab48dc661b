"""End to end: the guard reads Samba's audit from its own syslog socket, and blocks the client.

smbd runs with `full_audit:syslog = true` (nothing audited goes to its log file) in the
mount namespace `ip netns exec` gives it, where /dev is replaced by a small tmpfs whose
`log` is a symlink to the guard's socket: smbd's syslog(3) calls reach the guard, which
binds that socket with `--samba-syslog`. The kernel names the sending smbd with each
datagram, so writes are tied to the client without `debug pid = yes`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from _guard_output import GuardOutput
from _samba import samba_server

from rempart.exercise import build

#: /dev for smbd: the device nodes it uses, and `log` pointing at the guard's socket
DEV = r"""
set -e
d=$1; sock=$2; shift 2
mkdir -p "$d"
mount -t tmpfs -o mode=755 rgfdev "$d"
for n in null zero full random urandom tty; do : > "$d/$n"; mount --bind "/dev/$n" "$d/$n"; done
mkdir "$d/shm" "$d/pts"
mount --rbind /dev/shm "$d/shm"
mount --rbind /dev/pts "$d/pts"
ln -s /proc/self/fd "$d/fd"
ln -s "$sock" "$d/log"
mount --bind "$d" /dev
exec "$@"
"""

ATTACKER = r"""
import os, sys, time
import smbclient
host, user, password = sys.argv[1:4]
smbclient.register_session(host, username=user, password=password, connection_timeout=5)
top = rf"\\{host}\share"
files = sorted(os.path.join(d, f) for d, _s, fs in smbclient.walk(top) for f in fs)
for n, path in enumerate(files, 1):
    try:
        with smbclient.open_file(path, mode="r+b") as f:
            size = len(f.read())
            f.seek(0)
            f.write(os.urandom(max(size, 4096)))
        smbclient.rename(path, path + ".locked")
    except Exception as exc:  # blocked: the point of the test
        print("failed", n, type(exc).__name__, flush=True)
        sys.exit(3)
    print("encrypted", n, flush=True)
    time.sleep(0.2)
print("done", flush=True)
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root (namespaces, mounts, nftables)")
def test_audit_through_the_guards_syslog_socket_blocks_the_client(tmp_path: Path) -> None:
    # smbd sends as the connected user's uid: the socket's folders must let it through
    # (pytest's are private), as /run/rempart would on a server
    run = Path(tempfile.mkdtemp(prefix="rgf-run-"))
    run.chmod(0o755)
    try:
        _attack_through_syslog(tmp_path, run / "audit.sock")
    finally:
        shutil.rmtree(run, ignore_errors=True)


def _attack_through_syslog(tmp_path: Path, sock: Path) -> None:
    prefix = ("sh", "-c", DEV, "sh", str(tmp_path / "dev"), str(sock))
    with samba_server(
        fuse=False,
        prefix="rgf",
        share_conf="  full_audit:syslog = true\n  full_audit:facility = LOCAL5\n",
        smbd_prefix=prefix,
    ) as srv:
        assert srv.client_netns is not None
        build(srv.share_dir / "mairie", 40, 9)
        srv.chown_share()
        rempart = str(Path(sys.executable).parent / "rempart")
        guard = subprocess.Popen(
            [
                *("ip", "netns", "exec", srv.netns, rempart, "guard", str(srv.share_dir)),
                *("--samba-syslog", str(sock), "--db", str(tmp_path / "guard.db")),
                *("--respond", "block-client", "--no-decoys"),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        output = GuardOutput(guard)
        try:
            first = output.first()
            assert first.startswith("watching") and "samba-syslog" in first, output.stop()
            script = tmp_path / "attacker.py"
            script.write_text(ATTACKER)
            attacker = srv.client_popen(
                [sys.executable, str(script), srv.host, srv.user, srv.password],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            out, _ = attacker.communicate(timeout=120)
        finally:
            rest = output.stop()
        assert "done" not in out, out + rest
        encrypted = sum(1 for line in out.splitlines() if line.startswith("encrypted"))
        assert encrypted <= 10, out
        assert f"ALARM smb-client:{srv.client_address}" in rest, rest
        assert f"blocked {srv.client_address}" in rest, rest
        # the records came through the socket only: smbd's log file has none
        assert srv.audit() == [], srv.audit()[:3]
