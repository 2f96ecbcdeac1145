"""Bulk product upsert throughput (PUT /inventory semantics), in products per second.

Creates a supplier on a fresh database and upserts N products, each with a balance in the
supplier's public catalog, in calls of 2,000 items, one transaction per call, as the API does.
Three passes: create, send the same data again (nothing changes), change every quantity.

    .venv/bin/python bench/products.py [--n 100000] [--url postgresql+psycopg://...]

Without --url it runs on a new SQLite file in a temporary folder. With --url the database's
tables are dropped and created again: point it at a scratch database only.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.db import Database  # noqa: E402
from core.inventory import upsert_inventory  # noqa: E402
from core.models import Catalog, Organization  # noqa: E402
from core.principal import Principal  # noqa: E402
from glue.schema import metadata  # noqa: E402

BATCH = 2000


def gtin13(serial: int) -> str:
    body = f"640{serial:09d}"
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return body + str((10 - total % 10) % 10)


def item(n: int, catalog: str, quantity: int) -> dict:
    return {
        "product": {
            "externalId": f"SKU-{n:07d}", "eanCode": gtin13(n), "status": "ACTIVE",
            "recommendedRetailPrice": "19.90", "currency": "EUR", "vatPercentage": 25.5,
            "unitOfMeasure": "KPL", "measurements": {"weight": 0.35, "length": 0.2},
            "images": [{"url": f"https://img.example.test/{n}.jpg"}],
            "descriptions": {"fi": {"name": f"Tuote {n}"}, "en": {"name": f"Product {n}"}},
            "variantGroupId": None, "distributor": None,
        },
        "balances": [{"catalogExternalId": catalog, "retailerId": None, "quantity": quantity,
                      "wholesalePrice": "9.50", "currency": "EUR"}],
    }


def setup(db: Database) -> tuple[Principal, str]:
    metadata.drop_all(db.engine)
    metadata.create_all(db.engine)
    with db.transaction() as session:
        supplier = Organization(business_id="1234567-1", name="Bench supplier", is_supplier=True)
        session.add(supplier)
        session.flush()
        session.add(Catalog(external_id="12345671", supplier_id=supplier.id, name="Public",
                            is_public=True, state="active"))
        actor = Principal(organization_id=supplier.id, permissions=frozenset({"supplier"}),
                          label="bench")
    return actor, "12345671"


def run_pass(db: Database, actor: Principal, n: int, make: Callable[[int], dict],
             ) -> tuple[float, float]:
    """Products per second of wall time, and per second of this process's CPU time (the
    latter does not drop when other work shares the machine; PostgreSQL's own CPU is not in
    it)."""
    started, cpu = time.perf_counter(), time.process_time()
    for start in range(0, n, BATCH):
        items = [make(i) for i in range(start, min(start + BATCH, n))]
        with db.transaction() as session:
            failed = upsert_inventory(session, actor, items)
        if failed:
            raise SystemExit(f"unexpected failures: {failed[:3]}")
    return n / (time.perf_counter() - started), n / (time.process_time() - cpu)


def bench(url: str, n: int) -> None:
    db = Database(url)
    try:
        actor, catalog = setup(db)
        label = url.split(":", 1)[0]
        for name, quantity in (("create", 5), ("unchanged", 5), ("new quantities", 7)):
            rate, cpu_rate = run_pass(db, actor, n, lambda i, q=quantity: item(i, catalog, q))
            print(f"{label:<20} {name:<16} {n:>8} products  {rate:>9,.0f} products/s"
                  f"  ({cpu_rate:,.0f} per CPU second)", flush=True)
    finally:
        db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="number of products")
    parser.add_argument("--url", help="also run on this (scratch) PostgreSQL database")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        bench(f"sqlite:///{folder}/bench.db", args.n)
    if args.url:
        bench(args.url, args.n)


if __name__ == "__main__":
    main()
