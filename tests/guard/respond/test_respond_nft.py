"""block-client with real nftables, in a pair of network namespaces made for the test.

Server namespace: an echo server on TCP 445 and 8080. Client namespace: connects over a veth.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from rempart.errors import UsageError
from rempart.guard.alarm import Alarm
from rempart.guard.respond import nft
from rempart.guard.respond.clients import BlockClient

SERVER, CLIENT = "10.231.7.1", "10.231.7.2"
SERVER6, CLIENT6 = "fd72:7272::1", "fd72:7272::2"

ECHO = r"""
import selectors, socket, sys
sel = selectors.DefaultSelector()
for port in (445, 8080):
    for fam, host in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if fam == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        s.bind((host, port)); s.listen(16); s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, "listen")
print("ready", flush=True)
while True:
    for key, _ in sel.select():
        if key.data == "listen":
            c, _ = key.fileobj.accept(); sel.register(c, selectors.EVENT_READ, "conn")
        else:
            try:
                data = key.fileobj.recv(4096)
            except OSError:
                data = b""
            if data:
                key.fileobj.sendall(data)
            else:
                sel.unregister(key.fileobj); key.fileobj.close()
"""

# Connect, then echo one byte every 20 ms; prints "up" once, "cut <reason>" when it fails.
HOLD = r"""
import socket, sys, time
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=1)
print("up", flush=True)
try:
    for _ in range(500):
        s.sendall(b"x")
        if s.recv(1) != b"x":
            raise ConnectionError("closed")
        time.sleep(0.02)
    print("still up", flush=True)
except OSError as exc:
    print("cut", type(exc).__name__, flush=True)
"""


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10)


@dataclass
class Pair:
    server: str
    client: str

    def connect(self, host: str, port: int, timeout: float = 1.0) -> str:
        """'ok', 'refused' (TCP reset) or 'timeout', seen from the client namespace."""
        code = (
            "import socket,sys\n"
            "try:\n"
            f"  s=socket.create_connection(({host!r},{port}),timeout={timeout}); s.sendall(b'a')\n"
            "  print('ok' if s.recv(1)==b'a' else 'closed')\n"
            "except ConnectionRefusedError: print('refused')\n"
            "except TimeoutError: print('timeout')\n"
        )
        r = subprocess.run(
            ["ip", "netns", "exec", self.client, sys.executable, "-c", code],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
        return r.stdout.strip()


@pytest.fixture
def pair() -> Iterator[Pair]:
    if os.geteuid() != 0:
        pytest.skip("needs root (network namespaces, nftables)")
    for tool in ("ip", "nft"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} not found (Debian packages iproute2, nftables)")
    tag = secrets.token_hex(3)
    p = Pair(f"rr-s-{tag}", f"rr-c-{tag}")
    made: list[str] = []
    echo = None
    try:
        for ns in (p.server, p.client):
            ip("netns", "add", ns)
            made.append(ns)
            ip("-n", ns, "link", "set", "lo", "up")
        ip(
            "link",
            "add",
            f"rrv-s{tag}",
            "netns",
            p.server,
            "type",
            "veth",
            "peer",
            "name",
            f"rrv-c{tag}",
            "netns",
            p.client,
        )
        for ns, dev, a4, a6 in (
            (p.server, f"rrv-s{tag}", SERVER, SERVER6),
            (p.client, f"rrv-c{tag}", CLIENT, CLIENT6),
        ):
            ip("-n", ns, "addr", "add", f"{a4}/30", "dev", dev)
            ip("-n", ns, "addr", "add", f"{a6}/64", "dev", dev, "nodad")
            ip("-n", ns, "link", "set", dev, "up")
        echo = subprocess.Popen(
            ["ip", "netns", "exec", p.server, sys.executable, "-c", ECHO],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert echo.stdout is not None and echo.stdout.readline().strip() == "ready"
        yield p
    finally:
        if echo is not None:
            echo.kill()
            echo.wait(5)
        for ns in made:
            subprocess.run(["ip", "netns", "del", ns], check=False, capture_output=True)


def test_block_unblock_idempotent(pair: Pair) -> None:
    assert pair.connect(SERVER, 445) == "ok"
    assert nft.blocked_clients(netns=pair.server) == []
    assert nft.block_client(CLIENT, netns=pair.server) is True
    assert nft.block_client(CLIENT, netns=pair.server) is False  # already blocked
    started = time.monotonic()
    assert pair.connect(SERVER, 445) == "refused"  # a TCP reset: fails at once
    assert time.monotonic() - started < 1.0
    assert pair.connect(SERVER, 8080) == "ok"  # SMB ports only
    assert nft.blocked_clients(netns=pair.server) == [CLIENT]
    assert nft.unblock_client(CLIENT, netns=pair.server) is True
    assert nft.unblock_client(CLIENT, netns=pair.server) is False
    assert pair.connect(SERVER, 445) == "ok"


def test_all_ports_drop_and_ipv6(pair: Pair) -> None:
    assert pair.connect(SERVER6, 445) == "ok"
    assert nft.block_client(CLIENT6, netns=pair.server, ports=None, action="drop")
    assert pair.connect(f"{SERVER6}", 8080, timeout=0.5) == "timeout"  # dropped: a hang
    assert pair.connect(SERVER, 8080) == "ok"  # the IPv4 address of the client is not blocked
    # Samba reports IPv4 clients of a dual-stack socket as ::ffff:a.b.c.d
    assert nft.block_client(f"::ffff:{CLIENT}", netns=pair.server)
    assert nft.blocked_clients(netns=pair.server) == [CLIENT, CLIENT6]
    # lifting only the SMB-ports block (what `contain undo` made) leaves an every-port one
    assert nft.block_client(CLIENT6, netns=pair.server) is True
    assert nft.unblock_client(CLIENT6, netns=pair.server, all_ports=False) is True
    assert nft.unblock_client(CLIENT6, netns=pair.server, all_ports=False) is False
    assert pair.connect(f"{SERVER6}", 8080, timeout=0.5) == "timeout"  # still dropped
    assert nft.remove_table(netns=pair.server)
    assert pair.connect(SERVER6, 8080) == "ok"


def test_open_connection_is_cut(pair: Pair) -> None:
    hold = subprocess.Popen(
        ["ip", "netns", "exec", pair.client, sys.executable, "-c", HOLD, SERVER, "445"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert hold.stdout is not None and hold.stdout.readline().strip() == "up"
        nft.block_client(CLIENT, netns=pair.server)
        assert hold.stdout.readline().startswith("cut")  # the next write fails
    finally:
        hold.kill()
        hold.wait(5)


def test_other_tables_untouched(pair: Pair) -> None:
    script = (
        "table inet site { chain input { type filter hook input priority 0; policy accept; }; }\n"
    )
    subprocess.run(
        ["ip", "netns", "exec", pair.server, "nft", "-f", "-"], input=script, text=True, check=True
    )
    nft.block_client(CLIENT, netns=pair.server)
    nft.remove_table(netns=pair.server)
    listed = subprocess.run(
        ["ip", "netns", "exec", pair.server, "nft", "list", "tables"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert listed.split() == ["table", "inet", "site"]


def test_refused_addresses(pair: Pair) -> None:
    for bad, why in [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("0.0.0.0", "unspecified"),
        ("10.231.7.2.9", "not an IP address"),
        ("", "not an IP address"),
    ]:
        with pytest.raises(UsageError, match=why):
            nft.block_client(bad, netns=pair.server)
    with pytest.raises(UsageError, match="never_block"):
        nft.block_client(CLIENT, netns=pair.server, never_block=["10.231.7.0/30"])
    assert nft.blocked_clients(netns=pair.server) == []
    with pytest.raises(UsageError, match="namespace"):
        nft.blocked_clients(netns="bad name; rm")


def test_responder(pair: Pair, alarm_for: Callable[..., Alarm]) -> None:
    options = {
        "never_block": ["10.0.0.5"],
        "ports": [445, 139],
        "all_ports": False,
        "action": "reject",
        "netns": pair.server,
    }
    responder = BlockClient(options)
    dry = responder.respond(alarm_for(address=CLIENT), dry_run=True)
    assert dry.ok and dry.detail.startswith(f"would block {CLIENT} (ports 445,139)")
    assert pair.connect(SERVER, 445) == "ok"
    done = responder.respond(alarm_for(address=CLIENT), dry_run=False)
    assert done.ok and not done.already_done and done.detail.startswith(f"blocked {CLIENT}")
    assert pair.connect(SERVER, 445) == "refused"
    again = responder.respond(alarm_for(address=CLIENT), dry_run=False)
    assert again.already_done and again.detail == done.detail
    refused = responder.respond(alarm_for(address="10.0.0.5"), dry_run=False)
    assert not refused.ok and "never_block" in refused.detail
    loop = responder.respond(alarm_for(address="127.0.0.1"), dry_run=False)
    assert not loop.ok and "loopback" in loop.detail
