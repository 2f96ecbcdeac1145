"""Webhook receiver throughput and latency with the worker down, against a bare endpoint.

Starts the app under waitress (8 threads) or gunicorn (2 workers, 4 threads each) on
127.0.0.1 in child processes, with the real Huey enqueue going to a SQLite queue that nobody
consumes (the worker is down), and drives it from this process over keep-alive connections:

1. closed loop, ``--concurrency`` clients: a bare endpoint that only answers 200, and signed
   WooCommerce deliveries (the recorded ``order_created`` body, each with its own resource
   id), alternating in ``--rounds`` slices: requests/s and p50/p99 of each, the ratio, and
   the server's CPU time per request (its processes' user + system time, from /proc), which
   a shared machine's load disturbs less than the rates;
2. open loop at ``--rate`` deliveries/s for ``--seconds``: p50/p99 at that load.

``--repeat N`` measures both N times on the same server, one line each with the load average,
and ends with the medians.

    .venv/bin/python bench/webhooks.py [--server gunicorn] [--repeat 3] [--url postgresql+psycopg://...]

Without --url it runs on a new SQLite file in a temporary folder. With --url the tables are
created if missing and a bench connection is added: point it at a scratch database.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import http.client
import json
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SECRET = "bench-webhook-secret"
SAMPLE = ROOT / "tests" / "recordings" / "woocommerce" / "webhooks" / "order_created.json"


def setup(url: str, key: str) -> None:
    """Create the tables if missing and the WooCommerce connection deliveries go to."""
    from core.crypto import encrypt
    from core.db import Database
    from core.models import ShopConnection
    from glue.schema import metadata

    database = Database(url)
    metadata.create_all(database.engine)
    with database.transaction() as session:
        session.add(ShopConnection(key=key, platform="woocommerce", shop="https://bench.test",
                                   status="active", credentials=encrypt(json.dumps(
                                       {"webhook_secret": SECRET}))))
    database.dispose()


def make_app(url: str | None = None, queue_dir: str | None = None):  # noqa: ANN201
    """The app with the real Huey enqueue into an unconsumed SqliteHuey, plus ``/bare``.
    Gunicorn calls it with no arguments and reads them from the environment."""
    import logging
    import os

    from flask import Response
    from huey import SqliteHuey

    from core.db import Database
    from glue import worker
    from web.app import create_app

    url = url or os.environ["GLUE_BENCH_URL"]
    queue_dir = queue_dir or os.environ["GLUE_BENCH_QUEUE_DIR"]
    logging.disable(logging.INFO)
    database = Database(url)
    worker.use_huey(SqliteHuey("bench", filename=f"{queue_dir}/huey.db", results=False,
                               fsync=False))  # as glue.worker.build_huey
    app = create_app(database=database)  # the receiver builds its spine as in production
    app.add_url_rule("/bare", "bare", lambda: Response(status=200), methods=["POST"])
    return app


def serve_waitress(url: str, port: int, queue_dir: str) -> None:
    import waitress

    waitress.serve(make_app(url, queue_dir), host="127.0.0.1", port=port, threads=8,
                   ident="bench")


def server_cpu(root: int) -> float:
    """CPU seconds (user + system) used so far by process ``root`` and its children: the
    gunicorn workers, or the waitress process. Under a shared machine's load this stays
    comparable between runs when rates do not."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue  # the process ended meanwhile
        if int(stat.parent.name) == root or int(fields[1]) == root:
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def start_server(server: str, url: str, port: int,
                 queue_dir: str) -> tuple[Callable[[], None], int]:
    """Start the server in child processes; returns the function that stops it and the pid
    whose process tree serves."""
    if server == "gunicorn":
        env = {**os.environ, "GLUE_BENCH_URL": url, "GLUE_BENCH_QUEUE_DIR": queue_dir}
        child = subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), "-w", "2", "-k", "gthread",
             "--threads", "4", "-b", f"127.0.0.1:{port}", "--log-level", "warning",
             "bench.webhooks:make_app()"], cwd=ROOT, env=env)

        def stop() -> None:
            child.terminate()
            child.wait(10)

        return stop, child.pid
    process = multiprocessing.get_context("spawn").Process(
        target=serve_waitress, args=(url, port, queue_dir), daemon=True)
    process.start()

    def stop_waitress() -> None:
        process.terminate()
        process.join()

    return stop_waitress, process.pid


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("the server did not start")


def deliveries(n: int, start: int) -> list[tuple[bytes, dict[str, str]]]:
    body = json.loads(SAMPLE.read_text())["body"]
    out = []
    for i in range(start, start + n):
        data = body.replace('{"id":29,', f'{{"id":{i},', 1).encode()
        signature = base64.b64encode(hmac.new(SECRET.encode(), data, hashlib.sha256).digest())
        out.append((data, {"Content-Type": "application/json",
                           "X-WC-Webhook-Topic": "order.created", "X-WC-Webhook-ID": "1",
                           "X-WC-Webhook-Signature": signature.decode()}))
    return out


def closed_loop(port: int, path: str, items: list[tuple[bytes, dict[str, str]]],
                concurrency: int) -> tuple[float, list[float]]:
    latencies: list[float] = []
    failures: list[int] = []
    lock = threading.Lock()
    chunks = [items[i::concurrency] for i in range(concurrency)]

    def client(chunk: list[tuple[bytes, dict[str, str]]]) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine = []
        for body, headers in chunk:
            started = time.perf_counter()
            conn.request("POST", path, body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            mine.append(time.perf_counter() - started)
            if response.status != 200:
                failures.append(response.status)
                return
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(c,)) for c in chunks]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise SystemExit(f"{path} answered {sorted(set(failures))}: the numbers would be void")
    return len(items) / (time.perf_counter() - started), latencies


def open_loop(port: int, path: str, items: list[tuple[bytes, dict[str, str]]],
              rate: float) -> list[float]:
    """Send at a fixed rate regardless of answers (8 senders), measuring each latency."""
    latencies: list[float] = []
    lock = threading.Lock()
    senders = 8
    t0 = time.perf_counter() + 0.2

    def sender(index: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for n in range(index, len(items), senders):
            due = t0 + n / rate
            time.sleep(max(0.0, due - time.perf_counter()))
            body, headers = items[n]
            conn.request("POST", path, body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            # measured from when it was due, so a backlog shows as latency
            with lock:
                latencies.append(time.perf_counter() - due)

    threads = [threading.Thread(target=sender, args=(i,)) for i in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[q - 1] * 1000 if len(values) > 1 else 0.0


def measure(port: int, path: str, args: argparse.Namespace, root: int,
            series: int) -> dict[str, float]:
    """One closed-loop measurement: --rounds alternating bare/delivery slices, then the open
    loop. Also the server's CPU per request for each, which the shared machine's load
    disturbs far less than the rates."""
    bare_time = hook_time = bare_cpu = hook_cpu = 0.0
    bare_lat: list[float] = []
    hook_lat: list[float] = []
    size = max(1, args.n // args.rounds)
    base = 100_000_000 * (series + 1)
    for r in range(args.rounds):
        cpu = server_cpu(root)
        rate, lat = closed_loop(port, "/bare", deliveries(size, base + r * size),
                                args.concurrency)
        bare_cpu += server_cpu(root) - cpu
        bare_time, bare_lat = bare_time + size / rate, bare_lat + lat
        cpu = server_cpu(root)
        rate, lat = closed_loop(port, path, deliveries(size, base + 10_000_000 + r * size),
                                args.concurrency)
        hook_cpu += server_cpu(root) - cpu
        hook_time, hook_lat = hook_time + size / rate, hook_lat + lat
    fixed = open_loop(port, path, deliveries(int(args.rate * args.seconds),
                                             base + 20_000_000), args.rate)
    total = size * args.rounds
    return {"bare": total / bare_time, "hook": total / hook_time,
            "ratio": bare_time / hook_time,
            "bare_p50": pct(bare_lat, 50), "bare_p99": pct(bare_lat, 99),
            "hook_p50": pct(hook_lat, 50), "hook_p99": pct(hook_lat, 99),
            "bare_cpu": bare_cpu / total * 1000, "hook_cpu": hook_cpu / total * 1000,
            "fixed_p50": pct(fixed, 50), "fixed_p99": pct(fixed, 99),
            "load": os.getloadavg()[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="")
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=5,
                        help="alternating bare/delivery slices the --n requests are split into")
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--repeat", type=int, default=1,
                        help="measurements on the same server; the summary gives medians")
    parser.add_argument("--server", choices=["waitress", "gunicorn"], default="waitress",
                        help="waitress with 8 threads, or gunicorn with 2 workers x 4 threads")
    args = parser.parse_args()
    # The parent (which encrypts the bench connection's secret) and the server children must
    # derive the same key, whatever their working folders.
    os.environ.setdefault("GLUE_SECRET_KEY", "bench-secret-key-not-for-production")
    database = "PostgreSQL" if args.url.startswith("postgresql") else "SQLite"
    server = ("waitress 8 threads" if args.server == "waitress"
              else "gunicorn 2 workers x 4 threads")
    print(f"webhook receiver, {server}, {database}, worker down, {args.concurrency} clients, "
          f"{args.n} requests of each per measurement")
    print("       bare req/s  p50/p99 ms  cpu ms | deliveries/s  p50/p99 ms  cpu ms | ratio | "
          f"at {args.rate:.0f}/s p50/p99 ms | load")
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        url = args.url or f"sqlite:///{tmp}/bench.db"
        port, key = free_port(), f"bench-{uuid.uuid4().hex[:8]}"
        setup(url, key)
        stop, root = start_server(args.server, url, port, tmp)
        try:
            wait_for(port)
            path = f"/webhooks/woocommerce/{key}"
            # warm both paths: imports, pools, the connection's decrypted secret
            closed_loop(port, "/bare", deliveries(200, 1_000_000), args.concurrency)
            closed_loop(port, path, deliveries(200, 2_000_000), args.concurrency)
            for series in range(args.repeat):
                m = measure(port, path, args, root, series)
                results.append(m)
                print(f"  #{series + 1:<3} {m['bare']:6.0f} "
                      f"{m['bare_p50']:5.1f}/{m['bare_p99']:5.1f} {m['bare_cpu']:6.2f} | "
                      f"{m['hook']:8.0f} "
                      f"{m['hook_p50']:5.1f}/{m['hook_p99']:5.1f} {m['hook_cpu']:6.2f} | "
                      f"{m['ratio']:.2f} | {m['fixed_p50']:5.1f}/{m['fixed_p99']:5.1f} | "
                      f"{m['load']:.1f}", flush=True)
        finally:
            stop()

    def median(name: str) -> float:
        return statistics.median(m[name] for m in results)

    print(f"median of {len(results)}: ratio {median('ratio'):.2f} "
          f"(bare {median('bare'):.0f} req/s, deliveries {median('hook'):.0f}/s; server CPU "
          f"{median('bare_cpu'):.2f} / {median('hook_cpu'):.2f} ms per request); "
          f"at {args.rate:.0f}/s p50 {median('fixed_p50'):.1f} ms, p99 "
          f"{median('fixed_p99'):.1f} ms; load average {median('load'):.1f}")


if __name__ == "__main__":
    main()
