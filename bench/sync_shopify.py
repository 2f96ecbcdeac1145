"""Shopify connector measurements against the Shopify sandbox (loopback, this process).

``threshold``: from how many listings one bulk mutation beats one ``productSet`` per listing.
For N listings (two variants each) on a fresh sandbox shop it publishes the same batch both
ways and reports wall time, API calls and the cost points drawn from the shop's bucket. The
per-listing path is throttled by the bucket (10 points a productSet) and leaves the bucket
empty for the order and fulfilment calls that share it (a fulfilment lookup asks for ~270
points, an orders page ~390); the bulk path costs a fixed handful of calls whatever N is.

    .venv/bin/python bench/sync_shopify.py threshold [--sizes 5,10,20,40,80,160]
        [--bucket 1000] [--restore 50] [--bulk-startup 0.0]

``--bucket``/``--restore``: the shop's leaky bucket (defaults: the sandbox's, the classic
Standard plan; Shopify now restores 100/s on Standard). ``--bulk-startup``: seconds Shopify
takes before a bulk operation starts running (not documented; 0 measures the sandbox alone).

``latency``: checkout → shipment visible to the supplier, then Delivered → fulfilment with
tracking in the shop. One process holds it all, on the embedded default (a new SQLite file,
``--workers`` threads, 2 as ``glue worker``): the sandbox shop with Glue's app installed
(fulfilment service, webhook subscriptions), Glue's receiver on loopback, a queue and worker
threads running the real inbox, order import, event and sync jobs (a job scheduled for later,
like the sync run an order asks for a second later, waits as it would in Huey), and a watcher
reading the new rows of the shipments table every 10 ms. Shopper threads check out ``--rate``
orders/s for ``--seconds`` s (each order's webhooks are sent during its checkout); then every
shipment is confirmed Delivered at ``--deliver-rate``/s and a watcher waits for its fulfilment
in the shop.

``stock``: a price and stock change of ``--products`` listings to ``--shops`` sandbox shops
through ``publish_products`` as a sync run cuts it into batches (the connector's batch sizes).
The shops' catalogs are put in place in-process first (not measured). Reported: API calls
against the minimum (per shop, per staged file: stagedUploadsCreate, the upload,
bulkOperationRunMutation, one status read, the result download), and the time until every
shop holds the new prices and quantities.

    .venv/bin/python bench/sync_shopify.py latency [--rate 20] [--seconds 60] [--deliver-rate 5]
    .venv/bin/python bench/sync_shopify.py stock [--shops 20] [--products 10000] [--parallel 4]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

# run as a script, this file's folder comes first on the path and its name would shadow the
# ShopifyAPI package (``import shopify``): take the folder off, put the repository on
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

from connectors.base import ConnectionContext, ConnectionSettings  # noqa: E402
from connectors.publish import ChangeBatch, Listing, ListingChange  # noqa: E402
from connectors.shopify import ShopifyConnector  # noqa: E402
from connectors.shopify.client import ShopifyClient  # noqa: E402
from sandbox.shopify import SandboxApp, ShopifySandbox  # noqa: E402

SHOP = "bench.myshopify.com"
SHOPPERS = 8
SERVICE = """mutation { fulfillmentServiceCreate(name: "Glue", inventoryManagement: true) {
  fulfillmentService { location { id } } userErrors { field message } } }"""


def _document(n: int) -> dict[str, Any]:
    return {"key": f"p{n}", "title": f"Tuote {n}", "short_description": "",
            "description": "Kuvaus " * 20, "vendor": "Toimittaja Oy", "images": [],
            "options": ["Koko"], "variants": [
                {"product_id": 10 * n + i, "sku": f"SKU-{n}-{size}", "barcode": None,
                 "price": "19.90", "currency": "EUR", "options": [["Koko", size]],
                 "weight_kg": 0.2, "quantity": 5} for i, size in enumerate(("S", "M"))]}


def _connector(sandbox: ShopifySandbox, threshold: int) -> ShopifyConnector:
    state = sandbox.shops[SHOP]
    state.tokens["shpat_bench"] = None
    state.installed = True
    client = ShopifyClient(SHOP, "shpat_bench", base_url=sandbox.base_url(SHOP))
    location = client.mutate(SERVICE, {}, root="fulfillmentServiceCreate") \
        if not state.services else None
    location_id = location["fulfillmentService"]["location"]["id"] if location else ""
    context = ConnectionContext(
        id=1, key="bench", platform="shopify", shop=SHOP, retailer_id=1,
        credentials={"access_token": "shpat_bench"},
        settings=ConnectionSettings.from_json({"platform": {"location_id": location_id}}))
    return ShopifyConnector(context, client=client, bulk_threshold=threshold)


def _publish(n: int, *, bulk: bool, bucket: float, restore: float,
             startup: float) -> dict[str, float]:
    app = SandboxApp("bench-key", "bench-secret")
    with ShopifySandbox(app, bucket_size=bucket, restore_rate=restore,
                        bulk_startup_seconds=startup) as sandbox:
        sandbox.add_shop(SHOP)
        shop = _connector(sandbox, threshold=1 if bulk else n + 1)
        changes = tuple(ListingChange("create", d["key"], Listing(d["key"], d, "c", "f", ()))
                        for d in (_document(i) for i in range(n)))
        state = sandbox.shops[SHOP]
        state.bucket.refill(sandbox.clock())
        state.bucket.available = state.bucket.maximum
        calls, started = shop.client.calls, time.perf_counter()
        results = shop.publish_products(ChangeBatch("create", changes))
        elapsed = time.perf_counter() - started
        assert all(r.ok for r in results), [r.error for r in results if not r.ok][:3]
        assert len(state.products) == n
        state.bucket.refill(sandbox.clock())
        return {"seconds": elapsed, "calls": shop.client.calls - calls,
                "points_left": state.bucket.available, "throttled": state.throttled}


def threshold(sizes: list[int], bucket: float, restore: float, startup: float) -> None:
    print(f"bucket {bucket:.0f} points, restore {restore:.0f}/s, bulk start-up {startup} s")
    print(f"{'N':>5} | {'per-listing s':>13} {'calls':>6} {'left':>6} | "
          f"{'bulk s':>7} {'calls':>6} {'left':>6}")
    for n in sizes:
        each = _publish(n, bulk=False, bucket=bucket, restore=restore, startup=startup)
        bulk = _publish(n, bulk=True, bucket=bucket, restore=restore, startup=startup)
        print(f"{n:>5} | {each['seconds']:>13.2f} {each['calls']:>6.0f} "
              f"{each['points_left']:>6.0f} | {bulk['seconds']:>7.2f} {bulk['calls']:>6.0f} "
              f"{bulk['points_left']:>6.0f}", flush=True)


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _ms(values: list[float]) -> str:
    if not values:
        return "none"
    return (f"p50 {_percentile(values, 0.5) * 1000:.0f} ms, p99 "
            f"{_percentile(values, 0.99) * 1000:.0f} ms, max {max(values) * 1000:.0f} ms")


def bench_latency(rate: float, seconds: float, deliver_rate: float, bucket: float,
                  restore: float, workers: int) -> None:
    import json
    import logging
    import os
    import queue
    import random
    import tempfile
    import threading
    from decimal import Decimal

    import sqlalchemy as sa

    logging.disable(logging.WARNING)
    folder = tempfile.mkdtemp(prefix="glue-shopify-bench-")
    os.environ.setdefault("GLUE_SECRET_KEY", "bench-secret-key")

    from connectors import sync
    from connectors.shopify.config import AppConfig
    from connectors.shopify.install import set_up_shop
    from core.crypto import encrypt
    from core.db import Database
    from core.models import (
        Balance,
        Catalog,
        CatalogAccess,
        Order,
        Organization,
        Product,
        Shipment,
        ShopConnection,
    )
    from core.principal import Principal
    from core.settings import Settings
    from core.shipments import fast_confirm
    from glue.schema import metadata
    from sandbox.common import LoopbackServer
    from web.app import create_app
    from webhooks import inbox, outbox
    from webhooks.handlers import load_connectors, registry
    from webhooks.settings import SpineSettings
    from webhooks.spine import DELIVERY, FAN_OUT, INBOX, Spine

    load_connectors()
    database = Database(f"sqlite:///{folder}/bench.db")
    metadata.create_all(database.engine)
    jobs: queue.Queue[tuple[str, int | None]] = queue.Queue()

    def enqueue(job: str, ref: int | None = None, eta: Any = None) -> None:
        # a job scheduled for later waits as it would in Huey: the sync run an order asks for
        # is deferred a second so that a stream of orders costs one run a second, not one each
        delay = (eta - spine.clock()).total_seconds() if eta is not None else 0.0
        if delay <= 0:
            jobs.put((job, ref))
            return
        timer = threading.Timer(delay, jobs.put, args=((job, ref),))
        timer.daemon = True
        timer.start()

    spine = Spine(database=database, settings=SpineSettings(
        sweep_grace_seconds=0, webhook_allow_private_targets=True,
        shopify_api_secret="bench-secret"), registry=registry, rng=random.Random(3),
        enqueue=enqueue)
    app = create_app(database=database, settings=Settings(
        instance_dir=folder, public_url="http://127.0.0.1"))
    app.extensions["glue.spine"] = spine
    with LoopbackServer(app) as glue, ShopifySandbox(
            SandboxApp("bench-key", "bench-secret"), bucket_size=bucket,
            restore_rate=restore) as sandbox:
        state = sandbox.add_shop(SHOP)
        state.tokens["shpat_bench"] = None
        state.installed = True
        client = ShopifyClient(SHOP, "shpat_bench", base_url=sandbox.base_url(SHOP))
        platform = set_up_shop(client, {"base_url": sandbox.base_url(SHOP)}, AppConfig(
            api_key="bench-key", api_secret="bench-secret", public_url=glue.url))
        with database.transaction() as s:
            supplier = Organization(name="Tukku Oy", business_id="1234567-8",
                                    is_supplier=True)
            retailer = Organization(name="Kauppa Oy", business_id="7654321-0",
                                    is_retailer=True)
            s.add_all([supplier, retailer])
            s.flush()
            catalog = s.scalars(sa.select(Catalog).where(
                Catalog.supplier_id == supplier.id)).first()
            if catalog is None:
                catalog = Catalog(external_id="BENCH", supplier_id=supplier.id, name="Bench",
                                  is_public=True, state="active")
                s.add(catalog)
                s.flush()
            s.add(CatalogAccess(catalog_id=catalog.id, retailer_id=retailer.id,
                                state="active"))
            products = [Product(supplier_id=supplier.id, external_id=f"B-{n}",
                                descriptions={"fi": {"name": f"Tuote {n}"}})
                        for n in range(30)]
            s.add_all(products)
            s.flush()
            s.add_all([Balance(catalog_id=catalog.id, product_id=p.id, quantity=10**6,
                               wholesale_price=Decimal("10.00")) for p in products])
            connection = ShopConnection(
                key="shopbench", platform="shopify", shop=SHOP, retailer_id=retailer.id,
                status="active", credentials=encrypt(json.dumps(
                    {"access_token": "shpat_bench"})),
                settings={"catalogs": [catalog.external_id], "notify_customer": True,
                          "order_forwarding": {"trigger": "created"}, "platform": platform})
            s.add(connection)
            s.flush()
            connection_id, supplier_id = connection.id, supplier.id
        report = sync.run_sync(spine, connection_id)
        while not jobs.empty():
            jobs.get()
        variants = [gid for p in state.products.values() for gid in
                    (f"gid://shopify/ProductVariant/{n}" for n in p["variant_ids"])]
        if report.outcome != "done" or len(variants) != 30:
            raise SystemExit(f"the bench shop was not set up: {report}")

        # as the worker does (glue.worker): a commit that wrote events asks for a fan-out
        from sqlalchemy import event as sa_event
        from sqlalchemy.orm import Session

        from core.models import Event

        fan_out_queued = threading.Event()

        def note(session: Session, _context: Any) -> None:
            if any(isinstance(obj, Event) for obj in session.new):
                session.info["bench.events"] = True

        def kick(session: Session) -> None:
            if session.info.pop("bench.events", False) and not fan_out_queued.is_set():
                fan_out_queued.set()
                jobs.put((FAN_OUT, None))

        sa_event.listen(Session, "after_flush", note)
        sa_event.listen(Session, "after_commit", kick)
        stop = threading.Event()
        checkout_at: dict[str, float] = {}
        seen_at: dict[str, float] = {}

        def work() -> None:
            while not stop.is_set() or not jobs.empty():
                try:
                    job, ref = jobs.get(timeout=0.05)
                except queue.Empty:
                    continue
                began = time.perf_counter()
                try:
                    if job == INBOX:
                        inbox.process_delivery(spine, ref)
                    elif job == FAN_OUT:
                        fan_out_queued.clear()
                        outbox.fan_out(spine)
                    elif job == DELIVERY:
                        outbox.deliver(spine, ref)
                    elif job == sync.SYNC:
                        sync.run_sync(spine, ref)
                except Exception as exc:  # noqa: BLE001 - a bench counts, it goes on
                    print(f"  job {job} {ref} failed: {type(exc).__name__}: {exc}")
                busy[job] = busy.get(job, 0.0) + time.perf_counter() - began
                runs[job] = runs.get(job, 0) + 1

        busy: dict[str, float] = {}
        runs: dict[str, int] = {}

        def watch() -> None:
            # only the shipments created since the last look, as a supplier's client polling
            # for new work would ask: reading every order again each time made the watcher's
            # cost grow with the run and took interpreter time from the workers
            last = 0
            while not stop.is_set():
                with database.sessions() as s:
                    found = s.execute(sa.select(Shipment.id, Order.shop_order_id).join(
                        Order, Order.id == Shipment.order_id).where(
                        Shipment.id > last, Order.shop_order_id.is_not(None))).all()
                now = time.perf_counter()
                for shipment_id, order_id in found:
                    seen_at.setdefault(order_id, now)
                    last = max(last, shipment_id)
                time.sleep(0.01)

        threads = [threading.Thread(target=work, daemon=True) for _ in range(workers)]
        threads.append(threading.Thread(target=watch, daemon=True))
        for thread in threads:
            thread.start()
        started = time.perf_counter()
        total = int(rate * seconds)

        def shopper(first: int) -> None:
            # a checkout answers after its webhooks were delivered (the sandbox sends them
            # inline), so several shoppers keep the rate while a delivery is in flight
            for number in range(first, total, SHOPPERS):
                pause = started + number / rate - time.perf_counter()
                if pause > 0:
                    time.sleep(pause)
                before = time.perf_counter()
                order = sandbox.checkout(SHOP, [{
                    "variant_id": variants[number % len(variants)], "quantity": 1}])
                checkout_at[f"gid://shopify/Order/{order['id']}"] = before

        shoppers = [threading.Thread(target=shopper, args=(i,)) for i in range(SHOPPERS)]
        for thread in shoppers:
            thread.start()
        for thread in shoppers:
            thread.join()
        load_seconds = time.perf_counter() - started
        deadline = time.perf_counter() + 60
        while len(seen_at) < total and time.perf_counter() < deadline:
            time.sleep(0.1)
        visible = [seen_at[o] - checkout_at[o] for o in checkout_at if o in seen_at]
        print(f"checkout → shipment visible: {total} orders at {total / load_seconds:.1f}/s "
              f"over {load_seconds:.0f} s, SQLite, {workers} worker thread(s)")
        print(f"  visible: {len(visible)} of {total}; {_ms(visible)}")
        print("  worker time: " + ", ".join(f"{job} {runs[job]}× {busy[job]:.1f} s"
                                            for job in sorted(busy)))

        # Delivered → fulfilment with tracking in the shop
        with database.sessions() as s:
            shipments = s.execute(sa.select(Shipment.shipment_id, Order.shop_order_id).join(
                Order, Order.id == Shipment.order_id).order_by(Shipment.id)).all()
        actor = Principal(organization_id=supplier_id, permissions=frozenset({"supplier"}),
                          label="bench:supplier")
        confirmed_at: dict[int, float] = {}
        fulfilled_at: dict[int, float] = {}
        busy.clear()
        runs.clear()
        calls_before = state.graphql_calls
        started = time.perf_counter()
        count = min(len(shipments), int(deliver_rate * seconds))
        for number, (shipment_id, shop_order_id) in enumerate(shipments[:count]):
            pause = started + number / deliver_rate - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            with database.transaction() as s:
                fast_confirm(s, actor, shipment_id)
            confirmed_at[int(shop_order_id.rsplit("/", 1)[1])] = time.perf_counter()
            for order_id in [o for o in confirmed_at if o not in fulfilled_at]:
                if state.orders[order_id]["fulfillment_ids"]:
                    fulfilled_at[order_id] = time.perf_counter()
        deadline = time.perf_counter() + 60
        while len(fulfilled_at) < len(confirmed_at) and time.perf_counter() < deadline:
            for order_id in [o for o in confirmed_at if o not in fulfilled_at]:
                if state.orders[order_id]["fulfillment_ids"]:
                    fulfilled_at[order_id] = time.perf_counter()
            time.sleep(0.005)
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        sa_event.remove(Session, "after_flush", note)
        sa_event.remove(Session, "after_commit", kick)
        fulfilled = [fulfilled_at[o] - confirmed_at[o] for o in fulfilled_at]
        tracked = sum(1 for o in fulfilled_at for n in state.orders[o]["fulfillment_ids"]
                      if state.fulfillments[n]["tracking"])
        print(f"Delivered → fulfilment in the shop: {count} shipments at {deliver_rate:.0f}/s, "
              f"bucket {bucket:.0f}/{restore:.0f} per s")
        print(f"  fulfilled: {len(fulfilled)} of {count} ({tracked} with tracking); "
              f"{_ms(fulfilled)} (sampled every 5 ms)")
        print(f"  shop API calls: {state.graphql_calls - calls_before}, throttled "
              f"{state.throttled}; worker time: " + ", ".join(
                  f"{job} {runs[job]}× {busy[job]:.1f} s" for job in sorted(busy)))


def _seed(sandbox: ShopifySandbox, location: str,
          count: int) -> list[tuple[str, str, str, str]]:
    """``count`` app-owned products of one variant each, stocked at ``location``, put in
    place directly (not through the API); (listing key, product, variant, inventory item)
    GIDs each."""
    from connectors.shopify import translate

    state = sandbox.shops[SHOP]
    location_id = int(location.rsplit("/", 1)[1])
    made = []
    with sandbox.lock:
        for n in range(count):
            key = f"p{n}"
            product = {"id": sandbox.next_id(), "handle": translate.handle_for(key),
                       "title": f"Tuote {n}", "status": "ACTIVE", "vendor": "Toimittaja Oy",
                       "descriptionHtml": "", "variant_ids": [], "owner": "app"}
            variant = sandbox._new_variant(state, product, {"sku": f"SKU-{n}",
                                                            "price": "19.90"},
                                           (("Title", "Default Title"),))
            state.products[product["id"]] = product
            state.inventory[(variant["inventory_item_id"], location_id)] = 5
            made.append((key, f"gid://shopify/Product/{product['id']}",
                         f"gid://shopify/ProductVariant/{variant['id']}",
                         f"gid://shopify/InventoryItem/{variant['inventory_item_id']}"))
    return made


def bench_stock(shops: int, products: int, parallel: int) -> None:
    import math
    import threading

    from connectors.publish import ShopRef, batches

    # every sandbox shop lives in this one process and shares its interpreter lock: more than
    # a few at once and their answers are starved past any client timeout, which says nothing
    # about Shopify. ``parallel`` shops run at a time; each client waits up to a minute.
    gate = threading.Semaphore(parallel)

    def one_shop(index: int, out: dict[int, dict[str, float]]) -> None:
        with gate, ShopifySandbox(SandboxApp("bench-key", "bench-secret"), bucket_size=2000,
                                  restore_rate=100) as sandbox:
            sandbox.add_shop(SHOP)
            shop = _connector(sandbox, threshold=40)
            shop.client._transport.timeout = 60.0
            shop.bulk_max_wait = 3600
            seeded = _seed(sandbox, shop.location_id, products)
            changes = []
            for n, (key, product_id, variant_id, item) in enumerate(seeded):
                document = _document(n)
                document["options"] = []
                document["variants"] = [{**document["variants"][0], "options": [],
                                         "price": "21.90", "quantity": 7, "sku": f"SKU-{n}"}]
                changes.append(ListingChange(
                    "update", key, Listing(key, document, "c", "f", (10 * n,)),
                    ShopRef(product_id, {}),
                    {10 * n: ShopRef(variant_id, {"inventory_item_id": item,
                                                  "product_id": product_id})}))
            calls, began = shop.client.calls, time.perf_counter()
            for batch in batches(changes, shop.batch_sizes):
                results = shop.publish_products(batch)
                assert all(r.ok for r in results), [r.error for r in results if not r.ok][:2]
            elapsed = time.perf_counter() - began
            files = len(sandbox.shops[SHOP].bulk_operations)
            state = sandbox.shops[SHOP]
            location_id = int(shop.location_id.rsplit("/", 1)[1])
            matches = all(v["price"] == "21.90" and state.inventory[(
                v["inventory_item_id"], location_id)] == 7 for v in state.variants.values())
            out[index] = {"calls": shop.client.calls - calls, "seconds": elapsed,
                          "files": files, "matches": float(matches)}

    out: dict[int, dict[str, float]] = {}
    began = time.perf_counter()
    threads = [threading.Thread(target=one_shop, args=(i, out)) for i in range(shops)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    calls = sum(r["calls"] for r in out.values())
    minimum = sum(5 * max(1, r["files"]) for r in out.values())
    per_call = shops * math.ceil(products / 1)  # productSet, one product per call
    print(f"price and stock change: {products} listings to {shops} shops "
          f"({parallel} at a time)")
    print(f"  every shop matches: {all(r['matches'] for r in out.values())} after "
          f"{elapsed:.1f} s (slowest shop {max(r['seconds'] for r in out.values()):.1f} s)")
    print(f"  calls: {calls:.0f}, minimum {minimum} → ratio {calls / minimum:.2f} "
          f"(one productSet per listing would be {per_call})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    limit = sub.add_parser("threshold", help="per-listing productSet against one bulk mutation")
    limit.add_argument("--sizes", default="5,10,20,40,80,160")
    limit.add_argument("--bucket", type=float, default=1000.0)
    limit.add_argument("--restore", type=float, default=50.0)
    limit.add_argument("--bulk-startup", type=float, default=0.0)
    latency = sub.add_parser("latency", help="checkout → shipment, Delivered → fulfilment")
    latency.add_argument("--rate", type=float, default=20.0)
    latency.add_argument("--seconds", type=float, default=60.0)
    latency.add_argument("--deliver-rate", type=float, default=5.0)
    latency.add_argument("--bucket", type=float, default=2000.0)
    latency.add_argument("--restore", type=float, default=100.0)
    latency.add_argument("--workers", type=int, default=2,
                         help="worker threads (glue worker's default is 2)")
    stock = sub.add_parser("stock", help="a price and stock change to many shops")
    stock.add_argument("--shops", type=int, default=20)
    stock.add_argument("--products", type=int, default=10_000)
    stock.add_argument("--parallel", type=int, default=4)
    args = parser.parse_args()
    if args.command == "threshold":
        threshold([int(s) for s in args.sizes.split(",")], args.bucket, args.restore,
                  args.bulk_startup)
    elif args.command == "latency":
        bench_latency(args.rate, args.seconds, args.deliver_rate, args.bucket, args.restore,
                      args.workers)
    else:
        bench_stock(args.shops, args.products, args.parallel)


if __name__ == "__main__":
    main()
