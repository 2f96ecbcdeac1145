"""Who gets which document, and loading what it needs: the functions the web layer calls.

- A supplier gets every document of its own shipments, and the handover manifest.
- A retailer gets the packing slip of its own orders' shipments (not their labels).
- Anyone else learns nothing: ``NotFound``, as if the shipment did not exist.

Labels need tracking codes, which Glue issues when the shipment is confirmed (confirming
replaces the parcels, so a code printed earlier would not survive it); a parcel without a code
has no label yet, and parcels that travel with the supplier's own codes have no Glue label.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from core.document_settings import DocumentSettings, document_settings
from core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from core.models import Order, OrderRow, Organization, Parcel, Shipment
from core.principal import Principal
from core.tracking import carrier_for
from documents.bulk import KINDS, ShipmentDocuments, render_bulk
from documents.content import (
    LabelData,
    ManifestData,
    label_data,
    manifest_lines,
    organization_address,
    slip_data,
)
from documents.labels import PAGE_SIZES, render_labels
from documents.manifest import render_manifest
from documents.packing_slip import render_packing_slips

# Handover days follow the suppliers' clock, not UTC.
LOCAL_TIME = ZoneInfo("Europe/Helsinki")
MAX_BULK = 1000

_LOAD = (
    selectinload(Shipment.order).selectinload(Order.retailer),
    selectinload(Shipment.order).selectinload(Order.comments),
    selectinload(Shipment.supplier),
    selectinload(Shipment.rows).selectinload(OrderRow.product),
    selectinload(Shipment.parcels).selectinload(Parcel.rows),
)


def label_pdf(session: Session, actor: Principal, shipment_id: str, parcel_id: str,
              page_size: str = "A6") -> bytes:
    """The address label of one parcel (supplier only)."""
    _check_page_size(page_size)
    shipment = _shipment(session, actor, shipment_id, slip_only=False)
    parcel = _parcel(shipment, parcel_id)
    if parcel.tracking_source == "own":
        raise Conflict("this parcel travels with a tracking code of the supplier's own system; "
                       "its label comes from that system")
    if not parcel.tracking_codes:
        raise Conflict("this parcel has no tracking code yet: confirm the shipment as "
                       "Delivered and Glue issues the codes and the labels")
    return render_labels([label_data(shipment, parcel, carrier_for(session,
                                                                   shipment.supplier_id))],
                         page_size)


def packing_slip_pdf(session: Session, actor: Principal, shipment_id: str,
                     parcel_id: str | None = None) -> bytes:
    """The packing slip of a shipment (its supplier, or the retailer whose order it is).
    ``parcel_id``, when given, must name one of its parcels; the slip covers the shipment."""
    shipment = _shipment(session, actor, shipment_id, slip_only=True)
    if parcel_id is not None:
        _parcel(shipment, parcel_id)
    return render_packing_slips([slip_data(shipment, _settings(session, shipment))])


def bulk_pdf(session: Session, actor: Principal, shipment_ids: Sequence[str], kind: str,
             page_size: str = "A6") -> bytes:
    """One PDF of ``kind`` (labels, slips, bundle) for the supplier's ``shipment_ids``, in
    picking order (oldest shipment first). Every id must be the actor's; labels are made for
    parcels with a Glue-issued code, and for ``labels`` at least one must result."""
    if kind not in KINDS:
        raise ValidationFailed(f"kind is one of {', '.join(KINDS)}")
    _check_page_size(page_size)
    ids = list(dict.fromkeys(shipment_ids))
    if not ids or len(ids) > MAX_BULK or not all(isinstance(i, str) for i in ids):
        raise ValidationFailed(f"shipmentIds: 1 to {MAX_BULK} shipment ids",
                               [{"field": "shipmentIds",
                                 "message": f"give 1 to {MAX_BULK} shipment ids"}])
    shipments = _shipments(session, actor, ids, slip_only=kind == "slips")
    shipments.sort(key=lambda s: (s.created_at, s.id))
    docs = []
    for shipment in shipments:
        labels = _labels(session, shipment) if kind != "slips" else ()
        docs.append(ShipmentDocuments(slip=slip_data(shipment, _settings(session, shipment))
                                      if kind != "labels" else None, labels=labels))
    if kind == "labels" and not any(d.labels for d in docs):
        raise Conflict("none of these shipments has a parcel with a Glue label")
    return render_bulk(kind, docs, page_size)


def manifest_pdf(session: Session, actor: Principal, *, day: date | None = None,
                 shipment_ids: Sequence[str] | None = None) -> bytes:
    """The supplier's handover manifest: the parcels of its shipments delivered (handed to the
    carrier) on ``day`` (Finnish time), or of the chosen ``shipment_ids``."""
    supplier_id = _supplier_of(actor)
    if shipment_ids:
        shipments = _shipments(session, actor, list(dict.fromkeys(shipment_ids)),
                               slip_only=False)
        title = ", ".join(sorted({(s.delivered_at or s.status_at).astimezone(LOCAL_TIME)
                                  .strftime("%d.%m.%Y") for s in shipments}))
    else:
        day = day or datetime.now(LOCAL_TIME).date()
        start = datetime.combine(day, time(0), LOCAL_TIME).astimezone(UTC)
        shipments = list(session.scalars(
            sa.select(Shipment).options(*_LOAD)
            .where(Shipment.supplier_id == supplier_id, Shipment.status == "Delivered",
                   Shipment.delivered_at >= start,
                   Shipment.delivered_at < start + timedelta(days=1))))
        title = day.strftime("%d.%m.%Y")
    shipments.sort(key=lambda s: (s.delivered_at or s.status_at, s.id))
    supplier = session.get(Organization, supplier_id)
    carrier = carrier_for(session, supplier_id)  # every shipment here is this supplier's
    data = ManifestData(supplier=organization_address(supplier, with_contact=False),
                        supplier_business_id=supplier.business_id, title_date=title,
                        lines=manifest_lines(shipments, carrier))
    return render_manifest(data)


# --- access and loading ---------------------------------------------------------------------

def _acts_for(actor: Principal, organization_id: int, role: str) -> bool:
    return actor.system or (actor.organization_id == organization_id
                            and (actor.can(role) or actor.can("admin")))


def _supplier_of(actor: Principal) -> int:
    organization_id = actor.require_org()
    if not (actor.can("supplier") or actor.can("admin")):
        raise Forbidden("the handover manifest needs the 'supplier' permission")
    return organization_id


def _shipment(session: Session, actor: Principal, shipment_id: str, *,
              slip_only: bool) -> Shipment:
    shipment = session.scalars(sa.select(Shipment).options(*_LOAD)
                               .where(Shipment.shipment_id == shipment_id)).first()
    _check_access(actor, shipment, shipment_id, slip_only)
    return shipment


def _shipments(session: Session, actor: Principal, ids: list[str], *,
               slip_only: bool) -> list[Shipment]:
    found = {s.shipment_id: s for s in session.scalars(
        sa.select(Shipment).options(*_LOAD).where(Shipment.shipment_id.in_(ids)))}
    for shipment_id in ids:
        _check_access(actor, found.get(shipment_id), shipment_id, slip_only)
    return [found[i] for i in ids]


def _check_access(actor: Principal, shipment: Shipment | None, shipment_id: str,
                  slip_only: bool) -> None:
    if shipment is not None and _acts_for(actor, shipment.supplier_id, "supplier"):
        return
    if shipment is not None and _acts_for(actor, shipment.order.retailer_id, "retailer"):
        if slip_only:
            return
        raise Forbidden("labels and manifests are the supplier's; a retailer gets the "
                        "packing slip")
    raise NotFound(f"no shipment {shipment_id}")


def _parcel(shipment: Shipment, parcel_id: str) -> Parcel:
    for parcel in shipment.parcels:
        if parcel.parcel_id == parcel_id:
            return parcel
    raise NotFound(f"shipment {shipment.shipment_id} has no parcel {parcel_id}")


def _labels(session: Session, shipment: Shipment) -> tuple[LabelData, ...]:
    carrier = carrier_for(session, shipment.supplier_id)
    return tuple(label_data(shipment, parcel, carrier) for parcel in shipment.parcels
                 if parcel.tracking_codes and parcel.tracking_source != "own")


def _settings(session: Session, shipment: Shipment) -> DocumentSettings:
    return document_settings(session, shipment.order.retailer_id)


def _check_page_size(page_size: str) -> None:
    if page_size not in PAGE_SIZES:
        raise ValidationFailed(f"pageSize is one of {', '.join(PAGE_SIZES)}",
                               [{"field": "pageSize",
                                 "message": f"one of {', '.join(PAGE_SIZES)}"}])
