"""``glue export``: one organization's own data as a standalone SQLite file.

Written with sqlite-utils so that the file opens in any SQLite tool; product texts get a
full-text index. Only what the organization owns or is a party to is written (the visibility
rule): its products, its catalogs and their balances, its orders (as retailer) and the
shipments addressed to it (as supplier), their rows and parcels, and the events naming it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import sqlite_utils
from sqlalchemy.orm import Session

from core.errors import NotFound
from core.models import (
    Balance,
    Catalog,
    Comment,
    Event,
    Order,
    OrderRow,
    Organization,
    Parcel,
    ParcelRow,
    Product,
    Shipment,
)

TEXT_FIELDS = ("name", "shortDescription", "description")


def _plain(value: Any) -> Any:
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, default=str)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if value is not None and type(value).__name__ == "Decimal":
        return str(value)
    return value


def _rows(objects: Iterable[Any], skip: tuple[str, ...] = ()) -> Iterator[dict[str, Any]]:
    for obj in objects:
        yield {c.key: _plain(getattr(obj, c.key)) for c in sa.inspect(obj).mapper.column_attrs
               if c.key not in skip}


def export_organization(session: Session, business_id: str, out: Path) -> dict[str, int]:
    """Write the organization's data to ``out`` (replaced if it exists); return row counts."""
    org = session.scalar(sa.select(Organization).where(Organization.business_id == business_id))
    if org is None:
        raise NotFound(f"no organization with business ID {business_id}")
    out.unlink(missing_ok=True)
    db = sqlite_utils.Database(out)
    counts: dict[str, int] = {}

    def write(table: str, rows: Iterable[dict[str, Any]]) -> None:
        rows = list(rows)
        counts[table] = len(rows)
        if rows:
            db[table].insert_all(rows, pk="id", alter=True)

    write("organization", _rows([org], skip=("logo",)))
    catalogs = session.scalars(sa.select(Catalog).where(
        sa.or_(Catalog.supplier_id == org.id, Catalog.retailer_id == org.id))).all()
    write("catalogs", _rows(catalogs))
    catalog_ids = [c.id for c in catalogs]
    write("balances", _rows(session.scalars(
        sa.select(Balance).where(Balance.catalog_id.in_(catalog_ids)))))
    products = session.scalars(sa.select(Product).where(Product.supplier_id == org.id)).all()
    write("products", _product_rows(products))

    order_ids = set(session.scalars(sa.select(Order.id).where(Order.retailer_id == org.id)))
    shipments = session.scalars(sa.select(Shipment).where(sa.or_(
        Shipment.supplier_id == org.id, Shipment.order_id.in_(order_ids)))).all()
    shipment_ids = [s.id for s in shipments]
    # A supplier sees the orders behind its shipments only through the shipments' rows.
    rows = session.scalars(sa.select(OrderRow).where(sa.or_(
        OrderRow.order_id.in_(order_ids), OrderRow.shipment_id.in_(shipment_ids)))).all()
    write("orders", _rows(session.scalars(sa.select(Order).where(Order.id.in_(order_ids)))))
    write("order_rows", _rows(rows))
    write("shipments", _rows(shipments))
    parcels = session.scalars(sa.select(Parcel).where(Parcel.shipment_id.in_(shipment_ids))).all()
    write("parcels", _rows(parcels))
    write("parcel_rows", _rows(session.scalars(sa.select(ParcelRow).where(
        ParcelRow.parcel_id.in_([p.id for p in parcels])))))
    write("comments", _rows(session.scalars(sa.select(Comment).where(
        Comment.order_id.in_(order_ids)))))
    write("events", _rows(e for e in session.scalars(sa.select(Event).order_by(Event.id))
                          if org.id in (e.organization_ids or [])))

    if counts["products"]:
        db["products"].enable_fts([f"{f}_{lang}" for f in TEXT_FIELDS for lang in
                                   _languages(products)] or ["external_id"],
                                  create_triggers=True)
    db.close()
    return counts


def _languages(products: list[Product]) -> list[str]:
    return sorted({lang for p in products for lang in (p.descriptions or {})})


def _product_rows(products: list[Product]) -> Iterator[dict[str, Any]]:
    languages = _languages(products)
    for row, product in zip(_rows(products), products, strict=True):
        for lang in languages:
            texts = (product.descriptions or {}).get(lang) or {}
            for field in TEXT_FIELDS:
                row[f"{field}_{lang}"] = texts.get(field) or ""
        yield row
