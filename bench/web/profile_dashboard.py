"""cProfile of the dashboard through the real server (uvicorn, httptools, uvloop, one process).

    .venv/bin/python bench/web/profile_dashboard.py [--seconds 6] [--top 40]

Builds the benchmark's store, serves it in this process with every thread profiled (the
handlers run in anyio's worker threads, which a plain cProfile of the main thread misses),
drives 50 signed-in users with bench/web/loadgen.py (closed loop) and prints the functions
with the most time, all threads merged.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import uvicorn

sys.path.insert(0, str(Path(__file__).parent))
from bench_web import HERE, USERS, build, free_port, sign_in

from rempart.web._app import create_app

PROFILES: list[cProfile.Profile] = []


def _start_profiling(*_: Any) -> None:
    # First event in a new thread: hand the thread over to its own cProfile.
    profile = cProfile.Profile()
    PROFILES.append(profile)
    profile.enable()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--callers", default="", help="print who calls functions matching this")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="rempart-prof-web-") as tmp:
        url = f"sqlite:///{tmp}/store.db"
        build(url)
        port = free_port()
        config = uvicorn.Config(
            create_app(url), port=port, loop="uvloop", http="httptools", access_log=False
        )
        server = uvicorn.Server(config)
        threading.setprofile(_start_profiling)
        runner = threading.Thread(target=server.run)
        runner.start()
        while not server.started:
            time.sleep(0.05)
        base = f"http://127.0.0.1:{port}"
        jar = Path(tmp) / "cookies.txt"
        jar.write_text("\n".join(sign_in(base, USERS)) + "\n")
        cmd = [sys.executable, str(HERE / "loadgen.py"), f"{base}/", "--connections", str(USERS)]
        cmd += ["--seconds", str(args.seconds), "--cookies", str(jar)]
        for profile in PROFILES:
            profile.clear()
        start = time.process_time()
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        cpu = time.process_time() - start
        server.should_exit = True
        runner.join()
        print(out.strip())
        print(f"server CPU {cpu:.2f} s")
        stats = pstats.Stats(PROFILES[0])
        for profile in PROFILES[1:]:
            stats.add(profile)
        stats.sort_stats("tottime").print_stats(args.top)
        if args.callers:
            stats.print_callers(args.callers)


if __name__ == "__main__":
    main()
