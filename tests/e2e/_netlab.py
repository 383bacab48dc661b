"""A small network in namespaces: a LAN (workstation, file server, gateway) and an "internet".

    lab = NetLab(); lab.start()            # always lab.stop() (fixtures do)
    lab.ns["ws"]                          # namespace names, prefix rk-, <= 15 chars
    lab.can_connect("ws", lab.addr("inet"), 80)

The LAN is a bridge in its own namespace; the test process (root namespace) joins it as the
responder through one veth pair (LAN address .5), so it reaches the hosts' sshd directly but
no route to the internet side is added to the root namespace. Every host runs a Python TCP
listener (ports below, IPv4 and IPv6) so probes meet real sockets.

Several labs may run at once (engineers' and CI's pytest runs): the root namespace is the
one thing they share, so each lab takes a LAN /24 of its own in 10.214.10-249.0/24, chosen
under a lock among those no interface of the root namespace uses yet.
"""

from __future__ import annotations

import fcntl
import ipaddress
import random
import secrets
import shutil
import subprocess
import sys

LOCK = "/tmp/rempart-rk-netlab.lock"
INET = "10.214.2.50"  # the "internet" host: only inside the lab's namespaces, never routed here
INET6 = "fd14:214:2::50"
HOSTS = {  # name: (last octet on the LAN, listening ports)
    "ws": (10, (22, 445, 8080)),
    "fs": (20, (22, 139, 445)),
    "gw": (1, (22,)),
}
_LISTENER = """
import selectors, socket, sys
sel = selectors.DefaultSelector()
for port in map(int, sys.argv[1:]):
    s = socket.socket(socket.AF_INET6); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)  # IPv4 and IPv6 alike
    s.bind(("::", port)); s.listen(64); sel.register(s, selectors.EVENT_READ)
print("ready", flush=True)
while True:
    for key, _ in sel.select():
        conn, _ = key.fileobj.accept(); conn.close()
"""


def _ip(*args: str, check: bool = True) -> None:
    subprocess.run(["ip", *args], check=check, capture_output=True)


def missing_requirements() -> str | None:
    import os

    if os.geteuid() != 0:
        return "needs root (network namespaces, nftables, sshd)"
    tools = {
        "ip": "iproute2",
        "nft": "nftables",
        "bash": "bash",
        "timeout": "coreutils",
        "/usr/sbin/sshd": "openssh-server",
        "ssh-keygen": "openssh-client",
        "slapd": "slapd",
        "slappasswd": "slapd",
        "ldapadd": "ldap-utils",
    }
    for tool, package in tools.items():
        if shutil.which(tool) is None:
            return f"{tool} is not installed (Debian package {package})"
    return None


def _octets_in_use() -> set[int]:
    """Third octets of the 10.214.X.0/24 networks the root namespace has addresses in."""
    out = subprocess.run(
        ["ip", "-4", "-o", "addr", "show"], capture_output=True, text=True, check=True
    ).stdout
    used = set()
    for word in out.split():
        if word.startswith("10.214."):
            used.add(int(ipaddress.ip_interface(word).ip.packed[2]))
    return used


class NetLab:
    def __init__(self) -> None:
        tag = secrets.token_hex(2)
        self.tag = tag
        self.ns = {name: f"rk-{name}-{tag}" for name in (*HOSTS, "inet", "lan")}
        self.responder_if = f"rkr-{tag}"
        self.octet = 0  # chosen by start()
        self._listeners: list[subprocess.Popen[bytes]] = []

    @property
    def lan(self) -> str:
        return f"10.214.{self.octet}.0/24"

    @property
    def responder(self) -> str:
        return f"10.214.{self.octet}.5"

    def addr(self, name: str) -> str:
        """A host's IPv4 address (the "internet" host's too)."""
        return INET if name == "inet" else f"10.214.{self.octet}.{HOSTS[name][0]}"

    @staticmethod
    def addr6(name: str) -> str:
        """A host's IPv6 address (IPv6 lives inside the lab only, never in the root ns)."""
        return INET6 if name == "inet" else f"fd14:214:1::{HOSTS[name][0]}"

    def start(self) -> None:
        for ns in self.ns.values():
            _ip("netns", "add", ns)
            _ip("-n", ns, "link", "set", "lo", "up")
        lan = self.ns["lan"]
        _ip("-n", lan, "link", "add", "br0", "type", "bridge")
        _ip("-n", lan, "link", "set", "br0", "up")
        # the responder (root namespace) joins the LAN, on a /24 no other lab holds
        _ip(
            "link", "add", self.responder_if, "type", "veth", "peer", "name", "p-resp", "netns", lan
        )
        with open(LOCK, "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            free = sorted(set(range(10, 250)) - _octets_in_use())
            self.octet = random.choice(free)
            _ip("addr", "add", f"{self.responder}/24", "dev", self.responder_if)
        _ip("link", "set", self.responder_if, "up")
        self._to_bridge("p-resp")
        for name in HOSTS:
            ns = self.ns[name]
            _ip(
                "-n",
                ns,
                "link",
                "add",
                "eth0",
                "type",
                "veth",
                "peer",
                "name",
                f"p-{name}",
                "netns",
                lan,
            )
            _ip("-n", ns, "addr", "add", f"{self.addr(name)}/24", "dev", "eth0")
            _ip("-n", ns, "addr", "add", f"{self.addr6(name)}/64", "dev", "eth0", "nodad")
            _ip("-n", ns, "link", "set", "eth0", "up")
            self._to_bridge(f"p-{name}")
            if name != "gw":
                _ip("-n", ns, "route", "add", "default", "via", self.addr("gw"))
                _ip("-n", ns, "-6", "route", "add", "default", "via", self.addr6("gw"))
        gw, inet = self.ns["gw"], self.ns["inet"]
        _ip("-n", gw, "link", "add", "eth1", "type", "veth", "peer", "name", "eth0", "netns", inet)
        _ip("-n", gw, "addr", "add", "10.214.2.1/24", "dev", "eth1")
        _ip("-n", inet, "addr", "add", f"{INET}/24", "dev", "eth0")
        _ip("-n", gw, "link", "set", "eth1", "up")
        _ip("-n", inet, "link", "set", "eth0", "up")
        _ip("-n", inet, "route", "add", "default", "via", "10.214.2.1")
        _ip("-n", gw, "addr", "add", "fd14:214:2::1/64", "dev", "eth1", "nodad")
        _ip("-n", inet, "addr", "add", f"{INET6}/64", "dev", "eth0", "nodad")
        _ip("-n", inet, "-6", "route", "add", "default", "via", "fd14:214:2::1")
        self.exec("gw", "sysctl", "-qw", "net.ipv4.ip_forward=1")
        self.exec("gw", "sysctl", "-qw", "net.ipv6.conf.all.forwarding=1")
        for name, (_, ports) in HOSTS.items():
            listen = [p for p in ports if p != 22]  # 22 is sshd's, started by the test
            if listen:
                self._listen(name, listen)
        self._listen("inet", [80, 443])

    def _to_bridge(self, ifname: str) -> None:
        _ip("-n", self.ns["lan"], "link", "set", ifname, "master", "br0")
        _ip("-n", self.ns["lan"], "link", "set", ifname, "up")

    def _listen(self, name: str, ports: list[int]) -> None:
        proc = subprocess.Popen(
            [
                "ip",
                "netns",
                "exec",
                self.ns[name],
                sys.executable,
                "-c",
                _LISTENER,
                *map(str, ports),
            ],
            stdout=subprocess.PIPE,
        )
        self._listeners.append(proc)
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == b"ready"

    def exec(self, name: str, *argv: str, stdin: str | None = None) -> str:
        done = subprocess.run(
            ["ip", "netns", "exec", self.ns[name], *argv],
            input=stdin,
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout

    def ruleset(self, name: str) -> str:
        return self.exec(name, "nft", "list", "ruleset")

    def can_connect(self, name: str, address: str, port: int, wait: float = 1.5) -> bool:
        """A real TCP connection from host `name` (True: connected)."""
        done = subprocess.run(
            [
                "ip",
                "netns",
                "exec",
                self.ns[name],
                "timeout",
                str(wait),
                "bash",
                "-c",
                f"exec 3<>/dev/tcp/{address}/{port}",
            ],
            capture_output=True,
            check=False,
        )
        return done.returncode == 0

    def stop(self) -> None:
        for proc in self._listeners:
            proc.kill()
            proc.wait()
        _ip("link", "del", self.responder_if, check=False)  # gone already if its peer's ns was
        for ns in self.ns.values():
            _ip("netns", "del", ns, check=False)

    def can_connect_from_port(
        self, name: str, address: str, port: int, *, source_port: int
    ) -> bool:
        """A TCP connection from host `name` made from a chosen source port (True: connected)."""
        code = (
            "import socket\n"
            "s = socket.socket(); s.settimeout(1.5)\n"
            "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
            f"s.bind(('', {source_port})); s.connect(({address!r}, {port}))\n"
        )
        done = subprocess.run(
            ["ip", "netns", "exec", self.ns[name], sys.executable, "-c", code],
            capture_output=True,
            check=False,
            timeout=10,
        )
        return done.returncode == 0
