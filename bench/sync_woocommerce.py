"""WooCommerce benches against the sandbox shop (``sandbox/woocommerce.py``), over loopback.

``stock``: a stock change of ``--products`` products to ``--shops`` sandbox shops through
the WooCommerce connector's ``update_stock``, cut into batches by the publish engine with the
connector's batch sizes, as a sync run sends them. Counts the REST calls each shop answered
and compares them with the minimum, ⌈products / 100⌉ per shop (100 objects per batch call).
With ``--variable-share`` part of the catalog is variant groups of ``--group-size``, whose
variations WooCommerce only takes through one ``variations/batch`` per parent. The shops'
catalogs are put in place in-process first (not measured); one shop lives at a time, so memory
stays that of one 10,000-product shop.

``latency``: checkout → shipment visible to the supplier. One process holds it all: the
sandbox shop, Glue's receiver app on loopback (werkzeug, threaded), a queue and ``--workers``
worker threads running the real inbox, order import, event and sync jobs, and a watcher that
reads the shipments table every 20 ms. A thread checks out ``--rate`` orders/s for
``--seconds`` s; the shop's queue runs every ``--cron`` s (a busy site, where requests keep
waking WP-Cron; a quiet one delivers up to a minute late, which is WooCommerce's and not
measured here). Reported: checkout → shipment visible, and WooCommerce's send → visible
(Glue's part), p50/p99.

    .venv/bin/python bench/sync_woocommerce.py stock [--shops 20] [--products 10000]
    .venv/bin/python bench/sync_woocommerce.py latency [--url postgresql+psycopg://…] [--rate 20]

Without ``--url`` the latency bench uses a new SQLite file (one worker); point ``--url`` at a
scratch PostgreSQL database for the real thing (its tables are dropped and created).
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# run as a script, this file's folder comes first on the path and its name would hide the
# ``woocommerce`` package the connector imports
sys.path[:] = [str(ROOT)] + [p for p in sys.path
                             if Path(p or ".").resolve() != Path(__file__).resolve().parent]

from connectors.base import ConnectionContext, ConnectionSettings  # noqa: E402
from connectors.publish import Listing, ListingChange, ShopRef, batches  # noqa: E402
from connectors.woocommerce import WooCommerceConnector, translate  # noqa: E402
from sandbox.woocommerce import WooCommerceSandbox  # noqa: E402


def catalog(products: int, variable_share: float, group_size: int) -> list[dict[str, Any]]:
    """Listing documents for ``products`` Glue products: simple ones, then variant groups."""
    grouped = int(products * variable_share) // group_size * group_size
    documents = []
    for number in range(1, products - grouped + 1):
        documents.append({"key": f"p{number}", "title": f"Tuote {number}", "description": "",
                          "short_description": "", "images": [], "options": [],
                          "variants": [_variant(number, f"SKU-{number}", [])]})
    number = products - grouped
    for group in range(grouped // group_size):
        variants = []
        for size in range(group_size):
            number += 1
            variants.append(_variant(number, f"SKU-{number}", [["Koko", f"K{size}"]]))
        documents.append({"key": f"g{group}:G", "title": f"Ryhmä {group}", "description": "",
                          "short_description": "", "images": [], "options": ["Koko"],
                          "variants": variants})
    return documents


def _variant(number: int, sku: str, options: list[list[str]], quantity: int = 5
             ) -> dict[str, Any]:
    return {"product_id": number, "sku": sku, "barcode": None, "price": "9.90",
            "currency": "EUR", "options": options, "weight_kg": None, "quantity": quantity}


def seed(sandbox: WooCommerceSandbox, shop: str, documents: list[dict[str, Any]]
         ) -> dict[str, tuple[str, dict[int, ShopRef]]]:
    """Put the catalog in the shop as Glue published it; listing key → (shop id, variants)."""
    refs: dict[str, tuple[str, dict[int, ShopRef]]] = {}
    simple = [d for d in documents if not translate.is_variable(d)]
    ids = sandbox.create_products(shop, [translate.product_payload(d, attribute_ids={})
                                         for d in simple])
    for document, shop_id in zip(simple, ids, strict=True):
        refs[document["key"]] = (str(shop_id), {document["variants"][0]["product_id"]: ShopRef(
            str(shop_id), {"parent_id": None})})
    for document in (d for d in documents if translate.is_variable(d)):
        [parent] = sandbox.create_products(shop, [translate.product_payload(
            document, attribute_ids={})])
        body = translate.variations_batch(document, attribute_ids={}, variation_ids={})
        children = sandbox.create_products(shop, body["create"], parent_id=parent)
        refs[document["key"]] = (str(parent), {
            v["product_id"]: ShopRef(str(child), {"parent_id": str(parent)})
            for v, child in zip(document["variants"], children, strict=True)})
    return refs


def stock_changes(documents: list[dict[str, Any]],
                  refs: dict[str, tuple[str, dict[int, ShopRef]]]) -> list[ListingChange]:
    changes = []
    for document in documents:
        changed = {**document, "variants": [{**v, "quantity": 3} for v in document["variants"]]}
        listing = Listing(key=document["key"], document=changed, content_hash="c",
                          full_hash="f", product_ids=tuple(
                              v["product_id"] for v in document["variants"]))
        shop_id, variants = refs[document["key"]]
        changes.append(ListingChange("stock", document["key"], listing, ShopRef(shop_id, {}),
                                     variants))
    return changes


def bench_stock(shops: int, products: int, variable_share: float, group_size: int) -> None:
    documents = catalog(products, variable_share, group_size)
    listings = len(documents)
    variable = sum(1 for d in documents if translate.is_variable(d))
    minimum = math.ceil(products / 100)
    # products/batch refuses variations, and no endpoint takes variations of several parents
    # (woocommerce#29341, #31282): the least WooCommerce can do is one call per parent
    simple_count = sum(1 for d in documents if not translate.is_variable(d))
    floor = math.ceil(simple_count / 100) + sum(
        math.ceil(len(d["variants"]) / 100) for d in documents if translate.is_variable(d))
    calls, seconds = [], []
    with WooCommerceSandbox() as sandbox:
        for number in range(shops):
            name = f"shop{number}"
            sandbox.add_shop(name)
            refs = seed(sandbox, name, documents)
            key, secret = sandbox.issue_keys(name)
            connector = WooCommerceConnector(ConnectionContext(
                id=number, key=name, platform="woocommerce", shop=sandbox.site_url(name),
                retailer_id=1, credentials={"consumer_key": key, "consumer_secret": secret,
                                            "webhook_secret": "s"},
                settings=ConnectionSettings()))
            changes = stock_changes(documents, refs)
            started = time.perf_counter()
            failed = 0
            for batch in batches(changes, connector.batch_sizes):
                failed += sum(1 for r in connector.update_stock(batch) if not r.ok)
            seconds.append(time.perf_counter() - started)
            state = sandbox.shops[name]
            calls.append(state.api_calls())
            wrong = sum(1 for p in state.products.values()
                        if p["type"] != "variable" and p["stock_quantity"] != 3)
            if failed or wrong:
                raise SystemExit(f"{name}: {failed} changes failed, {wrong} quantities wrong")
            del sandbox.shops[name]  # one shop's catalog in memory at a time
    total = sum(calls)
    print(f"stock change of {products} products ({listings} listings, {variable} variable "
          f"of {group_size}) to {shops} shops")
    print(f"  API calls: {total} in all, {total / shops:.1f} per shop; minimum "
          f"{minimum} per shop; ratio {total / (minimum * shops):.3f}")
    print(f"  WooCommerce's own floor (one variations/batch per parent): {floor} per shop; "
          f"ratio {total / (floor * shops):.3f}")
    print(f"  time per shop: median {statistics.median(seconds):.2f} s, "
          f"max {max(seconds):.2f} s; all shops {sum(seconds):.1f} s")


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def bench_latency(url: str | None, rate: float, seconds: float, workers: int,
                  cron: float, receiver: str) -> None:
    import json
    import logging
    import os
    import queue
    import random
    import shutil
    import tempfile
    import threading
    from datetime import UTC, datetime, timedelta

    import sqlalchemy as sa

    logging.disable(logging.WARNING)
    folder = tempfile.mkdtemp(prefix="glue-woo-bench-")
    url = url or f"sqlite:///{folder}/bench.db"
    workers = workers if not url.startswith("sqlite") else 1
    os.environ.setdefault("GLUE_SECRET_KEY", "bench-secret-key")

    from connectors import sync
    from connectors.woocommerce import sync as woo_sync
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
    from core.settings import Settings
    from glue.schema import metadata
    from sandbox.common import LoopbackServer
    from web.app import create_app
    from webhooks import inbox, outbox
    from webhooks.handlers import load_connectors, registry
    from webhooks.settings import SpineSettings
    from webhooks.spine import DELIVERY, FAN_OUT, INBOX, Spine

    load_connectors()
    database = Database(url)
    metadata.drop_all(database.engine)
    metadata.create_all(database.engine)
    jobs: queue.Queue[tuple[str, int | None]] = queue.Queue()

    def enqueue(job: str, ref: int | None = None, eta: datetime | None = None) -> None:
        """As Huey does: a job with an eta waits until its time (the sync an order asks for
        comes a second later, gathering a burst into one run)."""
        delay = (eta - datetime.now(UTC)).total_seconds() if eta is not None else 0.0
        if delay > 0:
            timer = threading.Timer(delay, jobs.put, args=((job, ref),))
            timer.daemon = True
            timer.start()
        else:
            jobs.put((job, ref))

    spine = Spine(database=database, settings=SpineSettings(sweep_grace_seconds=0),
                  registry=registry, rng=random.Random(3), enqueue=enqueue)
    with WooCommerceSandbox() as sandbox:
        shop = sandbox.add_shop("bench")
        key, secret = sandbox.issue_keys("bench")
        if receiver == "process":
            # the production receiver in its own process (waitress, 8 threads), enqueueing to
            # a Huey queue nobody reads: the workers here find new deliveries as the sweep
            # does, by reading the inbox every 20 ms
            from bench.webhooks import free_port, start_server, wait_for

            port = free_port()
            stop_receiver, _ = start_server("waitress", url, port, folder)
            wait_for(port)
            glue = None
            os.environ["GLUE_PUBLIC_URL"] = f"http://127.0.0.1:{port}"
        else:
            app = create_app(database=database, settings=Settings(
                instance_dir=folder, public_url="http://127.0.0.1"))
            app.extensions["glue.spine"] = spine
            glue = LoopbackServer(app).start()
            os.environ["GLUE_PUBLIC_URL"] = glue.url
        try:
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
                    catalog = Catalog(external_id="BENCH", supplier_id=supplier.id,
                                      name="Bench", is_public=True, state="active")
                    s.add(catalog)
                    s.flush()
                s.add(CatalogAccess(catalog_id=catalog.id, retailer_id=retailer.id,
                                    state="active"))
                products = [Product(supplier_id=supplier.id, external_id=f"B-{n}",
                                    descriptions={"fi": {"name": f"Tuote {n}"}})
                            for n in range(100)]
                s.add_all(products)
                s.flush()
                s.add_all([Balance(catalog_id=catalog.id, product_id=p.id, quantity=10**6,
                                   wholesale_price=Decimal("10.00")) for p in products])
                connection = ShopConnection(
                    key="woobench", platform="woocommerce", shop=sandbox.site_url("bench"),
                    retailer_id=retailer.id, status="active", credentials=encrypt(json.dumps(
                        {"consumer_key": key, "consumer_secret": secret,
                         "webhook_secret": "bench-webhook-secret"})),
                    settings={"catalogs": [catalog.external_id]})
                s.add(connection)
                s.flush()
                connection_id = connection.id
            sync.run_sync(spine, connection_id)
            woo_sync.ensure_webhooks(spine, connection_id)
            while not jobs.empty():
                jobs.get()
            variations = [p["id"] for p in shop.products.values() if p["type"] == "simple"]
            if len(variations) != 100 or len(shop.webhooks) != 3:
                raise SystemExit("the bench shop was not set up")

            stop = threading.Event()
            checkout_at: dict[str, float] = {}
            sent_at: dict[str, float] = {}
            seen_at: dict[str, float] = {}
            original_send = sandbox.deliverer.send

            answered: list[float] = []

            def send(topic: str, target: str, body: bytes, headers: Any) -> Any:
                order_id = str(json.loads(body).get("id"))
                began = time.perf_counter()
                sent_at.setdefault(order_id, began)
                try:
                    return original_send(topic, target, body, headers)
                finally:
                    answered.append(time.perf_counter() - began)

            sandbox.deliverer.send = send  # type: ignore[method-assign]

            spent: dict[str, list[float]] = {}

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
                            outbox.fan_out(spine)
                        elif job == DELIVERY:
                            outbox.deliver(spine, ref)
                        elif job == sync.SYNC:
                            sync.run_sync(spine, ref)
                    except Exception as exc:  # noqa: BLE001 - a bench counts, it goes on
                        print(f"  job {job} {ref} failed: {type(exc).__name__}: {exc}")
                    spent.setdefault(job, []).append(time.perf_counter() - began)

            queued: set[int] = set()
            queued_lock = threading.Lock()

            def sweep() -> None:
                """The receiver's own enqueue goes to a queue nobody reads: find new inbox
                rows the way the sweep does."""
                while not stop.is_set():
                    with database.sessions() as s:
                        due = inbox.due_ids(s, spine.clock() + timedelta(seconds=1))
                    with queued_lock:
                        for delivery_id in due:
                            if delivery_id not in queued:
                                queued.add(delivery_id)
                                jobs.put((INBOX, delivery_id))
                    time.sleep(0.02)

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
                    time.sleep(0.02)

            threads = [threading.Thread(target=work, daemon=True) for _ in range(workers)]
            threads.append(threading.Thread(target=watch, daemon=True))
            if receiver == "process":
                threads.append(threading.Thread(target=sweep, daemon=True))
            for thread in threads:
                thread.start()
            sandbox.start_cron(cron)
            started = time.perf_counter()
            total = int(rate * seconds)
            for number in range(total):
                due = started + number / rate
                pause = due - time.perf_counter()
                if pause > 0:
                    time.sleep(pause)
                order = sandbox.checkout("bench", [
                    {"product_id": variations[number % len(variations)], "quantity": 1}])
                checkout_at[str(order["id"])] = time.perf_counter()
            load_seconds = time.perf_counter() - started
            deadline = time.perf_counter() + 60
            while len(seen_at) < total and time.perf_counter() < deadline:
                time.sleep(0.1)
            sandbox.stop_cron()
            stop.set()
            for thread in threads:
                thread.join(timeout=30)
        finally:
            if glue is not None:
                glue.stop()
            else:
                stop_receiver()
            database.dispose()
            shutil.rmtree(folder, ignore_errors=True)
    for job, times in sorted(spent.items()):
        print(f"  jobs {job}: {len(times)}, {sum(times):.1f} s in all, "
              f"median {statistics.median(times) * 1000:.0f} ms")
    visible = [seen_at[o] - checkout_at[o] for o in checkout_at if o in seen_at]
    glue_part = [seen_at[o] - sent_at[o] for o in checkout_at if o in seen_at and o in sent_at]
    print(f"checkout → shipment visible: {total} orders at {total / load_seconds:.1f}/s over "
          f"{load_seconds:.0f} s, WooCommerce queue every {cron} s, {workers} worker thread(s), "
          f"{'PostgreSQL' if url.startswith('postgresql') else 'SQLite'}")
    print(f"  visible: {len(visible)} of {total}")
    if visible:
        print(f"  checkout → visible: p50 {_percentile(visible, 0.5) * 1000:.0f} ms, "
              f"p99 {_percentile(visible, 0.99) * 1000:.0f} ms, "
              f"max {max(visible) * 1000:.0f} ms")
    if answered:
        print(f"  Glue's receiver answered {len(answered)} deliveries: p50 "
              f"{_percentile(answered, 0.5) * 1000:.0f} ms, p99 "
              f"{_percentile(answered, 0.99) * 1000:.0f} ms (WooCommerce sends them one "
              f"after another)")
    if glue_part:
        print(f"  WooCommerce sends → visible (Glue): p50 "
              f"{_percentile(glue_part, 0.5) * 1000:.0f} ms, p99 "
              f"{_percentile(glue_part, 0.99) * 1000:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="part", required=True)
    stock = sub.add_parser("stock", help="stock change API calls against the minimum")
    stock.add_argument("--shops", type=int, default=20)
    stock.add_argument("--products", type=int, default=10_000)
    stock.add_argument("--variable-share", type=float, default=0.0)
    stock.add_argument("--group-size", type=int, default=4)
    latency = sub.add_parser("latency", help="checkout → shipment visible, p50/p99")
    latency.add_argument("--url", help="a scratch database URL (default: a new SQLite file)")
    latency.add_argument("--rate", type=float, default=20.0)
    latency.add_argument("--seconds", type=float, default=60.0)
    latency.add_argument("--workers", type=int, default=2)
    latency.add_argument("--cron", type=float, default=0.2)
    latency.add_argument("--receiver", choices=["process", "thread"], default="process",
                         help="the receiver in its own process (waitress), or a thread here")
    args = parser.parse_args()
    if args.part == "stock":
        bench_stock(args.shops, args.products, args.variable_share, args.group_size)
    else:
        bench_latency(args.url, args.rate, args.seconds, args.workers, args.cron,
                      args.receiver)


if __name__ == "__main__":
    main()
