"""Server time of the supplier's two busiest pages at scale: the product list at 100,000
products and the shipment queue at 10,000 shipments.

    .venv/bin/python bench/ui.py                        # SQLite in a temporary file
    .venv/bin/python bench/ui.py --url postgresql+psycopg://postgres@127.0.0.1/bench

One supplier publishes ``--products`` products in its public catalog; a retailer with access
places ``--shipments`` one-row orders through ``core.orders.create_order`` (each order is one
shipment); a third of the shipments are then moved to Delivered and a tenth to Picking, so the
status tabs have something to filter. The supplier logs in through the real login form, and
each page is requested ``--repeat`` times through the Flask app in this process: the time
measured is the server's (routing, session, queries, template), not the network's; the
objects made at start-up are frozen out of the garbage collector's way, as ``glue serve`` does.
Pages:
the first page, a page deep in the list (a keyset cursor), a status filter and a search.

WARNING: with ``--url`` every Glue table in that database is dropped and recreated. Point it at
a scratch database.
"""

from __future__ import annotations

import argparse
import gc
import re
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402

from core import parties  # noqa: E402
from core.db import Database, utcnow  # noqa: E402
from core.models import Balance, Catalog, CatalogAccess, Organization, Product, Shipment  # noqa: E402
from core.order_input import parse_order  # noqa: E402
from core.orders import create_order  # noqa: E402
from core.principal import SYSTEM, Principal  # noqa: E402
from glue.schema import metadata  # noqa: E402

CHUNK = 5_000
EMAIL, PASSWORD = "bench@supplier.example", "bench-password-2026"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def build(db: Database, products: int, shipments: int) -> None:
    metadata.drop_all(db.engine)
    metadata.create_all(db.engine)
    now = utcnow()
    with db.transaction() as session:
        supplier = Organization(business_id="1234567-1", name="Bench Supplier Oy",
                                is_supplier=True)
        retailer = Organization(business_id="7654321-4", name="Bench Retailer Oy",
                                is_retailer=True)
        session.add_all([supplier, retailer])
        session.flush()
        catalog = Catalog(external_id="BENCHCAT", supplier_id=supplier.id, name="Catalog",
                          is_public=True, state="active")
        session.add(catalog)
        session.flush()
        session.add(CatalogAccess(catalog_id=catalog.id, retailer_id=retailer.id,
                                  state="active"))
        for start in range(0, products, CHUNK):
            session.execute(sa.insert(Product), [
                {"supplier_id": supplier.id, "external_id": f"SKU-{n:07d}",
                 "ean_code": f"2{n:012d}",
                 "descriptions": {"fi": {"name": f"Tuote {n}"}, "en": {"name": f"Product {n}"}},
                 "created_at": now, "updated_at": now}
                for n in range(start, min(start + CHUNK, products))])
        ids = session.scalars(sa.select(Product.id).order_by(Product.id)).all()
        for start in range(0, len(ids), CHUNK):
            session.execute(sa.insert(Balance), [
                {"catalog_id": catalog.id, "product_id": pid, "quantity": 1_000_000,
                 "wholesale_price": Decimal("9.90"), "modified_at": now}
                for pid in ids[start:start + CHUNK]])
        parties.create_user(session, SYSTEM, email=EMAIL, organization_id=supplier.id,
                            permissions=["admin", "supplier"], name="Bench", password=PASSWORD)
        supplier_id, retailer_id = supplier.id, retailer.id
    actor = Principal(organization_id=retailer_id, permissions=frozenset({"retailer"}),
                      label="bench")
    started = time.perf_counter()
    for start in range(0, shipments, 100):
        with db.transaction() as session:
            for n in range(start, min(start + 100, shipments)):
                create_order(session, actor, parse_order({
                    "externalId": f"ORDER-{n:06d}", "deliveryOperator": "Posti",
                    "client": {"name": "Asiakas", "email": "asiakas@example.test"},
                    "rows": [{"externalProductId": f"SKU-{(n * 7919) % products:07d}",
                              "quantity": 1}]}))
    print(f"  {shipments} orders placed in {time.perf_counter() - started:.0f} s")
    with db.transaction() as session:
        ids = session.scalars(sa.select(Shipment.id).where(
            Shipment.supplier_id == supplier_id).order_by(Shipment.id)).all()
        delivered = [i for n, i in enumerate(ids) if n % 3 == 0]
        picking = [i for n, i in enumerate(ids) if n % 10 == 1]
        for chunk in range(0, len(delivered), CHUNK):
            session.execute(sa.update(Shipment).where(Shipment.id.in_(
                delivered[chunk:chunk + CHUNK])).values(status="Delivered"))
        session.execute(sa.update(Shipment).where(Shipment.id.in_(picking))
                        .values(status="Picking"))


def _log_in(client) -> None:  # noqa: ANN001
    token = CSRF.search(client.get("/login").get_data(as_text=True)).group(1)
    answer = client.post("/login", data={"csrf_token": token, "email": EMAIL,
                                         "password": PASSWORD})
    assert answer.status_code == 302, answer.status_code


def _time(client, path: str, repeat: int) -> tuple[float, float]:  # noqa: ANN001
    for _ in range(3):  # warm the caches and the template
        assert client.get(path).status_code == 200, path
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(path)
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, path
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1,
                                                   int(len(samples) * 0.99))]


def bench(url: str, products: int, shipments: int, repeat: int) -> None:
    from web.app import create_app

    db = Database(url)
    print(f"building {products:,} products and {shipments:,} shipments on {url.split(':')[0]}")
    build(db, products, shipments)
    app = create_app(database=db)
    client = app.test_client()
    _log_in(client)
    gc.collect()
    gc.freeze()  # as `glue serve` does once started
    first = client.get("/supplier/shipments").get_data(as_text=True)
    cursor = re.search(r'href="[^"]*[?&]after=([^"&]+)', first)
    cases = [
        ("products: first page", "/supplier/products"),
        ("products: deep page (after SKU-0090000)", "/supplier/products?after=SKU-0090000"),
        ("products: status EOS", "/supplier/products?status=EOS"),
        ("products: search 'SKU-00777'", "/supplier/products?q=SKU-00777"),
        ("products: search by name 'Tuote 4242'", "/supplier/products?q=Tuote%204242"),
        ("shipments: first page", "/supplier/shipments"),
        ("shipments: second page (cursor)",
         f"/supplier/shipments?after={cursor.group(1)}" if cursor else "/supplier/shipments"),
        ("shipments: Picking tab", "/supplier/shipments?status=Picking"),
        ("shipments: Created tab", "/supplier/shipments?status=Created"),
        ("shipments: order reference 'ORDER-0042'", "/supplier/shipments?q=ORDER-0042"),
    ]
    print(f"{'page':45} {'p50 ms':>8} {'p99 ms':>8}")
    for name, path in cases:
        p50, p99 = _time(client, path, repeat)
        print(f"{name:45} {p50:8.1f} {p99:8.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a scratch database (default: a new SQLite file)")
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--shipments", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=100)
    args = parser.parse_args()
    url = args.url or f"sqlite:///{tempfile.mkdtemp(prefix='glue-ui-bench-')}/bench.db"
    bench(url, args.products, args.shipments, args.repeat)


if __name__ == "__main__":
    main()
