"""Confirming a shipment without codes issues them and makes the labels in one operation."""

from __future__ import annotations

from core import s10, shipments
from documents import service
from tests import factories
from tests.documents import builders, pdfs


def test_fast_confirm_issues_codes_onto_shipment_and_order_and_labels_follow(session):
    # given a two-parcel shipment being packed, without tracking codes
    shipment = builders.shipment(session, status="Packing", parcels=2,
                                 rows=[("Sähkövatkain", 1, 0, "9.90"), ("Öljy", 2, 0, "3.50")])
    supplier = factories.acting(shipment.supplier)
    # when the supplier fast-confirms it
    shipments.fast_confirm(session, supplier, shipment.shipment_id)
    # then every parcel has a valid S10 code, the order carries them all at once ...
    codes = [code for parcel in shipment.parcels for code in parcel.tracking_codes]
    assert len(codes) == 2 and all(s10.is_valid(code) for code in codes)
    assert sorted(shipment.order.tracking_codes) == sorted(codes)
    # ... and each parcel's label scans as its code
    for parcel in shipment.parcels:
        pdf = service.label_pdf(session, supplier, shipment.shipment_id, parcel.parcel_id)
        assert pdfs.barcodes(pdf, dpi=300) == parcel.tracking_codes
