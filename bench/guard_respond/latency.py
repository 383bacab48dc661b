"""Latency of the guard's responders: how long from an alarm to the action taking effect.

    flock /tmp/rempart-bench.lock .venv/bin/python bench/guard_respond/latency.py [--runs 30]

Measures, with real components (root needed):
- stop-process: a tree of 7 processes writing files, frozen and killed (until all are dead);
- block-client: nft block of a new address in a throwaway network namespace (first block
  creates the table), and the "already blocked" answer;
- the dispatcher: handle() of a process alarm with stop-process + record (SQLite) + alert
  (syslog to a local socket), i.e. what the guard waits for before its next event.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from rempart.guard.alarm import Actor, ActorKind, Alarm
from rempart.guard.respond import _procs, build_dispatcher, nft
from rempart.guard.respond.process import StopProcess

WRITER = r"""
import os, subprocess, sys, time
out, depth = sys.argv[1], int(sys.argv[2])
kids = [subprocess.Popen([sys.executable, __file__, out, str(depth + 1)])
        for _ in range(3 if depth == 0 else (1 if depth == 1 else 0))]
with open(os.path.join(out, f"{os.getpid()}.log"), "a") as f:
    while True:
        f.write("x" * 64); f.flush(); time.sleep(0.005)
"""


def alarm(actor: Actor) -> Alarm:
    return Alarm(actor=actor, at=datetime.now(UTC), score=10.0, reasons=("bench",))


def stats(name: str, ms: list[float]) -> str:
    ms = sorted(ms)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    return f"| {name} | {len(ms)} | {statistics.median(ms):.1f} | {p95:.1f} | {max(ms):.1f} |"


def tree(tmp: Path) -> subprocess.Popen[bytes]:
    script, out = tmp / "w.py", tmp / f"out{time.monotonic_ns()}"
    script.write_text(WRITER)
    out.mkdir()
    proc = subprocess.Popen([sys.executable, str(script), str(out), "0"], start_new_session=True)
    while len(list(out.iterdir())) < 7:
        time.sleep(0.01)
    return proc


def bench_stop(runs: int, tmp: Path) -> list[float]:
    out = []
    for _ in range(runs):
        proc = tree(tmp)
        r = StopProcess({"protect_smbd_master": True, "protect": [], "check_command": False})
        t = time.perf_counter()
        resp = r.respond(alarm(Actor(ActorKind.PROCESS, pid=proc.pid)), dry_run=False)
        out.append((time.perf_counter() - t) * 1000)
        assert resp.ok and "7 process" in resp.detail, resp.detail
        proc.wait()
    return out


def bench_block(runs: int) -> tuple[list[float], list[float], float]:
    ns = f"rr-bench-{os.getpid() % 100000}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        t = time.perf_counter()
        nft.block_client("10.99.0.1", netns=ns)
        first = (time.perf_counter() - t) * 1000
        new, again = [], []
        for i in range(runs):
            a = f"10.99.{1 + i // 250}.{1 + i % 250}"
            t = time.perf_counter()
            assert nft.block_client(a, netns=ns)
            new.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            assert not nft.block_client(a, netns=ns)
            again.append((time.perf_counter() - t) * 1000)
        return new, again, first
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False)


def drain(sink: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while True:
            sink.recv(4096)


def bench_dispatch(runs: int, tmp: Path) -> list[float]:
    sock_path = str(tmp / "log.sock")
    sink = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sink.bind(sock_path)
    # a syslog daemon reads its socket: a full one (10 datagrams) would block the alerts
    threading.Thread(target=drain, args=(sink,), daemon=True).start()
    cfg = tmp / "guard.toml"
    cfg.write_text(
        f'[stop-process]\ncheck_command = false\n[alert]\nsyslog_address = "{sock_path}"\n'
    )
    d = build_dispatcher(
        cfg, [], store_url=f"sqlite:///{tmp / 'store.db'}", incident="bench", dry_run=False
    )
    out = []
    try:
        for _ in range(runs):
            proc = subprocess.Popen(["sleep", "30"])
            t = time.perf_counter()
            resps = d.handle(alarm(Actor(ActorKind.PROCESS, pid=proc.pid)))
            out.append((time.perf_counter() - t) * 1000)
            assert all(r.ok for r in resps), resps
            proc.wait()
    finally:
        d.close()
        sink.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=30)
    args = ap.parse_args()
    print(f"load average before: {os.getloadavg()}")
    with tempfile.TemporaryDirectory(prefix="rr-bench-") as d:
        tmp = Path(d)
        stop = bench_stop(args.runs, tmp)
        new, again, first = bench_block(args.runs)
        disp = bench_dispatch(args.runs, tmp)
    print("| measure | runs | median ms | p95 ms | max ms |")
    print("| --- | --- | --- | --- | --- |")
    print(stats("stop-process: freeze + kill a 7-process tree", stop))
    print(stats("block-client: block a new address (table exists)", new))
    print(stats("block-client: already blocked", again))
    print(f"| block-client: first block (creates the table) | 1 | {first:.1f} | | |")
    print(stats("dispatcher.handle: stop-process + record + alert", disp))
    print(f"load average after: {os.getloadavg()}")
    for p in _procs.children(os.getpid()):
        os.kill(p, signal.SIGKILL)


if __name__ == "__main__":
    main()
