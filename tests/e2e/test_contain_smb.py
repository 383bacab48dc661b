"""`rempart contain --block-smb-client` against a real smbd: the open session is closed.

The file server is "this machine" (a host with no ssh) standing in smbd's namespace
(--netns); the client is an interactive smbclient in a second namespace, joined by a veth
pair (tests/e2e/_samba.py's two-namespace mode, prefix rk). The block (nftables) and the
session closing are the guard's responders, reused: this checks the contain action drives
them, verifies, and undoes.
"""

from __future__ import annotations

import json
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


def _members(srv: SambaServer, set_name: str) -> list[str]:
    """The addresses in one set of the guard's table at the file server (none: no table)."""
    listing = ["nft", "-j", "list", "set", "inet", "rempart_guard", set_name]
    done = subprocess.run(
        ["ip", "netns", "exec", srv.netns, *listing],
        capture_output=True,
        text=True,
        check=False,
        timeout=10,
    )
    if done.returncode != 0:
        return []
    found = [i["set"].get("elem", []) for i in json.loads(done.stdout)["nftables"] if "set" in i]
    return [str(e) for e in (found[0] if found else [])]


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
        planned = (
            f"add {client} to set blocked4 of table inet rempart_guard (TCP 445, 139: reset); "
            "close its Samba sessions"
        )
        assert planned in capsys.readouterr().out
        assert _cli("contain", "apply", *args, "--yes", *common, *journal) == 0, capsys.readouterr()
        assert "contained" in capsys.readouterr().out
        assert _members(srv, "blocked4") == [client]  # the set the plan named
        # the open session is gone, and the client cannot open another
        assert samba.session_pids(client, smbconf=srv.conf, netns=srv.netns) == []
        out, _ = session.communicate("put /etc/hostname after-block.txt\nquit\n", timeout=20)
        assert not (srv.share_dir / "after-block.txt").exists(), out
        assert blocked_clients(netns=srv.netns) == [client]
        again = _smbclient(srv, "-c", "ls", stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        assert again.wait(20) != 0
        assert _cli("contain", "undo", *common, *journal) == 0
        assert blocked_clients(netns=srv.netns) == []
        assert _members(srv, "blocked4") == []
        back = _smbclient(srv, "-c", "ls", stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        assert back.wait(20) == 0
    finally:
        session.kill()
        session.wait(5)


def test_an_ipv6_client_goes_to_the_ipv6_set_written_as_nftables_writes_it(
    server: SambaServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The plan names the set of the address's family, with the address as nft keeps it (an
    IPv6 address has many spellings): what the plan says is what apply verifies and undo
    lifts."""
    srv = server
    inv = tmp_path / "inv.csv"
    inv.write_text(f"name,address,role\nfs,{srv.host},fileserver\n")
    common = ["--incident", f"rk-smb6-{secrets.token_hex(2)}"]
    common += ["--db", f"sqlite:///{tmp_path / 's.db'}", "--netns", srv.netns]
    assert _cli("contain", "inventory", "import", str(inv), *common[:4]) == 0
    args = ["--block-smb-client", "2001:DB8:0::7", "--at", "fs", *common]
    assert _cli("contain", "plan", *args) == 0
    out = capsys.readouterr().out
    assert "add 2001:db8::7 to set blocked6 of table inet rempart_guard (TCP 445, 139" in out
    try:
        journal = ["--journal", str(tmp_path / "j")]
        assert _cli("contain", "apply", *args, "--yes", *journal) == 0, capsys.readouterr()
        assert "applied and verified" in capsys.readouterr().out
        assert _members(srv, "blocked6") == ["2001:db8::7"]
        assert _cli("contain", "apply", *args, "--yes", *journal) == 0  # already: unchanged
        assert "unchanged" in capsys.readouterr().out
        assert _cli("contain", "undo", *common, *journal) == 0
        assert _members(srv, "blocked6") == []
    finally:
        from rempart.guard.respond.nft import unblock_client

        unblock_client("2001:db8::7", netns=srv.netns)
