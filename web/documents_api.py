"""Shipping documents over HTTP (DESIGN.md 6), under ``/ecommerce/v3``.

v3 routes: ``GET /shipments/{shipmentId}/parcels/{parcelId}/label`` (``?pageSize=A6|A4``) and
``.../note`` (the packing slip), both ``application/pdf``. Glue extensions:

- ``POST /documents/labels|slips|bundle`` with ``{"shipmentIds": [...], "pageSize"?}`` → one PDF;
- ``GET /documents/manifest?date=YYYY-MM-DD`` or ``?shipmentIds=a,b`` → the handover manifest;
- ``PUT|GET|DELETE /organization/logo`` (PNG or JPEG as the raw body, or a multipart ``logo``);
- ``GET|PUT /organization/document-settings`` ``{"showPrices", "showSupplier"}`` (retailers);
- ``GET|PUT /organization/tracking`` ``{"mode", "carrier", "serviceIndicator", "country",
  "rangeStart", "rangeEnd"}`` (suppliers).

Handlers parse, call one service function, serialise; who may do what is decided in the
services. Every request needs a bearer token (``web.auth``).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, Response, jsonify, request

from core import logos
from core.carriers import carrier_names
from core.document_settings import own_document_settings, update_document_settings
from core.errors import GlueError, ValidationFailed
from core.principal import Principal
from core.tracking_ranges import (
    TrackingConfiguration,
    configure_tracking,
    own_tracking_configuration,
)
from documents import service
from web.api.errors import from_glue_error, problem
from web.app import get_db

bp = Blueprint("documents_api", __name__, url_prefix="/ecommerce/v3")
PDF = "application/pdf"


def current_principal() -> Principal:
    """Who is asking: the bearer token's principal (401 without a valid one)."""
    from web.auth import api_principal  # late: web.auth imports web.app, which imports us

    return api_principal()


@bp.errorhandler(GlueError)
def _glue_error(error: GlueError) -> Response:
    return from_glue_error(error)


# --- documents ------------------------------------------------------------------------------

@bp.get("/shipments/<shipment_id>/parcels/<parcel_id>/label")
def parcel_label(shipment_id: str, parcel_id: str) -> Response:
    actor = current_principal()
    page_size = request.args.get("pageSize", "A6")
    with get_db().transaction() as session:
        pdf = service.label_pdf(session, actor, shipment_id, parcel_id, page_size)
    return _pdf(pdf, f"label-{shipment_id}-{parcel_id}.pdf")


@bp.get("/shipments/<shipment_id>/parcels/<parcel_id>/note")
def parcel_note(shipment_id: str, parcel_id: str) -> Response:
    actor = current_principal()
    with get_db().transaction() as session:
        pdf = service.packing_slip_pdf(session, actor, shipment_id, parcel_id)
    return _pdf(pdf, f"packing-slip-{shipment_id}.pdf")


@bp.post("/documents/<any(labels, slips, bundle):kind>")
def bulk_documents(kind: str) -> Response:
    actor = current_principal()
    body = _json_object()
    ids = body.get("shipmentIds")
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise ValidationFailed("shipmentIds must be a list of shipment ids",
                               [{"field": "shipmentIds", "message": "a list of strings"}])
    page_size = body.get("pageSize", "A6")
    with get_db().transaction() as session:
        pdf = service.bulk_pdf(session, actor, ids, kind, page_size)
    return _pdf(pdf, f"{kind}.pdf")


@bp.get("/documents/manifest")
def manifest() -> Response:
    actor = current_principal()
    day = None
    if request.args.get("date"):
        try:
            day = date.fromisoformat(request.args["date"])
        except ValueError:
            raise ValidationFailed("date is YYYY-MM-DD",
                                   [{"field": "date", "message": "YYYY-MM-DD"}]) from None
    ids = [i for i in request.args.get("shipmentIds", "").split(",") if i.strip()]
    with get_db().transaction() as session:
        pdf = service.manifest_pdf(session, actor, day=day,
                                   shipment_ids=[i.strip() for i in ids] or None)
    return _pdf(pdf, f"manifest-{day.isoformat() if day else 'shipments'}.pdf")


def _pdf(data: bytes, filename: str) -> Response:
    response = Response(data, mimetype=PDF)
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"  # addresses are personal data
    return response


# --- logo -----------------------------------------------------------------------------------

@bp.put("/organization/logo")
def put_logo() -> Response:
    actor = current_principal()
    if request.content_length is not None and request.content_length > logos.MAX_BYTES + 4096:
        return problem(413, "payload_too_large",
                       f"a logo is at most {logos.MAX_BYTES} bytes")
    upload = request.files.get("logo")
    data = (upload.read(logos.MAX_BYTES + 1) if upload is not None
            else request.get_data(cache=False))
    with get_db().transaction() as session:
        content_type = logos.set_logo(session, actor, data)
    return jsonify(contentType=content_type, size=len(data))


@bp.get("/organization/logo")
def get_logo() -> Response:
    actor = current_principal()
    with get_db().transaction() as session:
        data, content_type = logos.get_logo(session, actor)
    response = Response(data, mimetype=content_type)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.delete("/organization/logo")
def delete_logo() -> Response:
    actor = current_principal()
    with get_db().transaction() as session:
        logos.delete_logo(session, actor)
    return Response(status=204)


# --- settings -------------------------------------------------------------------------------

@bp.get("/organization/document-settings")
def get_document_settings() -> Response:
    actor = current_principal()
    with get_db().transaction() as session:
        settings = own_document_settings(session, actor)
    return jsonify(showPrices=settings.show_prices, showSupplier=settings.show_supplier)


@bp.put("/organization/document-settings")
def put_document_settings() -> Response:
    actor = current_principal()
    body = _json_object()
    values = {key: _optional_bool(body, key) for key in ("showPrices", "showSupplier")}
    with get_db().transaction() as session:
        settings = update_document_settings(session, actor, show_prices=values["showPrices"],
                                            show_supplier=values["showSupplier"])
    return jsonify(showPrices=settings.show_prices, showSupplier=settings.show_supplier)


@bp.get("/organization/tracking")
def get_tracking() -> Response:
    actor = current_principal()
    with get_db().transaction() as session:
        config = own_tracking_configuration(session, actor)
    return jsonify(_tracking_wire(config))


@bp.put("/organization/tracking")
def put_tracking() -> Response:
    actor = current_principal()
    body = _json_object()
    values: dict[str, Any] = {}
    for key, name, kind in (("mode", "mode", str), ("carrier", "carrier", str),
                            ("serviceIndicator", "service_indicator", str),
                            ("country", "country", str), ("rangeStart", "range_start", int),
                            ("rangeEnd", "range_end", int)):
        value = body.get(key)
        if value is not None and (not isinstance(value, kind) or isinstance(value, bool)):
            raise ValidationFailed(f"{key} must be a {kind.__name__}",
                                   [{"field": key, "message": f"a {kind.__name__}"}])
        values[name] = value
    with get_db().transaction() as session:
        config = configure_tracking(session, actor, **values)
    return jsonify(_tracking_wire(config))


def _tracking_wire(config: TrackingConfiguration) -> dict[str, Any]:
    return {"mode": config.mode, "carrier": config.carrier,
            "serviceIndicator": config.service_indicator, "country": config.country,
            "rangeStart": config.range_start, "rangeEnd": config.range_end,
            "nextSerial": config.next_serial, "remaining": config.remaining,
            "carriers": carrier_names()}


def _json_object() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ValidationFailed("the body must be a JSON object")
    return body


def _optional_bool(body: dict[str, Any], key: str) -> bool | None:
    value = body.get(key)
    if value is not None and not isinstance(value, bool):
        raise ValidationFailed(f"{key} must be true or false",
                               [{"field": key, "message": "true or false"}])
    return value

