"""Shopify's privacy duties over the data Glue holds for one shop connection.

Shopify sends the mandatory compliance topics (``reference/platforms.md`` 1.2) and the app
must act on them within 30 days:

- ``customers/redact``: :func:`redact_customer` replaces that customer's personal data in the
  connection's orders (the ``client`` and ``deliveryAddress`` parties, which is where Glue
  keeps names, addresses, phone numbers and e-mail; shipments and parcels hold none of their
  own) with a fixed marker. Rows, amounts, products and tracking codes stay: they are the
  supplier's and the retailer's business records, not the customer's data.
- ``shop/redact`` (48 hours after uninstall): :func:`redact_shop` removes what belongs to the
  shop: its credentials, its external references (shop product and variant ids) and the
  personal data in all of its orders, and marks the connection ``redacted``.
- ``customers/data_request``: :func:`customer_data` is the JSON document of everything the
  connection's orders hold about that customer, for the merchant to pass on.

A customer is matched by the shop order ids Shopify names and by the e-mail or phone in the
order's parties (case-insensitive e-mail), only among orders of that one connection: never
another retailer's orders.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from connectors.models import ExternalReference
from core.models import Order, ShopConnection

REDACTED = "[redacted]"
PERSONAL_PARTIES = ("client", "deliveryAddress")
PERSONAL_FIELDS = ("name", "streetAddress", "postalCode", "postOffice", "telephone", "email",
                   "externalId")


def _party_values(parties: Mapping[str, Any] | None, field: str) -> set[str]:
    return {str(((parties or {}).get(p) or {}).get(field) or "").strip().lower()
            for p in PERSONAL_PARTIES} - {""}


def customer_orders(session: Session, connection_id: int, *, email: str = "",
                    phone: str = "", shop_order_ids: Iterable[str] = ()) -> list[Order]:
    """The connection's orders that are this customer's, oldest first. The parties are read
    as plain rows in chunks (a shop may have many orders); only matches become objects."""
    ids = {str(i) for i in shop_order_ids if i}
    email, phone = email.strip().lower(), phone.strip().lower()
    matches = []
    rows = session.execute(
        sa.select(Order.id, Order.shop_order_id, Order.parties)
        .where(Order.shop_connection_id == connection_id).order_by(Order.id)
        .execution_options(yield_per=500))
    for row in rows:
        if (row.shop_order_id in ids
                or (email and email in _party_values(row.parties, "email"))
                or (phone and phone in _party_values(row.parties, "telephone"))):
            matches.append(row.id)
    if not matches:
        return []
    return list(session.scalars(sa.select(Order).where(Order.id.in_(matches))
                                .order_by(Order.id)))


def _anonymise(order: Order) -> bool:
    parties = dict(order.parties or {})
    changed = False
    for name in PERSONAL_PARTIES:
        party = dict(parties.get(name) or {})
        for field in PERSONAL_FIELDS:
            if party.get(field) not in (None, "", REDACTED):
                party[field] = REDACTED
                changed = True
        if party:
            parties[name] = party
    if changed:
        order.parties = parties
    return changed


def redact_customer(session: Session, connection_id: int, *, email: str = "",
                    phone: str = "", shop_order_ids: Iterable[str] = (),
                    now: datetime | None = None) -> list[str]:
    """Anonymise the customer's personal data in the connection's orders, in the caller's
    transaction; the external ids of the orders changed. Running it twice changes nothing
    the second time (deliveries come more than once)."""
    ids = {str(i) for i in shop_order_ids if i}
    changed = []
    for order in customer_orders(session, connection_id, email=email, phone=phone,
                                 shop_order_ids=ids):
        if _anonymise(order):
            if now is not None:
                order.updated_at = now
            changed.append(order.external_id)
    # a refused order keeps the shop's payload for a retry, and an earlier data request its
    # document: both hold the customer's data too
    for ref in session.scalars(sa.select(ExternalReference).where(
            ExternalReference.connection_id == connection_id,
            ExternalReference.kind.in_(("order", "data_request")))):
        extra = dict(ref.extra or {})
        if ref.kind == "order" and extra.get("payload") is not None and (
                ref.glue_id in ids or _mentions(extra["payload"], email, phone)):
            extra["payload"] = None
            ref.extra = extra
        elif ref.kind == "data_request" and _mentions(extra.get("document"), email, phone):
            session.delete(ref)
    session.flush()
    return changed


def _mentions(data: Any, email: str, phone: str) -> bool:
    """Whether a stored JSON document names the customer's e-mail or phone anywhere."""
    text = json.dumps(data, default=str).lower()
    return bool((email and email.strip().lower() in text)
                or (phone and phone.strip().lower() in text))


def redact_shop(session: Session, connection_id: int, *,
                now: datetime | None = None) -> int:
    """Delete the shop's data held by the connection; the number of orders anonymised.

    The connection row itself stays, ``redacted``, without credentials or settings, so that
    the orders keep pointing at a connection and a late delivery for the shop finds it dead.
    """
    connection = session.get(ShopConnection, connection_id)
    if connection is None:
        return 0
    session.execute(sa.delete(ExternalReference).where(
        ExternalReference.connection_id == connection_id))
    count = 0
    for order in session.scalars(sa.select(Order).where(
            Order.shop_connection_id == connection_id)):
        count += _anonymise(order)
    connection.credentials = None
    connection.settings = {}
    connection.status = "redacted"
    if now is not None:
        connection.updated_at = now
    session.flush()
    return count


def customer_data(session: Session, connection_id: int, *, email: str = "", phone: str = "",
                  shop_order_ids: Iterable[str] = (),
                  request_id: str = "") -> dict[str, Any]:
    """The data the connection's orders hold about one customer, as one JSON document."""
    orders = customer_orders(session, connection_id, email=email, phone=phone,
                             shop_order_ids=shop_order_ids)
    return {
        "request_id": request_id,
        "customer": {"email": email, "phone": phone},
        "orders": [_order_data(order) for order in orders],
    }


def _order_data(order: Order) -> dict[str, Any]:
    parties: Mapping[str, Any] = order.parties or {}
    return {
        "shop_order_id": order.shop_order_id, "order": order.external_id,
        "order_date": order.order_date.isoformat() if order.order_date else None,
        "status": order.status, "currency": order.currency,
        "total_price": str(order.total_price) if order.total_price is not None else None,
        **{name: dict(parties.get(name) or {}) for name in PERSONAL_PARTIES},
        "rows": [{"product": row.external_product_id, "description": row.product_description,
                  "quantity": row.quantity,
                  "price": str(row.price) if row.price is not None else None,
                  "status": row.status} for row in order.rows],
        "shipments": [{"shipment": shipment.shipment_id, "status": shipment.status,
                       "tracking_codes": [code for parcel in shipment.parcels
                                          for code in parcel.tracking_codes]}
                      for shipment in order.shipments],
    }


__all__ = ["REDACTED", "customer_data", "customer_orders", "redact_customer", "redact_shop"]
