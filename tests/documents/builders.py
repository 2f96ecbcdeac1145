"""Shipments with orders, rows and parcels, built straight from the models (the order service is
not what these tests are about)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from sqlalchemy.orm import Session

from core.db import utcnow
from core.models import (
    Comment,
    Order,
    OrderRow,
    Organization,
    Parcel,
    ParcelRow,
    Shipment,
)
from core.tracking import assign_tracking_codes
from tests import factories

_seq = itertools.count(1)

DELIVERY = {"name": "Äijä Östman\nc/o K-Market Töölö", "streetAddress": "Runebergin katu 55 B",
            "postalCode": "00260", "postOffice": "HELSINKI", "country": "FI",
            "telephone": "+358 40 765 4321", "email": "aija@example.test"}
VENDOR = {"name": "Kauppa Åland Öljy Oy", "streetAddress": "Mäkitie 5", "postalCode": "00100",
          "postOffice": "HELSINKI", "country": "FI"}


def new_supplier(session: Session, name: str | None = None) -> Organization:
    """A supplier with its public catalog."""
    return factories.supplier(session, name=name or f"Toimittaja Oy {next(_seq)}")


def new_retailer(session: Session, name: str | None = None) -> Organization:
    return factories.retailer(session, name=name or f"Kauppa {next(_seq)}")


def shipment(session: Session, *, supplier: Organization | None = None,
             retailer: Organization | None = None,
             rows: Sequence[tuple[str, int, int, str]] = (("Sähkövatkain Ä1", 2, 2, "49.90"),),
             parcels: int = 1, status: str = "Delivered", delivered_at: datetime | None = None,
             passthrough: Sequence[str] = (), pickup_point: str | None = None,
             own_codes: bool = False, created_at: datetime | None = None) -> Shipment:
    """A shipment of ``rows`` (name, ordered, delivered, unit price) split round-robin over
    ``parcels``; a Delivered one gets its tracking codes the way confirming gives them."""
    n = next(_seq)
    supplier = supplier or new_supplier(session)
    retailer = retailer or new_retailer(session)
    catalog = factories.public_catalog(session, supplier)
    order = Order(retailer_id=retailer.id, external_id=f"ORD-{n:03d}-X",
                  parties={"vendor": VENDOR, "deliveryAddress": DELIVERY,
                           "sender": VENDOR},
                  service_code="2103", pickup_point_id=pickup_point, currency="EUR")
    session.add(order)
    session.flush()
    order_rows = []
    for line_no, (name, ordered, delivered, price) in enumerate(rows, start=1):
        product = factories.product(session, supplier, f"SKU-{n}-{line_no}",
                                    ean_code="6415712345678")
        row = OrderRow(order_id=order.id, line_no=line_no, external_id=str(line_no),
                       product_id=product.id,
                       catalog_id=catalog.id, supplier_id=supplier.id,
                       external_product_id=product.external_id,
                       product_ean_code=product.ean_code, product_description=name,
                       quantity=ordered, delivered_quantity=delivered, price=Decimal(price))
        session.add(row)
        order_rows.append(row)
    for text in passthrough:
        session.add(Comment(order_id=order.id, external_id=f"C-{next(_seq)}", value=text,
                            type="passThrough"))
    session.flush()
    moment = created_at or utcnow()
    result = Shipment(shipment_id=f"SHP-{n:05d}", order_id=order.id, supplier_id=supplier.id,
                      status=status, created_at=moment,
                      delivered_at=(delivered_at or utcnow()) if status == "Delivered" else None)
    session.add(result)
    session.flush()
    for row in order_rows:
        row.shipment_id = result.id
    for p in range(parcels):
        parcel = Parcel(shipment_id=result.id, parcel_id=str(p + 1), service_code="2103",
                        weight=Decimal("1.25") + p,
                        tracking_codes=[f"OWN{n:04d}{p}"] if own_codes else [],
                        tracking_source="own" if own_codes else None)
        parcel.rows = [ParcelRow(order_row_id=row.id, delivered_quantity=row.delivered_quantity)
                       for i, row in enumerate(order_rows) if i % parcels == p]
        session.add(parcel)
    session.flush()
    session.refresh(result)
    session.refresh(order)
    if status == "Delivered":
        assign_tracking_codes(session, result)
    return result
