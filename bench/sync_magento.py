"""Magento benches against the sandbox shop (``sandbox/magento.py``), over loopback.

Magento Open Source sends no webhooks, so the order poll is how orders reach Glue; these
measure what that costs and how long it makes a customer's order wait.

``latency``: checkout → shipment visible to the supplier, with the connection's poll interval
set to ``--poll`` seconds (5). One process holds it all: the sandbox shop without the async-event
module, a scheduler honouring each job's time (the poll reschedules itself), ``--workers``
worker threads running the real poll, order import, event and sync jobs, and a watcher that
reads the shipments table every 10 ms. A thread checks out ``--rate`` orders/s for
``--seconds`` s. Reported: checkout → shipment visible, p50/p99/max.

``idle``: the cost of a poll when nothing changed, for ``--shops`` shops, each with
``--orders`` orders placed an hour before (outside the poll's window).
``--recent`` orders placed just now and already imported sit inside the 5-minute overlap, as on
a shop that sells: they are read again and found to be duplicates. Reported: HTTP calls and
milliseconds per shop per poll (the whole ``run_poll``, database included), p50/p99 over
``--rounds`` rounds.

    .venv/bin/python bench/sync_magento.py latency [--url postgresql+psycopg://…] [--rate 2]
    .venv/bin/python bench/sync_magento.py idle [--shops 10] [--orders 200] [--recent 0]

Without ``--url`` a new SQLite file is used (one worker); point ``--url`` at a scratch
PostgreSQL database for the real thing (its tables are dropped and created).
"""

from __future__ import annotations

import argparse
import heapq
import itertools
import json
import logging
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [str(ROOT)] + [p for p in sys.path
                             if Path(p or ".").resolve() != Path(__file__).resolve().parent]
os.environ.setdefault("GLUE_SECRET_KEY", "bench-secret-key")

import sqlalchemy as sa  # noqa: E402

from connectors import sync  # noqa: E402
from core.crypto import encrypt  # noqa: E402
from core.db import Database  # noqa: E402
from core.models import (  # noqa: E402
    Balance,
    Catalog,
    CatalogAccess,
    Order,
    Organization,
    Product,
    Shipment,
    ShopConnection,
)
from glue.schema import metadata  # noqa: E402
from sandbox.magento import MagentoSandbox  # noqa: E402
from webhooks import inbox, outbox  # noqa: E402
from webhooks.handlers import load_connectors, registry  # noqa: E402
from webhooks.settings import SpineSettings  # noqa: E402
from webhooks.spine import DELIVERY, FAN_OUT, INBOX, Spine  # noqa: E402

PRODUCTS = 20


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


class Scheduler:
    """Stands in for the task queue: jobs run when their ``eta`` is due, by worker threads."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, str, int | None]] = []
        self._seq = itertools.count()
        self._lock = threading.Condition()

    def enqueue(self, job: str, ref: int | None = None, eta: datetime | None = None) -> None:
        at = eta.timestamp() if eta is not None else time.time()
        with self._lock:
            heapq.heappush(self._heap, (at, next(self._seq), job, ref))
            self._lock.notify()

    def take(self, timeout: float) -> tuple[str, int | None] | None:
        deadline = time.time() + timeout
        with self._lock:
            while True:
                now = time.time()
                if self._heap and self._heap[0][0] <= now:
                    _, _, job, ref = heapq.heappop(self._heap)
                    return job, ref
                wait = min(deadline, self._heap[0][0] if self._heap else deadline) - now
                if now >= deadline:
                    return None
                self._lock.wait(max(0.001, wait))

    def clear(self) -> None:
        with self._lock:
            self._heap.clear()


def _run(spine: Spine, job: str, ref: int | None) -> None:
    if job == INBOX:
        inbox.process_delivery(spine, ref)
    elif job == FAN_OUT:
        outbox.fan_out(spine)
    elif job == DELIVERY:
        outbox.deliver(spine, ref)
    elif job == sync.SYNC:
        sync.run_sync(spine, ref)
    elif job == sync.POLL:
        sync.run_poll(spine, ref)


def _database(url: str | None) -> tuple[Database, str]:
    folder = tempfile.mkdtemp(prefix="glue-magento-bench-")
    url = url or f"sqlite:///{folder}/bench.db"
    database = Database(url)
    metadata.drop_all(database.engine)
    metadata.create_all(database.engine)
    return database, url


def _stage(database: Database, shops: list[MagentoSandbox], *, poll_seconds: float
           ) -> list[int]:
    """A supplier's catalog of :data:`PRODUCTS` products, a retailer with access, and one live
    connection per sandbox shop; the connection ids."""
    with database.transaction() as s:
        supplier = Organization(name="Tukku Oy", business_id="1234567-8", is_supplier=True)
        retailer = Organization(name="Kauppa Oy", business_id="7654321-0", is_retailer=True)
        s.add_all([supplier, retailer])
        s.flush()
        catalog = Catalog(external_id="BENCH", supplier_id=supplier.id, name="Bench",
                          is_public=True, state="active")
        s.add(catalog)
        s.flush()
        s.add(CatalogAccess(catalog_id=catalog.id, retailer_id=retailer.id, state="active"))
        products = [Product(supplier_id=supplier.id, external_id=f"M-{n}",
                            descriptions={"fi": {"name": f"Tuote {n}"}})
                    for n in range(PRODUCTS)]
        s.add_all(products)
        s.flush()
        s.add_all([Balance(catalog_id=catalog.id, product_id=p.id, quantity=10**6,
                           wholesale_price=Decimal("10.00")) for p in products])
        ids = []
        for number, shop in enumerate(shops):
            connection = ShopConnection(
                key=f"magbench{number}", platform="magento", shop=shop.base_url,
                retailer_id=retailer.id, status="active",
                credentials=encrypt(json.dumps(shop.grant())),
                settings={"catalogs": [catalog.external_id],
                          "pricing": {"basis": "markup", "markup": "2", "fixed": "0"},
                          "platform": {"poll_seconds": poll_seconds,
                                       "bulk_poll_seconds": 0.05}})
            s.add(connection)
            s.flush()
            ids.append(connection.id)
    return ids


def bench_latency(url: str | None, rate: float, seconds: float, workers: int,
                  poll: float) -> None:
    logging.disable(logging.WARNING)
    load_connectors()
    database, url = _database(url)
    workers = workers if not url.startswith("sqlite") else 1
    scheduler = Scheduler()
    spine = Spine(database=database, settings=SpineSettings(sweep_grace_seconds=0),
                  registry=registry, rng=random.Random(3), enqueue=scheduler.enqueue)
    with MagentoSandbox(async_events=False, bulk_open_reads=0) as shop:
        [connection_id] = _stage(database, [shop], poll_seconds=poll)
        sync.run_sync(spine, connection_id)
        scheduler.clear()
        skus = [p["sku"] for p in shop.state.products.values()]
        if len(skus) != PRODUCTS:
            raise SystemExit("the bench shop was not set up")
        stop = threading.Event()
        checkout_at: dict[str, float] = {}
        seen_at: dict[str, float] = {}

        def work() -> None:
            while not stop.is_set():
                taken = scheduler.take(0.05)
                if taken is None:
                    continue
                try:
                    _run(spine, *taken)
                except Exception as exc:  # noqa: BLE001 - a bench counts, it goes on
                    print(f"  job {taken} failed: {type(exc).__name__}: {exc}")

        def watch() -> None:
            query = sa.select(Order.shop_order_id).join(
                Shipment, Shipment.order_id == Order.id).where(
                Order.shop_order_id.is_not(None)).distinct()
            while not stop.is_set():
                with database.sessions() as s:
                    found = s.scalars(query).all()
                now = time.perf_counter()
                for order_id in found:
                    seen_at.setdefault(order_id, now)
                time.sleep(0.01)

        threads = [threading.Thread(target=work, daemon=True) for _ in range(workers)]
        threads.append(threading.Thread(target=watch, daemon=True))
        for thread in threads:
            thread.start()
        scheduler.enqueue(sync.POLL, connection_id)  # the chain of polls starts
        started = time.perf_counter()
        total = int(rate * seconds)
        for number in range(total):
            pause = started + number / rate - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            order = shop.checkout([{"sku": skus[number % len(skus)], "qty": 1}])
            checkout_at[str(order["entity_id"])] = time.perf_counter()
        load_seconds = time.perf_counter() - started
        deadline = time.perf_counter() + 4 * poll + 30
        while len(seen_at) < total and time.perf_counter() < deadline:
            time.sleep(0.1)
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        rest_calls = len(shop.calls)
    visible = [seen_at[o] - checkout_at[o] for o in checkout_at if o in seen_at]
    print(f"checkout → shipment visible: {total} orders at {total / load_seconds:.1f}/s over "
          f"{load_seconds:.0f} s, poll every {poll} s, {workers} worker thread(s), "
          f"{'PostgreSQL' if url.startswith('postgresql') else 'SQLite'}")
    print(f"  visible: {len(visible)} of {total}; REST calls answered by the shop: {rest_calls}")
    if visible:
        print(f"  checkout → visible: p50 {_percentile(visible, 0.5) * 1000:.0f} ms, "
              f"p99 {_percentile(visible, 0.99) * 1000:.0f} ms, "
              f"max {max(visible) * 1000:.0f} ms")


def bench_idle(url: str | None, shops: int, orders: int, recent: int, rounds: int) -> None:
    logging.disable(logging.WARNING)
    load_connectors()
    database, url = _database(url)
    scheduler = Scheduler()
    spine = Spine(database=database, settings=SpineSettings(sweep_grace_seconds=0),
                  registry=registry, rng=random.Random(3), enqueue=scheduler.enqueue)
    sandboxes = [MagentoSandbox(async_events=False, bulk_open_reads=0).start()
                 for _ in range(shops)]
    try:
        ids = _stage(database, sandboxes, poll_seconds=60)
        for connection_id, shop in zip(ids, sandboxes, strict=True):
            sync.run_sync(spine, connection_id)
            skus = [p["sku"] for p in shop.state.products.values()]
            shop.clock = lambda: time.time() - 3600  # an hour ago, outside the window
            for number in range(orders):
                shop.checkout([{"sku": skus[number % len(skus)], "qty": 1}])
            shop.clock = time.time
            for number in range(recent):
                shop.checkout([{"sku": skus[number % len(skus)], "qty": 1}])
        # the first poll reads everything from the connection's creation: not measured
        for connection_id in ids:
            _poll_now(database, spine, connection_id)
        scheduler.clear()
        calls: list[int] = []
        millis: list[float] = []
        for _ in range(rounds):
            for connection_id, shop in zip(ids, sandboxes, strict=True):
                before = len(shop.calls)
                started = time.perf_counter()
                counts = _poll_now(database, spine, connection_id)
                millis.append((time.perf_counter() - started) * 1000)
                calls.append(len(shop.calls) - before)
                if counts["imported"]:
                    raise SystemExit("an idle poll imported an order")
            scheduler.clear()
    finally:
        for shop in sandboxes:
            shop.stop()
    print(f"idle poll: {shops} shops × {rounds} rounds, {orders} older orders and {recent} "
          f"recent ones per shop, {'PostgreSQL' if url.startswith('postgresql') else 'SQLite'}")
    print(f"  HTTP calls per shop per poll: {statistics.mean(calls):.1f} (max {max(calls)})")
    print(f"  ms per shop per poll: p50 {_percentile(millis, 0.5):.1f}, "
          f"p99 {_percentile(millis, 0.99):.1f}, mean {statistics.mean(millis):.1f}")


def _poll_now(database: Database, spine: Spine, connection_id: int) -> dict[str, int]:
    """Run the connection's poll now, whatever its schedule (as the scheduled chain would)."""
    from connectors.models import ConnectionSync

    with database.transaction() as session:
        row = session.get(ConnectionSync, connection_id)
        if row is not None:
            row.next_poll_at = None
    return sync.run_poll(spine, connection_id)


def main(argv: list[str] | None = None) -> Any:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="part", required=True)
    latency = sub.add_parser("latency")
    latency.add_argument("--url")
    latency.add_argument("--rate", type=float, default=2.0)
    latency.add_argument("--seconds", type=float, default=60.0)
    latency.add_argument("--workers", type=int, default=4)
    latency.add_argument("--poll", type=float, default=5.0)
    idle = sub.add_parser("idle")
    idle.add_argument("--url")
    idle.add_argument("--shops", type=int, default=10)
    idle.add_argument("--orders", type=int, default=200)
    idle.add_argument("--recent", type=int, default=0)
    idle.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    if args.part == "latency":
        return bench_latency(args.url, args.rate, args.seconds, args.workers, args.poll)
    return bench_idle(args.url, args.shops, args.orders, args.recent, args.rounds)


if __name__ == "__main__":
    main()
