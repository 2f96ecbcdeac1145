"""The v3 API through HTTP: PUT /inventory throughput and GET /inventory page latency.

A waitress server on 127.0.0.1 (in a thread of this process) serves the real app; a
``requests`` client authenticates at /auth/token like any integration and then

1. upserts N products (each with a balance in the supplier's public catalog) with PUT
   /inventory in requests of 2,000 items: products per second, target >= 3,000/s on SQLite;
2. reads ``GET /inventory?catalogExternalId=..&size=2000`` page by page, by page number and by
   the ``page.next`` cursor, several rounds: p50/p99 per page, and the first pages against the
   last ones (keyset paging, core.keyset: the last page must cost what the first does).

    .venv/bin/python bench/api.py [--n 100000] [--rounds 3] [--url postgresql+psycopg://...]
                                  [--no-sqlite]

Without --url it runs on a new SQLite file in a temporary folder. With --url the database's
tables are dropped and created again: point it at a scratch database only.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests
from waitress.server import create_server

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.products import BATCH, item, setup  # noqa: E402
from core.api_accounts import create_api_account  # noqa: E402
from core.db import Database  # noqa: E402
from core.principal import SYSTEM  # noqa: E402
from web.app import create_app  # noqa: E402

FIRST_LAST = 5  # pages compared at each end


def serve(db: Database) -> tuple[str, object]:
    """The app on a free loopback port in a daemon thread; returns its base URL and server."""
    server = create_server(create_app(database=db), host="127.0.0.1", port=0, threads=4,
                           max_request_body_size=128 * 1024 * 1024)
    threading.Thread(target=server.run, daemon=True).start()
    return f"http://127.0.0.1:{server.effective_port}", server


def login(db: Database, base: str) -> requests.Session:
    with db.transaction() as session:
        from core.models import Organization

        supplier = session.query(Organization).filter_by(business_id="1234567-1").one()
        account, secret = create_api_account(session, SYSTEM, organization_id=supplier.id,
                                             name="bench")
        name = account.account
    http = requests.Session()
    answer = http.get(f"{base}/auth/token", auth=(name, secret), timeout=30)
    answer.raise_for_status()
    http.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"
    return http


def put_inventory(http: requests.Session, base: str, catalog: str, n: int,
                  ) -> tuple[float, float]:
    """Products per second for N products in PUT requests of 2,000 (JSON encoding included),
    of wall time and of this process's CPU time (client and server; the latter does not drop
    when other work shares the machine, and PostgreSQL's own CPU is not in it)."""
    started, cpu = time.perf_counter(), time.process_time()
    for start in range(0, n, BATCH):
        items = [item(i, catalog, 5) for i in range(start, min(start + BATCH, n))]
        answer = http.put(f"{base}/ecommerce/v3/inventory", json=items, timeout=300)
        answer.raise_for_status()
        if answer.json():
            raise SystemExit(f"unexpected failures: {answer.json()[:3]}")
    return n / (time.perf_counter() - started), n / (time.process_time() - cpu)


def read_pages(http: requests.Session, base: str, catalog: str, n: int,
               rounds: int) -> tuple[dict[int, list[float]], list[float]]:
    """Seconds per page by number (every page, ``rounds`` times) and per page by cursor."""
    url = f"{base}/ecommerce/v3/inventory?catalogExternalId={catalog}&size={BATCH}"
    pages = -(-n // BATCH)
    by_number: dict[int, list[float]] = {p: [] for p in range(pages)}
    by_cursor: list[float] = []
    for _ in range(rounds):
        for page in range(pages):
            started = time.perf_counter()
            answer = http.get(f"{url}&page={page}", timeout=60)
            body = answer.json()
            by_number[page].append(time.perf_counter() - started)
            assert answer.status_code == 200 and len(body["content"]) == min(
                BATCH, n - page * BATCH), (page, answer.status_code)
        cursor, seen = None, 0
        while True:
            started = time.perf_counter()
            body = http.get(url + (f"&after={cursor}" if cursor else ""), timeout=60).json()
            by_cursor.append(time.perf_counter() - started)
            seen += len(body["content"])
            cursor = body["page"]["next"]
            if cursor is None:
                break
        assert seen == n, seen
    return by_number, by_cursor


def ms(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return 1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def bench(url: str, n: int, rounds: int) -> None:
    db = Database(url)
    server = None
    try:
        _, catalog = setup(db)
        base, server = serve(db)
        http = login(db, base)
        label = url.split(":", 1)[0]
        rate, cpu_rate = put_inventory(http, base, catalog, n)
        print(f"{label:<20} PUT /inventory   {n:>8} products in requests of {BATCH}: "
              f"{rate:>7,.0f} products/s ({cpu_rate:,.0f} per CPU second)", flush=True)
        by_number, by_cursor = read_pages(http, base, catalog, n, rounds)
        every = [t for times in by_number.values() for t in times]
        pages = sorted(by_number)
        first = [t for p in pages[:FIRST_LAST] for t in by_number[p]]
        last = [t for p in pages[-FIRST_LAST:] for t in by_number[p]]
        print(f"{label:<20} GET /inventory   {len(pages)} pages of {BATCH} x {rounds} rounds: "
              f"p50 {ms(every, .5):.0f} ms, p99 {ms(every, .99):.0f} ms per page", flush=True)
        print(f"{label:<20}   by page number: first {FIRST_LAST} pages p50 "
              f"{ms(first, .5):.0f} ms / p99 {ms(first, .99):.0f} ms;  last {FIRST_LAST} pages "
              f"p50 {ms(last, .5):.0f} ms / p99 {ms(last, .99):.0f} ms", flush=True)
        print(f"{label:<20}   by page.next cursor: p50 {ms(by_cursor, .5):.0f} ms, "
              f"p99 {ms(by_cursor, .99):.0f} ms", flush=True)
    finally:
        if server is not None:
            server.close()
        db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="number of products")
    parser.add_argument("--rounds", type=int, default=3, help="reads of every page")
    parser.add_argument("--url", help="also run on this (scratch) PostgreSQL database")
    parser.add_argument("--no-sqlite", action="store_true", help="only run on --url")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        os.environ.setdefault("GLUE_INSTANCE_DIR", folder)
        if not args.no_sqlite:
            bench(f"sqlite:///{folder}/bench.db", args.n, args.rounds)
        if args.url:
            bench(args.url, args.n, args.rounds)


if __name__ == "__main__":
    main()
