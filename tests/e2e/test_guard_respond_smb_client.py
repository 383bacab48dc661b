"""block-client then close-session against a real SMB client in another network namespace.

smbd (Debian's samba, vfs_full_audit) runs in its namespace and listens on all its addresses;
the client namespace reaches it over a veth pair. An interactive smbclient session is open
when the alarm comes: after the response, its next write fails, a new connection fails at
once (TCP reset), and lifting the block lets it work again.
"""

from __future__ import annotations

import secrets
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from _samba import SambaServer, missing_requirements  # tests/e2e is on sys.path

from rempart.guard.alarm import Actor, ActorKind, Alarm
from rempart.guard.respond import build_dispatcher, nft, samba

SERVER, CLIENT = "10.231.8.1", "10.231.8.2"


class ReachableSamba(SambaServer):
    """The harness's smbd, listening on every address of its namespace (not only lo)."""

    def _config(self) -> str:
        return super()._config().replace("bind interfaces only = yes", "bind interfaces only = no")


@dataclass
class Lab:
    srv: SambaServer
    client_ns: str

    def smbclient(self, command: str, timeout: float = 20) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["ip", "netns", "exec", self.client_ns, *self.argv(), "-c", command],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def argv(self) -> list[str]:
        auth = f"{self.srv.user}%{self.srv.password}"
        return ["smbclient", f"//{SERVER}/share", "-s", str(self.srv.conf), "-U", auth, "-t", "5"]


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10)


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    why = missing_requirements(fuse=False)
    if why:
        pytest.skip(why)
    srv = ReachableSamba(Path(tempfile.mkdtemp(prefix="rempart-smb-")))
    tag = secrets.token_hex(3)
    client_ns = f"rr-smbc-{tag}"
    try:
        srv.start()
        ip("netns", "add", client_ns)
        ip("-n", client_ns, "link", "set", "lo", "up")
        ip(
            "link",
            "add",
            f"rrs{tag}",
            "netns",
            srv.netns,
            "type",
            "veth",
            "peer",
            "name",
            f"rrc{tag}",
            "netns",
            client_ns,
        )
        ip("-n", srv.netns, "addr", "add", f"{SERVER}/30", "dev", f"rrs{tag}")
        ip("-n", client_ns, "addr", "add", f"{CLIENT}/30", "dev", f"rrc{tag}")
        ip("-n", srv.netns, "link", "set", f"rrs{tag}", "up")
        ip("-n", client_ns, "link", "set", f"rrc{tag}", "up")
        yield Lab(srv, client_ns)
    finally:
        subprocess.run(["ip", "netns", "del", client_ns], check=False, capture_output=True)
        srv.stop()


def test_block_and_close_cut_the_client(lab: Lab, tmp_path: Path) -> None:
    upload = tmp_path / "note.txt"
    upload.write_text("ordinary document\n")
    assert lab.smbclient(f"put {upload} before.txt").returncode == 0
    session = subprocess.Popen(
        ["ip", "netns", "exec", lab.client_ns, *lab.argv()],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 10
        while not samba.session_pids(CLIENT, smbconf=lab.srv.conf, netns=lab.srv.netns):
            assert time.monotonic() < deadline, "the client's session did not open"
            time.sleep(0.1)
        config = tmp_path / "guard.toml"
        config.write_text(
            f'[block-client]\nnetns = "{lab.srv.netns}"\n'
            f'[close-session]\nnetns = "{lab.srv.netns}"\nsmbconf = "{lab.srv.conf}"\n'
        )
        d = build_dispatcher(
            config, [], store_url=f"sqlite:///{tmp_path / 's.db'}", incident=None, dry_run=False
        )
        alarm = Alarm(
            actor=Actor(ActorKind.SMB_CLIENT, address=CLIENT, user=lab.srv.user),
            at=datetime.now(UTC),
            score=20.0,
            reasons=("decoy written: .0000-rempart.docx",),
        )
        try:
            started = time.monotonic()
            out = d.handle(alarm)
            took = time.monotonic() - started
        finally:
            d.close()
        assert [(r.responder, r.ok) for r in out] == [
            ("block-client", True),
            ("close-session", True),
            ("record", True),
        ], out
        assert out[1].detail == f"closed 1 Samba session(s) of {CLIENT}"
        assert took < 3.0
        said, _ = session.communicate(f"put {upload} after.txt\nquit\n", timeout=30)
        # the open session's next write fails (or smbclient already died of the reset)
        assert "NT_STATUS" in said or session.returncode != 0, (session.returncode, said)
        assert not (lab.srv.share_dir / "after.txt").exists()

        started = time.monotonic()
        again = lab.smbclient(f"put {upload} again.txt")
        assert again.returncode != 0  # a new connection is refused...
        assert time.monotonic() - started < 4  # ...at once (TCP reset), not after a timeout
        assert not (lab.srv.share_dir / "again.txt").exists()

        assert nft.unblock_client(CLIENT, netns=lab.srv.netns)
        assert lab.smbclient(f"put {upload} unblocked.txt").returncode == 0
        assert (lab.srv.share_dir / "unblocked.txt").exists()
    finally:
        session.kill()
        session.wait(5)
