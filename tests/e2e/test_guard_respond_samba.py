"""close-session against a real smbd (namespace, full_audit) with a connected smbclient."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from _samba import SambaServer, samba_server  # tests/e2e is on sys.path (rootdir-relative imports)

from rempart.errors import UsageError
from rempart.guard.alarm import Actor, ActorKind, Alarm
from rempart.guard.respond import samba
from rempart.guard.respond.clients import CloseSession


def make_alarm(actor: Actor) -> Alarm:
    return Alarm(actor=actor, at=datetime.now(UTC), score=10.0, reasons=("decoy written: x",))


@pytest.fixture(scope="module")
def server() -> Iterator[SambaServer]:
    with samba_server(fuse=False) as srv:
        yield srv


def connected(srv: SambaServer) -> subprocess.Popen[str]:
    """An interactive smbclient session that stays open, reading commands on stdin."""
    auth = f"{srv.user}%{srv.password}"
    cmd = ["smbclient", "//127.0.0.1/share", "-s", str(srv.conf), "-U", auth, "-t", "5"]
    proc = subprocess.Popen(
        ["ip", "netns", "exec", srv.netns, *cmd],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if samba.session_pids("127.0.0.1", smbconf=srv.conf, netns=srv.netns):
            return proc
        time.sleep(0.1)
    proc.kill()
    raise AssertionError("smbclient did not open a session")


def finish(proc: subprocess.Popen[str], command: str) -> str:
    out, _ = proc.communicate(f"{command}\nquit\n", timeout=15)
    return out


def test_close_sessions_cuts_the_client(server: SambaServer) -> None:
    client = connected(server)
    try:
        before = samba.session_pids("127.0.0.1", smbconf=server.conf, netns=server.netns)
        assert len(before) == 1
        n = samba.close_sessions("127.0.0.1", smbconf=server.conf, netns=server.netns)
        assert n == 1
        assert samba.session_pids("127.0.0.1", smbconf=server.conf, netns=server.netns) == []
        out = finish(client, "put /etc/hostname after-close.txt")
        assert "NT_STATUS_CONNECTION_DISCONNECTED" in out or "NT_STATUS" in out, out
        assert not (server.share_dir / "after-close.txt").exists()
        # nothing left to close
        assert samba.close_sessions("127.0.0.1", smbconf=server.conf, netns=server.netns) == 0
    finally:
        client.kill()
        client.wait(5)


def test_responder_dry_run_then_close_once(server: SambaServer) -> None:
    client = connected(server)
    try:
        responder = CloseSession({"smbconf": str(server.conf), "netns": server.netns})
        alarm: Alarm = make_alarm(Actor(ActorKind.SMB_CLIENT, address="127.0.0.1", user="x"))
        dry = responder.respond(alarm, dry_run=True)
        assert dry.ok and dry.detail.startswith("would close 1 Samba session(s) of 127.0.0.1")
        assert samba.session_pids("127.0.0.1", smbconf=server.conf, netns=server.netns)
        done = responder.respond(alarm, dry_run=False)
        assert done.ok and done.detail == "closed 1 Samba session(s) of 127.0.0.1", done.detail
        again = responder.respond(alarm, dry_run=False)
        assert again.already_done
        assert "NT_STATUS" in finish(client, "ls")
    finally:
        client.kill()
        client.wait(5)


def test_errors(server: SambaServer, tmp_path: object) -> None:
    with pytest.raises(UsageError):
        samba.close_sessions("not-an-address", smbconf=server.conf, netns=server.netns)
    responder = CloseSession({"smbconf": "/nonexistent/smb.conf", "netns": ""})
    resp = responder.respond(
        make_alarm(Actor(ActorKind.SMB_CLIENT, address="10.9.9.9")), dry_run=False
    )
    assert not resp.ok and resp.detail.startswith("sessions not closed")


def test_stop_process_spares_smbd_master_not_the_client_child(server: SambaServer) -> None:
    from rempart.guard.respond.process import StopProcess

    assert server.proc is not None
    responder = StopProcess({"protect_smbd_master": True, "protect": [], "check_command": True})
    master = responder.respond(
        make_alarm(Actor(ActorKind.PROCESS, pid=server.proc.pid)), dry_run=False
    )
    assert not master.ok and "smbd's master process" in master.detail
    client = connected(server)
    try:
        (child,) = samba.session_pids("127.0.0.1", smbconf=server.conf, netns=server.netns)
        resp = responder.respond(make_alarm(Actor(ActorKind.PROCESS, pid=child)), dry_run=False)
        assert resp.ok and resp.detail.startswith("stopped then killed 1 process(es)"), resp.detail
        assert server.proc.poll() is None  # the master still serves everyone else
        assert server.smbclient("ls").returncode == 0
        assert "NT_STATUS" in finish(client, "ls")
    finally:
        client.kill()
        client.wait(5)
