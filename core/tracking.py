"""Tracking codes for parcels, from a carrier backend (DESIGN.md 6).

The shipment service calls ``assign_tracking_codes`` when a supplier confirms a shipment as
Delivered. What happens depends on the supplier's tracking mode (``core.tracking_ranges``):

- ``glue`` (the default): every parcel that needs a code and has none gets one from the
  supplier's carrier backend, in the caller's transaction; parcels that arrived with codes keep
  them (they are the supplier's own codes, ``tracking_source = "own"``).
- ``own``: the supplier's system supplies every code and Glue prints only the packing slip. Glue
  issues nothing; a parcel that needs a code and has none makes the confirm fail with
  ``TrackingCodesRequired``, naming the parcels, so a shipment is never handed over untraceable.

A supplier with no settings at all is in ``glue`` mode with the ``s10`` backend; its first code
claims it a default serial block (``core.tracking_ranges``), and a used-up range makes the
confirm fail with ``TrackingRangeExhausted`` -- only ever when some parcel actually lacks a code.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from core.carriers import CarrierBackend, get_carrier
from core.errors import ValidationFailed
from core.models import Parcel, Shipment
from core.tracking_ranges import tracking_settings


class TrackingCodesRequired(ValidationFailed):
    """The supplier supplies its own codes, and a parcel was confirmed without one."""

    code = "tracking_codes_required"


def parcels_needing_codes(shipment: Shipment) -> list[Parcel]:
    """Parcels that go to the carrier and have no code yet, in parcel order.

    A parcel goes to the carrier when it carries a delivered row; when the supplier did not
    split the rows into parcels at all, every parcel of a shipment with delivered rows goes."""
    parcels = list(shipment.parcels)
    if not any(parcel.rows for parcel in parcels):
        anything_delivered = any(row.delivered_quantity > 0 for row in shipment.rows)
        going = parcels if anything_delivered else []
    else:
        going = [p for p in parcels if any(r.delivered_quantity > 0 for r in p.rows)]
    return [parcel for parcel in going if not parcel.tracking_codes]


def assign_tracking_codes(session: Session, shipment: Shipment) -> None:
    """Give every parcel of ``shipment`` that carries delivered rows and no tracking code one
    code from the supplier's carrier backend, inside the caller's transaction.

    Raises ``TrackingCodesRequired`` (own-codes mode), ``TrackingNotConfigured`` or
    ``TrackingRangeExhausted`` instead of leaving such a parcel without a code; the caller's
    transaction should then roll back. Does not commit."""
    for parcel in shipment.parcels:
        if parcel.tracking_codes and parcel.tracking_source is None:
            parcel.tracking_source = "own"
    issue_codes_for(session, shipment, parcels_needing_codes(shipment))


def issue_codes_for(session: Session, shipment: Shipment, parcels: list[Parcel]) -> None:
    """Give each of ``parcels`` (of ``shipment``, without codes) a code from the supplier's
    carrier backend, in the caller's transaction; raises as ``assign_tracking_codes`` does."""
    parcels = [parcel for parcel in parcels if not parcel.tracking_codes]
    if not parcels:
        session.flush()
        return
    settings = tracking_settings(session, shipment.supplier_id)
    if settings is not None and settings.mode == "own":
        raise TrackingCodesRequired(
            "this supplier sends the tracking codes of its own system: give every parcel its "
            "trackingCodes", [{"field": "parcels", "index": parcel.parcel_id,
                               "message": f"parcel {parcel.parcel_id} has no tracking code"}
                              for parcel in parcels])
    backend = get_carrier(settings.carrier if settings is not None else "s10")
    codes = backend.issue_codes(session, shipment.supplier_id, len(parcels))
    for parcel, code in zip(parcels, codes, strict=True):
        parcel.tracking_codes = [code]
        parcel.tracking_source = "glue"
    session.flush()


def carrier_for(session: Session, supplier_id: int) -> CarrierBackend:
    """The backend that issues (or describes) the supplier's parcels' codes."""
    settings = tracking_settings(session, supplier_id)
    return get_carrier(settings.carrier if settings is not None else "s10")
