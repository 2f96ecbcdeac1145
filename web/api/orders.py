"""Orders (``/orders``), the retailer's side of v3 (reference B4).

``POST`` creates (Glue generates ``XXX-XXX-XXX`` when ``externalId`` is null) and answers 201
with the order; a rejected order answers 422 with every row's problem and stores nothing.
``PUT`` updates the header, or cancels with ``{"status": {"value": "Cancelled"}}``; ``POST
/orders/{externalId}`` sends a Cancelled or Delivered order again under its id ("reopen").
"""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from flask.typing import ResponseReturnValue
from pydantic import BaseModel, ConfigDict, Field

from core import orders as svc
from core.errors import ValidationFailed
from core.order_input import CommentIn, OrderIn, parse_order
from core.status import ORDER_STATUSES
from web.api import v3
from web.api.body import csv_arg, json_body, model_body, time_arg
from web.api.openapi import AFTER, PAGE, SIZE, Param, operation, query_params
from web.api.paging import Paged, keyset_envelope, page_request
from web.app import get_db
from web.auth import api_principal

DOCUMENT_TYPES = ("SalesOrder", "PurchaseOrder")  # metadata.documentType (reference B4)

Money = str | None  # decimal strings, e.g. "12.90"


class _Out(BaseModel):
    model_config = ConfigDict(extra="allow")


class StatusOut(_Out):
    value: str


class OrderRowOut(_Out):
    externalId: str | None
    externalProductId: str | None
    productEANCode: str | None = None
    externalWarehouseId: str | None
    quantity: int
    status: StatusOut
    deliveredQuantity: int
    trackingCodes: list[str]
    shipmentId: str | None = None


class CommentOut(_Out):
    externalId: str
    author: str | None = None
    value: str
    type: str
    createdDate: str | None = None
    origin: str | None = None


class OrderOut(_Out):
    """The v3 order as its retailer sees it; money as decimal strings."""

    externalId: str
    orderDate: str | None
    status: StatusOut = Field(description="Accepted, Routed, Partially delivered, Delivered, "
                                          "Cancelled, Error.")
    trackingCodes: list[str]
    preferences: dict[str, Any]
    currency: str
    totalPrice: Money = None
    rows: list[OrderRowOut]
    comments: list[CommentOut]


class PreferencesBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    autoSubmit: bool


SEARCH = query_params(
    "refName", "refValue",
    Param("status", "Comma-separated order statuses.",
          {"type": "string"}),
    "warehouseExternalId",
    Param("from", "Order date from (ISO 8601 with offset).", {"type": "string",
                                                                "format": "date-time"}),
    Param("to", "Order date to.", {"type": "string", "format": "date-time"}),
    Param("updatedFrom", "Last change from.", {"type": "string", "format": "date-time"}),
    Param("updatedTo", "Last change to.", {"type": "string", "format": "date-time"}),
    Param("modifiedFromDate", "Same as updatedFrom (older clients).",
          {"type": "string", "format": "date-time"}),
    Param("documentType", "metadata.documentType.",
          {"type": "string", "enum": list(DOCUMENT_TYPES)}),
    PAGE, SIZE, AFTER)


def _order_body() -> OrderIn:
    data = json_body()
    if not isinstance(data, dict):
        raise ValidationFailed("the body must be a JSON object (an order)")
    return parse_order(data)


@v3.post("/orders")
@operation("Create an order", "orders", body=OrderIn, response=OrderOut, status=201,
           errors=(401, 403, 409))
def create_order() -> ResponseReturnValue:
    principal = api_principal()
    data = _order_body()
    with get_db().transaction() as session:
        order = svc.create_order(session, principal, data)
        body = svc.order_to_wire(order)
    return jsonify(body), 201


@v3.get("/orders")
@operation("Search the caller's orders", "orders", response=Paged[OrderOut], query=SEARCH,
           errors=(401, 403))
def search_orders() -> ResponseReturnValue:
    principal = api_principal()
    page = page_request()
    statuses = csv_arg("status")
    if statuses and not set(statuses) <= set(ORDER_STATUSES) | {"orderRouted"}:
        raise ValidationFailed("unknown status", [{"field": "status",
                                                    "message": f"one of {ORDER_STATUSES}"}])
    statuses = [("Routed" if s == "orderRouted" else s) for s in statuses or []]
    document_type = request.args.get("documentType") or None
    if document_type is not None and document_type not in DOCUMENT_TYPES:
        raise ValidationFailed("unknown documentType", [
            {"field": "documentType", "message": f"one of {', '.join(DOCUMENT_TYPES)}"}])
    with get_db().transaction() as session:
        found, total = svc.search_orders(
            session, principal, ref_name=request.args.get("refName") or None,
            ref_value=request.args.get("refValue") or None, statuses=statuses or None,
            warehouse_external_id=request.args.get("warehouseExternalId") or None,
            from_=time_arg("from"), to=time_arg("to"),
            updated_from=time_arg("updatedFrom") or time_arg("modifiedFromDate"),
            updated_to=time_arg("updatedTo"), document_type=document_type,
            page=page.number, size=page.size,
            after=page.after)
        content = [svc.order_to_wire(o) for o in found]
        last = svc.order_key(found[-1]) if found else None
    return jsonify(keyset_envelope(content, total, page, last))


@v3.get("/orders/<external_id>")
@operation("One order with status, row statuses, delivered quantities and tracking codes",
           "orders", response=OrderOut, errors=(401, 403, 404))
def get_order(external_id: str) -> ResponseReturnValue:
    principal = api_principal()
    with get_db().transaction() as session:
        body = svc.order_to_wire(svc.get_order(session, principal, external_id))
    return jsonify(body)


@v3.put("/orders/<external_id>")
@operation("Update an order; cancel it with {\"status\": {\"value\": \"Cancelled\"}}", "orders",
           body=OrderIn, response=OrderOut, errors=(401, 403, 404, 409))
def update_order(external_id: str) -> ResponseReturnValue:
    principal = api_principal()
    data = _order_body()
    with get_db().transaction() as session:
        order = svc.update_order(session, principal, external_id, data)
        body = svc.order_to_wire(order)
    return jsonify(body)


@v3.post("/orders/<external_id>")
@operation("Send a Cancelled or Delivered order again under its id (reopen)", "orders",
           body=OrderIn, response=OrderOut, status=201, errors=(401, 403, 409))
def reopen_order(external_id: str) -> ResponseReturnValue:
    principal = api_principal()
    data = _order_body()
    data.external_id = external_id  # the path names the order; a body id is ignored
    with get_db().transaction() as session:
        order = svc.reopen_order(session, principal, data)
        body = svc.order_to_wire(order)
    return jsonify(body), 201


@v3.delete("/orders/<external_id>")
@operation("Delete an order no supplier has started on", "orders", response=None, status=204,
           errors=(401, 403, 404, 409))
def delete_order(external_id: str) -> ResponseReturnValue:
    principal = api_principal()
    with get_db().transaction() as session:
        svc.delete_order(session, principal, external_id)
    return "", 204


@v3.patch("/orders/<external_id>/preferences")
@operation("Set autoSubmit (false: registered and reserved, fulfilment held)", "orders",
           body=PreferencesBody, response=OrderOut, errors=(401, 403, 404, 409))
def set_preferences(external_id: str) -> ResponseReturnValue:
    principal = api_principal()
    data = model_body(PreferencesBody)
    with get_db().transaction() as session:
        order = svc.set_preferences(session, principal, external_id, data.autoSubmit)
        body = svc.order_to_wire(order)
    return jsonify(body)


@v3.post("/orders/<external_id>/comments")
@operation("Add a note (pickingNote or passThrough)", "orders", body=CommentIn,
           response=CommentOut, status=201, errors=(401, 403, 404, 409))
def add_comment(external_id: str) -> ResponseReturnValue:
    principal = api_principal()
    data = model_body(CommentIn)
    with get_db().transaction() as session:
        comment = svc.add_comment(session, principal, data, order_external_id=external_id)
        body = svc.comment_to_wire(comment)
    return jsonify(body), 201


@v3.delete("/orders/<external_id>/comments/<comment_id>")
@operation("Delete a note", "orders", response=None, status=204, errors=(401, 403, 404))
def delete_comment(external_id: str, comment_id: str) -> ResponseReturnValue:
    principal = api_principal()
    with get_db().transaction() as session:
        svc.delete_comment(session, principal, comment_id, order_external_id=external_id)
    return "", 204
