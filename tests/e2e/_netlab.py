"""A small network in namespaces: a LAN (workstation, file server, gateway) and an "internet".

    lab = NetLab(); lab.start()            # always lab.stop() (fixtures do)
    lab.ns["ws"]                          # namespace names, prefix rk-, <= 15 chars
    lab.can_connect("ws", "10.214.2.50", 80)

The LAN is a bridge in its own namespace; the test process (root namespace) joins it as the
responder through one veth pair (10.214.1.5), so it reaches the hosts' sshd directly but no
route to the internet side is added to the root namespace. Every host runs a Python TCP
listener (ports below) so probes meet real sockets.
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
import sys

RESPONDER = "10.214.1.5"
HOSTS = {  # name: (address, gateway or None, listening ports)
    "ws": ("10.214.1.10", "10.214.1.1", (22, 445, 8080)),
    "fs": ("10.214.1.20", "10.214.1.1", (22, 139, 445)),
    "gw": ("10.214.1.1", None, (22,)),
    "inet": ("10.214.2.50", "10.214.2.1", (80, 443)),
}
_LISTENER = """
import selectors, socket, sys
sel = selectors.DefaultSelector()
for port in map(int, sys.argv[1:]):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port)); s.listen(64); sel.register(s, selectors.EVENT_READ)
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


class NetLab:
    def __init__(self) -> None:
        tag = secrets.token_hex(2)
        self.tag = tag
        self.ns = {name: f"rk-{name}-{tag}" for name in (*HOSTS, "lan")}
        self.responder_if = f"rkr-{tag}"
        self._listeners: list[subprocess.Popen[bytes]] = []

    def start(self) -> None:
        for ns in self.ns.values():
            _ip("netns", "add", ns)
            _ip("-n", ns, "link", "set", "lo", "up")
        lan = self.ns["lan"]
        _ip("-n", lan, "link", "add", "br0", "type", "bridge")
        _ip("-n", lan, "link", "set", "br0", "up")
        # the responder (root namespace) joins the LAN
        _ip(
            "link", "add", self.responder_if, "type", "veth", "peer", "name", "p-resp", "netns", lan
        )
        _ip("addr", "add", f"{RESPONDER}/24", "dev", self.responder_if)
        _ip("link", "set", self.responder_if, "up")
        self._to_bridge("p-resp")
        for name in ("ws", "fs", "gw"):
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
            _ip("-n", ns, "addr", "add", f"{HOSTS[name][0]}/24", "dev", "eth0")
            _ip("-n", ns, "link", "set", "eth0", "up")
            self._to_bridge(f"p-{name}")
            if HOSTS[name][1]:
                _ip("-n", ns, "route", "add", "default", "via", HOSTS[name][1])
        gw, inet = self.ns["gw"], self.ns["inet"]
        _ip("-n", gw, "link", "add", "eth1", "type", "veth", "peer", "name", "eth0", "netns", inet)
        _ip("-n", gw, "addr", "add", "10.214.2.1/24", "dev", "eth1")
        _ip("-n", inet, "addr", "add", "10.214.2.50/24", "dev", "eth0")
        _ip("-n", gw, "link", "set", "eth1", "up")
        _ip("-n", inet, "link", "set", "eth0", "up")
        _ip("-n", inet, "route", "add", "default", "via", "10.214.2.1")
        self.exec("gw", "sysctl", "-qw", "net.ipv4.ip_forward=1")
        for name, (_, _, ports) in HOSTS.items():
            listen = [p for p in ports if p != 22]  # 22 is sshd's, started by the test
            if listen:
                self._listen(name, listen)

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
