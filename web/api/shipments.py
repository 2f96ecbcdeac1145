"""Shipments (``/shipments``), the supplier's side of v3 (reference B5).

- ``GET /shipments``: poll with ``from`` (creation time), ``status=Created,Viewed``,
  ``updatedFrom``; paged, default size 20, newest first.
- ``PATCH`` (and ``PUT``, which Glue treats the same way) ``/shipments/{shipmentId}``: any of
  ``externalId`` (the supplier's own reference), ``status.value``, and for ``Delivered`` the
  parcels (top-level ``parcels`` or ``consignment.parcels``) with each row's
  ``deliveredQuantity`` and optional ``trackingCodes``. ``Cancelled`` takes an optional
  ``reason`` (default "Cancelled by the supplier"). Answers the updated shipment.
- ``POST .../delivered``: fast confirm, every row delivered in full.
- ``POST .../events`` (Glue's decision, the v3 body is undocumented): ``{"value": <status>,
  "reason"?}`` or ``{"status": {"value": ...}}``, a status change as with PATCH; answers the
  updated shipment.
- ``GET .../options``: the shipment's delivery options (service, pickup point, additional
  services, label formats).
- ``GET .../parcels/{parcelId}/label`` and ``.../note`` (PDFs) are served by
  ``web.documents_api``.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue
from pydantic import BaseModel, ConfigDict, Field

from core import shipments as svc
from core import status as st
from core.errors import ValidationFailed
from core.models import Shipment
from core.order_input import CommentIn
from core.orders import add_comment
from core.principal import Principal
from web.api import v3
from web.api.body import csv_arg, json_body, model_body, time_arg
from web.api.openapi import AFTER, PAGE, SIZE, Param, operation, query_params
from web.api.orders import CommentOut
from web.api.paging import Paged, keyset_envelope, page_request
from web.api.reference import SERVICES
from web.app import get_db
from web.auth import api_principal

DEFAULT_CANCEL_REASON = "Cancelled by the supplier"


class _Out(BaseModel):
    model_config = ConfigDict(extra="allow")


class ShipmentStatusOut(_Out):
    value: str
    timestamp: str | None = None


class ShipmentOut(_Out):
    """The v3 shipment object."""

    shipmentId: str
    externalId: str | None = Field(description="The supplier's own reference (null for the "
                                               "retailer).")
    clientId: str
    metadata: dict[str, Any]
    references: list[dict[str, Any]]
    createdDate: str | None
    status: ShipmentStatusOut
    trackingCodes: list[str]
    consignment: dict[str, Any]


class StatusBody(BaseModel):
    model_config = ConfigDict(extra="allow")
    value: str = Field(description="Created, Submitted, Viewed, Picking, Packing, Shipping, "
                                   "Delivered, Cancelled or Error.")


class ParcelRowBody(BaseModel):
    model_config = ConfigDict(extra="allow")
    itemId: str | None = None
    orderRowId: str | None = None
    deliveredQuantity: int = Field(ge=0)


class ParcelBody(BaseModel):
    model_config = ConfigDict(extra="allow")
    parcelId: str | None = None
    trackingCodes: list[str] | None = None
    rows: list[ParcelRowBody] = []


class ShipmentUpdateIn(BaseModel):
    model_config = ConfigDict(extra="allow")
    externalId: str | None = None
    status: StatusBody | None = None
    reason: str | None = None
    parcels: list[ParcelBody] | None = None
    consignment: dict[str, Any] | None = Field(
        default=None, description="`consignment.parcels` is read like `parcels`.")


class ShipmentEventIn(BaseModel):
    model_config = ConfigDict(extra="allow")
    value: str | None = None
    status: StatusBody | None = None
    reason: str | None = None


class DeliveryOptionsOut(BaseModel):
    shipmentId: str
    serviceCode: str | None
    routingServiceCode: str | None
    deliveryOperator: str | None
    pickupPointId: str | None
    additionalServices: list[dict[str, Any]]
    service: dict[str, Any] | None = Field(description="The delivery service, from "
                                                       "GET /services.")
    labelFormats: list[str]


def _wire(principal: Principal, shipment: Shipment) -> dict[str, Any]:
    own = principal.can("supplier") and shipment.supplier_id == principal.organization_id
    return svc.shipment_to_wire(shipment, for_retailer=not own)


@v3.get("/shipments")
@operation("Poll the caller's shipments", "shipments", response=Paged[ShipmentOut],
           errors=(401, 403),
           query=query_params(
               Param("from", "Created at or after (ISO 8601 with offset).",
                     {"type": "string", "format": "date-time"}),
               Param("to", "Created at or before.", {"type": "string", "format": "date-time"}),
               Param("status", "Comma-separated, e.g. Created,Viewed."),
               Param("updatedFrom", "Changed at or after.",
                     {"type": "string", "format": "date-time"}),
               PAGE, SIZE, AFTER))
def list_shipments() -> ResponseReturnValue:
    principal = api_principal()
    page = page_request(20)
    statuses = csv_arg("status")
    if statuses and not set(statuses) <= set(st.SHIPMENT_STATUSES):
        raise ValidationFailed("unknown status", [
            {"field": "status", "message": f"one of {', '.join(st.SHIPMENT_STATUSES)}"}])
    with get_db().transaction() as session:
        found, total = svc.search_shipments(
            session, principal, statuses=statuses, from_=time_arg("from"), to=time_arg("to"),
            updated_from=time_arg("updatedFrom"), page=page.number, size=page.size,
            after=page.after)
        content = [_wire(principal, s) for s in found]
        last = svc.shipment_key(found[-1]) if found else None
    return jsonify(keyset_envelope(content, total, page, last))


@v3.get("/shipments/<shipment_id>")
@operation("One shipment", "shipments", response=ShipmentOut)
def get_shipment(shipment_id: str) -> ResponseReturnValue:
    principal = api_principal()
    with get_db().transaction() as session:
        body = _wire(principal, svc.get_shipment(session, principal, shipment_id))
    return jsonify(body)


def _apply_status(session: Any, principal: Principal, shipment_id: str, value: str,
                  reason: str | None, parcels: list[dict[str, Any]] | None) -> None:
    if value == st.DELIVERED:
        if parcels is None:
            raise ValidationFailed("Delivered needs the parcels with every row's "
                                   "deliveredQuantity (or POST .../delivered)",
                                   [{"field": "parcels", "message": "required for Delivered"}])
        svc.confirm_shipment(session, principal, shipment_id, parcels)
    elif value == st.CANCELLED:
        svc.cancel_shipment(session, principal, shipment_id, reason or DEFAULT_CANCEL_REASON)
    else:
        svc.set_shipment_status(session, principal, shipment_id, value)


def _update(shipment_id: str) -> ResponseReturnValue:
    principal = api_principal()
    raw = json_body()
    data = ShipmentUpdateIn.model_validate(raw if raw is not None else {})
    parcels = raw.get("parcels") if isinstance(raw, dict) else None
    if parcels is None and data.consignment is not None:
        parcels = data.consignment.get("parcels")
    with get_db().transaction() as session:
        shipment = svc.get_shipment(session, principal, shipment_id)
        if "externalId" in data.model_fields_set:
            svc.set_shipment_external_id(session, principal, shipment_id, data.externalId)
        if data.status is not None:
            reason = data.reason or (raw.get("cancelReason") if isinstance(raw, dict) else None)
            _apply_status(session, principal, shipment_id, data.status.value, reason, parcels)
        body = _wire(principal, shipment)
    return jsonify(body)


_UPDATE_DOC = dict(body=ShipmentUpdateIn, response=ShipmentOut, errors=(401, 403, 404, 409))


@v3.patch("/shipments/<shipment_id>")
@operation("Change status, or confirm Delivered with parcels; returns the shipment",
           "shipments", **_UPDATE_DOC)
def patch_shipment(shipment_id: str) -> ResponseReturnValue:
    return _update(shipment_id)


@v3.put("/shipments/<shipment_id>")
@operation("Full update (treated like PATCH: the fields given are applied)", "shipments",
           **_UPDATE_DOC)
def put_shipment(shipment_id: str) -> ResponseReturnValue:
    return _update(shipment_id)


@v3.post("/shipments/<shipment_id>/delivered")
@operation("Fast confirm: every row delivered in full", "shipments", response=ShipmentOut,
           errors=(401, 403, 404, 409))
def fast_confirm(shipment_id: str) -> ResponseReturnValue:
    principal = api_principal()
    with get_db().transaction() as session:
        body = _wire(principal, svc.fast_confirm(session, principal, shipment_id))
    return jsonify(body)


@v3.post("/shipments/<shipment_id>/events")
@operation("Record a status event", "shipments", body=ShipmentEventIn, response=ShipmentOut,
           errors=(401, 403, 404, 409),
           description="Glue's decision (the v3 body is undocumented): `{\"value\": status, "
                       "\"reason\"?}` or `{\"status\": {\"value\": status}}`. `Delivered` is "
                       "a fast confirm.")
def shipment_event(shipment_id: str) -> ResponseReturnValue:
    principal = api_principal()
    data = model_body(ShipmentEventIn)
    value = data.value or (data.status.value if data.status else None)
    if not value:
        raise ValidationFailed("an event names a status",
                               [{"field": "value", "message": "required"}])
    with get_db().transaction() as session:
        if value == st.DELIVERED:
            shipment = svc.fast_confirm(session, principal, shipment_id)
        else:
            _apply_status(session, principal, shipment_id, value, data.reason, None)
            shipment = svc.get_shipment(session, principal, shipment_id)
        body = _wire(principal, shipment)
    return jsonify(body)


@v3.get("/shipments/<shipment_id>/options")
@operation("The shipment's delivery options", "shipments", response=DeliveryOptionsOut)
def shipment_options(shipment_id: str) -> ResponseReturnValue:
    principal = api_principal()
    with get_db().transaction() as session:
        order = svc.get_shipment(session, principal, shipment_id).order
        body = {"shipmentId": shipment_id, "serviceCode": order.service_code,
                "routingServiceCode": order.routing_service_code,
                "deliveryOperator": order.delivery_operator,
                "pickupPointId": order.pickup_point_id,
                "additionalServices": list(order.additional_services or []),
                "service": next((s for s in SERVICES if s["id"] == order.service_code), None),
                "labelFormats": ["A6", "A4"]}
    return jsonify(body)


@v3.post("/shipments/<shipment_id>/comments")
@operation("The supplier adds a note to the order through its shipment", "shipments",
           body=CommentIn, response=CommentOut, status=201, extension=True,
           errors=(401, 403, 404, 409))
def shipment_comment(shipment_id: str) -> ResponseReturnValue:
    principal = api_principal()
    data = model_body(CommentIn)
    with get_db().transaction() as session:
        comment = add_comment(session, principal, data, shipment_id=shipment_id)
        body = svc.comment_to_wire(comment)
    return jsonify(body), 201
