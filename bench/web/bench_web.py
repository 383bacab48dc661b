"""Benchmark of `rempart serve`: the public status page under load, and the dashboard with 50
signed-in users. The server and the load generator are separate processes on loopback.

    .venv/bin/python bench/web/bench_web.py [--workers 1 2] [--seconds 10]

Builds a throwaway SQLite store (one service, two towns, 50 users, 5 incidents with playbook
tasks and logbook entries, 6 published service statuses), starts `rempart serve`, runs
bench/web/loadgen.py against it and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from rempart.store import open_store
from rempart.workspace import (
    Role,
    incidents,
    logbook,
    passwords,
    status,
    system_actor,
    tasks,
    transaction,
)
from rempart.workspace.orgs import OrgKind, create_org, create_user

HERE = Path(__file__).parent
REMPART = str(Path(sys.executable).with_name("rempart"))
PASSWORD = "Bench-Password-2026!"
USERS = 50


def build(url: str) -> None:
    passwords.configure(time_cost=1, memory_cost=8 * 1024)  # set-up speed: 50 accounts
    engine = open_store(url)
    cli = system_actor()
    with transaction(engine) as s:
        create_org(s, cli, "sdn", "Service numérique", OrgKind.SERVICE)
        create_org(s, cli, "ville-a", "Ville-A", OrgKind.TOWN, parent="sdn")
        create_org(s, cli, "ville-b", "Ville-B", OrgKind.TOWN, parent="sdn")
        create_user(s, cli, "com@a.test", PASSWORD, roles={"ville-a": Role.COMMUNICATIONS})
        create_user(s, cli, "maire@a.test", PASSWORD, roles={"ville-a": Role.OFFICIAL})
        for i in range(USERS):
            role = Role.RESPONDER if i % 2 else Role.VIEWER
            create_user(s, cli, f"user{i}@a.test", PASSWORD, roles={"ville-a": role})
    with transaction(engine) as s:
        for n in range(5):
            inc = incidents.create_incident(
                s,
                cli,
                key=f"inc-{n}",
                title=f"Incident {n}",
                owner="ville-a",
                towns=["ville-a", "ville-b"] if n % 2 else ["ville-a"],
            )
            tasks.instantiate(s, cli, inc.id, "first-hours")
            for e in range(20):
                logbook.append(s, cli, inc.id, f"Entrée {e} de la main courante")
    with transaction(engine) as s:
        for service, level in (
            ("email", status.Level.DOWN),
            ("phones", status.Level.WORKING),
            ("website", status.Level.READ_ONLY),
            ("online_services", status.Level.DOWN),
            ("reception", status.Level.DEGRADED),
            ("schools", status.Level.WORKING),
        ):
            d = status.draft(s, cli, "ville-a", service, level, "Message FR " * 5, "EN msg " * 5)
            status.review(s, cli, d.id, approve=True)
    engine.dispose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(url: str, workers: int, plain: bool = False) -> tuple[subprocess.Popen[bytes], str]:
    """`rempart serve`; `plain`: the same app on uvicorn's pure-Python stack, for comparison."""
    port = free_port()
    cmd = [REMPART, "serve", "--port", str(port), "--db", url, "--workers", str(workers)]
    if plain:
        cmd = [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "rempart.web._serve:from_environment",
            "--port",
            str(port),
            "--http",
            "h11",
            "--loop",
            "asyncio",
            "--no-access-log",
        ]
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "REMPART_DB": url},
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(150):
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=1):
                return proc, base
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the server did not start")


def sign_in(base: str, n: int) -> list[str]:
    cookies = []
    for i in range(n):
        body = json.dumps({"email": f"user{i}@a.test", "password": PASSWORD}).encode()
        req = urllib.request.Request(
            f"{base}/api/login", body, {"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(req, timeout=10) as r:
            cookies.append(f"rempart_session={json.load(r)['token']}")
    return cookies


def load(url: str, connections: int, seconds: float, rate: float = 0, cookies: str = "") -> dict:
    cmd = [
        sys.executable,
        str(HERE / "loadgen.py"),
        url,
        "--connections",
        str(connections),
        "--seconds",
        str(seconds),
        "--rate",
        str(rate),
    ]
    if cookies:
        cmd += ["--cookies", cookies]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=seconds + 60)
    return json.loads(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument(
        "--only", choices=["all", "public", "dashboard"], default="all", help="scenarios to run"
    )
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="rempart-bench-web-") as tmp:
        url = f"sqlite:///{tmp}/store.db"
        build(url)
        for workers in args.workers:
            proc, base = start(url, workers)
            try:
                page = f"{base}/status/ville-a"
                load(page, 8, 2)  # warm-up
                for label, conns, rate in (
                    ("public page, max rate", 16, 0),
                    ("public page, max rate", 64, 0),
                    ("public page, 1,500 req/s offered", 32, 1500),
                ):
                    if args.only != "dashboard":
                        rows.append((workers, label, conns, load(page, conns, args.seconds, rate)))
                if args.only == "public":
                    continue
                jar = Path(tmp) / "cookies.txt"
                jar.write_text("\n".join(sign_in(base, USERS)) + "\n")
                load(f"{base}/", 8, 2, cookies=str(jar))  # warm-up
                for label, rate in (
                    ("dashboard, max rate (no think time)", 0),
                    ("dashboard, 100 req/s offered (2/s per user)", 100),
                    ("dashboard, 200 req/s offered (4/s per user)", 200),
                ):
                    result = load(f"{base}/", USERS, args.seconds, rate, str(jar))
                    rows.append((workers, label, USERS, result))
            finally:
                proc.terminate()
                proc.wait(timeout=20)
        # Comparison: uvicorn's pure-Python HTTP parser and event loop (h11, asyncio).
        if args.only == "dashboard":
            return _report(rows)
        proc, base = start(url, 1, plain=True)
        try:
            page = f"{base}/status/ville-a"
            load(page, 8, 2)
            for label, conns, rate in (
                ("public page, max rate [h11+asyncio]", 16, 0),
                ("public page, 1,500 req/s offered [h11+asyncio]", 32, 1500),
            ):
                rows.append((1, label, conns, load(page, conns, args.seconds, rate)))
        finally:
            proc.terminate()
            proc.wait(timeout=20)
    _report(rows)


def _report(rows: list[tuple[int, str, int, dict]]) -> None:
    print(f"load average (1, 5, 15 min) at the end: {os.getloadavg()}")
    print("| workers | scenario | connections | req/s | p50 ms | p99 ms | max ms | errors |")
    print("|---|---|---|---|---|---|---|---|")
    for workers, label, conns, r in rows:
        print(
            f"| {workers} | {label} | {conns} | {r['rps']:,.0f} | {r['p50_ms']} | "
            f"{r['p99_ms']} | {r['max_ms']} | {r['errors']} |"
        )


if __name__ == "__main__":
    main()
