"""Timings of rempart contain on the namespace lab: plan, apply (+verify), re-apply, undo.

Run as root: `flock /tmp/rempart-bench.lock .venv/bin/python bench/contain/bench_contain.py`.
The lab (3 hosts over real sshd, one gateway, one "internet" host) comes from the e2e helpers.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))

from _netlab import NetLab  # noqa: E402
from _sshd import Sshd, keygen  # noqa: E402

from rempart.cli import main  # noqa: E402
from rempart.contain.nft import isolate_rules  # noqa: E402


def timed(label: str, argv: list[str], rounds: int = 3) -> None:
    best = float("inf")
    for _ in range(rounds):
        t = time.perf_counter()
        rc = main(argv)
        best = min(best, time.perf_counter() - t)
        assert rc in (0, 1), (label, rc)
    print(f"| {label} | {best:.2f} s |")


def main_bench() -> None:
    base = Path(tempfile.mkdtemp(prefix="rk-bench-"))
    key = keygen(base / "client")
    net, sshd = NetLab(), Sshd(base / "ssh", [key.with_suffix(".pub")])
    try:
        net.start()
        for name in ("ws", "fs", "gw"):
            sshd.start(net.ns[name], net.addr(name))
        inv = base / "inv.csv"
        inv.write_text(
            "name,address,role,groups,ssh,management\n"
            + "".join(
                f"{n},{net.addr(n)},{n},{'lan' if n != 'gw' else ''},root@{net.addr(n)},\n"
                for n in ("ws", "fs", "gw")
            )
        )
        db = f"sqlite:///{base / 's.db'}"
        main(["contain", "inventory", "import", str(inv), "--incident", "b", "--db", db])
        common = [
            "--incident",
            "b",
            "--db",
            db,
            "--ssh-key",
            str(key),
            "--known-hosts",
            str(sshd.known_hosts),
            "--journal",
            str(base / "j"),
            "--json",
        ]
        iso = ["--isolate", "ws", "--isolate", "fs"]
        print("| step (2 hosts isolated over SSH) | best of 3 |\n| --- | --- |")
        timed("plan", ["contain", "plan", *iso, *common[:-3]])
        best_apply = best_again = best_undo = float("inf")
        for _ in range(3):
            t = time.perf_counter()
            main(["contain", "apply", *iso, "--yes", *common])
            best_apply = min(best_apply, time.perf_counter() - t)
            t = time.perf_counter()
            main(["contain", "apply", *iso, "--yes", *common])
            best_again = min(best_again, time.perf_counter() - t)
            t = time.perf_counter()
            main(["contain", "undo", *[c for c in common if c != "--json"], "--json"])
            best_undo = min(best_undo, time.perf_counter() - t)
        print(f"| apply + verify + confirm | {best_apply:.2f} s |")
        print(f"| apply again (idempotent, nothing changes) | {best_again:.2f} s |")
        print(f"| undo (byte-for-byte restore) | {best_undo:.2f} s |")
        t = time.perf_counter()
        text = isolate_rules([f"10.{i // 250}.{i % 250}.1" for i in range(5000)])
        print(
            f"| isolate rules for a 5,000-address allowlist | "
            f"{(time.perf_counter() - t) * 1000:.0f} ms, {len(text) // 1024} KiB |"
        )
    finally:
        sshd.stop()
        net.stop()


if __name__ == "__main__":
    main_bench()
