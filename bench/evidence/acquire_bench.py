"""Evidence acquisition throughput: rempart's one-pass copy + three digests + read-back check,
beside what a responder does by hand (cp, then sha256sum, sha1sum, md5sum, then sha256sum of
the copy).

    flock /tmp/rempart-bench.lock .venv/bin/python bench/evidence/acquire_bench.py [--mib 1024]

The source is written once and read from the page cache by both (the machine has the memory):
this measures the CPU and copy path, not the disk. fsync is included for both.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from sqlalchemy import insert

from rempart.forensics import evidence
from rempart.store import open_store
from rempart.store.models import Incident


def _source(path: Path, mib: int) -> None:
    block = os.urandom(1 << 20)
    with open(path, "wb") as out:
        for i in range(mib):
            out.write(block[i % 256 :] + block[: i % 256])  # not one repeated MiB


def _timed(fn) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mib", type=int, default=1024)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="rempart-bench-evidence-"))
    try:
        src = tmp / "disk.img"
        _source(src, args.mib)
        engine = open_store(f"sqlite:///{tmp / 'store.db'}")
        with engine.begin() as conn:
            conn.execute(insert(Incident).values(key="bench", title="bench"))
        evidence.create_key(engine, "bench", tmp / "keys")
        signer = evidence.load_signer(engine, "bench", tmp / "keys")
        subprocess.run(["cat", str(src)], stdout=subprocess.DEVNULL, check=True)  # warm cache
        size = src.stat().st_size

        def rempart_copy() -> None:
            evidence.acquire(engine, src, incident="bench", description="b", signer=signer,
                             locker=tmp / "locker", again=True)  # fmt: skip

        def rempart_in_place() -> None:
            evidence.acquire(engine, src, incident="bench", description="b", signer=signer,
                             locker=tmp / "locker", in_place=True, again=True)  # fmt: skip

        def by_hand() -> None:
            dst = tmp / "manual.img"
            dst.unlink(missing_ok=True)
            subprocess.run(["cp", str(src), str(dst)], check=True)
            subprocess.run(["sync", str(dst)], check=True)
            for tool in ("sha256sum", "sha1sum", "md5sum"):
                subprocess.run([tool, str(src)], stdout=subprocess.DEVNULL, check=True)
            subprocess.run(["sha256sum", str(dst)], stdout=subprocess.DEVNULL, check=True)

        def hashes_by_hand() -> None:
            for tool in ("sha256sum", "sha1sum", "md5sum"):
                subprocess.run([tool, str(src)], stdout=subprocess.DEVNULL, check=True)

        print(f"source: {size / (1 << 20):.0f} MiB, load: {os.getloadavg()[0]:.2f}")
        for name, fn in (
            ("rempart add (copy, 3 digests, fsync, read-back)", rempart_copy),
            ("by hand: cp, sync, sha256sum+sha1sum+md5sum, sha256sum of copy", by_hand),
            ("rempart add --in-place (3 digests, one read)", rempart_in_place),
            ("by hand: sha256sum, sha1sum, md5sum (three reads)", hashes_by_hand),
        ):
            times = []
            for _ in range(args.runs):
                times.append(_timed(fn))
                shutil.rmtree(tmp / "locker", ignore_errors=True)
            best = min(times)
            print(f"{name}: best {best:.2f} s of {args.runs} ({size / best / (1 << 20):.0f} MiB/s)")
        print(f"load after: {os.getloadavg()[0]:.2f}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
