"""The retailer's orders.

- ``/retailer/orders``: the orders, newest first, filtered by status and searched by a
  reference value (``core.orders.search_orders``; a value no reference has but that is an
  order's own id opens that order), keyset paged with the service's cursor.
- ``/retailer/orders/<externalId>``: one order: its rows with status, delivered quantity and
  tracking codes, its shipments (``core.shipments.shipment_to_wire(for_retailer=True)``) with
  their parcels' tracking codes linked to the supplier's carrier's tracking page, its comments;
  cancelling it while rows can still be cancelled, and adding a comment.

Every view needs the ``retailer`` permission; ``core.orders.get_order`` finds only the acting
retailer's own orders, so another retailer's order is 404.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from core import keyset, status
from core.errors import GlueError, NotFound, ValidationFailed
from core.models import Order
from core.order_input import CommentIn
from core.orders import (
    add_comment,
    cancel_order,
    get_order,
    order_key,
    order_to_wire,
    search_orders,
)
from core.shipments import shipment_to_wire
from core.tracking import carrier_for
from web.ui import bp
from web.ui.context import current, requires, transaction
from web.ui.forms import say

PAGE_SIZE = 50


def _cursor(after: str) -> str | None:
    if not after:
        return None
    try:
        keyset.decode(after, 2)
    except ValidationFailed:
        return None
    return after


@bp.get("/retailer/orders")
@requires("retailer")
def retailer_orders() -> Any:
    ui = current()
    wanted = request.args.get("status") or ""
    q = (request.args.get("q") or "").strip()
    after = _cursor(request.args.get("after") or "")
    statuses = [wanted] if wanted in status.ORDER_STATUSES else None
    with transaction() as s:
        orders, total = search_orders(s, ui.principal, statuses=statuses,
                                      ref_value=q or None, size=PAGE_SIZE, after=after)
        if q and not total:
            # No reference has this value: it may be Glue's own order id, typed or pasted.
            try:
                get_order(s, ui.principal, q)
            except NotFound:
                pass
            else:
                return redirect(url_for("ui.retailer_order", external_id=q))
        listed = [{"external_id": o.external_id, "order_date": o.order_date,
                   "status": o.status, "references": list(o.references or []),
                   "rows": len(o.rows), "total": o.total_wholesale_price,
                   "currency": o.currency} for o in orders]
        start = keyset.position(after) if after else 0
        next_url = None
        if orders and start + len(orders) < total:
            cursor = keyset.encode(order_key(orders[-1]), start + len(orders))
            next_url = url_for("ui.retailer_orders", status=wanted or None, q=q or None,
                               after=cursor)
    return render_template(
        "ui/retailer/orders.html", orders=listed, total=total, q=q,
        status=wanted if statuses else "", statuses=status.ORDER_STATUSES, next_url=next_url,
        first_url=url_for("ui.retailer_orders", status=wanted or None, q=q or None)
        if after else None)


def _tracking_links(s: Session, supplier_id: int, codes: list[str]) -> list[dict[str, str]]:
    """Each code with the supplier's carrier's tracking URL, or none when the carrier
    backend is not installed here."""
    try:
        carrier = carrier_for(s, supplier_id)
    except KeyError:
        return [{"code": c, "url": ""} for c in codes]
    return [{"code": c, "url": carrier.tracking_url(c)} for c in codes]


def cancellable(order: Order) -> bool:
    """Whether some row can still be cancelled (the rule of ``core.orders.cancel_order``)."""
    return any(r.status != status.CANCELLED
               and (r.shipment is None or r.shipment.status in status.RETAILER_CANCELLABLE)
               for r in order.rows)


@bp.get("/retailer/orders/<external_id>")
@requires("retailer")
def retailer_order(external_id: str) -> Any:
    ui = current()
    with transaction() as s:
        try:
            order = get_order(s, ui.principal, external_id)
        except NotFound:
            abort(404)
        wire = order_to_wire(order)
        shipments = []
        for shipment in order.shipments:
            data = shipment_to_wire(shipment, for_retailer=True)
            shipments.append({
                "id": data["shipmentId"], "supplier": shipment.supplier.name,
                "status": data["status"]["value"], "cancel_reason": data["cancelReason"],
                "rows": data["consignment"]["rows"],
                "parcels": [{"id": p["parcelId"],
                             "tracking": _tracking_links(s, shipment.supplier_id,
                                                         p["trackingCodes"])}
                            for p in data["consignment"]["parcels"]]})
        row_links = {r.external_id: _tracking_links(s, r.shipment.supplier_id,
                                                    list(r.tracking_codes or []))
                     for r in order.rows if r.shipment is not None}
        can_cancel = cancellable(order)
        comments = [{"author": c.author, "value": c.value, "type": c.type,
                     "created": c.created_date} for c in order.comments]
        order_date = order.order_date
    return render_template("ui/retailer/order.html", order=wire, shipments=shipments,
                           row_links=row_links, can_cancel=can_cancel, comments=comments,
                           order_date=order_date)


@bp.post("/retailer/orders/<external_id>/cancel")
@requires("retailer")
def retailer_order_cancel(external_id: str) -> Any:
    try:
        with transaction() as s:
            cancel_order(s, current().principal, external_id)
        flash(_("The order was cancelled."), "success")
    except GlueError as exc:
        if isinstance(exc, NotFound):
            abort(404)
        flash(_("The order could not be cancelled: %(reason)s", reason=say(exc.message)),
              "error")
    return redirect(url_for("ui.retailer_order", external_id=external_id))


@bp.post("/retailer/orders/<external_id>/comments")
@requires("retailer")
def retailer_order_comment(external_id: str) -> Any:
    ui = current()
    value = (request.form.get("value") or "").strip()
    kind = request.form.get("type") if request.form.get("type") in (
        "pickingNote", "passThrough") else "pickingNote"
    if not value:
        flash(_("Write the comment first."), "error")
        return redirect(url_for("ui.retailer_order", external_id=external_id))
    try:
        with transaction() as s:
            add_comment(s, ui.principal,
                        CommentIn.model_validate({"value": value[:2000], "type": kind,
                                                  "author": ui.name or ui.email}),
                        order_external_id=external_id)
        flash(_("The comment was added."), "success")
    except GlueError as exc:
        if isinstance(exc, NotFound):
            abort(404)
        flash(say(exc.message), "error")
    return redirect(url_for("ui.retailer_order", external_id=external_id))
