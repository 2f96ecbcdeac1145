"""Orders: a retailer's order, validated all or nothing, reserved and split (DESIGN.md 5, v3 B4).

Service functions take the acting principal, flush but never commit, and raise domain errors;
when one raises, the caller rolls its transaction back. Orders belong to a retailer: only it
sees or changes them (anyone else gets ``NotFound``); suppliers reach an order only through
their shipments (core/shipments.py), and may comment on it that way.

Decisions where the v3 contract is silent:

- ``externalWarehouseId`` absent: the highest ``priority`` number wins among the catalogs the
  retailer may order from that hold the product ACTIVE; ties go to the oldest catalog.
- the ``status`` of a create body is ignored (an order's status is derived); in an update,
  ``{"status": {"value": "Cancelled"}}`` cancels every row that can still be cancelled, other
  values are ignored. Rows in an update body are ignored: rows change by cancelling them or by
  reopening the order.
- reopening (POST under an existing id, allowed once the order is ``Cancelled`` or
  ``Delivered``) keeps the old order for the record under ``<externalId>~<id>`` and creates a
  new one under the id.
- deleting is allowed while no supplier has started: the order is not routed, or each of its
  shipments is ``Created`` or ``Cancelled``. Reserved stock is released, the ``Created``
  shipments are announced as cancelled, and the order is removed.
"""

from __future__ import annotations

import secrets
import string
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from core import events, keyset, reservation, status
from core.access import active_catalog_ids
from core.db import utcnow
from core.errors import Conflict, Forbidden, GlueError, NotFound, ValidationFailed
from core.models import Balance, Catalog, Comment, Order, OrderRow, Product, Shipment
from core.order_input import CommentIn, OrderIn, PartyIn, RowIn
from core.principal import Principal
from core.shipments import apply_status as apply_shipment_status
from core.shipments import (
    comment_to_wire,
    create_shipments,
    get_shipment,
    lock_order,
    order_organizations,
    parties_to_wire,
    sync_order,
)
from core.wire import number, timestamp

DELIVERY_OPERATORS = ("Posti", "Unifaun")
COMMENT_TYPES = ("pickingNote", "passThrough")
_ID_ALPHABET = string.ascii_uppercase + string.digits

# --- finding orders ------------------------------------------------------------------------


def _retailer_id(actor: Principal, retailer_id: int | None = None) -> int:
    """The retailer whose orders the actor works on (Glue's own jobs name it)."""
    if actor.system:
        if retailer_id is None:
            raise Forbidden("a system actor must name the retailer")
        return retailer_id
    actor.require("retailer")
    return actor.require_org()


def get_order(session: Session, actor: Principal, external_id: str, *,
              retailer_id: int | None = None) -> Order:
    """The retailer's own order; ``NotFound`` for every other actor."""
    owner = _retailer_id(actor, retailer_id)
    order = _find(session, owner, external_id)
    if order is None:
        raise NotFound(f"order {external_id} not found")
    return order


def _order_for_change(session: Session, actor: Principal, external_id: str) -> Order:
    """The retailer's order, its row locked (see ``core.shipments.lock_order``) before it is
    loaded, so the change works on the latest committed state."""
    owner = _retailer_id(actor)
    order_id = session.scalar(sa.select(Order.id).where(Order.retailer_id == owner,
                                                        Order.external_id == external_id))
    if order_id is not None:
        lock_order(session, order_id)
    return get_order(session, actor, external_id)


def _find(session: Session, retailer_id: int, external_id: str | None) -> Order | None:
    if not external_id:
        return None
    return session.scalar(sa.select(Order).where(Order.retailer_id == retailer_id,
                                                 Order.external_id == external_id))


def search_orders(session: Session, actor: Principal, *, ref_name: str | None = None,
                  ref_value: str | None = None, statuses: Sequence[str] | None = None,
                  warehouse_external_id: str | None = None, from_: datetime | None = None,
                  to: datetime | None = None, updated_from: datetime | None = None,
                  updated_to: datetime | None = None, document_type: str | None = None,
                  page: int = 0, size: int = 20,
                  after: str | None = None) -> tuple[list[Order], int]:
    """The retailer's orders, newest order date first: one page (0-based) and the total.

    ``ref_name``/``ref_value`` match a reference (either may be left out), ``from_``/``to`` the
    order date, ``updated_from``/``updated_to`` the last change, ``warehouse_external_id`` a
    catalog one of the rows comes from, ``document_type`` the ``metadata.documentType``.
    ``after`` (a cursor of :func:`order_key`, see :mod:`core.keyset`) wins over ``page``."""
    owner = _retailer_id(actor)
    query = sa.select(Order).where(Order.retailer_id == owner)
    if ref_name is not None or ref_value is not None:
        query = query.where(_reference_matches(session, ref_name, ref_value))
    if statuses:
        query = query.where(Order.status.in_(list(statuses)))
    if warehouse_external_id:
        query = query.where(Order.id.in_(
            sa.select(OrderRow.order_id).join(Catalog, Catalog.id == OrderRow.catalog_id)
            .where(Catalog.external_id == warehouse_external_id)))
    if from_ is not None:
        query = query.where(Order.order_date >= from_)
    if to is not None:
        query = query.where(Order.order_date <= to)
    if updated_from is not None:
        query = query.where(Order.updated_at >= updated_from)
    if updated_to is not None:
        query = query.where(Order.updated_at <= updated_to)
    if document_type is not None:
        query = query.where(Order.document_type == document_type)
    # Keyset paging (core.keyset): a seek on (order_date, id), not an OFFSET over whole rows.
    return keyset.counted_page(session, query, (Order.order_date, Order.id), page=page,
                               size=size, after=after,
                               descending=True)


def order_key(order: Order) -> keyset.Key:
    """The paging key of a :func:`search_orders` row (for the next page's cursor)."""
    return (order.order_date, order.id)


def _reference_matches(session: Session, name: str | None,
                       value: str | None) -> sa.ColumnElement[bool]:
    """A reference with that name and/or value: JSONB containment on PostgreSQL, json_each
    on SQLite."""
    wanted = {k: v for k, v in (("name", name), ("value", value)) if v is not None}
    if session.get_bind().dialect.name == "postgresql":
        return sa.type_coerce(Order.references, postgresql.JSONB).contains([wanted])
    each = sa.func.json_each(Order.references).table_valued("value")
    conditions = [sa.func.json_extract(each.c.value, f"$.{k}") == v for k, v in wanted.items()]
    return sa.exists(sa.select(1).select_from(each).where(*conditions))


# --- validation and creation ---------------------------------------------------------------


@dataclass
class _Resolved:
    row: RowIn
    balance: Balance
    product: Product
    catalog: Catalog


def new_external_id() -> str:
    """A Glue-generated order id, ``XXX-XXX-XXX`` of A-Z and 0-9 (Code-128 safe)."""
    return "-".join("".join(secrets.choice(_ID_ALPHABET) for _ in range(3)) for _ in range(3))


def create_order(session: Session, actor: Principal, data: OrderIn, *, source: str = "api",
                 shop_connection_id: int | None = None, shop_order_id: str | None = None,
                 retailer_id: int | None = None) -> Order:
    """Validate, reserve and (unless ``preferences.autoSubmit`` is false) split the order.

    All or nothing: ``ValidationFailed`` lists every problem (``index`` = row number,
    ``field``, ``message``) and nothing is stored or reserved; an ``externalId`` this retailer
    already used raises ``Conflict``. Stock is reserved with conditional UPDATEs, so a sale
    lost to a concurrent order is reported like any other shortage."""
    owner = _retailer_id(actor, retailer_id)
    if data.external_id and _find(session, owner, data.external_id) is not None:
        raise Conflict(f"order {data.external_id} already exists", externalId=data.external_id)
    resolved = _validate(session, owner, data)
    short = reservation.reserve(session, [
        reservation.Claim(r.balance.id, r.row.quantity or 0, r.catalog.back_order_allowed)
        for r in resolved])
    if short:
        raise ValidationFailed("the order was rejected", [
            {"index": i, "field": "quantity",
             "message": "not enough stock (sold to another order meanwhile)"}
            for i, r in enumerate(resolved) if r.balance.id in short])
    order = _build(session, owner, data, resolved, source=source,
                   shop_connection_id=shop_connection_id, shop_order_id=shop_order_id)
    events.record(session, actor, "order.created", "order", order.external_id,
                  order_organizations(order), source=source)
    if order.auto_submit:
        create_shipments(session, actor, order)
    sync_order(session, actor, order)
    return order


def _validate(session: Session, retailer_id: int, data: OrderIn) -> list[_Resolved]:
    errors: list[dict[str, Any]] = _header_errors(data)
    rows = data.rows or []
    if not rows:
        errors.append({"field": "rows", "message": "an order needs at least one row"})
    active = active_catalog_ids(session, retailer_id)
    supplier_ids = sorted(session.scalars(
        sa.select(Catalog.supplier_id).where(Catalog.id.in_(active)).distinct())) if active else []
    resolved: list[_Resolved | None] = []
    row_ids: set[str] = set()
    for i, row in enumerate(rows):
        if row.external_id is not None:
            if row.external_id in row_ids:
                errors.append({"index": i, "field": "externalId",
                               "message": f"row id {row.external_id} is used twice"})
            row_ids.add(row.external_id)
        if row.quantity is None or row.quantity <= 0:
            errors.append({"index": i, "field": "quantity",
                           "message": "quantity must be a whole number above 0"})
        found, problem = _resolve_row(session, active, supplier_ids, row)
        if problem:
            errors.append({"index": i, **problem})
        resolved.append(found)
    errors.extend(_stock_errors(resolved))
    comment_ids: set[str] = set()
    for i, comment in enumerate(data.comments or []):
        errors.extend({"field": f"comments[{i}].{e['field']}", "message": e["message"]}
                      for e in _comment_errors(comment))
        if comment.external_id in comment_ids:
            errors.append({"field": f"comments[{i}].externalId", "message": "used twice"})
        if comment.external_id:
            comment_ids.add(comment.external_id)
    if errors:
        raise ValidationFailed("the order was rejected", errors)
    return [r for r in resolved if r is not None]


def _header_errors(data: OrderIn) -> list[dict[str, Any]]:
    errors = []
    client = data.client
    if data.delivery_operator is not None and data.delivery_operator not in DELIVERY_OPERATORS:
        errors.append({"field": "deliveryOperator",
                       "message": "deliveryOperator must be Posti or Unifaun"})
    if data.delivery_operator == "Posti" and not (client and (client.email or client.telephone)):
        errors.append({"field": "client", "message":
                       "with deliveryOperator Posti the client needs an email or a telephone"})
    if data.delivery_operator == "Unifaun" and not (client and client.telephone):
        errors.append({"field": "client.telephone",
                       "message": "with deliveryOperator Unifaun the client needs a telephone"})
    if data.external_id is not None and not _code128_safe(data.external_id):
        errors.append({"field": "externalId", "message":
                       "externalId must be 1-64 printable ASCII characters (Code 128)"})
    doc_type = data.metadata.document_type if data.metadata else None
    if doc_type not in (None, "SalesOrder", "PurchaseOrder"):
        errors.append({"field": "metadata.documentType",
                       "message": "documentType must be SalesOrder or PurchaseOrder"})
    return errors


def _code128_safe(value: str) -> bool:
    return 0 < len(value) <= 64 and all(32 <= ord(c) < 127 for c in value)


def _resolve_row(session: Session, active: set[int], supplier_ids: list[int],
                 row: RowIn) -> tuple[_Resolved | None, dict[str, str] | None]:
    """The balance the row is taken from, or the row's problem."""
    ext, ean = row.external_product_id, row.product_ean_code
    if not ext and not ean:
        return None, {"field": "externalProductId",
                      "message": "a row needs externalProductId or productEANCode"}
    catalog_ids = active
    if row.external_warehouse_id:
        catalog_id = session.scalar(sa.select(Catalog.id).where(
            Catalog.external_id == row.external_warehouse_id))
        if catalog_id is None or catalog_id not in active:
            return None, {"field": "externalWarehouseId", "message":
                          f"no catalog {row.external_warehouse_id} you may order from"}
        catalog_ids = {catalog_id}
    if not catalog_ids:
        return None, {"field": "externalWarehouseId",
                      "message": "you have no active catalog to order from"}
    candidates = _candidates(session, catalog_ids, supplier_ids, ext, ean,
                             product_id=row.product_id)
    if not candidates:
        if ext and ean and _candidates(session, catalog_ids, supplier_ids, ext, None):
            return None, {"field": "productEANCode", "message":
                          f"productEANCode {ean} is not the EAN of product {ext}: "
                          "productEANCode and externalProductId name different products"}
        if ext and ean and _candidates(session, catalog_ids, supplier_ids, None, ean):
            return None, {"field": "externalProductId", "message":
                          f"externalProductId {ext} is not the product with EAN {ean}: "
                          "productEANCode and externalProductId name different products"}
        field, value = ("externalProductId", ext) if ext else ("productEANCode", ean)
        return None, {"field": field, "message": f"no product {value} in your catalogs"}
    selling = [c for c in candidates if c.product.status == "ACTIVE"]
    if not selling:
        return None, {"field": "externalProductId" if ext else "productEANCode",
                      "message": "the product is at end of sale (EOS)"}
    chosen = selling[0]
    chosen.row = row
    return chosen, None


def _candidates(session: Session, catalog_ids: set[int], supplier_ids: list[int],
                ext: str | None, ean: str | None, *,
                product_id: int | None = None) -> list[_Resolved]:
    """Balances of matching products in those catalogs, best catalog first (only the given
    product's when the row is pinned to one)."""
    query = (sa.select(Balance, Product, Catalog)
             .join(Product, Product.id == Balance.product_id)
             .join(Catalog, Catalog.id == Balance.catalog_id)
             .where(Balance.catalog_id.in_(sorted(catalog_ids))))
    if product_id is not None:
        query = query.where(Product.id == product_id)
    if ext:
        # (supplier_id, external_id) is the unique index; naming the suppliers lets it serve
        query = query.where(Product.supplier_id.in_(supplier_ids), Product.external_id == ext)
    if ean:
        query = query.where(Product.ean_code == ean)
    result = session.execute(query.order_by(Catalog.priority.desc(), Catalog.id))
    return [_Resolved(RowIn(), b, p, c) for b, p, c in result]


def _stock_errors(resolved: list[_Resolved | None]) -> list[dict[str, Any]]:
    """Quantities above what is available, rows on one balance added up."""
    wanted: dict[int, int] = defaultdict(int)
    for r in resolved:
        if r is not None:
            wanted[r.balance.id] += max(r.row.quantity or 0, 0)
    errors = []
    for i, r in enumerate(resolved):
        if r is None or r.catalog.back_order_allowed or not r.row.quantity:
            continue
        if wanted[r.balance.id] > r.balance.quantity:
            errors.append({"index": i, "field": "quantity", "message":
                           f"only {max(r.balance.quantity, 0)} available"})
    return errors


def _build(session: Session, retailer_id: int, data: OrderIn, resolved: list[_Resolved], *,
           source: str, shop_connection_id: int | None, shop_order_id: str | None) -> Order:
    external_id = data.external_id or _unused_external_id(session, retailer_id)
    now = utcnow()
    order = Order(retailer_id=retailer_id, external_id=external_id,
                  order_date=_utc(data.order_date) or now, status=status.ACCEPTED,
                  source=source, shop_connection_id=shop_connection_id,
                  shop_order_id=shop_order_id, created_at=now, updated_at=now,
                  auto_submit=data.preferences is None or data.preferences.auto_submit is not False)
    _apply_header(order, data, set(OrderIn.model_fields))
    used = {r.row.external_id for r in resolved if r.row.external_id}
    for line_no, r in enumerate(resolved, start=1):
        row_id = r.row.external_id or _free_row_id(line_no, used)
        order.rows.append(OrderRow(
            line_no=line_no, external_id=row_id, product_id=r.product.id,
            catalog_id=r.catalog.id, supplier_id=r.catalog.supplier_id,
            external_product_id=r.product.external_id, product_ean_code=r.product.ean_code,
            product_description=(r.row.product_description or _product_name(r.product))[:500],
            product_unit_of_measure=r.row.product_unit_of_measure or r.product.unit_of_measure,
            quantity=r.row.quantity, reserved_quantity=r.row.quantity,
            wholesale_price=r.balance.wholesale_price, price=r.row.price,
            status=status.ACCEPTED))
    session.add(order)
    for c in data.comments or []:
        _add_comment(session, order, c, organization_id=retailer_id)
    return order


def _free_row_id(line_no: int, used: set[str]) -> str:
    candidate = str(line_no)
    while candidate in used:
        candidate = f"{candidate}-{line_no}"
    used.add(candidate)
    return candidate


def _product_name(product: Product) -> str:
    for lang in ("en", "fi", "sv"):
        name = (product.descriptions or {}).get(lang, {}).get("name")
        if name:
            return name
    return product.external_id


def _unused_external_id(session: Session, retailer_id: int) -> str:
    while True:
        candidate = new_external_id()
        if _find(session, retailer_id, candidate) is None:
            return candidate


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


_PARTY_FIELDS = {"vendor": "vendor", "sender": "sender", "client": "client",
                 "recipient": "recipient", "delivery_address": "deliveryAddress"}


def _apply_header(order: Order, data: OrderIn, fields: set[str], *,
                  dry_run: bool = False) -> dict[str, Any]:
    """Copy the header fields named in ``fields`` (OrderIn attribute names) onto the order;
    returns the wire names of those that changed (and, with ``dry_run``, changes nothing)."""
    changed: dict[str, Any] = {}

    def put(attr: str, wire: str, value: Any) -> None:
        if getattr(order, attr) != value:
            if not dry_run:
                setattr(order, attr, value)
            changed[wire] = value

    if "metadata" in fields and data.metadata is not None:
        if data.metadata.document_type is not None:
            put("document_type", "metadata.documentType", data.metadata.document_type)
        if "client" in data.metadata.model_fields_set:
            put("metadata_client", "metadata.client", data.metadata.client)
    if "references" in fields:
        put("references", "references", [r.model_dump(by_alias=True, exclude_none=True)
                                         for r in data.references or []])
    party_fields = set(_PARTY_FIELDS) & fields
    if party_fields:
        parties = dict(order.parties or {})
        for attr in party_fields:
            party = getattr(data, attr)
            parties[_PARTY_FIELDS[attr]] = (party.model_dump(by_alias=True, exclude_none=True)
                                            if party else None)
        put("parties", "parties", {k: v for k, v in parties.items() if v})
    for attr, wire in (("currency", "currency"), ("service_code", "serviceCode"),
                       ("routing_service_code", "routingServiceCode"),
                       ("pickup_point_id", "pickupPointId"),
                       ("delivery_operator", "deliveryOperator"),
                       ("total_price", "totalPrice"), ("total_tax", "totalTax"),
                       ("total_wholesale_price", "totalWholeSalePrice")):
        if attr in fields:
            value = getattr(data, attr)
            if attr == "currency":
                value = value or "EUR"
            put(attr, wire, value)
    if "additional_services" in fields:
        put("additional_services", "additionalServices", list(data.additional_services or []))
    if "order_date" in fields and data.order_date is not None:
        put("order_date", "orderDate", _utc(data.order_date))
    return changed


# --- order operations ----------------------------------------------------------------------


def update_order(session: Session, actor: Principal, external_id: str,
                 data: OrderIn) -> Order:
    """PUT: apply the header fields that were sent. ``status.value == "Cancelled"`` cancels
    the order (:func:`cancel_order`); ``preferences.autoSubmit`` goes through
    :func:`set_preferences`; rows and comments in the body are ignored. A change is refused
    (``Conflict``) once the order is final or a shipment is ``Shipping`` or final, as the goods
    left with the old data; sending unchanged values is always accepted."""
    order = _order_for_change(session, actor, external_id)
    if data.status is not None and data.status.value == status.CANCELLED:
        return cancel_order(session, actor, external_id)
    fields = data.model_fields_set - {"rows", "status", "preferences", "comments", "external_id"}
    if _apply_header(order, data, fields, dry_run=True):
        started = [s for s in order.shipments if s.status != status.CANCELLED
                   and s.status not in status.RETAILER_CANCELLABLE]
        if not status.is_open(order.status) or started:
            raise Conflict(f"order {external_id} is already on its way and cannot change")
        stored_client = (order.parties or {}).get("client")
        merged = OrderIn(
            client=data.client if "client" in fields else (
                PartyIn.model_validate(stored_client) if stored_client else None),
            delivery_operator=(data.delivery_operator if "delivery_operator" in fields
                               else order.delivery_operator),
            metadata=data.metadata)
        errors = _header_errors(merged)
        if errors:
            raise ValidationFailed("the order update was rejected", errors)
        changed = _apply_header(order, data, fields)
        order.updated_at = utcnow()
        session.flush()
        events.record(session, actor, "order.updated", "order", order.external_id,
                      order_organizations(order), fields=sorted(changed))
    if data.preferences is not None and data.preferences.auto_submit is not None:
        set_preferences(session, actor, external_id, data.preferences.auto_submit)
    return order


def cancel_order(session: Session, actor: Principal, external_id: str,
                 row_external_ids: Sequence[str] | None = None) -> Order:
    """Cancel the named rows, or every row still in progress when none are named.

    A row can be cancelled until its shipment is ``Shipping`` or final (``Conflict``
    otherwise, and nothing changes); already cancelled rows are skipped, so repeating a
    cancellation is harmless. Cancelled quantities go back to stock; a shipment left with no
    live row becomes ``Cancelled``."""
    order = _order_for_change(session, actor, external_id)
    if row_external_ids is None:
        targets = [r for r in order.rows if r.status != status.CANCELLED
                   and (r.shipment is None or r.shipment.status not in status.FINAL)]
        if not targets:
            if order.status == status.CANCELLED:
                return order
            raise Conflict(f"order {external_id} has nothing left to cancel")
    else:
        by_id = {r.external_id: r for r in order.rows}
        unknown = [x for x in row_external_ids if x not in by_id]
        if unknown:
            raise ValidationFailed("unknown rows", [
                {"field": "rows", "message": f"no row {x} in order {external_id}"}
                for x in unknown])
        targets = [by_id[x] for x in dict.fromkeys(row_external_ids)
                   if by_id[x].status != status.CANCELLED]
    blocked = [r for r in targets
               if r.shipment is not None and r.shipment.status not in status.RETAILER_CANCELLABLE]
    if blocked:
        raise Conflict("rows already on their way or final cannot be cancelled: "
                       + ", ".join(f"{r.external_id} ({r.shipment.status})" for r in blocked))
    touched = []
    for row in targets:
        reservation.release(session, row.catalog_id, row.product_id, row.reserved_quantity)
        row.reserved_quantity = 0
        row.status = status.CANCELLED
        if row.shipment is not None and row.shipment not in touched:
            touched.append(row.shipment)
    for shipment in touched:
        if all(r.status == status.CANCELLED for r in shipment.rows):
            apply_shipment_status(session, actor, shipment, status.CANCELLED,
                                  reason="cancelled by the retailer")
        else:
            shipment.updated_at = utcnow()
            events.record(session, actor, "shipment.updated", "shipment",
                          shipment.shipment_id, [order.retailer_id, shipment.supplier_id],
                          cancelledRows=[r.external_id for r in targets
                                         if r.shipment is shipment])
    if targets:
        events.record(session, actor, "order.rows_cancelled", "order", order.external_id,
                      order_organizations(order), rows=[r.external_id for r in targets])
    sync_order(session, actor, order)
    return order


def submit_order(session: Session, actor: Principal, external_id: str) -> Order:
    """Route a held order (``autoSubmit: false``) to its suppliers. Submitting a routed order
    again is a no-op; a cancelled one cannot be submitted."""
    order = _order_for_change(session, actor, external_id)
    if order.submitted_at is not None:
        return order
    if order.status == status.CANCELLED:
        raise Conflict(f"order {external_id} is cancelled")
    create_shipments(session, actor, order)
    events.record(session, actor, "order.submitted", "order", order.external_id,
                  order_organizations(order))
    sync_order(session, actor, order)
    return order


def set_preferences(session: Session, actor: Principal, external_id: str,
                    auto_submit: bool) -> Order:
    """PATCH preferences: turning ``autoSubmit`` on submits a held order."""
    order = _order_for_change(session, actor, external_id)
    if order.auto_submit != auto_submit:
        order.auto_submit = auto_submit
        order.updated_at = utcnow()
        session.flush()
    if auto_submit and order.submitted_at is None and order.status != status.CANCELLED:
        submit_order(session, actor, external_id)
    return order


def reopen_order(session: Session, actor: Principal, data: OrderIn, *,
                 external_id: str | None = None, source: str = "api",
                 shop_connection_id: int | None = None,
                 shop_order_id: str | None = None) -> Order:
    """POST under an existing id (``external_id``, from the path; else the body's): allowed
    once that order is ``Cancelled`` or ``Delivered`` (``Conflict`` while it is open). The body
    is validated like a new order; the old order is kept for the record under
    ``<externalId>~<its id>``. Without an existing order this is a plain create."""
    owner = _retailer_id(actor)
    if external_id is not None:
        data = data.model_copy(update={"external_id": external_id})
    old = _find(session, owner, data.external_id)
    if old is not None:
        lock_order(session, old.id)
        session.refresh(old)
    if old is None:
        return create_order(session, actor, data, source=source,
                            shop_connection_id=shop_connection_id, shop_order_id=shop_order_id)
    if status.is_open(old.status):
        raise Conflict(f"order {old.external_id} is {old.status}; only a Cancelled or "
                       "Delivered order can be sent again")
    original = old.external_id
    suffix = f"~{old.id}"
    old.external_id = original[:64 - len(suffix)] + suffix
    session.flush()
    try:
        order = create_order(session, actor, data, source=source,
                             shop_connection_id=shop_connection_id, shop_order_id=shop_order_id)
    except GlueError:
        old.external_id = original
        session.flush()
        raise
    events.record(session, actor, "order.reopened", "order", original,
                  order_organizations(order), archivedAs=old.external_id)
    return order


def delete_order(session: Session, actor: Principal, external_id: str) -> None:
    """Remove an order no supplier has started on: not routed, or every shipment ``Created``
    or ``Cancelled`` (``Conflict`` otherwise). Reserved stock goes back; suppliers of
    ``Created`` shipments get a ``shipment.cancelled`` event."""
    order = _order_for_change(session, actor, external_id)
    busy = [s for s in order.shipments if s.status not in (status.CREATED, status.CANCELLED)]
    if busy:
        raise Conflict(f"order {external_id} is in progress and cannot be deleted")
    organizations = order_organizations(order)
    for shipment in order.shipments:
        if shipment.status == status.CREATED:
            events.record(session, actor, "shipment.cancelled", "shipment", shipment.shipment_id,
                          [order.retailer_id, shipment.supplier_id],
                          previous=shipment.status, status=status.CANCELLED,
                          reason="order deleted by the retailer",
                          orderExternalId=order.external_id)
    for row in order.rows:
        reservation.release(session, row.catalog_id, row.product_id, row.reserved_quantity)
    events.record(session, actor, "order.deleted", "order", order.external_id, organizations)
    session.delete(order)
    session.flush()


# --- comments ------------------------------------------------------------------------------


def _order_for_comment(session: Session, actor: Principal, order_external_id: str | None,
                       shipment_id: str | None) -> tuple[Order, int | None]:
    """The retailer reaches its order by its id; a supplier through its shipment."""
    if shipment_id is not None:
        order_id = session.scalar(sa.select(Shipment.order_id)
                                  .where(Shipment.shipment_id == shipment_id))
        if order_id is not None:
            lock_order(session, order_id)
        shipment = get_shipment(session, actor, shipment_id)
        return shipment.order, None if actor.system else actor.organization_id
    if order_external_id is None:
        raise ValidationFailed("name the order or the shipment")
    order = _order_for_change(session, actor, order_external_id)
    return order, order.retailer_id


def add_comment(session: Session, actor: Principal, data: CommentIn, *,
                order_external_id: str | None = None,
                shipment_id: str | None = None) -> Comment:
    """Add a ``pickingNote`` or ``passThrough`` note to an order, by the retailer (naming the
    order) or a supplier of it (naming its shipment). ``externalId`` is generated when absent;
    a duplicate on the order raises ``Conflict``."""
    order, organization_id = _order_for_comment(session, actor, order_external_id, shipment_id)
    comment = _add_comment(session, order, data, organization_id=organization_id)
    order.updated_at = utcnow()
    session.flush()
    events.record(session, actor, "order.comment_added", "order", order.external_id,
                  order_organizations(order), comment=comment.external_id, commentType=comment.type)
    return comment


def _add_comment(session: Session, order: Order, data: CommentIn, *,
                 organization_id: int | None) -> Comment:
    errors = _comment_errors(data)
    if errors:
        raise ValidationFailed("the comment is not valid", errors)
    kind = data.type or "pickingNote"
    external_id = data.external_id or secrets.token_hex(8)
    if any(c.external_id == external_id for c in order.comments):
        raise Conflict(f"comment {external_id} already exists on this order")
    comment = Comment(external_id=external_id, author=data.author or "",
                      author_organization_id=organization_id, value=data.value, type=kind,
                      origin=data.origin, created_date=_utc(data.created_date) or utcnow())
    order.comments.append(comment)
    return comment


def _comment_errors(data: CommentIn) -> list[dict[str, Any]]:
    errors = []
    if not (data.value or "").strip():
        errors.append({"field": "value", "message": "a comment needs a value"})
    if (data.type or "pickingNote") not in COMMENT_TYPES:
        errors.append({"field": "type", "message": "type must be pickingNote or passThrough"})
    if data.external_id is not None and not _code128_safe(data.external_id):
        errors.append({"field": "externalId", "message": "1-64 printable ASCII characters"})
    return errors


def delete_comment(session: Session, actor: Principal, comment_external_id: str, *,
                   order_external_id: str | None = None,
                   shipment_id: str | None = None) -> None:
    """Delete a note; only the organization that wrote it may (``Forbidden`` otherwise)."""
    order, organization_id = _order_for_comment(session, actor, order_external_id, shipment_id)
    comment = next((c for c in order.comments if c.external_id == comment_external_id), None)
    if comment is None:
        raise NotFound(f"comment {comment_external_id} not found")
    if not actor.system and comment.author_organization_id not in (organization_id, None):
        raise Forbidden("only the author's organization may delete a comment")
    if not actor.system and comment.author_organization_id is None \
            and organization_id != order.retailer_id:
        raise Forbidden("only the retailer may delete this comment")
    order.comments.remove(comment)
    order.updated_at = utcnow()
    session.flush()
    events.record(session, actor, "order.comment_deleted", "order", order.external_id,
                  order_organizations(order), comment=comment_external_id)


# --- wire ----------------------------------------------------------------------------------


def order_to_wire(order: Order) -> dict[str, Any]:
    """The v3 order as the retailer sees it: camelCase, times ISO 8601 UTC with offset, money
    as JSON numbers (``12.9``), ``status`` as ``{"value"}`` on the order and its rows."""
    return {
        "externalId": order.external_id,
        "orderDate": timestamp(order.order_date),
        "metadata": {"documentType": order.document_type, "client": order.metadata_client},
        "references": list(order.references or []),
        **parties_to_wire(order.parties),
        "currency": order.currency,
        "serviceCode": order.service_code,
        "routingServiceCode": order.routing_service_code,
        "pickupPointId": order.pickup_point_id,
        "deliveryOperator": order.delivery_operator,
        "additionalServices": list(order.additional_services or []),
        "totalPrice": number(order.total_price),
        "totalTax": number(order.total_tax),
        "totalWholeSalePrice": number(order.total_wholesale_price),
        "status": {"value": order.status},
        "trackingCodes": list(order.tracking_codes or []),
        "preferences": {"autoSubmit": order.auto_submit},
        "rows": [{
            "externalId": row.external_id,
            "externalProductId": row.external_product_id,
            "productEANCode": row.product_ean_code,
            "productUnitOfMeasure": row.product_unit_of_measure,
            "productDescription": row.product_description,
            "externalWarehouseId": row.catalog.external_id,
            "quantity": row.quantity,
            "price": number(row.price),
            "wholesalePrice": number(row.wholesale_price),
            "status": {"value": row.status},
            "deliveredQuantity": row.delivered_quantity,
            "trackingCodes": list(row.tracking_codes or []),
            "shipmentId": row.shipment.shipment_id if row.shipment else None,
        } for row in order.rows],
        "comments": [comment_to_wire(c) for c in order.comments],
        "createdDate": timestamp(order.created_at),
        "updatedDate": timestamp(order.updated_at),
    }
