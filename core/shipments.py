"""Shipments: one per supplier and order, worked by the supplier (DESIGN.md 5, v3 B5).

Service functions take the acting principal, flush but never commit, and raise domain errors;
when one raises, the caller rolls its transaction back. A supplier sees only the shipments
addressed to it; a retailer sees (read-only) the shipments of its own orders; anyone else gets
``NotFound``, so the existence of a shipment is not revealed.

After every change the order is brought up to date with :func:`sync_order`: row statuses,
delivered quantities and tracking codes are copied onto its rows and its status is derived
(core/status.py), so the retailer's view never disagrees with the shipments.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError
from sqlalchemy.orm import Session

from core import events, keyset, reservation, status, tracking
from core.db import utcnow
from core.errors import Forbidden, IllegalTransition, NotFound, ValidationFailed
from core.models import Comment, Order, OrderRow, Parcel, ParcelRow, Shipment, ShipmentStatusChange
from core.principal import Principal
from core.wire import number, timestamp

# --- visibility ----------------------------------------------------------------------------


def get_shipment(session: Session, actor: Principal, shipment_id: str) -> Shipment:
    """The shipment, if the actor is its supplier or the retailer of its order."""
    shipment = session.scalar(sa.select(Shipment).where(Shipment.shipment_id == shipment_id))
    if shipment is None or not _may_see(actor, shipment):
        raise NotFound(f"shipment {shipment_id} not found")
    return shipment


def _may_see(actor: Principal, shipment: Shipment) -> bool:
    if actor.system:
        return True
    org = actor.organization_id
    return ((actor.can("supplier") and shipment.supplier_id == org)
            or (actor.can("retailer") and shipment.order.retailer_id == org))


def lock_order(session: Session, order_id: int) -> None:
    """Serialise changes to one order and its shipments: every change takes the order's row
    lock first (PostgreSQL ``FOR UPDATE``; SQLite's ``BEGIN IMMEDIATE`` already serialises
    writers), so two requests can never both release the same reservation."""
    session.execute(sa.select(Order.id).where(Order.id == order_id).with_for_update())


def _supplier_shipment(session: Session, actor: Principal, shipment_id: str) -> Shipment:
    """The shipment, locked for a change only its supplier may make."""
    order_id = session.scalar(sa.select(Shipment.order_id)
                              .where(Shipment.shipment_id == shipment_id))
    if order_id is not None:
        lock_order(session, order_id)
    shipment = get_shipment(session, actor, shipment_id)
    if not actor.system and not (actor.can("supplier")
                                 and shipment.supplier_id == actor.organization_id):
        raise Forbidden("only the supplier of the shipment may change it")
    return shipment


def search_shipments(session: Session, actor: Principal, *,
                     statuses: Sequence[str] | None = None, from_: datetime | None = None,
                     to: datetime | None = None, updated_from: datetime | None = None,
                     page: int = 0, size: int = 20,
                     after: str | None = None) -> tuple[list[Shipment], int]:
    """The actor's shipments, newest first, one page of them and the total count.

    A supplier gets the shipments addressed to it, a retailer those of its orders (an
    organization with both roles gets both). ``from_``/``to`` filter on the creation time,
    ``updated_from`` on the last change. ``after`` (a cursor of :func:`shipment_key`, see
    :mod:`core.keyset`) wins over ``page``."""
    query = sa.select(Shipment)
    if not actor.system:
        org = actor.require_org()
        scopes = []
        if actor.can("supplier"):
            scopes.append(Shipment.supplier_id == org)
        if actor.can("retailer"):
            scopes.append(Shipment.order_id.in_(
                sa.select(Order.id).where(Order.retailer_id == org)))
        if not scopes:
            raise Forbidden("searching shipments needs the supplier or retailer permission")
        query = query.where(sa.or_(*scopes))
    if statuses:
        query = query.where(Shipment.status.in_(list(statuses)))
    if from_ is not None:
        query = query.where(Shipment.created_at >= from_)
    if to is not None:
        query = query.where(Shipment.created_at <= to)
    if updated_from is not None:
        query = query.where(Shipment.updated_at >= updated_from)
    # Keyset paging (core.keyset): a seek on (created_at, id), not an OFFSET over whole rows.
    return keyset.counted_page(session, query, (Shipment.created_at, Shipment.id), page=page,
                               size=size, after=after,
                               descending=True)


def shipment_key(shipment: Shipment) -> keyset.Key:
    """The paging key of a :func:`search_shipments` row (for the next page's cursor)."""
    return (shipment.created_at, shipment.id)


# --- routing and derivation (called by core.orders) ---------------------------------------


def create_shipments(session: Session, actor: Principal, order: Order) -> list[Shipment]:
    """Split the order's live rows into one ``Created`` shipment per supplier, each with a
    default parcel "1" holding all its rows, and mark the order routed."""
    now = utcnow()
    by_supplier: dict[int, list[OrderRow]] = defaultdict(list)
    for row in order.rows:
        if row.status != status.CANCELLED and row.shipment is None:
            by_supplier[row.supplier_id].append(row)
    created = []
    for supplier_id in sorted(by_supplier):
        rows = by_supplier[supplier_id]
        shipment = Shipment(shipment_id=str(uuid.uuid4()), order=order, supplier_id=supplier_id,
                            status=status.CREATED, status_at=now, created_at=now, updated_at=now)
        for row in rows:
            row.shipment = shipment
        parcel = Parcel(parcel_id="1", service_code=order.service_code,
                        rows=[ParcelRow(order_row=row, delivered_quantity=0) for row in rows])
        shipment.parcels.append(parcel)
        shipment.history.append(ShipmentStatusChange(status=status.CREATED, at=now,
                                                     actor=actor.label))
        session.add(shipment)
        created.append(shipment)
    order.submitted_at = now
    for shipment in created:
        events.record(session, actor, "shipment.created", "shipment", shipment.shipment_id,
                      [order.retailer_id, shipment.supplier_id],
                      orderExternalId=order.external_id)
    return created


def sync_order(session: Session, actor: Principal, order: Order) -> None:
    """Copy row statuses and tracking codes from the shipments onto the order, derive the
    order's status, and record ``order.status_changed`` when it moved."""
    codes_by_row: dict[int, list[str]] = defaultdict(list)
    order_codes: list[str] = []
    for shipment in order.shipments:
        for parcel in shipment.parcels:
            for code in parcel.tracking_codes or []:
                if code not in order_codes:
                    order_codes.append(code)
            for parcel_row in parcel.rows:
                if parcel_row.delivered_quantity > 0:
                    codes_by_row[id(parcel_row.order_row)].extend(parcel.tracking_codes or [])
    for row in order.rows:
        row.status = status.derive_row_status(
            row_cancelled=row.status == status.CANCELLED,
            shipment_status=row.shipment.status if row.shipment else None,
            delivered_quantity=row.delivered_quantity)
        row.tracking_codes = list(dict.fromkeys(codes_by_row.get(id(row), [])))
    order.tracking_codes = order_codes
    previous = order.status
    order.status = status.derive_order_status(
        routed=order.submitted_at is not None,
        shipment_statuses=[s.status for s in order.shipments],
        row_statuses=[r.status for r in order.rows])
    order.updated_at = utcnow()
    session.flush()
    if order.status != previous:
        events.record(session, actor, "order.status_changed", "order", order.external_id,
                      order_organizations(order), previous=previous, status=order.status)


def order_organizations(order: Order) -> list[int]:
    """Who may see events about the order: its retailer and every supplier with a row."""
    return [order.retailer_id, *sorted({row.supplier_id for row in order.rows})]


def apply_status(session: Session, actor: Principal, shipment: Shipment, new: str, *,
                 reason: str | None = None) -> None:
    """Move the shipment to ``new`` (already checked by the caller), keep the history and
    record the event. Releases the stock still reserved when the shipment can no longer
    deliver (``Cancelled``, ``Error``)."""
    previous = shipment.status
    now = utcnow()
    if new in (status.CANCELLED, status.ERROR):
        for row in shipment.rows:
            reservation.release(session, row.catalog_id, row.product_id, row.reserved_quantity)
            row.reserved_quantity = 0
    shipment.status = new
    shipment.status_at = now
    shipment.updated_at = now
    if new == status.CANCELLED:
        shipment.cancel_reason = reason
    if new == status.DELIVERED:
        shipment.delivered_at = now
    shipment.history.append(ShipmentStatusChange(status=new, at=now, actor=actor.label))
    kind = {status.CANCELLED: "shipment.cancelled",
            status.DELIVERED: "shipment.delivered"}.get(new, "shipment.status_changed")
    data: dict[str, Any] = {"previous": previous, "status": new,
                            "orderExternalId": shipment.order.external_id}
    if reason:
        data["reason"] = reason
    events.record(session, actor, kind, "shipment", shipment.shipment_id,
                  [shipment.order.retailer_id, shipment.supplier_id], **data)


# --- the supplier's work -------------------------------------------------------------------


def set_shipment_status(session: Session, actor: Principal, shipment_id: str,
                        new_status: str) -> Shipment:
    """Move the shipment forward (``Submitted``, ``Viewed``, ``Picking``, ``Packing``,
    ``Shipping``) or to ``Error``. Writing the current status again is a no-op, so retried
    requests are harmless. ``Delivered`` needs the delivered quantities (:func:`confirm_shipment`
    or :func:`fast_confirm`) and ``Cancelled`` a reason (:func:`cancel_shipment`)."""
    shipment = _supplier_shipment(session, actor, shipment_id)
    if new_status not in status.SHIPMENT_STATUSES:
        raise ValidationFailed(f"unknown shipment status {new_status!r}",
                               [{"field": "status", "message": "unknown status"}])
    if new_status == shipment.status:
        return shipment
    if new_status == status.DELIVERED:
        raise ValidationFailed("confirm a delivery with the delivered quantity of every row",
                               [{"field": "parcels", "message": "required for Delivered"}])
    if new_status == status.CANCELLED:
        raise ValidationFailed("cancelling a shipment needs a reason",
                               [{"field": "reason", "message": "required for Cancelled"}])
    if not status.can_transition(shipment.status, new_status):
        raise IllegalTransition(f"a {shipment.status} shipment cannot become {new_status}")
    apply_status(session, actor, shipment, new_status)
    sync_order(session, actor, shipment.order)
    return shipment


def set_shipment_external_id(session: Session, actor: Principal, shipment_id: str,
                             external_id: str | None) -> Shipment:
    """Store the supplier's own reference for the shipment (never shown to the retailer)."""
    shipment = _supplier_shipment(session, actor, shipment_id)
    if external_id is not None and not 0 < len(external_id) <= 64:
        raise ValidationFailed("externalId must be 1-64 characters",
                               [{"field": "externalId", "message": "1-64 characters"}])
    shipment.external_id = external_id
    shipment.updated_at = utcnow()
    session.flush()
    return shipment


def cancel_shipment(session: Session, actor: Principal, shipment_id: str,
                    reason: str) -> Shipment:
    """The supplier cannot fulfil the shipment: it becomes ``Cancelled`` with the reason, its
    reserved stock returns to the balances, and the order follows (``Cancelled`` when no
    other shipment is left)."""
    shipment = _supplier_shipment(session, actor, shipment_id)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("cancelling a shipment needs a reason",
                               [{"field": "reason", "message": "required"}])
    if not status.can_transition(shipment.status, status.CANCELLED):
        raise IllegalTransition(f"a {shipment.status} shipment cannot be cancelled")
    apply_status(session, actor, shipment, status.CANCELLED, reason=reason)
    sync_order(session, actor, shipment.order)
    return shipment


class ParcelRowIn(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    item_id: str | None = Field(default=None, alias="itemId")
    order_row_id: str | None = Field(default=None, alias="orderRowId")
    delivered_quantity: int = Field(alias="deliveredQuantity", ge=0)


class ParcelIn(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore", coerce_numbers_to_str=True)

    parcel_id: str | None = Field(default=None, alias="parcelId")
    package_type: str | None = Field(default=None, alias="packageType")
    tracking_codes: list[str] | None = Field(default=None, alias="trackingCodes")
    weight: Decimal | None = Field(default=None, ge=0, max_digits=10, decimal_places=3)  # kg
    rows: list[ParcelRowIn] = Field(default_factory=list)


def confirm_shipment(session: Session, actor: Principal, shipment_id: str,
                     parcels: list[dict[str, Any]]) -> Shipment:
    """Mark the shipment ``Delivered`` (handed to the carrier) with the delivered quantity of
    every row, per parcel: ``[{parcelId, trackingCodes?, rows: [{itemId | orderRowId,
    deliveredQuantity}]}]``, where ``itemId`` is the supplier's product id and ``orderRowId``
    the order row's ``externalId`` (both are in the consignment rows).

    Every row that is not cancelled must be listed at least once; a row may be spread over
    several parcels, and its parcels' quantities may add up to at most what was ordered.
    Undelivered units return to the balance. Parcels with delivered rows and no tracking codes
    get codes from :func:`core.tracking.assign_tracking_codes`; codes the supplier sends are
    kept as its own. Validation is all or nothing: ``ValidationFailed`` lists every problem.
    """
    shipment = _supplier_shipment(session, actor, shipment_id)
    if not status.can_transition(shipment.status, status.DELIVERED):
        raise IllegalTransition(f"a {shipment.status} shipment cannot be delivered")
    parsed = _parse_parcels(parcels)
    plan = _plan_delivery(shipment, parsed)
    _deliver(session, actor, shipment, parsed, plan)
    return shipment


def fast_confirm(session: Session, actor: Principal, shipment_id: str) -> Shipment:
    """Deliver every row that is not cancelled in full, keeping the parcel layout (a row is
    counted in the first parcel that holds it; rows in no parcel go into the first one)."""
    shipment = _supplier_shipment(session, actor, shipment_id)
    if not status.can_transition(shipment.status, status.DELIVERED):
        raise IllegalTransition(f"a {shipment.status} shipment cannot be delivered")
    layout: list[dict[str, Any]] = []
    placed: set[int] = set()
    for parcel in shipment.parcels:
        rows = []
        for parcel_row in parcel.rows:
            rows.append(_full_row(parcel_row.order_row, first=id(parcel_row.order_row)
                                  not in placed))
            placed.add(id(parcel_row.order_row))
        layout.append({"parcelId": parcel.parcel_id, "packageType": parcel.package_type,
                       "trackingCodes": list(parcel.tracking_codes or []) or None,
                       "rows": rows})
    if not layout:
        layout.append({"parcelId": "1", "rows": []})
    layout[0]["rows"].extend(_full_row(row, first=True) for row in shipment.rows
                             if id(row) not in placed)
    parsed = _parse_parcels(layout)
    plan = _plan_delivery(shipment, parsed)
    _deliver(session, actor, shipment, parsed, plan)
    return shipment


def _full_row(row: OrderRow, *, first: bool) -> dict[str, Any]:
    """A row delivered in full where it is first listed, 0 elsewhere and when cancelled."""
    full = first and row.status != status.CANCELLED
    return {"orderRowId": row.external_id, "deliveredQuantity": row.quantity if full else 0}


def _parse_parcels(parcels: list[dict[str, Any]]) -> list[ParcelIn]:
    if not isinstance(parcels, list) or not parcels:
        raise ValidationFailed("a delivery needs at least one parcel",
                               [{"field": "parcels", "message": "at least one parcel"}])
    parsed, errors = [], []
    for i, raw in enumerate(parcels):
        try:
            parsed.append(ParcelIn.model_validate(raw))
        except PydanticValidationError as exc:
            errors.extend({"index": i, "field": f"parcels[{i}]."
                           + ".".join(str(p) for p in err["loc"]), "message": err["msg"]}
                          for err in exc.errors())
    if errors:
        raise ValidationFailed("the parcels are not valid", errors)
    return parsed


def _plan_delivery(shipment: Shipment, parcels: list[ParcelIn]
                   ) -> list[list[tuple[OrderRow, int]]]:
    """Resolve every parcel row to an order row of the shipment and check the quantities;
    returns, per parcel, the (order row, delivered quantity) pairs."""
    errors: list[dict[str, Any]] = []
    by_external = {row.external_id: row for row in shipment.rows}
    by_item: dict[str, list[OrderRow]] = defaultdict(list)
    for row in shipment.rows:
        by_item[row.external_product_id].append(row)
    plan: list[list[tuple[OrderRow, int]]] = []
    totals: dict[int, int] = defaultdict(int)
    seen_ids: set[str] = set()
    for i, parcel in enumerate(parcels):
        parcel_id = parcel.parcel_id or str(i + 1)
        if parcel_id in seen_ids:
            errors.append({"index": i, "field": f"parcels[{i}].parcelId",
                           "message": f"parcel {parcel_id} is listed twice"})
        seen_ids.add(parcel_id)
        if parcel.tracking_codes and not all(c.strip() for c in parcel.tracking_codes):
            errors.append({"index": i, "field": f"parcels[{i}].trackingCodes",
                           "message": "tracking codes must not be empty"})
        pairs: list[tuple[OrderRow, int]] = []
        in_parcel: set[int] = set()
        for j, prow in enumerate(parcel.rows):
            field = f"parcels[{i}].rows[{j}]"
            row, problem = _match_row(prow, by_external, by_item)
            if row is None:
                errors.append({"index": i, "field": field, "message": problem})
                continue
            if id(row) in in_parcel:
                errors.append({"index": i, "field": field,
                               "message": "the row is listed twice in this parcel"})
                continue
            in_parcel.add(id(row))
            if row.status == status.CANCELLED and prow.delivered_quantity:
                errors.append({"index": i, "field": f"{field}.deliveredQuantity",
                               "message": "the row is cancelled; deliver 0"})
            totals[id(row)] += prow.delivered_quantity
            pairs.append((row, prow.delivered_quantity))
        plan.append(pairs)
    listed = {id(row) for pairs in plan for row, _ in pairs}
    for row in shipment.rows:
        if totals[id(row)] > row.quantity:
            errors.append({"field": "parcels", "message":
                           f"row {row.external_id}: {totals[id(row)]} delivered, "
                           f"{row.quantity} ordered"})
        if row.status != status.CANCELLED and id(row) not in listed:
            errors.append({"field": "parcels", "message":
                           f"row {row.external_id} ({row.external_product_id}) is not listed; "
                           "list every row, with deliveredQuantity 0 if it was not sent"})
    if errors:
        raise ValidationFailed("the delivery is not valid", errors)
    return plan


def _match_row(prow: ParcelRowIn, by_external: dict[str | None, OrderRow],
               by_item: dict[str, list[OrderRow]]) -> tuple[OrderRow | None, str]:
    if prow.order_row_id is not None:
        row = by_external.get(prow.order_row_id)
        if row is None:
            return None, f"no row {prow.order_row_id} in this shipment"
        if prow.item_id is not None and prow.item_id != row.external_product_id:
            return None, "itemId and orderRowId name different rows"
        return row, ""
    if prow.item_id is None:
        return None, "a parcel row needs itemId or orderRowId"
    candidates = by_item.get(prow.item_id, [])
    if not candidates:
        return None, f"no item {prow.item_id} in this shipment"
    if len(candidates) > 1:
        return None, f"several rows carry item {prow.item_id}; name the row by orderRowId"
    return candidates[0], ""


def _contents_weight(pairs: list[tuple[OrderRow, int]]) -> Decimal | None:
    """A parcel's weight from its products' measurements (kg), when every product has one."""
    weights = [(row.product.measurements or {}).get("weight") for row, n in pairs if n > 0]
    if not weights or any(w in (None, "") for w in weights):
        return None
    return sum((Decimal(str(w)) * n for (row, n), w in
                zip([p for p in pairs if p[1] > 0], weights, strict=True)), Decimal(0))


def _deliver(session: Session, actor: Principal, shipment: Shipment, parcels: list[ParcelIn],
             plan: list[list[tuple[OrderRow, int]]]) -> None:
    # The old parcels go first: their (shipment, parcelId) pairs may be reused.
    old_weights = {p.parcel_id: p.weight for p in shipment.parcels}
    shipment.parcels.clear()
    session.flush()
    delivered: dict[int, int] = defaultdict(int)
    needs_codes = False
    for i, (spec, pairs) in enumerate(zip(parcels, plan, strict=True)):
        own = [c.strip() for c in spec.tracking_codes or []]
        parcel_id = spec.parcel_id or str(i + 1)
        weight = spec.weight or old_weights.get(parcel_id) or _contents_weight(pairs)
        parcel = Parcel(parcel_id=parcel_id, weight=weight,
                        package_type=spec.package_type or "PC",
                        service_code=shipment.order.service_code, ready=True,
                        tracking_codes=own, tracking_source="own" if own else None,
                        rows=[ParcelRow(order_row=row, delivered_quantity=n)
                              for row, n in pairs])
        shipment.parcels.append(parcel)
        carries = any(n > 0 for _, n in pairs)
        needs_codes = needs_codes or (carries and not own)
        for row, n in pairs:
            delivered[id(row)] += n
    for row in shipment.rows:
        row.delivered_quantity = delivered[id(row)]
        reservation.settle(session, row.catalog_id, row.product_id,
                           reserved=row.reserved_quantity,
                           delivered=min(row.delivered_quantity, row.reserved_quantity))
        row.reserved_quantity = 0
    session.flush()
    if needs_codes:
        tracking.assign_tracking_codes(session, shipment)
        for parcel in shipment.parcels:
            if parcel.tracking_source is None and parcel.tracking_codes:
                parcel.tracking_source = "glue"
    apply_status(session, actor, shipment, status.DELIVERED)
    sync_order(session, actor, shipment.order)


# --- wire ----------------------------------------------------------------------------------


def shipment_to_wire(shipment: Shipment, *, for_retailer: bool = False) -> dict[str, Any]:
    """The v3 shipment object (camelCase; times ISO 8601 UTC with offset; money as JSON
    numbers). ``for_retailer`` leaves out the supplier's own ``externalId``."""
    order = shipment.order
    warehouse = {row.id: row.catalog.external_id for row in shipment.rows}
    codes = list(dict.fromkeys(c for p in shipment.parcels for c in p.tracking_codes or []))
    parties = parties_to_wire(order.parties)
    wire: dict[str, Any] = {
        "shipmentId": shipment.shipment_id,
        "externalId": None if for_retailer else shipment.external_id,
        "clientId": shipment.supplier.business_id,
        "metadata": {"sourceOrganization": order.retailer.business_id,
                     "insertDate": timestamp(shipment.created_at),
                     "updateDate": timestamp(shipment.updated_at),
                     "documentType": order.document_type},
        "references": list(order.references or []),
        "createdDate": timestamp(shipment.created_at),
        "status": {"value": shipment.status, "timestamp": timestamp(shipment.status_at)},
        "statusHistory": [{"value": h.status, "timestamp": timestamp(h.at)}
                          for h in shipment.history],
        "cancelReason": shipment.cancel_reason,
        "trackingCodes": codes,
        "consignment": {
            "reference": order.external_id,
            "contractNumber": None,
            "orderDate": timestamp(order.order_date),
            **parties,
            "deliveryOperator": order.delivery_operator,
            "currency": order.currency,
            "rows": [{
                "orderRowId": row.external_id,
                "itemId": row.external_product_id,
                "productEANCode": row.product_ean_code,
                "externalWarehouseId": warehouse[row.id],
                "quantity": row.quantity,
                "deliveredQuantity": row.delivered_quantity,
                "productDescription": row.product_description,
                "productUnitOfMeasure": row.product_unit_of_measure,
                "wholesalePrice": number(row.wholesale_price),
                "status": {"value": row.status},
            } for row in shipment.rows],
            "parcels": [{
                "parcelId": p.parcel_id,
                "packageType": p.package_type,
                "serviceCode": p.service_code,
                "deliveryOperator": order.delivery_operator,
                "additionalServices": list(order.additional_services or []),
                "pickupPointId": order.pickup_point_id,
                "routingServiceCode": order.routing_service_code,
                "ready": p.ready,
                "trackingCodes": list(p.tracking_codes or []),
                "rows": [{
                    "orderRowId": pr.order_row.external_id,
                    "externalWarehouseId": pr.order_row.catalog.external_id,
                    "itemId": pr.order_row.external_product_id,
                    "deliveredQuantity": pr.delivered_quantity,
                    "quantity": pr.order_row.quantity,
                } for pr in p.rows],
            } for p in shipment.parcels],
            # the retailer's notes and this supplier's own, not other suppliers'
            "comments": [comment_to_wire(c) for c in order.comments
                         if c.author_organization_id in (None, order.retailer_id,
                                                         shipment.supplier_id)],
        },
    }
    return wire


def comment_to_wire(comment: Comment) -> dict[str, Any]:
    """A v3 order comment."""
    return {"externalId": comment.external_id, "author": comment.author,
            "value": comment.value, "type": comment.type,
            "createdDate": timestamp(comment.created_date), "origin": comment.origin}


PARTIES = ("vendor", "sender", "client", "recipient", "deliveryAddress")


def parties_to_wire(parties: dict[str, Any] | None) -> dict[str, Any]:
    """The stored parties, every v3 party key present (``null`` when not given)."""
    parties = parties or {}
    return {name: parties.get(name) for name in PARTIES}
