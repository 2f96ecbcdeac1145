"""Address labels: what they say, that Finnish text and the barcode survive, and page layout."""

from __future__ import annotations

import pytest

from core import s10
from core.errors import Conflict, Forbidden, NotFound
from documents import service
from tests import factories
from tests.documents import builders, pdfs


def test_a6_label_prints_every_fact_and_a_scannable_tracking_code(session):
    # given a delivered two-parcel shipment to a pickup point
    shipment = builders.shipment(session, parcels=2, pickup_point="123456",
                                 rows=[("Sähkövatkain", 1, 1, "9.90"), ("Öljy", 1, 1, "2")])
    supplier = factories.acting(shipment.supplier)
    code = shipment.parcels[1].tracking_codes[0]
    # when the supplier prints the second parcel's label
    pdf = service.label_pdf(session, supplier, shipment.shipment_id, "2")
    # then it is one A6 page ...
    assert pdfs.page_sizes_mm(pdf) == [(105, 148)]
    text = pdfs.text(pdf)
    # ... naming sender and recipient with their Finnish letters intact
    for expected in ("Kauppa Åland Öljy Oy", "Mäkitie 5", "Äijä Östman", "c/o K-Market Töölö",
                     "00260 HELSINKI", "Postipaketti", "2103", "123456", "2 / 2", "2,25 kg",
                     shipment.order.external_id):
        assert expected in text
    # ... with the tracking code as text and as a Code 128 barcode that decodes to it
    assert code.replace(" ", "") in text.replace(" ", "")
    assert pdfs.barcodes(pdf, dpi=300) == [code]
    assert s10.is_valid(code)


def test_white_label_never_names_the_supplier(session):
    shipment = builders.shipment(session)
    pdf = service.label_pdf(session, factories.acting(shipment.supplier),
                            shipment.shipment_id, "1")
    assert shipment.supplier.name not in pdfs.text(pdf)


def test_a4_prints_four_labels_a_sheet(session):
    shipment = builders.shipment(session, parcels=5, rows=[(f"R{i}", 1, 1, "1")
                                                           for i in range(5)])
    pdf = service.bulk_pdf(session, factories.acting(shipment.supplier),
                           [shipment.shipment_id], "labels", "A4")
    assert pdfs.page_sizes_mm(pdf) == [(210, 297), (210, 297)]
    codes = [p.tracking_codes[0] for p in shipment.parcels]
    assert sorted(pdfs.barcodes(pdf, 0)) == sorted(codes[:4])
    assert pdfs.barcodes(pdf, 1) == codes[4:]


def test_a_parcel_with_the_suppliers_own_code_has_no_glue_label(session):
    shipment = builders.shipment(session, own_codes=True)
    with pytest.raises(Conflict, match="own system"):
        service.label_pdf(session, factories.acting(shipment.supplier),
                          shipment.shipment_id, "1")


def test_a_parcel_has_no_label_before_the_shipment_is_confirmed(session):
    shipment = builders.shipment(session, status="Packing")
    with pytest.raises(Conflict, match="confirm"):
        service.label_pdf(session, factories.acting(shipment.supplier),
                          shipment.shipment_id, "1")


def test_labels_are_the_suppliers_alone(session):
    shipment = builders.shipment(session)
    other = builders.new_supplier(session)
    with pytest.raises(NotFound):
        service.label_pdf(session, factories.acting(other), shipment.shipment_id, "1")
    with pytest.raises(Forbidden):
        service.label_pdf(session, factories.acting(shipment.order.retailer),
                          shipment.shipment_id, "1")
    with pytest.raises(NotFound):
        service.label_pdf(session, factories.acting(shipment.supplier),
                          shipment.shipment_id, "9")
