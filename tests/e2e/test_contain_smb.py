"""`rempart contain --block-smb-client` against a real smbd: the open session is closed.

The file server is "this machine" (a host with no ssh) standing in smbd's namespace
(--netns); the client is an interactive smbclient in a second namespace, joined by a veth
pair (tests/e2e/_samba.py's two-namespace mode, prefix rk). The block (nftables) and the
session closing are the guard's responders, reused: this checks the contain action drives
them, verifies, and undoes.
"""

from __future__ import annotations

import secrets
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from _samba import SambaServer, samba_server  # tests/e2e is on sys.path

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server() -> Iterator[SambaServer]:
    with samba_server(fuse=False, prefix="rk") as srv:
        yield srv


def _smbclient(srv: SambaServer, *args: str, **kw: object) -> subprocess.Popen[str]:
    auth = f"{srv.user}%{srv.password}"
    cmd = ["smbclient", f"//{srv.host}/share", "-s", str(srv.conf), "-U", auth, "-t", "5"]
    return srv.client_popen([*cmd, *args], text=True, **kw)


def _cli(*argv: str) -> int:
    from rempart.cli import main

    return main(list(argv))


def test_block_smb_client_closes_its_open_session_then_undo_lets_it_back(
    server: SambaServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from rempart.guard.respond import samba
    from rempart.guard.respond.nft import blocked_clients

    srv, client = server, server.client_address
    session = _smbclient(
        srv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 10
        while not samba.session_pids(client, smbconf=srv.conf, netns=srv.netns):
            assert time.monotonic() < deadline, "smbclient did not open a session"
            time.sleep(0.1)
        inv = tmp_path / "inv.csv"
        inv.write_text(f"name,address,role\nfs,{srv.host},fileserver\n")
        incident = f"rk-smb-{secrets.token_hex(2)}"
        common = ["--incident", incident, "--db", f"sqlite:///{tmp_path / 's.db'}"]
        common += ["--netns", srv.netns]
        journal = ["--journal", str(tmp_path / "j")]
        assert _cli("contain", "inventory", "import", str(inv), *common[:4]) == 0
        args = ["--block-smb-client", client, "--at", "fs", "--smbconf", str(srv.conf)]
        assert _cli("contain", "plan", *args, *common) == 0
        assert "close its Samba sessions" in capsys.readouterr().out
        assert _cli("contain", "apply", *args, "--yes", *common, *journal) == 0, capsys.readouterr()
        assert "contained" in capsys.readouterr().out
        # the open session is gone, and the client cannot open another
        assert samba.session_pids(client, smbconf=srv.conf, netns=srv.netns) == []
        out, _ = session.communicate("put /etc/hostname after-block.txt\nquit\n", timeout=20)
        assert not (srv.share_dir / "after-block.txt").exists(), out
        assert blocked_clients(netns=srv.netns) == [client]
        again = _smbclient(srv, "-c", "ls", stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        assert again.wait(20) != 0
        assert _cli("contain", "undo", *common, *journal) == 0
        assert blocked_clients(netns=srv.netns) == []
        back = _smbclient(srv, "-c", "ls", stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        assert back.wait(20) == 0
    finally:
        session.kill()
        session.wait(5)
