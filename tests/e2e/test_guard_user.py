"""End to end: one account encrypting from two SMB clients, each below the threshold.

Samba (full_audit, `debug pid = yes`) runs in a server namespace; two client namespaces reach
it over their own veth pairs (10.213.N.2 and 10.214.N.2). Each client encrypts one file only
(about 1.5 points, below the threshold of 2): no client alarm, but the account's points add
up. The guard runs with `--respond block-client --respond close-session`; the test checks that
the alarm is on `user:NAME`, that both addresses are blocked and that both clients' next
writes fail.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from _guard_output import GuardOutput
from _samba import SambaServer, samba_server

from rempart.exercise import build
from rempart.guard.respond import samba

ENCRYPT_ONE = r"""
import os, sys
import smbclient
host, user, password, name = sys.argv[1:5]
smbclient.register_session(host, username=user, password=password, connection_timeout=5)
path = rf"\\{host}\share\{name}"
with smbclient.open_file(path, mode="r+b") as f:
    size = len(f.read())
    f.seek(0)
    f.write(os.urandom(max(size, 4096)))
smbclient.rename(path, path + ".locked")
print("encrypted", flush=True)
"""


def _run(cmd: list[str]) -> None:
    subprocess.run(cmd, check=True, capture_output=True, timeout=20)


@contextlib.contextmanager
def second_client(srv: SambaServer) -> Iterator[tuple[str, str]]:
    """Another client namespace joined to the server's by its own veth pair: (netns, address).

    smbd listens on its first address only; the server namespace routes the second pair's
    subnet, so this client reaches srv.host from another address."""
    tag = srv.netns.rsplit("-", 1)[1]
    netns, veth_s, veth_c = f"rgf-c2-{tag}", f"rgf2s{tag}", f"rgf2c{tag}"
    subnet = srv.host.split(".")[2]
    here, there = f"10.214.{subnet}.1", f"10.214.{subnet}.2"
    _run(["ip", "netns", "add", netns])
    try:
        _run(["ip", "link", "add", veth_s, "type", "veth", "peer", "name", veth_c])
        _run(["ip", "link", "set", veth_s, "netns", srv.netns])
        _run(["ip", "link", "set", veth_c, "netns", netns])
        _run(["ip", "-n", srv.netns, "addr", "add", f"{here}/30", "dev", veth_s])
        _run(["ip", "-n", netns, "addr", "add", f"{there}/30", "dev", veth_c])
        for ns, dev in ((srv.netns, veth_s), (netns, veth_c)):
            _run(["ip", "-n", ns, "link", "set", dev, "up"])
        _run(["ip", "-n", netns, "link", "set", "lo", "up"])
        _run(["ip", "-n", netns, "route", "add", "default", "via", here])
        yield netns, there
    finally:  # deleting the namespace deletes its end of the pair, and so the pair
        subprocess.run(["ip", "netns", "del", netns], check=False, timeout=20)


def _in(netns: str, cmd: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["ip", "netns", "exec", netns, *cmd],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _put(srv: SambaServer, netns: str, probe: Path, name: str) -> int:
    auth = f"{srv.user}%{srv.password}"
    cmd = ["smbclient", f"//{srv.host}/share", "-U", auth, "-t", "3", "-c", f"put {probe} {name}"]
    return _in(netns, cmd).returncode


def _session(srv: SambaServer, netns: str) -> subprocess.Popen[str]:
    """An interactive smbclient that stays connected, reading commands on stdin."""
    auth = f"{srv.user}%{srv.password}"
    proc = subprocess.Popen(
        ["ip", "netns", "exec", netns, "smbclient", f"//{srv.host}/share", "-U", auth, "-t", "5"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if samba.user_session_pids(srv.user, smbconf=srv.conf, netns=srv.netns):
            return proc
        time.sleep(0.1)
    proc.kill()
    raise AssertionError("smbclient did not open a session")


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root (namespaces, nftables, fanotify)")
def test_one_account_spread_over_two_clients_is_cut_everywhere(tmp_path: Path) -> None:
    with (
        samba_server(fuse=False, prefix="rgf", global_conf="  debug pid = yes\n") as srv,
        second_client(srv) as (netns2, address2),
    ):
        assert srv.client_netns is not None
        build(srv.share_dir / "mairie", 30, 4)
        srv.chown_share()
        docs = sorted(p for p in (srv.share_dir / "mairie").rglob("*.docx"))[:2]
        assert len(docs) == 2
        rempart = str(Path(sys.executable).parent / "rempart")
        config = tmp_path / "guard.toml"
        config.write_text(f'[close-session]\nsmbconf = "{srv.conf}"\n')
        guard = subprocess.Popen(
            [
                *("ip", "netns", "exec", srv.netns, rempart, "guard", str(srv.share_dir)),
                *("--samba-log", str(srv.log), "--db", str(tmp_path / "guard.db")),
                *("--config", str(config)),
                *("--respond", "block-client", "--respond", "close-session", "--no-decoys"),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        output = GuardOutput(guard)
        idle = None
        try:
            first = output.first()
            assert first.startswith("watching"), output.stop()
            # an open session of the account, idle (a user's mapped drive): closed too
            idle = _session(srv, netns2)
            script = tmp_path / "encrypt_one.py"
            script.write_text(ENCRYPT_ONE)
            for netns, doc in ((srv.client_netns, docs[0]), (netns2, docs[1])):
                rel = str(doc.relative_to(srv.share_dir)).replace("/", "\\")
                args = [sys.executable, str(script), srv.host, srv.user, srv.password, rel]
                done = _in(netns, args)
                assert "encrypted" in done.stdout, done.stdout + done.stderr
            probe = tmp_path / "probe.txt"
            probe.write_text("probe")
            blocked = []
            for netns in (srv.client_netns, netns2):  # the block is in place within seconds
                for _ in range(20):
                    if _put(srv, netns, probe, f"probe-{netns}.txt") != 0:
                        blocked.append(netns)
                        break
                    os.unlink(srv.share_dir / f"probe-{netns}.txt")
                    time.sleep(0.5)
            assert blocked == [srv.client_netns, netns2]
            said, _ = idle.communicate(f"put {probe} idle.txt\nquit\n", timeout=30)
            assert not (srv.share_dir / "idle.txt").exists(), said
        finally:
            if idle is not None and idle.poll() is None:
                idle.kill()
            rest = output.stop()
        assert f"ALARM user:{srv.user}" in rest, rest
        assert "ALARM smb-client:" not in rest, rest  # each client alone stayed below
        assert f"blocked {srv.client_address}" in rest and f"blocked {address2}" in rest, rest
        # the idle session at least (an encrypting client's may still be closing)
        closed = re.search(rf"close-session user:{srv.user}: ok closed (\d+) Samba session", rest)
        assert closed is not None and int(closed.group(1)) >= 1, rest
