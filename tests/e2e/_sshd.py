"""Real OpenSSH servers (sshd -D, own config and host key in a temp dir) inside namespaces."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path


def keygen(path: Path) -> Path:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return path


class Sshd:
    """One sshd per (namespace, address); key auth only, root login by key."""

    def __init__(self, base: Path, client_pubkeys: list[Path]) -> None:
        self.base = base
        base.mkdir(parents=True, exist_ok=True)
        base.chmod(0o700)
        self.host_key = keygen(base / "host_ed25519")
        auth = base / "authorized_keys"
        auth.write_text("".join(p.read_text() for p in client_pubkeys))
        auth.chmod(0o600)
        self.known_hosts = base / "known_hosts"
        self._procs: list[subprocess.Popen[bytes]] = []
        Path("/run/sshd").mkdir(exist_ok=True)  # privilege separation dir

    def start(self, netns: str, address: str) -> None:
        conf = self.base / f"sshd_{address}.conf"
        conf.write_text(
            f"ListenAddress {address}\nPort 22\nHostKey {self.host_key}\n"
            f"PidFile {self.base}/sshd_{address}.pid\n"
            f"AuthorizedKeysFile {self.base}/authorized_keys\n"
            "PermitRootLogin prohibit-password\nPasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\nLogLevel VERBOSE\n"
        )
        log = (self.base / f"sshd_{address}.log").open("wb")
        proc = subprocess.Popen(
            ["ip", "netns", "exec", netns, "/usr/sbin/sshd", "-D", "-e", "-f", str(conf)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self._procs.append(proc)
        pub = " ".join(self.host_key.with_suffix(".pub").read_text().split()[:2])
        with self.known_hosts.open("a") as f:
            f.write(f"{address} {pub}\n")
        self._wait(netns, address)

    def _wait(self, netns: str, address: str, timeout: float = 10) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            done = subprocess.run(
                ["ip", "netns", "exec", netns, "bash", "-c", f"exec 3<>/dev/tcp/{address}/22"],
                capture_output=True,
                check=False,
            )
            if done.returncode == 0:
                return
            time.sleep(0.1)
        raise RuntimeError(f"sshd on {address} did not start")

    def stop(self) -> None:
        for proc in self._procs:
            proc.terminate()
        for proc in self._procs:
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
