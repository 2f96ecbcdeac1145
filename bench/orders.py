"""Accept-and-split throughput: orders of 5 rows over 3 suppliers, one transaction each.

    .venv/bin/python bench/orders.py                      # SQLite in a temporary file
    .venv/bin/python bench/orders.py --url postgresql+psycopg://postgres@127.0.0.1/bench

Each catalog size gets a fresh schema: 3 suppliers share the products equally, each publishes
its own into its public catalog, one retailer has active access to all three. Then ``--orders``
orders are created one after another, each in its own committed transaction, through
``core.orders.create_order`` (validation, catalog choice, reservation, split, events). Half of
the rows name their catalog, half leave the choice to Glue. The time per order should not grow
with the catalog: every lookup goes through an index.

WARNING: with ``--url`` every Glue table in that database is dropped and recreated. Point it at a
scratch database.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402

from core.db import Database, utcnow  # noqa: E402
from core.models import Balance, Catalog, CatalogAccess, Organization, Product  # noqa: E402
from core.order_input import parse_order  # noqa: E402
from core.orders import create_order  # noqa: E402
from core.principal import Principal  # noqa: E402
from glue.schema import metadata  # noqa: E402

SUPPLIERS = 3
ROWS_PER_SUPPLIER = (2, 2, 1)  # 5 rows over 3 suppliers
CHUNK = 5_000


def build(db: Database, products: int) -> tuple[Principal, list[str], list[int]]:
    """A fresh schema with the products; returns the retailer, catalog ids and per-supplier
    product count."""
    metadata.drop_all(db.engine)
    metadata.create_all(db.engine)
    per_supplier = products // SUPPLIERS
    catalogs: list[str] = []
    with db.transaction() as session:
        retailer = Organization(business_id="BENCH-R", name="Bench retailer", is_retailer=True)
        session.add(retailer)
        session.flush()
        for s in range(SUPPLIERS):
            supplier = Organization(business_id=f"BENCH-S{s}", name=f"Supplier {s}",
                                    is_supplier=True)
            session.add(supplier)
            session.flush()
            catalog = Catalog(external_id=f"BENCHS{s}", supplier_id=supplier.id,
                              name=f"Catalog {s}", is_public=True, state="active")
            session.add(catalog)
            session.flush()
            session.add(CatalogAccess(catalog_id=catalog.id, retailer_id=retailer.id,
                                      state="active"))
            catalogs.append(catalog.external_id)
            _bulk_products(session, supplier.id, catalog.id, s, per_supplier)
        actor = Principal(organization_id=retailer.id, permissions=frozenset({"retailer"}),
                          label="bench")
    return actor, catalogs, [per_supplier] * SUPPLIERS


def _bulk_products(session: sa.orm.Session, supplier_id: int, catalog_id: int, s: int,
                   count: int) -> None:
    now = utcnow()
    for start in range(0, count, CHUNK):
        numbers = range(start, min(start + CHUNK, count))
        session.execute(sa.insert(Product), [
            {"supplier_id": supplier_id, "external_id": f"S{s}-{n:07d}",
             "ean_code": f"2{s}{n:011d}", "descriptions": {"en": {"name": f"Product {n}"}},
             "created_at": now, "updated_at": now} for n in numbers])
    ids = session.scalars(sa.select(Product.id).where(Product.supplier_id == supplier_id)).all()
    for start in range(0, len(ids), CHUNK):
        session.execute(sa.insert(Balance), [
            {"catalog_id": catalog_id, "product_id": pid, "quantity": 1_000_000_000,
             "wholesale_price": Decimal("9.90"), "modified_at": now}
            for pid in ids[start:start + CHUNK]])


def order_body(rng: random.Random, catalogs: list[str], sizes: list[int]) -> dict:
    rows = []
    for s, count in enumerate(ROWS_PER_SUPPLIER):
        for n in rng.sample(range(sizes[s]), count):
            row = {"externalProductId": f"S{s}-{n:07d}", "quantity": rng.randint(1, 3)}
            if rng.random() < 0.5:
                row["externalWarehouseId"] = catalogs[s]
            rows.append(row)
    return {"rows": rows, "deliveryOperator": "Posti",
            "client": {"name": "Bench", "email": "bench@example.test"}}


def run(db: Database, products: int, orders: int) -> tuple[float, float]:
    """Orders per wall-clock second and per CPU second of this process (the latter does not
    count the PostgreSQL server's work, but shows the rate on a busy machine)."""
    actor, catalogs, sizes = build(db, products)
    rng = random.Random(products)
    bodies = [parse_order(order_body(rng, catalogs, sizes)) for _ in range(orders + 20)]
    for data in bodies[:20]:  # warm up connections and statement caches
        with db.transaction() as session:
            create_order(session, actor, data)
    started, cpu = time.perf_counter(), time.process_time()
    for data in bodies[20:]:
        with db.transaction() as session:
            order = create_order(session, actor, data)
            assert len(order.shipments) == SUPPLIERS
    return (orders / (time.perf_counter() - started), orders / (time.process_time() - cpu))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="PostgreSQL URL of a scratch database (tables dropped)")
    parser.add_argument("--orders", type=int, default=500)
    parser.add_argument("--sizes", default="1000,10000,100000",
                        help="catalog sizes (total products), comma-separated")
    args = parser.parse_args(argv)
    if args.url:
        targets = [("postgresql", args.url)]
    else:
        folder = tempfile.mkdtemp(prefix="glue-bench-")
        targets = [("sqlite", f"sqlite:///{folder}/bench.db")]
    print(f"{'database':<12}{'products':>10}{'orders':>8}{'orders/s':>10}{'orders/cpu-s':>14}")
    for name, url in targets:
        db = Database(url)
        try:
            for size in (int(x) for x in args.sizes.split(",")):
                rate, cpu_rate = run(db, size, args.orders)
                print(f"{name:<12}{size:>10}{args.orders:>8}{rate:>10.0f}{cpu_rate:>14.0f}",
                      flush=True)
        finally:
            db.dispose()


if __name__ == "__main__":
    main()
