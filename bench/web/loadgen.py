"""A small HTTP/1.1 load generator for loopback benchmarks (a separate process from the server).

Keep-alive connections over raw asyncio streams (an HTTP client library would be the
bottleneck on 2 cores). Two modes:
- closed loop (`--rate 0`): each connection sends its next request as soon as the previous
  answer arrives: the highest throughput the server gives at that concurrency;
- fixed rate (`--rate R`): requests are due at R per second in total, and latency counts from
  when a request was due, not when it was sent, so a stalled server is not flattered
  (no coordinated omission).

Prints one JSON object: requests, errors, seconds, rps, p50/p90/p99/max in milliseconds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from urllib.parse import urlsplit


async def _one(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> int:
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    if length:
        await reader.readexactly(length)
    return status


async def _connection(
    host: str,
    port: int,
    request: bytes,
    until: float,
    interval: float,
    offset: float,
    latencies: list[float],
    errors: list[int],
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    due = time.perf_counter() + offset
    try:
        while True:
            now = time.perf_counter()
            if interval:
                if due > now:
                    await asyncio.sleep(due - now)
                start = due
                due += interval
            else:
                start = now
            if start >= until:
                return
            status = await _one(reader, writer, request)
            latencies.append(time.perf_counter() - start)
            if status >= 400:
                errors.append(status)
    finally:
        writer.close()


async def run(
    url: str, connections: int, seconds: float, rate: float, cookies: list[str]
) -> dict[str, float]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    requests = []
    for i in range(connections):
        cookie = f"Cookie: {cookies[i % len(cookies)]}\r\n" if cookies else ""
        requests.append(
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n{cookie}"
            "Accept: text/html\r\n\r\n".encode()
        )
    latencies: list[float] = []
    errors: list[int] = []
    interval = connections / rate if rate else 0.0
    start = time.perf_counter()
    until = start + seconds
    await asyncio.gather(
        *(
            _connection(
                host,
                port,
                requests[i],
                until,
                interval,
                interval * i / connections,
                latencies,
                errors,
            )
            for i in range(connections)
        )
    )
    elapsed = time.perf_counter() - start
    latencies.sort()

    def q(p: float) -> float:
        return round(1000 * latencies[min(int(p * len(latencies)), len(latencies) - 1)], 2)

    return {
        "requests": len(latencies),
        "errors": len(errors),
        "seconds": round(elapsed, 2),
        "rps": round(len(latencies) / elapsed, 1),
        "p50_ms": q(0.50),
        "p90_ms": q(0.90),
        "p99_ms": q(0.99),
        "max_ms": round(1000 * latencies[-1], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("url")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=0.0, help="requests/s in total; 0: max")
    parser.add_argument("--cookies", help="file with one Cookie header value per line")
    args = parser.parse_args()
    if urlsplit(args.url).hostname not in ("127.0.0.1", "localhost", "::1"):
        parser.error("loopback only")
    cookies = []
    if args.cookies:
        with open(args.cookies, encoding="utf-8") as f:
            cookies = [line.strip() for line in f if line.strip()]
    try:
        import uvloop  # noqa: PLC0415  # faster client when installed

        uvloop.install()
    except ImportError:
        pass
    result = asyncio.run(run(args.url, args.connections, args.seconds, args.rate, cookies))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
