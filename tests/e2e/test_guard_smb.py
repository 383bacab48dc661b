"""End to end: an SMB client encrypting a real Samba share is blocked by the guard (nftables).

Samba (with vfs_full_audit) runs in a server namespace, the attacker in a client namespace
joined by a veth pair (10.213.N.1 / .2); the attacker uses smbprotocol to overwrite files with
random bytes and rename them. The guard runs in the server namespace with
`--samba-log` and `--respond block-client`; the test checks that the alarm names the client's
address, that few files were lost, and that the client's next writes fail.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from _guard_output import GuardOutput
from _samba import samba_server

from rempart.exercise import build

ATTACKER = r"""
import os, sys, time
import smbclient
host, user, password, pace = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
smbclient.register_session(host, username=user, password=password, connection_timeout=5)
top = rf"\\{host}\share"
files = sorted(os.path.join(d, f) for d, _s, fs in smbclient.walk(top) for f in fs)
print("files", len(files), flush=True)
for n, path in enumerate(files, 1):
    try:
        # opened existing and overwritten in place, as many families do (an overwrite
        # disposition is refused on hidden files)
        with smbclient.open_file(path, mode="r+b") as f:
            size = len(f.read())
            f.seek(0)
            f.write(os.urandom(max(size, 4096)))
        smbclient.rename(path, path + ".locked")
    except Exception as exc:  # blocked: the point of the test
        print("failed", n, type(exc).__name__, exc, flush=True)
        sys.exit(3)
    print("encrypted", n, flush=True)
    time.sleep(pace)
print("done", flush=True)
"""


def _rempart() -> str:
    return str(Path(sys.executable).parent / "rempart")


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root (namespaces, nftables, fanotify)")
@pytest.mark.parametrize(
    ("decoys", "conf"),
    [(True, "  debug pid = yes\n"), (False, "")],
    ids=["decoys-pid-in-log", "content-only-path-matching"],
)
def test_smb_client_encrypting_is_blocked(tmp_path: Path, decoys: bool, conf: str) -> None:
    """Decoys or not, with or without smbd's PID in the log: the client is named and blocked."""
    with samba_server(fuse=False, prefix="rg", global_conf=conf) as srv:
        build(srv.share_dir / "mairie", 40, 9)
        srv.chown_share()
        db = tmp_path / "guard.db"
        guard = subprocess.Popen(
            [
                *("ip", "netns", "exec", srv.netns, _rempart(), "guard", str(srv.share_dir)),
                *("--samba-log", str(srv.log), "--respond", "block-client", "--db", str(db)),
                *(() if decoys else ("--no-decoys",)),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        output = GuardOutput(guard)
        attacker = None
        try:
            first = output.first()
            assert first.startswith("watching"), output.stop()
            assert "samba-audit" in first
            script = tmp_path / "attacker.py"
            script.write_text(ATTACKER)
            attacker = srv.client_popen(
                [sys.executable, str(script), srv.host, srv.user, srv.password, "0.2"],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            out, _ = attacker.communicate(timeout=120)
            assert "done" not in out, out
            encrypted = sum(1 for line in out.splitlines() if line.startswith("encrypted"))
            assert encrypted <= 10, out
            print(f"files encrypted before the block: {encrypted}")
            # a fresh connection from the client cannot write either
            probe = tmp_path / "probe.txt"
            probe.write_text("probe")
            r = subprocess.run(
                [
                    *("ip", "netns", "exec", srv.client_netns or "", "smbclient"),
                    *(f"//{srv.host}/share", "-U", f"{srv.user}%{srv.password}", "-t", "3"),
                    *("-c", f"put {probe} probe.txt"),
                ],
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            )
            assert r.returncode != 0
            assert not (srv.share_dir / "probe.txt").exists()
        finally:
            if attacker is not None and attacker.poll() is None:
                attacker.kill()
            rest = output.stop()
        assert f"ALARM smb-client:{srv.client_address}" in rest, rest
        assert "response block-client" in rest, rest
        assert not list(srv.share_dir.rglob("!0000*.docx")), "decoys left behind"
